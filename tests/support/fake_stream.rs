//! The fake provider's streaming answers (OpenAI chunks with `data: [DONE]`, Anthropic's named events, Gemini's
//! `alt=sse` responses), tool calls, and embeddings, in each provider's real shapes. A stream is sent frame by
//! frame with `stream_delay` between frames; one dropped before its last frame (the client hung up) is counted.
#![allow(dead_code, clippy::unwrap_used)]

use std::sync::atomic::{AtomicU64, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

use actix_web::HttpResponse;
use serde_json::{json, Value};

/// Counts a stream as cancelled unless it reached its end.
struct Guard {
    cancelled: Arc<AtomicU64>,
    done: bool,
}

impl Drop for Guard {
    fn drop(&mut self) {
        if !self.done {
            self.cancelled.fetch_add(1, SeqCst);
        }
    }
}

/// An SSE answer of `frames`, paced by `delay`.
pub fn sse(frames: Vec<String>, delay: Duration, cancelled: Arc<AtomicU64>) -> HttpResponse {
    let state = (frames.into_iter(), Guard { cancelled, done: false }, true);
    let body = futures_util::stream::unfold(state, move |(mut frames, mut guard, first)| async move {
        if !first && !delay.is_zero() {
            actix_web::rt::time::sleep(delay).await;
        }
        match frames.next() {
            Some(f) => {
                Some((Ok::<_, std::convert::Infallible>(actix_web::web::Bytes::from(f)), (frames, guard, false)))
            }
            None => {
                guard.done = true;
                drop(guard);
                None
            }
        }
    });
    HttpResponse::Ok().content_type("text/event-stream").streaming(body)
}

/// The reply cut into about four pieces (on char boundaries).
pub fn pieces(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let step = chars.len().div_ceil(4).max(1);
    chars.chunks(step).map(|c| c.iter().collect()).collect()
}

/// The tool the fake calls when the request offers tools (and has no tool result yet): the first one, with
/// arguments `{"city": "Paris"}`.
pub fn tool_to_call(flavor_openai: bool, body: &Value) -> Option<String> {
    let tools = body["tools"].as_array().filter(|t| !t.is_empty())?;
    let last = body["messages"].as_array().and_then(|m| m.last()).cloned().unwrap_or(Value::Null);
    if last["role"] == "tool" || last["content"].to_string().contains("tool_result") {
        return None;
    }
    if flavor_openai {
        tools[0]["function"]["name"].as_str().map(str::to_owned)
    } else {
        tools[0]["name"].as_str().map(str::to_owned)
    }
}

pub const TOOL_ARGS: &str = r#"{"city": "Paris"}"#;

fn data(v: &Value) -> String {
    format!("data: {v}\n\n")
}

/// OpenAI's stream: role chunk, content (or tool-call) deltas, finish chunk, usage chunk when asked, `[DONE]`.
pub fn openai_frames(
    id: &str,
    model: &str,
    reply: &str,
    tool: Option<&str>,
    usage: (u64, u64),
    include_usage: bool,
) -> Vec<String> {
    let created = chrono::Utc::now().timestamp();
    let chunk = |delta: Value, finish: Value| {
        json!({"id": id, "object": "chat.completion.chunk", "created": created, "model": model,
               "system_fingerprint": "fp_fake", "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]})
    };
    let mut out = vec![data(&chunk(json!({"role": "assistant", "content": ""}), Value::Null))];
    let finish = match tool {
        Some(name) => {
            out.push(data(&chunk(
                json!({"tool_calls": [{"index": 0, "id": "call_fake1", "type": "function", "function": {"name": name, "arguments": ""}}]}),
                Value::Null,
            )));
            for p in pieces(TOOL_ARGS) {
                out.push(data(&chunk(
                    json!({"tool_calls": [{"index": 0, "function": {"arguments": p}}]}),
                    Value::Null,
                )));
            }
            "tool_calls"
        }
        None => {
            for p in pieces(reply) {
                out.push(data(&chunk(json!({"content": p}), Value::Null)));
            }
            "stop"
        }
    };
    out.push(data(&chunk(json!({}), json!(finish))));
    if include_usage {
        out.push(data(&json!({"id": id, "object": "chat.completion.chunk", "created": created, "model": model,
            "choices": [], "usage": {"prompt_tokens": usage.0, "completion_tokens": usage.1, "total_tokens": usage.0 + usage.1}})));
    }
    out.push("data: [DONE]\n\n".into());
    out
}

fn event(name: &str, mut v: Value) -> String {
    v["type"] = json!(name);
    format!("event: {name}\ndata: {v}\n\n")
}

/// Anthropic's stream: message_start, one text (or tool_use) block, message_delta with usage, message_stop.
pub fn anthropic_frames(id: &str, model: &str, reply: &str, tool: Option<&str>, usage: (u64, u64)) -> Vec<String> {
    let mut out = vec![event(
        "message_start",
        json!({"message": {"id": id, "type": "message", "role": "assistant", "model": model, "content": [],
                           "stop_reason": null, "stop_sequence": null, "usage": {"input_tokens": usage.0, "output_tokens": 1}}}),
    )];
    let stop = match tool {
        Some(name) => {
            out.push(event("content_block_start", json!({"index": 0, "content_block": {"type": "tool_use", "id": "toolu_fake1", "name": name, "input": {}}})));
            for p in pieces(TOOL_ARGS) {
                out.push(event(
                    "content_block_delta",
                    json!({"index": 0, "delta": {"type": "input_json_delta", "partial_json": p}}),
                ));
            }
            "tool_use"
        }
        None => {
            out.push(event("content_block_start", json!({"index": 0, "content_block": {"type": "text", "text": ""}})));
            out.push("event: ping\ndata: {\"type\": \"ping\"}\n\n".into());
            for p in pieces(reply) {
                out.push(event("content_block_delta", json!({"index": 0, "delta": {"type": "text_delta", "text": p}})));
            }
            "end_turn"
        }
    };
    out.push(event("content_block_stop", json!({"index": 0})));
    out.push(event(
        "message_delta",
        json!({"delta": {"stop_reason": stop, "stop_sequence": null}, "usage": {"output_tokens": usage.1}}),
    ));
    out.push(event("message_stop", json!({})));
    out
}

/// Gemini's `alt=sse` stream: one GenerateContentResponse per piece, the last with finishReason and usage.
pub fn gemini_frames(id: &str, model: &str, reply: &str, usage: (u64, u64)) -> Vec<String> {
    let parts = pieces(reply);
    let n = parts.len();
    parts
        .into_iter()
        .enumerate()
        .map(|(i, p)| {
            let mut cand = json!({"content": {"parts": [{"text": p}], "role": "model"}, "index": 0});
            let mut resp = json!({"modelVersion": model, "responseId": id});
            if i + 1 == n {
                cand["finishReason"] = json!("STOP");
                resp["usageMetadata"] =
                    json!({"promptTokenCount": usage.0, "candidatesTokenCount": usage.1, "totalTokenCount": usage.0 + usage.1});
            }
            resp["candidates"] = json!([cand]);
            data(&resp)
        })
        .collect()
}

/// Three numbers per input: enough to check shapes and order.
fn vector(i: usize) -> Value {
    json!([0.1 * (i as f64 + 1.0), 0.2, -0.3])
}

/// OpenAI's embeddings answer for `body.input`.
pub fn openai_embeddings(model: &str, body: &Value) -> Value {
    let n = match &body["input"] {
        Value::Array(a) => a.len(),
        _ => 1,
    };
    // Like OpenAI, `encoding_format: base64` answers each vector as little-endian f32 bytes in base64 (the Node SDK
    // asks for that by default).
    let base64 = body["encoding_format"] == "base64";
    let embedding = |i: usize| {
        let v = vector(i);
        if !base64 {
            return v;
        }
        let bytes: Vec<u8> =
            v.as_array().unwrap().iter().flat_map(|x| (x.as_f64().unwrap() as f32).to_le_bytes()).collect();
        json!(base64::Engine::encode(&base64::engine::general_purpose::STANDARD, bytes))
    };
    let data: Vec<Value> =
        (0..n).map(|i| json!({"object": "embedding", "index": i, "embedding": embedding(i)})).collect();
    json!({"object": "list", "data": data, "model": model, "usage": {"prompt_tokens": 3 * n, "total_tokens": 3 * n}})
}

/// Gemini's batchEmbedContents answer.
pub fn gemini_embeddings(body: &Value) -> Value {
    let n = body["requests"].as_array().map_or(0, Vec::len);
    json!({"embeddings": (0..n).map(|i| json!({"values": vector(i)})).collect::<Vec<_>>()})
}
