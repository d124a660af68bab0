//! OpenAI chunks → Anthropic stream events, for streamed `POST /v1/messages`.
//!
//! Anthropic streams content as numbered blocks, one open at a time: text deltas go to a text block, each tool
//! call to its own `tool_use` block whose arguments stream as `input_json_delta`. OpenAI's usage arrives only in the
//! trailing usage chunk, so `message_start` carries zero input tokens and the real counts go out in
//! `message_delta` at the end (newer Anthropic clients read `input_tokens` there too).

use std::collections::BTreeMap;

use serde_json::json;

use super::anthropic::{
    AnthropicUsage, BlockDelta, ContentBlock, DeltaUsage, MessageDeltaBody, MessagesResponse, Role as ARole,
    StopReason, StreamEvent,
};
use super::common::{anthropic_tool_id, ResponseMeta};
use super::error::GatewayError;
use super::ingress::{openai_stop_reason, openai_usage_to_anthropic};
use super::openai::{ChatCompletionChunk, FinishReason, Usage};
use super::sse::SseEvent;

#[derive(Debug, Default)]
struct ToolState {
    block: Option<u32>,
    id: Option<String>,
    name: Option<String>,
    /// Argument fragments that came before the name (some servers send them in that order).
    pending: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Open {
    Text(u32),
    Tool { block: u32, call: u32 },
}

#[derive(Debug)]
pub struct AnthropicStreamWriter {
    meta: ResponseMeta,
    model: String,
    started: bool,
    done: bool,
    open: Option<Open>,
    next_block: u32,
    tools: BTreeMap<u32, ToolState>,
    finish: Option<FinishReason>,
    usage: Option<Usage>,
}

impl AnthropicStreamWriter {
    /// `meta.id` becomes the message id; `model` names the answer until a chunk names it.
    pub fn new(meta: ResponseMeta, model: &str) -> Self {
        Self {
            meta,
            model: model.to_owned(),
            started: false,
            done: false,
            open: None,
            next_block: 0,
            tools: BTreeMap::new(),
            finish: None,
            usage: None,
        }
    }

    /// One SSE event of an OpenAI stream; `data: [DONE]` ends the message.
    pub fn feed(&mut self, event: &SseEvent) -> Result<Vec<StreamEvent>, GatewayError> {
        if event.is_done() {
            return self.finish();
        }
        let chunk: ChatCompletionChunk = serde_json::from_str(&event.data)
            .map_err(|e| GatewayError::upstream(format!("a stream chunk has an unexpected shape: {e}")))?;
        self.feed_chunk(&chunk)
    }

    pub fn feed_chunk(&mut self, chunk: &ChatCompletionChunk) -> Result<Vec<StreamEvent>, GatewayError> {
        let mut out = Vec::new();
        if self.done {
            return Ok(out);
        }
        if !chunk.model.is_empty() {
            self.model.clone_from(&chunk.model);
        }
        self.start(&mut out);
        if let Some(usage) = &chunk.usage {
            self.usage = Some(usage.clone());
        }
        // The request went out with n=1; other choices are not expected and are not shown.
        for choice in chunk.choices.iter().filter(|c| c.index == 0) {
            let delta = &choice.delta;
            for text in [&delta.content, &delta.refusal].into_iter().flatten().filter(|t| !t.is_empty()) {
                let block = match self.open {
                    Some(Open::Text(block)) => block,
                    _ => {
                        self.close(&mut out);
                        let block = self.open_block(ContentBlock::Text { text: String::new() }, &mut out);
                        self.open = Some(Open::Text(block));
                        block
                    }
                };
                out.push(StreamEvent::ContentBlockDelta {
                    index: block,
                    delta: BlockDelta::TextDelta { text: text.clone() },
                });
            }
            for call in delta.tool_calls.iter().flatten() {
                self.tool_fragment(call, &mut out)?;
            }
            if let Some(finish) = choice.finish_reason {
                self.finish = Some(finish);
                self.close(&mut out);
            }
        }
        Ok(out)
    }

