//! Anthropic Messages answers and streams → OpenAI chat completions and chunks.

use std::collections::HashMap;

use serde_json::Value;

use super::anthropic::{AnthropicUsage, BlockDelta, ContentBlock, MessagesResponse, StopReason, StreamEvent};
use super::common::{chunk, role_delta, usage, usage_chunk, ChunkTranslator, RequestContext, ResponseMeta};
use super::error::GatewayError;
use super::openai::{
    AssistantMessage, ChatCompletion, ChatCompletionChunk, Choice, Delta, FinishReason, FunctionCall,
    FunctionCallDelta, Role, ToolCall, ToolCallDelta, Usage,
};
use super::sse::SseEvent;

/// Anthropic's stop reason as OpenAI's finish reason. A forced structured-output tool is an ordinary answer.
pub fn anthropic_finish_reason(stop: Option<StopReason>, structured: bool) -> Option<FinishReason> {
    Some(match stop? {
        StopReason::ToolUse if structured => FinishReason::Stop,
        StopReason::ToolUse => FinishReason::ToolCalls,
        StopReason::MaxTokens => FinishReason::Length,
        StopReason::Refusal => FinishReason::ContentFilter,
        StopReason::EndTurn | StopReason::StopSequence | StopReason::PauseTurn | StopReason::Other => {
            FinishReason::Stop
        }
    })
}

/// OpenAI's `prompt_tokens` includes cached tokens; Anthropic counts cache writes and reads apart from
/// `input_tokens`.
pub fn anthropic_usage(u: &AnthropicUsage) -> Usage {
    let prompt = u.input_tokens + u.cache_creation_input_tokens.unwrap_or(0) + u.cache_read_input_tokens.unwrap_or(0);
    usage(prompt, u.output_tokens, u.cache_read_input_tokens, None)
}

/// A whole Messages answer as a chat completion. Thinking blocks are left out: OpenAI's shape has no place for them.
pub fn anthropic_to_openai(
    resp: &MessagesResponse,
    ctx: &RequestContext,
    meta: &ResponseMeta,
) -> Result<ChatCompletion, GatewayError> {
    let structured = ctx.structured_tool.as_ref();
    let mut text = String::new();
    let mut calls = Vec::new();
    for block in &resp.content {
        match block {
            ContentBlock::Text { text: t } => text.push_str(t),
            ContentBlock::ToolUse { name, input, .. } if structured.is_some_and(|s| &s.name == name) => {
                let value = match structured {
                    Some(s) if s.wrapped => input.get("value").unwrap_or(&Value::Null),
                    _ => input,
                };
                text.push_str(&value.to_string());
            }
            ContentBlock::ToolUse { id, name, input } => calls.push(ToolCall {
                id: id.clone(),
                kind: "function".into(),
                function: FunctionCall { name: name.clone(), arguments: input.to_string() },
            }),
            ContentBlock::Thinking { .. } | ContentBlock::RedactedThinking { .. } => {}
            ContentBlock::Image { .. } | ContentBlock::ToolResult { .. } => {
                return Err(GatewayError::upstream("the answer holds an input-only block (image or tool_result)"))
            }
        }
    }
    let has_text = !text.is_empty() || calls.is_empty();
    Ok(ChatCompletion {
        id: meta.id.clone(),
        object: "chat.completion".into(),
        created: meta.created,
        model: resp.model.clone(),
        choices: vec![Choice {
            index: 0,
            message: AssistantMessage {
                role: Role::Assistant,
                content: has_text.then_some(text),
                tool_calls: (!calls.is_empty()).then_some(calls),
                refusal: None,
            },
            finish_reason: anthropic_finish_reason(resp.stop_reason, structured.is_some()),
            logprobs: None,
        }],
        usage: Some(anthropic_usage(&resp.usage)),
        system_fingerprint: None,
    })
}

#[derive(Clone, Debug)]
enum Block {
    Text,
    Tool {
        index: u32,
    },
    /// The forced structured-output tool: its input streams as content (or is gathered, when wrapped).
    Structured {
        wrapped: bool,
        gathered: String,
    },
    Ignored,
}

/// Anthropic's stream (message_start, content_block_*, message_delta, message_stop) → OpenAI chunks. Usage from
/// `message_start` and `message_delta` is held until `message_stop`, where the finish chunk and, when asked, the
/// usage chunk are sent.
#[derive(Debug)]
pub struct AnthropicStreamTranslator {
    ctx: RequestContext,
    meta: ResponseMeta,
    model: String,
    started: bool,
    done: bool,
    blocks: HashMap<u32, Block>,
    next_tool: u32,
    stop: Option<StopReason>,
    usage: AnthropicUsage,
}

impl AnthropicStreamTranslator {
    pub fn new(ctx: RequestContext, meta: ResponseMeta) -> Self {
        Self {
            ctx,
            meta,
            model: String::new(),
            started: false,
            done: false,
            blocks: HashMap::new(),
            next_tool: 0,
            stop: None,
            usage: AnthropicUsage::default(),
        }
    }

