//! `/v1/messages`: Anthropic request → OpenAI request, OpenAI answer → Anthropic answer, OpenAI chunks →
//! Anthropic events, and round trips through both directions.
#![allow(clippy::unwrap_used)]

use serde_json::{json, Value};

use super::anthropic::{BlockDelta, ContentBlock, MessagesRequest, MessagesResponse, StopReason, StreamEvent};
use super::openai::{ChatCompletion, ChatCompletionChunk};
use super::tests_support::{data, events, json};
use super::*;

fn ingress_request() -> MessagesRequest {
    serde_json::from_value(json("anthropic_request_ingress.json")).unwrap()
}

fn msg_meta() -> ResponseMeta {
    ResponseMeta::new("msg_gv01HZX3", 1_754_400_000)
}

#[test]
fn an_anthropic_request_becomes_an_openai_request() {
    let out = serde_json::to_value(anthropic_request_to_openai(&ingress_request()).unwrap()).unwrap();
    assert_eq!(
        out,
        json!({
            "model": "fast",
            "messages": [
                {"role": "system", "content": "You are a coding assistant.\nBe terse."},
                {"role": "user", "content": [
                    {"type": "text", "text": "What does this diagram show? Then list the repo files."},
                    {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAgGBgcGBQgHBwcJCQgKDBQNDAsLDBkSEw8U"}}
                ]},
                {"role": "assistant", "content": "A state machine. Listing files.", "tool_calls": [
                    {"id": "toolu_01D7FLrfh4GYq7yT1ULFeyMV", "type": "function", "function": {"name": "list_files", "arguments": "{\"path\":\".\"}"}},
                    {"id": "toolu_01GzWq2bX9pY", "type": "function", "function": {"name": "read_file", "arguments": "{\"path\":\"README.md\"}"}}
                ]},
                {"role": "tool", "tool_call_id": "toolu_01D7FLrfh4GYq7yT1ULFeyMV", "content": "src/\nREADME.md"},
                {"role": "tool", "tool_call_id": "toolu_01GzWq2bX9pY", "content": "# demo"},
                {"role": "user", "content": "Summarise."}
            ],
            "stream": true,
            "stream_options": {"include_usage": true},
            "max_tokens": 1024,
            "temperature": 0.2,
            "stop": ["</answer>"],
            "user": "u-77",
            "tools": [
                {"type": "function", "function": {"name": "list_files", "description": "List files",
                  "parameters": {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]}}},
                {"type": "function", "function": {"name": "read_file",
                  "parameters": {"type": "object", "properties": {"path": {"type": "string"}}}}}
            ],
            "tool_choice": "auto",
            "parallel_tool_calls": false,
            "top_k": 40
        })
    );
}

#[test]
fn what_the_openai_path_cannot_do_is_refused_by_name() {
    let mut r = ingress_request();
    r.extra.insert("thinking".into(), json!({"type": "enabled", "budget_tokens": 2048}));
    assert_eq!(anthropic_request_to_openai(&r).unwrap_err().param(), Some("thinking"));
    r.extra.insert("thinking".into(), json!({"type": "disabled"}));
    assert!(anthropic_request_to_openai(&r).is_ok());
    let mut r = ingress_request();
    r.tools.as_mut().unwrap()[1].extra.insert("type".into(), json!("web_search_20250305"));
    assert_eq!(anthropic_request_to_openai(&r).unwrap_err().param(), Some("tools[1].type"));
    let mut r = ingress_request();
    r.messages[2].content = super::anthropic::Content::Blocks(vec![ContentBlock::ToolResult {
        tool_use_id: "toolu_1".into(),
        content: Some(super::anthropic::ToolResultContent::Blocks(vec![ContentBlock::Image {
            source: super::anthropic::ImageSource::Url { url: "https://a/b.png".into() },
        }])),
        is_error: None,
    }]);
    assert_eq!(anthropic_request_to_openai(&r).unwrap_err().param(), Some("messages[2].content[0].content[0]"));
}