    fn tool_fragment(
        &mut self,
        call: &super::openai::ToolCallDelta,
        out: &mut Vec<StreamEvent>,
    ) -> Result<(), GatewayError> {
        let state = self.tools.entry(call.index).or_default();
        if let Some(id) = call.id.as_ref().filter(|id| !id.is_empty()) {
            state.id = Some(id.clone());
        }
        if let Some(name) = call.function.as_ref().and_then(|f| f.name.as_ref()).filter(|n| !n.is_empty()) {
            state.name = Some(name.clone());
        }
        let args = call.function.as_ref().and_then(|f| f.arguments.clone()).unwrap_or_default();
        let current = matches!(self.open, Some(Open::Tool { call: c, .. }) if c == call.index);
        match (state.block, current) {
            (Some(block), true) => {
                if !args.is_empty() {
                    out.push(StreamEvent::ContentBlockDelta {
                        index: block,
                        delta: BlockDelta::InputJsonDelta { partial_json: args },
                    });
                }
                Ok(())
            }
            (Some(_), false) => Err(GatewayError::upstream(format!(
                "tool call {} continued after the next one began (interleaved tool-call fragments)",
                call.index
            ))),
            (None, _) => {
                state.pending.push_str(&args);
                let Some(name) = state.name.clone() else {
                    return Ok(());
                };
                let id = anthropic_tool_id(
                    &state.id.clone().unwrap_or_else(|| format!("toolu_{}_{}", self.meta.id, call.index)),
                );
                let pending = std::mem::take(&mut state.pending);
                self.close(out);
                let block = self.open_block(ContentBlock::ToolUse { id, name, input: json!({}) }, out);
                if let Some(state) = self.tools.get_mut(&call.index) {
                    state.block = Some(block);
                }
                self.open = Some(Open::Tool { block, call: call.index });
                if !pending.is_empty() {
                    out.push(StreamEvent::ContentBlockDelta {
                        index: block,
                        delta: BlockDelta::InputJsonDelta { partial_json: pending },
                    });
                }
                Ok(())
            }
        }
    }

    /// The provider's stream ended (or sent `[DONE]`): closes the message with its stop reason and usage.
    pub fn finish(&mut self) -> Result<Vec<StreamEvent>, GatewayError> {
        let mut out = Vec::new();
        if self.done {
            return Ok(out);
        }
        if let Some((index, _)) = self.tools.iter().find(|(_, t)| t.block.is_none()) {
            return Err(GatewayError::upstream(format!("tool call {index} never named its function")));
        }
        let Some(finish) = self.finish else {
            return Err(GatewayError::upstream("the stream ended before a finish_reason"));
        };
        self.start(&mut out);
        self.close(&mut out);
        let usage = self.usage.as_ref().map(openai_usage_to_anthropic).unwrap_or_default();
        out.push(StreamEvent::MessageDelta {
            delta: MessageDeltaBody { stop_reason: Some(openai_stop_reason(finish)), stop_sequence: None },
            usage: DeltaUsage {
                output_tokens: usage.output_tokens,
                input_tokens: Some(usage.input_tokens),
                cache_creation_input_tokens: None,
                cache_read_input_tokens: usage.cache_read_input_tokens,
            },
        });
        out.push(StreamEvent::MessageStop);
        self.done = true;
        Ok(out)
    }

    fn start(&mut self, out: &mut Vec<StreamEvent>) {
        if self.started {
            return;
        }
        self.started = true;
        out.push(StreamEvent::MessageStart {
            message: MessagesResponse {
                id: self.meta.id.clone(),
                kind: "message".into(),
                role: ARole::Assistant,
                content: Vec::new(),
                model: self.model.clone(),
                stop_reason: None::<StopReason>,
                stop_sequence: None,
                usage: AnthropicUsage::default(),
            },
        });
    }

    fn open_block(&mut self, content_block: ContentBlock, out: &mut Vec<StreamEvent>) -> u32 {
        let index = self.next_block;
        self.next_block += 1;
        out.push(StreamEvent::ContentBlockStart { index, content_block });
        index
    }

    fn close(&mut self, out: &mut Vec<StreamEvent>) {
        if let Some(open) = self.open.take() {
            let index = match open {
                Open::Text(b) | Open::Tool { block: b, .. } => b,
            };
            out.push(StreamEvent::ContentBlockStop { index });
        }
    }
}
