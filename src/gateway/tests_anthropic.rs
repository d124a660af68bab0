//! OpenAI → Anthropic requests, Anthropic → OpenAI answers and streams.
#![allow(clippy::unwrap_used)]

use serde_json::{json, Value};

use super::anthropic::MessagesResponse;
use super::openai::{ChatCompletionRequest, FinishReason, Role};
use super::tests_support::{data, events, fold, json, translate};
use super::*;

fn request(name: &str) -> ChatCompletionRequest {
    serde_json::from_value(json(name)).unwrap()
}

fn meta() -> ResponseMeta {
    ResponseMeta::new("chatcmpl-gv01HZX3", 1_754_400_000)
}

fn err_param(result: Result<AnthropicPlan, GatewayError>) -> (String, &'static str) {
    let e = result.unwrap_err();
    (e.param().unwrap_or_default().to_owned(), e.code())
}

#[test]
fn a_full_conversation_translates_field_by_field() {
    let plan = to_anthropic(&request("openai_request_tools.json"), "claude-sonnet-4-5-20250929").unwrap();
    let body = serde_json::to_value(&plan.body).unwrap();
    let expected = json!({
        "model": "claude-sonnet-4-5-20250929",
        "max_tokens": 800,
        "system": "You are a travel assistant. Answer briefly.\n\nUse metric units.",
        "messages": [
            {"role": "user", "content": [
                {"type": "text", "text": "What's the weather where this photo was taken, and in Oslo?"},
                {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                  "data": "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="}},
                {"type": "image", "source": {"type": "url", "url": "https://upload.example.org/photos/fjord.jpg"}}
            ]},
            {"role": "assistant", "content": [
                {"type": "text", "text": "Let me check both places."},
                {"type": "tool_use", "id": "call_Bx7kQ2pL9aZ", "name": "get_weather", "input": {"city": "Bergen", "unit": "celsius"}},
                {"type": "tool_use", "id": "call_Rt4mN8vW1cY", "name": "get_weather", "input": {"city": "Oslo", "unit": "celsius"}}
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "call_Bx7kQ2pL9aZ", "content": "{\"temp\": 11, \"sky\": \"rain\"}"},
                {"type": "tool_result", "tool_use_id": "call_Rt4mN8vW1cY", "content": "{\"temp\": 14, \"sky\": \"clear\"}"},
                {"type": "text", "text": "Thanks. Which is warmer?"}
            ]}
        ],
        "stop_sequences": ["\n\nUser:"],
        "temperature": 0.3,
        "top_p": 0.9,
        "stream": true,
        "tools": [{"name": "get_weather", "description": "Current weather for a city",
                   "input_schema": {"type": "object", "properties": {"city": {"type": "string"},
                     "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}}, "required": ["city"],
                     "additionalProperties": false}}],
        "tool_choice": {"type": "auto"},
        "metadata": {"user_id": "user-8812"}
    });
    assert_eq!(body, expected);
    assert_eq!(
        plan.context,
        RequestContext { stream: true, include_usage: true, structured_tool: None },
        "the response side learns about streaming and usage"
    );
}

#[test]
fn limits_anthropic_cannot_honour_are_refused_by_name() {
    let base = request("openai_request_tools.json");
    let mut r = base.clone();
    r.n = Some(2);
    assert_eq!(err_param(to_anthropic(&r, "m")), ("n".into(), "VALIDATION_FAILED"));
    let mut r = base.clone();
    r.temperature = Some(1.5);
    assert_eq!(err_param(to_anthropic(&r, "m")).0, "temperature");
    let mut r = base.clone();
    r.extra.insert("logprobs".into(), json!(true));
    assert_eq!(err_param(to_anthropic(&r, "m")).0, "logprobs");
    let mut r = base.clone();
    r.extra.insert("audio".into(), json!({"voice": "alloy"}));
    let e = to_anthropic(&r, "m").unwrap_err();
    assert_eq!(e.to_openai()["error"]["param"], "audio");
    assert!(e.to_string().contains("anthropic cannot honour `audio`"), "{e}");
}

#[test]
fn harmless_and_neutral_fields_are_dropped_and_top_k_is_mapped() {
    let mut r = request("openai_request_tools.json");
    r.extra.insert("store".into(), json!(true));
    r.extra.insert("logprobs".into(), json!(false));
    r.extra.insert("presence_penalty".into(), json!(0));
    r.extra.insert("top_k".into(), json!(20));
    let plan = to_anthropic(&r, "m").unwrap();
    assert_eq!(plan.body.top_k, Some(20));
    assert!(plan.body.extra.is_empty());
}

