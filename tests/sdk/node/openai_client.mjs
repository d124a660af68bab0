// The official openai npm package against gavel's gateway. Run by tests/api/gateway_sdk.rs with GAVEL_BASE
// (http://host:port) and GAVEL_KEY (a gv_ key of an org whose openai, anthropic and google keys point at the fake
// provider). Exits non-zero on the first failed check. Requires `npm ci` in this directory (.ci/run does it).

import assert from "node:assert/strict";
import OpenAI from "openai";

const base = process.env.GAVEL_BASE;
const key = process.env.GAVEL_KEY;
assert.ok(base && key, "GAVEL_BASE and GAVEL_KEY must be set");
const client = new OpenAI({ baseURL: `${base}/v1`, apiKey: key, maxRetries: 0 });
const messages = [{ role: "user", content: "hello" }];

// Chat, whole answer, with the response headers.
{
  const { data: chat, response } = await client.chat.completions
    .create({ model: "gpt-4o-mini", messages })
    .withResponse();
  assert.equal(response.headers.get("x-gavel-provider"), "openai");
  assert.equal(response.headers.get("x-request-id").length, 32);
  assert.equal(chat.object, "chat.completion");
  assert.ok(chat.choices[0].message.content, JSON.stringify(chat));
  assert.ok(chat.usage.prompt_tokens > 0, JSON.stringify(chat));
  assert.equal(chat._request_id, response.headers.get("x-request-id"));
}

// The same through Anthropic's and Gemini's wires: the translated answer has OpenAI's shape.
for (const model of ["claude-3-5-haiku-latest", "gemini-2.0-flash"]) {
  const chat = await client.chat.completions.create({ model, messages, max_tokens: 50 });
  assert.equal(chat.object, "chat.completion", model);
  assert.ok(chat.choices[0].message.content, model);
  assert.equal(chat.choices[0].finish_reason, "stop", model);
}

// Streaming, with and without the usage chunk.
for (const model of ["gpt-4o-mini", "claude-3-5-haiku-latest", "gemini-2.0-flash"]) {
  for (const includeUsage of [true, false]) {
    const stream = await client.chat.completions.create({
      model,
      messages,
      stream: true,
      ...(includeUsage ? { stream_options: { include_usage: true } } : {}),
    });
    let text = "";
    let usage = null;
    let chunks = 0;
    for await (const chunk of stream) {
      chunks += 1;
      assert.equal(chunk.object, "chat.completion.chunk");
      if (chunk.choices.length > 0) text += chunk.choices[0].delta.content ?? "";
      if (chunk.usage) usage = chunk.usage;
    }
    assert.ok(chunks > 1 && text, `${model}: ${chunks} chunks, text ${JSON.stringify(text)}`);
    if (includeUsage) assert.ok(usage && usage.completion_tokens > 0, `${model}: ${JSON.stringify(usage)}`);
    else assert.equal(usage, null, `${model}: usage chunk without include_usage`);
  }
}

// Tools through the stream helper: the arguments arrive in pieces and are assembled into the final completion.
for (const model of ["gpt-4o-mini", "claude-3-5-haiku-latest"]) {
  const tools = [
    {
      type: "function",
      function: {
        name: "get_weather",
        parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
      },
    },
  ];
  const stream = client.chat.completions.stream({
    model,
    messages: [{ role: "user", content: "weather in Paris?" }],
    tools,
  });
  let argDeltas = 0;
  stream.on("tool_calls.function.arguments.delta", () => {
    argDeltas += 1;
  });
  const final = await stream.finalChatCompletion();
  const call = final.choices[0].message.tool_calls[0];
  assert.equal(call.function.name, "get_weather", model);
  assert.deepEqual(JSON.parse(call.function.arguments), { city: "Paris" }, model);
  assert.ok(call.id, model);
  assert.equal(final.choices[0].finish_reason, "tool_calls", model);
  assert.ok(argDeltas >= 1, `${model}: no argument deltas`);
}

// Error classes carry the contract code, type and param.
try {
  await client.chat.completions.create({ model: "mystery-9000", messages });
  assert.fail("an unknown model must fail");
} catch (e) {
  assert.ok(e instanceof OpenAI.NotFoundError, String(e));
  assert.equal(e.code, "BYOK_MODEL_NOT_FOUND");
  assert.equal(e.param, "model");
  assert.equal(e.requestID?.length, 32);
}
try {
  await new OpenAI({ baseURL: `${base}/v1`, apiKey: "gv_" + "x".repeat(40), maxRetries: 0 }).models.list();
  assert.fail("an unknown gv_ key must fail");
} catch (e) {
  assert.ok(e instanceof OpenAI.AuthenticationError, String(e));
}

// Models: the auto-paginating list.
const ids = [];
for await (const m of client.models.list()) {
  assert.equal(m.object, "model");
  ids.push(m.id);
}
assert.ok(ids.includes("gpt-4o-mini") && ids.includes("claude-3-5-haiku-latest"), JSON.stringify(ids));

// Embeddings: the SDK asks for base64 unless told otherwise and decodes it; through OpenAI's wire and Gemini's.
const embeddingCases = [
  ["text-embedding-3-small", undefined],
  ["text-embedding-3-small", "float"],
  ["text-embedding-004", undefined],
];
for (const [model, encoding_format] of embeddingCases) {
  const emb = await client.embeddings.create({
    model,
    input: ["a", "b"],
    ...(encoding_format ? { encoding_format } : {}),
  });
  assert.equal(emb.data.length, 2);
  assert.equal(emb.data[1].index, 1);
  assert.equal(emb.data[0].embedding.length, 3, JSON.stringify(emb));
  const second = Array.from(emb.data[1].embedding, (x) => Math.round(x * 1000) / 1000);
  assert.deepEqual(second, [0.2, 0.2, -0.3], `${model} ${encoding_format}: ${JSON.stringify(emb)}`);
}

console.log(`openai node ${OpenAI.VERSION ?? ""} SDK checks passed`);