#[test]
fn the_round_trip_anthropic_openai_anthropic_keeps_the_conversation() {
    let original = ingress_request();
    let openai = anthropic_request_to_openai(&original).unwrap();
    let back = to_anthropic(&openai, "claude-sonnet-4-5").unwrap().body;
    let strip = |blocks: &[ContentBlock]| -> Vec<ContentBlock> {
        blocks.iter().filter(|b| !matches!(b, ContentBlock::Thinking { .. })).cloned().collect()
    };
    assert_eq!(back.messages.len(), original.messages.len());
    for (a, b) in original.messages.iter().zip(&back.messages) {
        assert_eq!(a.role, b.role);
        let (a, b) = (a.content.clone().into_blocks(), b.content.clone().into_blocks());
        // is_error: false carries no information and is not kept.
        let a: Vec<ContentBlock> = strip(&a)
            .into_iter()
            .map(|blk| match blk {
                ContentBlock::ToolResult {
                    tool_use_id,
                    content: Some(super::anthropic::ToolResultContent::Blocks(bs)),
                    ..
                } => {
                    let text = bs
                        .iter()
                        .map(|b| match b {
                            ContentBlock::Text { text } => text.clone(),
                            _ => String::new(),
                        })
                        .collect();
                    ContentBlock::ToolResult {
                        tool_use_id,
                        content: Some(super::anthropic::ToolResultContent::Text(text)),
                        is_error: None,
                    }
                }
                other => other,
            })
            .collect();
        assert_eq!(a, b);
    }
    assert_eq!(back.stop_sequences, original.stop_sequences);
    assert_eq!(back.top_k, Some(40));
    assert_eq!(back.metadata, original.metadata);
    assert_eq!(
        serde_json::to_value(&back.tool_choice).unwrap(),
        json!({"type": "auto", "disable_parallel_tool_use": true})
    );
    assert_eq!(back.tools.unwrap()[0].input_schema, original.tools.unwrap()[0].input_schema);
}

#[test]
fn an_openai_answer_becomes_an_anthropic_answer() {
    let resp: ChatCompletion = serde_json::from_value(json("openai_response_tools.json")).unwrap();
    let out = serde_json::to_value(openai_response_to_anthropic(&resp, &msg_meta()).unwrap()).unwrap();
    assert_eq!(
        out,
        json!({
            "id": "msg_gv01HZX3", "type": "message", "role": "assistant", "model": "gpt-4o-2024-08-06",
            "content": [
                {"type": "text", "text": "Let me check both places."},
                {"type": "tool_use", "id": "call_Bx7kQ2pL9aZ", "name": "get_weather", "input": {"city": "Bergen", "unit": "celsius"}},
                {"type": "tool_use", "id": "call_Rt4mN8vW1cY", "name": "get_weather", "input": {"city": "Oslo", "unit": "celsius"}}
            ],
            "stop_reason": "tool_use", "stop_sequence": null,
            "usage": {"input_tokens": 412, "output_tokens": 61, "cache_read_input_tokens": 1024}
        })
    );
    let mut bad = resp;
    bad.choices[0].message.tool_calls.as_mut().unwrap()[0].function.arguments = "[1]".into();
    assert_eq!(openai_response_to_anthropic(&bad, &msg_meta()).unwrap_err().code(), "BYOK_PROVIDER_ERROR");
}

/// Text and tool inputs (parsed from the concatenated `partial_json`) of an Anthropic event sequence, checking its
/// grammar: message_start first, blocks started before their deltas and stopped before the next starts.
fn fold_events(evs: &[StreamEvent]) -> (Vec<Value>, Option<StopReason>, u64, u64) {
    let mut blocks: Vec<(ContentBlock, String)> = Vec::new();
    let mut open: Option<u32> = None;
    let (mut stop, mut input, mut output) = (None, 0, 0);
    assert!(matches!(evs.first(), Some(StreamEvent::MessageStart { .. })));
    assert!(matches!(evs.last(), Some(StreamEvent::MessageStop)));
    for e in evs {
        match e {
            StreamEvent::ContentBlockStart { index, content_block } => {
                assert!(open.is_none(), "one block open at a time");
                assert_eq!(*index as usize, blocks.len(), "blocks numbered in order");
                open = Some(*index);
                blocks.push((content_block.clone(), String::new()));
            }
            StreamEvent::ContentBlockDelta { index, delta } => {
                assert_eq!(open, Some(*index));
                match delta {
                    BlockDelta::TextDelta { text } | BlockDelta::InputJsonDelta { partial_json: text } => {
                        blocks[*index as usize].1.push_str(text)
                    }
                    _ => {}
                }
            }
            StreamEvent::ContentBlockStop { index } => {
                assert_eq!(open.take(), Some(*index));
            }
            StreamEvent::MessageDelta { delta, usage } => {
                assert!(open.is_none());
                stop = delta.stop_reason;
                output = usage.output_tokens;
                input = usage.input_tokens.unwrap_or(0);
            }
            _ => {}
        }
    }
    let folded = blocks
        .into_iter()
        .map(|(block, acc)| match block {
            ContentBlock::Text { .. } => json!({"text": acc}),
            ContentBlock::ToolUse { id, name, .. } => {
                json!({"id": id, "name": name, "input": serde_json::from_str::<Value>(&acc).unwrap()})
            }
            other => panic!("unexpected block {other:?}"),
        })
        .collect();
    (folded, stop, input, output)
}

fn writer_events(sse: &str, step: usize) -> Vec<StreamEvent> {
    let mut w = AnthropicStreamWriter::new(msg_meta(), "fast");
    let mut out = Vec::new();
    for e in events(sse, step) {
        out.extend(w.feed(&e).unwrap());
    }
    out.extend(w.finish().unwrap());
    out
}