#[test]
fn bad_content_is_refused_with_its_path() {
    let mut r = request("openai_request_tools.json");
    r.messages[2].content = Some(serde_json::from_value(json!([
        {"type": "text", "text": "hi"}, {"type": "image_url", "image_url": {"url": "data:image/svg+xml;base64,PHN2Zz4="}}
    ])).unwrap());
    assert_eq!(err_param(to_anthropic(&r, "m")).0, "messages[2].content[1].image_url.url");
    r.messages[2].content =
        Some(serde_json::from_value(json!([{"type": "image_url", "image_url": {"url": "ftp://x/y.png"}}])).unwrap());
    assert_eq!(err_param(to_anthropic(&r, "m")).0, "messages[2].content[0].image_url.url");
    r.messages[2].content = Some(
        serde_json::from_value(json!([{"type": "input_audio", "input_audio": {"data": "AA==", "format": "wav"}}]))
            .unwrap(),
    );
    assert_eq!(err_param(to_anthropic(&r, "m")).0, "messages[2].content[0].type");

    let mut r = request("openai_request_tools.json");
    r.messages[3].tool_calls.as_mut().unwrap()[1].function.arguments = "{\"city\": ".into();
    assert_eq!(
        err_param(to_anthropic(&r, "m")),
        ("messages[3].tool_calls[1].function.arguments".into(), "VALIDATION_FAILED")
    );
    let mut r = request("openai_request_tools.json");
    r.messages[0].content =
        Some(serde_json::from_value(json!([{"type": "image_url", "image_url": {"url": "https://a/b.png"}}])).unwrap());
    assert_eq!(err_param(to_anthropic(&r, "m")).0, "messages[0].content[0].type");
}

#[test]
fn tool_choice_modes_map_and_max_tokens_has_a_default() {
    let mut r = request("openai_request_tools.json");
    r.max_completion_tokens = None;
    let cases = [
        (json!("none"), json!({"type": "none"})),
        (json!("required"), json!({"type": "any"})),
        (
            json!({"type": "function", "function": {"name": "get_weather"}}),
            json!({"type": "tool", "name": "get_weather"}),
        ),
    ];
    for (choice, expected) in cases {
        r.tool_choice = Some(serde_json::from_value(choice).unwrap());
        let plan = to_anthropic(&r, "m").unwrap();
        assert_eq!(serde_json::to_value(&plan.body.tool_choice).unwrap(), expected);
        assert_eq!(plan.body.max_tokens, DEFAULT_ANTHROPIC_MAX_TOKENS);
    }
    r.tool_choice = Some(serde_json::from_value(json!({"type": "function", "function": {"name": "nope"}})).unwrap());
    assert_eq!(err_param(to_anthropic(&r, "m")).0, "tool_choice.function.name");
    r.tool_choice = None;
    r.parallel_tool_calls = Some(false);
    r.max_tokens = Some(77);
    let plan = to_anthropic(&r, "m").unwrap();
    assert_eq!(
        serde_json::to_value(&plan.body.tool_choice).unwrap(),
        json!({"type": "auto", "disable_parallel_tool_use": true})
    );
    assert_eq!(plan.body.max_tokens, 77);
}