    /// Translates one typed event.
    pub fn feed_event(&mut self, event: StreamEvent) -> Result<Vec<ChatCompletionChunk>, GatewayError> {
        if self.done {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        match event {
            StreamEvent::MessageStart { message } => {
                self.model = message.model;
                self.usage = message.usage;
                self.start(&mut out);
            }
            StreamEvent::ContentBlockStart { index, content_block } => {
                self.start(&mut out);
                let block = match content_block {
                    ContentBlock::Text { text } => {
                        if !text.is_empty() {
                            out.push(self.delta(Delta { content: Some(text), ..Delta::default() }));
                        }
                        Block::Text
                    }
                    ContentBlock::ToolUse { name, .. }
                        if self.ctx.structured_tool.as_ref().is_some_and(|s| s.name == name) =>
                    {
                        let wrapped = self.ctx.structured_tool.as_ref().is_some_and(|s| s.wrapped);
                        Block::Structured { wrapped, gathered: String::new() }
                    }
                    ContentBlock::ToolUse { id, name, .. } => {
                        let tool = self.next_tool;
                        self.next_tool += 1;
                        let call = ToolCallDelta {
                            index: tool,
                            id: Some(id),
                            kind: Some("function".into()),
                            function: Some(FunctionCallDelta { name: Some(name), arguments: Some(String::new()) }),
                        };
                        out.push(self.delta(Delta { tool_calls: Some(vec![call]), ..Delta::default() }));
                        Block::Tool { index: tool }
                    }
                    _ => Block::Ignored,
                };
                self.blocks.insert(index, block);
            }
            StreamEvent::ContentBlockDelta { index, delta } => {
                let block = self.blocks.get_mut(&index);
                let delta = match (block, delta) {
                    (Some(Block::Text), BlockDelta::TextDelta { text }) => {
                        Delta { content: Some(text), ..Delta::default() }
                    }
                    (Some(Block::Tool { index }), BlockDelta::InputJsonDelta { partial_json }) => {
                        let call = ToolCallDelta {
                            index: *index,
                            function: Some(FunctionCallDelta { name: None, arguments: Some(partial_json) }),
                            ..ToolCallDelta::default()
                        };
                        Delta { tool_calls: Some(vec![call]), ..Delta::default() }
                    }
                    (Some(Block::Structured { wrapped: false, .. }), BlockDelta::InputJsonDelta { partial_json }) => {
                        Delta { content: Some(partial_json), ..Delta::default() }
                    }
                    (
                        Some(Block::Structured { wrapped: true, gathered }),
                        BlockDelta::InputJsonDelta { partial_json },
                    ) => {
                        gathered.push_str(&partial_json);
                        return Ok(out);
                    }
                    // Thinking, signatures, citations, and blocks of types skipped at their start.
                    _ => return Ok(out),
                };
                if delta.content.as_deref() != Some("") {
                    out.push(self.delta(delta));
                }
            }
            StreamEvent::ContentBlockStop { index } => {
                if let Some(Block::Structured { wrapped: true, gathered }) = self.blocks.get(&index) {
                    let input: Value = serde_json::from_str(gathered)
                        .map_err(|e| GatewayError::upstream(format!("the structured answer is not JSON: {e}")))?;
                    let value = input.get("value").cloned().unwrap_or(Value::Null);
                    out.push(self.delta(Delta { content: Some(value.to_string()), ..Delta::default() }));
                }
            }
            StreamEvent::MessageDelta { delta, usage } => {
                self.stop = delta.stop_reason.or(self.stop);
                self.usage.output_tokens = usage.output_tokens;
                if let Some(n) = usage.input_tokens {
                    self.usage.input_tokens = n;
                }
                if usage.cache_creation_input_tokens.is_some() {
                    self.usage.cache_creation_input_tokens = usage.cache_creation_input_tokens;
                }
                if usage.cache_read_input_tokens.is_some() {
                    self.usage.cache_read_input_tokens = usage.cache_read_input_tokens;
                }
            }
            StreamEvent::MessageStop => {
                self.start(&mut out);
                let finish = anthropic_finish_reason(self.stop, self.ctx.structured_tool.is_some())
                    .unwrap_or(FinishReason::Stop);
                out.push(chunk(&self.meta, &self.model, 0, Delta::default(), Some(finish)));
                if self.ctx.include_usage {
                    out.push(usage_chunk(&self.meta, &self.model, anthropic_usage(&self.usage)));
                }
                self.done = true;
            }
            StreamEvent::Ping => {}
            StreamEvent::Error { error } => {
                return Err(GatewayError::UpstreamReported { kind: error.kind, message: error.message })
            }
        }
        Ok(out)
    }

    fn start(&mut self, out: &mut Vec<ChatCompletionChunk>) {
        if !self.started {
            self.started = true;
            out.push(self.delta(role_delta()));
        }
    }

    fn delta(&self, delta: Delta) -> ChatCompletionChunk {
        chunk(&self.meta, &self.model, 0, delta, None)
    }
}

impl ChunkTranslator for AnthropicStreamTranslator {
    /// Event types this translator does not know are skipped, as Anthropic asks of clients.
    fn feed(&mut self, event: &SseEvent) -> Result<Vec<ChatCompletionChunk>, GatewayError> {
        let value: Value = serde_json::from_str(&event.data)
            .map_err(|e| GatewayError::upstream(format!("a stream event is not JSON: {e}")))?;
        let known = matches!(
            value.get("type").and_then(Value::as_str),
            Some(
                "message_start"
                    | "content_block_start"
                    | "content_block_delta"
                    | "content_block_stop"
                    | "message_delta"
                    | "message_stop"
                    | "ping"
                    | "error"
            )
        );
        if !known {
            return Ok(Vec::new());
        }
        let typed = match serde_json::from_value::<StreamEvent>(value) {
            Ok(t) => t,
            // New block or delta types (server tools, citations...) are skipped the same way.
            Err(_) if event.data.contains("\"content_block_") => return Ok(Vec::new()),
            Err(e) => return Err(GatewayError::upstream(format!("a stream event has an unexpected shape: {e}"))),
        };
        self.feed_event(typed)
    }

    fn finish(&mut self) -> Result<Vec<ChatCompletionChunk>, GatewayError> {
        if self.done {
            Ok(Vec::new())
        } else {
            Err(GatewayError::upstream("the stream ended before message_stop"))
        }
    }
}