#[test]
fn openai_chunks_become_anthropic_events() {
    let evs = writer_events(&data("openai_stream_tools.sse"), 5);
    let names: Vec<&str> = evs.iter().map(StreamEvent::name).collect();
    assert_eq!(names[..3], ["message_start", "content_block_start", "content_block_delta"]);
    assert_eq!(names[names.len() - 2..], ["message_delta", "message_stop"]);
    let (blocks, stop, input, output) = fold_events(&evs);
    assert_eq!(
        blocks,
        vec![
            json!({"text": "Let me check both places."}),
            json!({"id": "call_Bx7kQ2pL9aZ", "name": "get_weather", "input": {"city": "Bergen", "unit": "celsius"}}),
            json!({"id": "call_Rt4mN8vW1cY", "name": "get_weather", "input": {"city": "Oslo", "unit": "celsius"}}),
        ]
    );
    assert_eq!((stop, input, output), (Some(StopReason::ToolUse), 412, 61));
    let StreamEvent::MessageStart { message } = &evs[0] else { unreachable!() };
    assert_eq!((message.id.as_str(), message.model.as_str()), ("msg_gv01HZX3", "gpt-4o-2024-08-06"));
    let frame = anthropic_sse_frame(&evs[evs.len() - 1]);
    assert_eq!(frame, "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n");
}

fn chunk(delta: Value, finish: Value) -> ChatCompletionChunk {
    serde_json::from_value(json!({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "llama3.1",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}))
    .unwrap()
}

#[test]
fn arguments_before_the_name_wait_and_interleaving_is_refused() {
    let mut w = AnthropicStreamWriter::new(msg_meta(), "m");
    let mut evs = Vec::new();
    evs.extend(
        w.feed_chunk(&chunk(json!({"tool_calls": [{"index": 0, "function": {"arguments": "{\"a\":"}}]}), Value::Null))
            .unwrap(),
    );
    evs.extend(
        w.feed_chunk(&chunk(
            json!({"tool_calls": [{"index": 0, "function": {"name": "f", "arguments": "1}"}}]}),
            Value::Null,
        ))
        .unwrap(),
    );
    evs.extend(w.feed_chunk(&chunk(json!({}), json!("tool_calls"))).unwrap());
    evs.extend(w.finish().unwrap());
    let (blocks, stop, _, _) = fold_events(&evs);
    assert_eq!(blocks, vec![json!({"id": "toolu_msg_gv01HZX3_0", "name": "f", "input": {"a": 1}})]);
    assert_eq!(stop, Some(StopReason::ToolUse));

    let mut w = AnthropicStreamWriter::new(msg_meta(), "m");
    let call = |i: u32, name: Option<&str>, args: &str| {
        let mut f = json!({"arguments": args});
        if let Some(n) = name {
            f["name"] = json!(n);
        }
        chunk(json!({"tool_calls": [{"index": i, "id": format!("call_{i}"), "function": f}]}), Value::Null)
    };
    w.feed_chunk(&call(0, Some("a"), "{")).unwrap();
    w.feed_chunk(&call(1, Some("b"), "{")).unwrap();
    assert_eq!(w.feed_chunk(&call(0, None, "}")).unwrap_err().code(), "BYOK_PROVIDER_ERROR");

    let mut w = AnthropicStreamWriter::new(msg_meta(), "m");
    w.feed_chunk(&chunk(json!({"content": "hi"}), Value::Null)).unwrap();
    assert!(w.finish().is_err(), "no finish_reason: the stream was cut");
}

#[test]
fn anthropic_stream_through_openai_chunks_and_back() {
    // Anthropic SSE → OpenAI chunks (what an OpenAI-shaped caller would see) → Anthropic events again.
    let mut t = AnthropicStreamTranslator::new(
        RequestContext { stream: true, include_usage: true, structured_tool: None },
        ResponseMeta::new("chatcmpl-x", 1),
    );
    let mut w = AnthropicStreamWriter::new(msg_meta(), "m");
    let mut out = Vec::new();
    for e in events(&data("anthropic_stream_tools.sse"), 3) {
        for c in t.feed(&e).unwrap() {
            out.extend(w.feed_chunk(&c).unwrap());
        }
    }
    for c in t.finish().unwrap() {
        out.extend(w.feed_chunk(&c).unwrap());
    }
    out.extend(w.finish().unwrap());
    let (blocks, stop, input, output) = fold_events(&out);
    let original: MessagesResponse = serde_json::from_value(json("anthropic_response_tools.json")).unwrap();
    let expected: Vec<Value> = original
        .content
        .iter()
        .filter_map(|b| match b {
            ContentBlock::Text { text } => Some(json!({"text": text})),
            ContentBlock::ToolUse { id, name, input } => Some(json!({"id": id, "name": name, "input": input})),
            _ => None,
        })
        .collect();
    assert_eq!(blocks, expected);
    assert_eq!((stop, input, output), (Some(StopReason::ToolUse), 412, 96));
}
