//! OpenAI → Gemini requests, Gemini → OpenAI answers and streams, embeddings.
#![allow(clippy::unwrap_used)]

use serde_json::{json, Value};

use super::gemini::{BatchEmbedResponse, EmbeddingValues, GenerateContentResponse};
use super::openai::{ChatCompletionRequest, EmbeddingsRequest, FinishReason, Role};
use super::tests_support::{data, events, fold, json, translate};
use super::*;

fn request(name: &str) -> ChatCompletionRequest {
    serde_json::from_value(json(name)).unwrap()
}

fn meta() -> ResponseMeta {
    ResponseMeta::new("chatcmpl-gv01HZX3", 1_754_400_000)
}

/// The tools conversation without its https image, which Gemini cannot fetch.
fn tools_request() -> ChatCompletionRequest {
    let mut r = request("openai_request_tools.json");
    if let Some(super::openai::MessageContent::Parts(parts)) = &mut r.messages[2].content {
        parts.pop();
    }
    r
}

#[test]
fn a_full_conversation_translates_field_by_field() {
    let plan = to_gemini(&tools_request(), "gemini-2.5-flash").unwrap();
    let body = serde_json::to_value(&plan.body).unwrap();
    let expected = json!({
        "systemInstruction": {"parts": [{"text": "You are a travel assistant. Answer briefly."}, {"text": "Use metric units."}]},
        "contents": [
            {"role": "user", "parts": [
                {"text": "What's the weather where this photo was taken, and in Oslo?"},
                {"inlineData": {"mimeType": "image/png",
                  "data": "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="}}
            ]},
            {"role": "model", "parts": [
                {"text": "Let me check both places."},
                {"functionCall": {"name": "get_weather", "args": {"city": "Bergen", "unit": "celsius"}}},
                {"functionCall": {"name": "get_weather", "args": {"city": "Oslo", "unit": "celsius"}}}
            ]},
            {"role": "user", "parts": [
                {"functionResponse": {"name": "get_weather", "response": {"temp": 11, "sky": "rain"}}},
                {"functionResponse": {"name": "get_weather", "response": {"temp": 14, "sky": "clear"}}},
                {"text": "Thanks. Which is warmer?"}
            ]}
        ],
        "tools": [{"functionDeclarations": [{"name": "get_weather", "description": "Current weather for a city",
            "parameters": {"type": "OBJECT", "properties": {"city": {"type": "STRING"},
                "unit": {"type": "STRING", "enum": ["celsius", "fahrenheit"]}}, "required": ["city"]}}]}],
        "toolConfig": {"functionCallingConfig": {"mode": "AUTO"}},
        "generationConfig": {"stopSequences": ["\n\nUser:"], "maxOutputTokens": 800, "temperature": 0.3,
                             "topP": 0.9, "seed": 42}
    });
    assert_eq!(body, expected);
    assert!(plan.context.stream && plan.context.include_usage);
    assert_eq!(
        super::gemini::generate_path(&plan.model, plan.context.stream),
        "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
    );
}

#[test]
fn what_gemini_cannot_take_is_refused_by_name() {
    let e = to_gemini(&request("openai_request_tools.json"), "m").unwrap_err();
    assert_eq!(e.param(), Some("messages[2].content[2].image_url.url"));
    let mut r = tools_request();
    r.parallel_tool_calls = Some(false);
    assert_eq!(to_gemini(&r, "m").unwrap_err().param(), Some("parallel_tool_calls"));
    let mut r = tools_request();
    r.messages[4].tool_call_id = Some("call_unknown".into());
    let e = to_gemini(&r, "m").unwrap_err();
    assert_eq!((e.param(), e.status()), (Some("messages[4].tool_call_id"), 400));
    let mut r = tools_request();
    r.extra.insert("reasoning_effort".into(), json!("high"));
    assert_eq!(to_gemini(&r, "m").unwrap_err().param(), Some("reasoning_effort"));
}

#[test]
fn sampling_fields_n_penalties_and_tool_choice() {
    let mut r = tools_request();
    r.n = Some(3);
    r.extra.insert("presence_penalty".into(), json!(0.5));
    r.extra.insert("top_k".into(), json!(32));
    r.tool_choice =
        Some(serde_json::from_value(json!({"type": "function", "function": {"name": "get_weather"}})).unwrap());
    let body = serde_json::to_value(to_gemini(&r, "m").unwrap().body).unwrap();
    assert_eq!(body["generationConfig"]["candidateCount"], 3);
    assert_eq!(body["generationConfig"]["presencePenalty"], 0.5);
    assert_eq!(body["generationConfig"]["topK"], 32);
    assert_eq!(
        body["toolConfig"],
        json!({"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_weather"]}})
    );
    r.tool_choice = Some(serde_json::from_value(json!("required")).unwrap());
    let body = serde_json::to_value(to_gemini(&r, "m").unwrap().body).unwrap();
    assert_eq!(body["toolConfig"]["functionCallingConfig"]["mode"], "ANY");
    r.tool_choice = Some(serde_json::from_value(json!("none")).unwrap());
    let body = serde_json::to_value(to_gemini(&r, "m").unwrap().body).unwrap();
    assert_eq!(body["toolConfig"]["functionCallingConfig"]["mode"], "NONE");
}