#[test]
fn json_schema_becomes_a_forced_tool_and_json_object_an_instruction() {
    let mut r = request("openai_request_json_schema.json");
    let plan = to_anthropic(&r, "claude-haiku-4-5").unwrap();
    let tools = plan.body.tools.as_ref().unwrap();
    assert_eq!(tools.len(), 1);
    assert_eq!(tools[0].name, STRUCTURED_OUTPUT_TOOL);
    assert_eq!(tools[0].input_schema["$defs"]["Party"]["required"], json!(["name"]));
    assert_eq!(serde_json::to_value(&plan.body.tool_choice).unwrap(), json!({"type": "tool", "name": "json_response"}));
    assert_eq!(plan.context.structured_tool, Some(StructuredTool { name: "json_response".into(), wrapped: false }));

    // A non-object schema is wrapped, since a tool's input must be an object.
    r.response_format = Some(
        serde_json::from_value(json!({"type": "json_schema",
        "json_schema": {"name": "tags", "schema": {"type": "array", "items": {"type": "string"}}}}))
        .unwrap(),
    );
    let plan = to_anthropic(&r, "m").unwrap();
    assert_eq!(plan.body.tools.unwrap()[0].input_schema["properties"]["value"]["type"], "array");
    assert!(plan.context.structured_tool.unwrap().wrapped);

    // With the caller's own tools the schema travels as an instruction, so those tools stay callable.
    let mut with_tools = request("openai_request_tools.json");
    with_tools.response_format = request("openai_request_json_schema.json").response_format;
    let plan = to_anthropic(&with_tools, "m").unwrap();
    assert_eq!(plan.body.tools.as_ref().unwrap()[0].name, "get_weather");
    assert!(plan.context.structured_tool.is_none());
    let system = serde_json::to_value(&plan.body.system).unwrap();
    assert!(system.as_str().unwrap().contains("\"$defs\""), "{system}");

    r.response_format = Some(serde_json::from_value(json!({"type": "json_object"})).unwrap());
    let plan = to_anthropic(&r, "m").unwrap();
    assert!(plan.body.tools.is_none());
    assert!(serde_json::to_value(&plan.body.system).unwrap().as_str().unwrap().contains("one valid JSON object"));
}

#[test]
fn an_answer_with_thinking_text_and_parallel_tool_calls() {
    let resp: MessagesResponse = serde_json::from_value(json("anthropic_response_tools.json")).unwrap();
    let out = anthropic_to_openai(&resp, &RequestContext::default(), &meta()).unwrap();
    let v = serde_json::to_value(&out).unwrap();
    assert_eq!(
        v,
        json!({
            "id": "chatcmpl-gv01HZX3", "object": "chat.completion", "created": 1_754_400_000,
            "model": "claude-sonnet-4-5-20250929",
            "choices": [{"index": 0, "logprobs": null, "finish_reason": "tool_calls", "message": {
                "role": "assistant", "content": "Let me check both places.", "refusal": null,
                "tool_calls": [
                    {"id": "toolu_01A09q90qw90lq917835lq9", "type": "function",
                     "function": {"name": "get_weather", "arguments": "{\"city\":\"Bergen\",\"unit\":\"celsius\"}"}},
                    {"id": "toolu_01T1x1fJ34qAmk2tNTrN7Up6", "type": "function",
                     "function": {"name": "get_weather", "arguments": "{\"city\":\"Oslo\",\"unit\":\"celsius\"}"}}
                ]}}],
            "usage": {"prompt_tokens": 1436, "completion_tokens": 96, "total_tokens": 1532,
                      "prompt_tokens_details": {"cached_tokens": 1024}}
        })
    );
}

#[test]
fn stop_reasons_map_to_finish_reasons() {
    use super::anthropic::StopReason as S;
    let cases = [
        (S::EndTurn, FinishReason::Stop),
        (S::StopSequence, FinishReason::Stop),
        (S::MaxTokens, FinishReason::Length),
        (S::ToolUse, FinishReason::ToolCalls),
        (S::Refusal, FinishReason::ContentFilter),
    ];
    for (stop, finish) in cases {
        assert_eq!(anthropic_finish_reason(Some(stop), false), Some(finish), "{stop:?}");
    }
    assert_eq!(anthropic_finish_reason(Some(S::ToolUse), true), Some(FinishReason::Stop));
    assert_eq!(anthropic_finish_reason(None, false), None);
}

#[test]
fn a_forced_structured_answer_reads_as_content() {
    let mut resp: MessagesResponse = serde_json::from_value(json("anthropic_response_tools.json")).unwrap();
    resp.content = vec![super::anthropic::ContentBlock::ToolUse {
        id: "toolu_1".into(),
        name: STRUCTURED_OUTPUT_TOOL.into(),
        input: json!({"value": ["a", "b"]}),
    }];
    let ctx = RequestContext {
        structured_tool: Some(StructuredTool { name: STRUCTURED_OUTPUT_TOOL.into(), wrapped: true }),
        ..RequestContext::default()
    };
    let out = anthropic_to_openai(&resp, &ctx, &meta()).unwrap();
    assert_eq!(out.choices[0].message.content.as_deref(), Some("[\"a\",\"b\"]"));
    assert!(out.choices[0].message.tool_calls.is_none());
    assert_eq!(out.choices[0].finish_reason, Some(FinishReason::Stop));
}

