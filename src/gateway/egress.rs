//! The gateway's answers in the caller's shape: OpenAI's SSE frames (`data: {chunk}`, `data: [DONE]`, an
//! `{"error": …}` frame when a stream fails after it started), or, for `/v1/messages`, Anthropic's answer and
//! event stream made from the OpenAI-shaped ones by the ingress translators.

use futures_util::{Stream, StreamExt};
use serde_json::Value;

use crate::domain::Code;

use super::common::ResponseMeta;
use super::error::{anthropic_error_body, openai_error_body};
use super::ingress::openai_response_to_anthropic;
use super::ingress_stream::AnthropicStreamWriter;
use super::openai::{ChatCompletion, ChatCompletionChunk};
use super::serve::Failure;
use super::sse::{anthropic_sse_frame, OPENAI_SSE_DONE};
use super::stream::{StreamItem, StreamItems};

/// OpenAI's error body for a failure.
pub fn openai_error(f: &Failure) -> Value {
    openai_error_body(f.code.as_str(), f.status, &f.message, f.param.as_deref())
}

/// Anthropic's error body for a failure.
pub fn anthropic_error(f: &Failure) -> Value {
    anthropic_error_body(f.code.as_str(), f.status, &f.message)
}

/// The stream as OpenAI SSE text frames.
pub fn openai_frames(items: StreamItems) -> impl Stream<Item = String> {
    items
        .items
        .map(|item| match item {
            StreamItem::Chunk(text) => format!("data: {text}\n\n"),
            StreamItem::Failed(f) => format!("data: {}\n\n", openai_error(&f)),
        })
        .chain(futures_util::stream::once(async { OPENAI_SSE_DONE.to_owned() }))
        .scan(false, |done, frame| {
            // After an error frame the stream ends without [DONE]: SDKs raise on the error frame.
            if *done {
                return std::future::ready(None);
            }
            *done = frame.starts_with("data: {\"error\"");
            std::future::ready(Some(frame))
        })
}

/// A whole OpenAI-shaped answer as Anthropic's; `id` is the message id (`msg_…`).
pub fn anthropic_whole(body: Value, id: &str) -> Result<Value, Failure> {
    let bad = |m: String| Failure::new(Code::ByokProviderError, m);
    let cc: ChatCompletion =
        serde_json::from_value(body).map_err(|e| bad(format!("the answer has an unexpected shape: {e}")))?;
    let meta = ResponseMeta::new(id, cc.created);
    let msg = openai_response_to_anthropic(&cc, &meta).map_err(|e| Failure::from_gateway(&e, None))?;
    serde_json::to_value(msg).map_err(|e| bad(e.to_string()))
}

/// The stream as Anthropic's event frames.
pub fn anthropic_frames(items: StreamItems, id: &str, model: &str) -> impl Stream<Item = String> {
    let writer = AnthropicStreamWriter::new(ResponseMeta::new(id, chrono::Utc::now().timestamp()), model);
    let error_frame = |f: &Failure| format!("event: error\ndata: {}\n\n", anthropic_error(f));
    let events = items.items.map(Some).chain(futures_util::stream::once(async { None }));
    events
        .scan((writer, false), move |(w, stop), item| {
            if *stop {
                return std::future::ready(None);
            }
            let out = match item {
                Some(StreamItem::Chunk(text)) => match serde_json::from_str::<ChatCompletionChunk>(&text) {
                    Ok(chunk) => w.feed_chunk(&chunk).map_err(|e| Failure::from_gateway(&e, None)),
                    Err(e) => Err(Failure::new(
                        Code::ByokProviderError,
                        format!("a stream chunk has an unexpected shape: {e}"),
                    )),
                },
                Some(StreamItem::Failed(f)) => Err(f),
                None => {
                    *stop = true;
                    w.finish().map_err(|e| Failure::from_gateway(&e, None))
                }
            };
            let text = match out {
                Ok(events) => events.iter().map(anthropic_sse_frame).collect::<String>(),
                Err(f) => {
                    *stop = true;
                    error_frame(&f)
                }
            };
            std::future::ready(Some(text))
        })
        .filter(|t| std::future::ready(!t.is_empty()))
}
