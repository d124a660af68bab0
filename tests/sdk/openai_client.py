"""The official OpenAI Python SDK against gavel's gateway, with strict response validation: every answer must be
a valid OpenAI object, field for field. Run by tests/api/gateway_sdk.rs with GAVEL_BASE (http://host:port) and
GAVEL_KEY (a gv_ key of an org whose openai key points at the fake provider). Exits non-zero on any failure.

Requires: pip install openai==1.109.1
"""

import os
import sys

import openai
import pydantic
from openai import OpenAI


class GetWeather(pydantic.BaseModel):
    city: str


def main() -> int:
    base, key = os.environ["GAVEL_BASE"], os.environ["GAVEL_KEY"]
    client = OpenAI(base_url=f"{base}/v1", api_key=key, max_retries=0, _strict_response_validation=True)
    messages = [{"role": "user", "content": "hello"}]

    # Chat, whole answer.
    raw = client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=messages)
    assert raw.headers["x-gavel-provider"] == "openai", raw.headers
    assert len(raw.headers["x-request-id"]) == 32, raw.headers
    chat = raw.parse()
    assert chat.object == "chat.completion"
    assert chat.choices[0].message.content, chat
    assert chat.usage is not None and chat.usage.prompt_tokens > 0, chat

    # The same through Anthropic's wire (translated answer must validate as OpenAI's).
    chat = client.chat.completions.create(model="claude-3-5-haiku-latest", messages=messages, max_tokens=50)
    assert chat.choices[0].message.content and chat.choices[0].finish_reason == "stop", chat

    # Streaming with the usage chunk.
    for model in ["gpt-4o-mini", "claude-3-5-haiku-latest", "gemini-2.0-flash"]:
        stream = client.chat.completions.create(
            model=model, messages=messages, stream=True, stream_options={"include_usage": True}
        )
        text, usage = "", None
        for chunk in stream:
            assert chunk.object == "chat.completion.chunk"
            if chunk.choices:
                text += chunk.choices[0].delta.content or ""
            if chunk.usage is not None:
                usage = chunk.usage
        assert text, model
        assert usage is not None and usage.completion_tokens > 0, (model, usage)

    # Tools with the .stream() helper: the arguments arrive in pieces and are parsed into the model.
    for model in ["gpt-4o-mini", "claude-3-5-haiku-latest"]:
        with client.chat.completions.stream(
            model=model,
            messages=[{"role": "user", "content": "weather in Paris?"}],
            tools=[openai.pydantic_function_tool(GetWeather)],
        ) as stream:
            kinds = {event.type for event in stream}
            final = stream.get_final_completion()
        assert "tool_calls.function.arguments.done" in kinds, (model, kinds)
        call = final.choices[0].message.tool_calls[0]
        assert call.function.name == "GetWeather", call
        assert call.function.parsed_arguments == GetWeather(city="Paris"), call

    # Error classes carry the contract code.
    try:
        client.chat.completions.create(model="mystery-9000", messages=messages)
        raise AssertionError("an unknown model must fail")
    except openai.NotFoundError as e:
        assert e.code == "BYOK_MODEL_NOT_FOUND", e
        assert e.param == "model", e
    try:
        client.chat.completions.create(model="groq/llama-3.1-8b-instant", messages=messages)
        raise AssertionError("a provider without a key must fail")
    except openai.BadRequestError as e:
        assert e.code == "BYOK_NO_KEY", e
    try:
        OpenAI(base_url=f"{base}/v1", api_key="gv_" + "x" * 40, max_retries=0).models.list()
        raise AssertionError("an unknown gv_ key must fail")
    except openai.AuthenticationError as e:
        assert e.status_code == 401

    # Models.
    ids = [m.id for m in client.models.list()]
    assert "gpt-4o-mini" in ids and "claude-3-5-haiku-latest" in ids, ids

    # Embeddings. The SDK asks for base64 unless told otherwise and decodes it after validation, so the strict
    # client asks for floats and a lenient one checks the base64 path (through OpenAI's wire and Gemini's).
    emb = client.embeddings.create(model="text-embedding-3-small", input=["a", "b"], encoding_format="float")
    assert len(emb.data) == 2 and len(emb.data[0].embedding) == 3, emb
    lenient = OpenAI(base_url=f"{base}/v1", api_key=key, max_retries=0)
    for model in ["text-embedding-3-small", "text-embedding-004"]:
        emb = lenient.embeddings.create(model=model, input=["a", "b"])
        assert [round(x, 3) for x in emb.data[1].embedding] == [0.2, 0.2, -0.3], (model, emb)

    print("openai", openai.__version__, "SDK checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