#[test]
fn json_schema_is_rewritten_into_geminis_subset() {
    let plan = to_gemini(&request("openai_request_json_schema.json"), "gemini-2.5-flash").unwrap();
    let config = serde_json::to_value(plan.body.generation_config.unwrap()).unwrap();
    assert_eq!(config["responseMimeType"], "application/json");
    assert_eq!(
        config["responseSchema"],
        json!({
            "title": "Invoice", "type": "OBJECT",
            "required": ["number", "vendor", "total", "due", "status", "lines"],
            "properties": {
                "number": {"type": "STRING"},
                "vendor": {"type": "OBJECT", "description": "Who sent it", "required": ["name"],
                           "properties": {"name": {"type": "STRING"}, "country": {"type": "STRING", "pattern": "^[A-Z]{2}$"}}},
                "total": {"type": "OBJECT", "required": ["amount", "currency"], "properties": {
                    "amount": {"type": "NUMBER"}, "currency": {"type": "STRING", "enum": ["NOK", "EUR", "USD"]}}},
                "due": {"type": "STRING", "nullable": true, "default": null},
                "status": {"type": "STRING", "enum": ["open"]},
                "lines": {"type": "ARRAY", "maxItems": 50, "items": {"type": "STRING", "nullable": true}}
            }
        })
    );
    assert_eq!(config["maxOutputTokens"], 300);
    assert_eq!(config["temperature"], 0.0);
}

#[test]
fn recursive_schemas_hit_the_depth_limit() {
    let schema = json!({"type": "object", "properties": {"child": {"$ref": "#"}}});
    let e = gemini_schema(&schema, "response_format.json_schema.schema").unwrap_err();
    assert_eq!(e.code(), "PAYLOAD_TOO_LARGE");
    assert!(e.to_string().contains("MAX_SCHEMA_DEPTH"), "{e}");
    let e = gemini_schema(&json!({"$ref": "https://example.org/s.json"}), "p").unwrap_err();
    assert_eq!(e.param(), Some("p"));
}

#[test]
fn an_answer_with_a_thought_text_and_two_calls() {
    let resp: GenerateContentResponse = serde_json::from_value(json("gemini_response_function_calls.json")).unwrap();
    let out = serde_json::to_value(gemini_to_openai(&resp, &meta(), "gemini-2.5-flash").unwrap()).unwrap();
    assert_eq!(
        out,
        json!({
            "id": "chatcmpl-gv01HZX3", "object": "chat.completion", "created": 1_754_400_000, "model": "gemini-2.5-flash",
            "choices": [{"index": 0, "logprobs": null, "finish_reason": "tool_calls", "message": {
                "role": "assistant", "content": "Let me check both places.", "refusal": null,
                "tool_calls": [
                    {"id": "call_chatcmplgv01HZX3_0", "type": "function",
                     "function": {"name": "get_weather", "arguments": "{\"city\":\"Bergen\",\"unit\":\"celsius\"}"}},
                    {"id": "call_chatcmplgv01HZX3_1", "type": "function",
                     "function": {"name": "get_weather", "arguments": "{\"city\":\"Oslo\",\"unit\":\"celsius\"}"}}
                ]}}],
            "usage": {"prompt_tokens": 1436, "completion_tokens": 94, "total_tokens": 1530,
                      "prompt_tokens_details": {"cached_tokens": 1024},
                      "completion_tokens_details": {"reasoning_tokens": 53}}
        })
    );
}

#[test]
fn finish_reasons_blocked_prompts_and_several_candidates() {
    assert_eq!(gemini_finish_reason("STOP", false), FinishReason::Stop);
    assert_eq!(gemini_finish_reason("STOP", true), FinishReason::ToolCalls);
    assert_eq!(gemini_finish_reason("MAX_TOKENS", true), FinishReason::Length);
    assert_eq!(gemini_finish_reason("SAFETY", false), FinishReason::ContentFilter);
    assert_eq!(gemini_finish_reason("RECITATION", false), FinishReason::ContentFilter);

    let blocked: GenerateContentResponse = serde_json::from_value(
        json!({"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": {"promptTokenCount": 9}}),
    )
    .unwrap();
    let out = gemini_to_openai(&blocked, &meta(), "gemini-2.5-pro").unwrap();
    assert_eq!(out.choices[0].finish_reason, Some(FinishReason::ContentFilter));
    assert_eq!(out.choices[0].message.content, None);
    assert_eq!(out.model, "gemini-2.5-pro");
    assert!(gemini_to_openai(&GenerateContentResponse::default(), &meta(), "m").is_err());

    let two: GenerateContentResponse = serde_json::from_value(json!({"candidates": [
        {"content": {"role": "model", "parts": [{"text": "A"}]}, "finishReason": "STOP", "index": 0},
        {"content": {"role": "model", "parts": [{"text": "B"}]}, "finishReason": "MAX_TOKENS", "index": 1}
    ]}))
    .unwrap();
    let out = gemini_to_openai(&two, &meta(), "m").unwrap();
    let got: Vec<_> = out.choices.iter().map(|c| (c.index, c.message.content.clone(), c.finish_reason)).collect();
    assert_eq!(
        got,
        vec![(0, Some("A".into()), Some(FinishReason::Stop)), (1, Some("B".into()), Some(FinishReason::Length))]
    );
}