#[test]
fn the_stream_folds_into_the_unstreamed_answer_at_any_split() {
    let resp: MessagesResponse = serde_json::from_value(json("anthropic_response_tools.json")).unwrap();
    let whole = anthropic_to_openai(&resp, &RequestContext::default(), &meta()).unwrap();
    let text = data("anthropic_stream_tools.sse");
    let crlf = text.replace('\n', "\r\n");
    for (source, step) in [(&text, 1), (&text, 7), (&crlf, 13), (&crlf, 4096)] {
        let ctx = RequestContext { stream: true, include_usage: true, structured_tool: None };
        let mut t = AnthropicStreamTranslator::new(ctx, meta());
        let chunks = translate(&mut t, &events(source, step));
        let f = fold(&chunks);
        assert_eq!(f.role, Some(Role::Assistant));
        assert_eq!(f.content, whole.choices[0].message.content.clone().unwrap());
        let calls = whole.choices[0].message.tool_calls.clone().unwrap();
        assert_eq!(f.tools.len(), 2);
        for (i, call) in calls.iter().enumerate() {
            let (id, name, args) = &f.tools[&u32::try_from(i).unwrap()];
            assert_eq!((id, name), (&call.id, &call.function.name));
            let streamed: Value = serde_json::from_str(args).unwrap();
            assert_eq!(streamed, serde_json::from_str::<Value>(&call.function.arguments).unwrap());
        }
        assert_eq!(f.finish, Some(FinishReason::ToolCalls));
        assert_eq!(f.usage, whole.usage, "usage held from message_start and message_delta until the end");
        assert!(chunks.iter().all(|c| c.model == "claude-sonnet-4-5-20250929" && c.id == "chatcmpl-gv01HZX3"));
    }
}

#[test]
fn no_usage_chunk_unless_asked_and_a_cut_stream_is_an_error() {
    let evs = events(&data("anthropic_stream_tools.sse"), 64);
    let mut t = AnthropicStreamTranslator::new(RequestContext::default(), meta());
    let chunks = translate(&mut t, &evs);
    assert!(chunks.iter().all(|c| c.usage.is_none() && !c.choices.is_empty()));

    let mut t = AnthropicStreamTranslator::new(RequestContext::default(), meta());
    for e in &evs[..evs.len() - 2] {
        t.feed(e).unwrap();
    }
    let e = t.finish().unwrap_err();
    assert_eq!(e.code(), "BYOK_PROVIDER_ERROR");
}

#[test]
fn stream_errors_and_unknown_events() {
    let mut t = AnthropicStreamTranslator::new(RequestContext::default(), meta());
    let unknown = SseEvent { event: Some("future_event".into()), data: r#"{"type":"future_event"}"#.into(), id: None };
    assert!(t.feed(&unknown).unwrap().is_empty());
    let overloaded = SseEvent {
        event: Some("error".into()),
        data: r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#.into(),
        id: None,
    };
    let e = t.feed(&overloaded).unwrap_err();
    assert_eq!((e.code(), e.status()), ("BYOK_PROVIDER_ERROR", 502));
    let limited = SseEvent { data: overloaded.data.replace("overloaded_error", "rate_limit_error"), ..overloaded };
    assert_eq!(t.feed(&limited).unwrap_err().code(), "BYOK_RATE_LIMITED");
}

#[test]
fn a_streamed_structured_answer_is_content() {
    let text = data("anthropic_stream_tools.sse")
        .replace("\"name\":\"get_weather\"", "\"name\":\"json_response\"")
        .replace(r#"{"type":"thinking","thinking":"","signature":""}"#, r#"{"type":"thinking","thinking":""}"#);
    // Keep only the first tool block: the stream then holds text + the forced tool.
    let cut = text.find("event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":3").unwrap();
    let tail = text.find("event: message_delta").unwrap();
    let text = format!("{}{}", &text[..cut], &text[tail..]);
    let ctx = RequestContext {
        structured_tool: Some(StructuredTool { name: STRUCTURED_OUTPUT_TOOL.into(), wrapped: false }),
        ..RequestContext::default()
    };
    let mut t = AnthropicStreamTranslator::new(ctx, meta());
    let f = fold(&translate(&mut t, &events(&text, 9)));
    assert!(f.tools.is_empty());
    assert_eq!(f.content, "Let me check both places.{\"city\": \"Bergen\", \"unit\": \"celsius\"}");
    assert_eq!(f.finish, Some(FinishReason::Stop));
}