#[test]
fn the_stream_streams_text_and_whole_calls() {
    let text = data("gemini_stream.sse");
    for (source, step) in [(text.clone(), 1), (text.replace('\n', "\r\n"), 11), (text.clone(), 100_000)] {
        let ctx = RequestContext { stream: true, include_usage: true, structured_tool: None };
        let mut t = GeminiStreamTranslator::new(ctx, meta(), "gemini-2.5-flash");
        let chunks = translate(&mut t, &events(&source, step));
        let f = fold(&chunks);
        assert_eq!(f.role, Some(Role::Assistant));
        assert_eq!(f.content, "Bergen is rainy; let me check Oslo.");
        let tools: Vec<_> =
            f.tools.values().map(|(id, name, args)| (id.as_str(), name.as_str(), args.as_str())).collect();
        assert_eq!(
            tools,
            vec![
                ("call_chatcmplgv01HZX3_0", "get_weather", r#"{"city":"Oslo","unit":"celsius"}"#),
                ("call_chatcmplgv01HZX3_1", "get_time", r#"{"tz":"Europe/Oslo"}"#),
            ]
        );
        assert_eq!(f.finish, Some(FinishReason::ToolCalls));
        let usage = f.usage.unwrap();
        assert_eq!((usage.prompt_tokens, usage.completion_tokens, usage.total_tokens), (1436, 94, 1530));
    }
}

#[test]
fn a_stream_without_finish_reason_is_cut_and_errors_in_it_are_reported() {
    let evs = events(&data("gemini_stream.sse"), 50);
    let mut t = GeminiStreamTranslator::new(RequestContext::default(), meta(), "m");
    for e in &evs[..evs.len() - 1] {
        t.feed(e).unwrap();
    }
    assert!(t.finish().is_err());
    let mut t = GeminiStreamTranslator::new(RequestContext::default(), meta(), "m");
    let error = SseEvent {
        data: r#"{"error": {"code": 429, "message": "Resource has been exhausted", "status": "RESOURCE_EXHAUSTED"}}"#
            .into(),
        ..SseEvent::default()
    };
    assert_eq!(t.feed(&error).unwrap_err().code(), "BYOK_RATE_LIMITED");
    let mut t = GeminiStreamTranslator::new(RequestContext::default(), meta(), "m");
    let far = SseEvent { data: r#"{"candidates": [{"index": 500}]}"#.into(), ..SseEvent::default() };
    assert!(t.feed(&far).unwrap_err().to_string().contains("MAX_CANDIDATES"));
}

#[test]
fn embeddings_both_ways() {
    let req: EmbeddingsRequest = serde_json::from_value(
        json!({"model": "text-embedding-004", "input": ["fjord", "glacier"], "dimensions": 256}),
    )
    .unwrap();
    let body = serde_json::to_value(embeddings_to_gemini(&req, "text-embedding-004").unwrap()).unwrap();
    assert_eq!(
        body,
        json!({"requests": [
            {"model": "models/text-embedding-004", "content": {"parts": [{"text": "fjord"}]}, "outputDimensionality": 256},
            {"model": "models/text-embedding-004", "content": {"parts": [{"text": "glacier"}]}, "outputDimensionality": 256}
        ]})
    );
    let tokens: EmbeddingsRequest = serde_json::from_value(json!({"model": "m", "input": [[1, 2, 3]]})).unwrap();
    assert_eq!(embeddings_to_gemini(&tokens, "m").unwrap_err().param(), Some("input"));

    let resp = BatchEmbedResponse {
        embeddings: vec![EmbeddingValues { values: vec![0.5, -1.0] }, EmbeddingValues { values: vec![0.25] }],
    };
    let out = serde_json::to_value(gemini_embeddings_to_openai(&resp, "text-embedding-004", false)).unwrap();
    assert_eq!(out["data"][1], json!({"object": "embedding", "index": 1, "embedding": [0.25]}));
    assert_eq!(out["object"], "list");
    let b64 = gemini_embeddings_to_openai(&resp, "m", true);
    // 0.5f32 = 00 00 00 3f, -1.0f32 = 00 00 80 bf, little-endian.
    assert_eq!(b64.data[0].embedding, Value::from("AAAAPwAAgL8="));
}
