//! Gemini answers and `streamGenerateContent?alt=sse` streams → OpenAI chat completions and chunks.
//!
//! Gemini gives function calls no id (or not always), so ids are derived from the [`ResponseMeta`]: stable for one
//! answer, unique within it. It ends a turn of function calls with `STOP`, which becomes `tool_calls` here.

use serde_json::Value;

use super::common::{chunk, role_delta, usage, usage_chunk, ChunkTranslator, RequestContext, ResponseMeta};
use super::error::GatewayError;
use super::gemini::{Candidate, GenerateContentResponse, UsageMetadata};
use super::openai::{
    AssistantMessage, ChatCompletion, ChatCompletionChunk, Choice, Delta, FinishReason, FunctionCall,
    FunctionCallDelta, Role, ToolCall, ToolCallDelta, Usage,
};
use super::sse::SseEvent;

/// Finish reasons Google uses when a filter stopped the answer.
const FILTERED: &[&str] =
    &["SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY", "LANGUAGE"];

/// The most candidates one stream may carry; Gemini's own `candidateCount` ceiling is 8, so a higher index is a
/// broken stream, not a reason to grow state.
pub const MAX_CANDIDATES: usize = 8;

/// Gemini's `finishReason` as OpenAI's finish reason.
pub fn gemini_finish_reason(reason: &str, called_tools: bool) -> FinishReason {
    match reason {
        "MAX_TOKENS" => FinishReason::Length,
        r if FILTERED.contains(&r) => FinishReason::ContentFilter,
        _ if called_tools => FinishReason::ToolCalls,
        _ => FinishReason::Stop,
    }
}

/// Thinking tokens are billed as output, so they count as completion tokens (and are shown as reasoning tokens).
pub fn gemini_usage(u: &UsageMetadata) -> Usage {
    let completion = u.candidates_token_count + u.thoughts_token_count.unwrap_or(0);
    usage(u.prompt_token_count, completion, u.cached_content_token_count, u.thoughts_token_count)
}

/// The text (thoughts excluded) and function calls of one candidate.
fn read_candidate(candidate: &Candidate, meta: &ResponseMeta, choice: u32, first_call: u32) -> (String, Vec<ToolCall>) {
    let mut text = String::new();
    let mut calls = Vec::new();
    for part in candidate.content.iter().flat_map(|c| &c.parts) {
        if part.thought == Some(true) {
            continue;
        }
        if let Some(t) = &part.text {
            text.push_str(t);
        }
        if let Some(call) = &part.function_call {
            let index = first_call + u32::try_from(calls.len()).unwrap_or(u32::MAX);
            let args = if call.args.is_null() { Value::Object(serde_json::Map::new()) } else { call.args.clone() };
            calls.push(ToolCall {
                id: call.id.clone().unwrap_or_else(|| meta.tool_call_id(choice, index)),
                kind: "function".into(),
                function: FunctionCall { name: call.name.clone(), arguments: args.to_string() },
            });
        }
    }
    (text, calls)
}

fn block_message(resp: &GenerateContentResponse) -> Option<String> {
    resp.prompt_feedback.as_ref()?.block_reason.clone()
}

/// A whole `generateContent` answer as a chat completion; `model` is used when Google names no `modelVersion`.
pub fn gemini_to_openai(
    resp: &GenerateContentResponse,
    meta: &ResponseMeta,
    model: &str,
) -> Result<ChatCompletion, GatewayError> {
    let mut choices = Vec::with_capacity(resp.candidates.len().max(1));
    for (position, candidate) in resp.candidates.iter().enumerate() {
        let index = candidate.index.unwrap_or_else(|| u32::try_from(position).unwrap_or(u32::MAX));
        let (text, calls) = read_candidate(candidate, meta, index, 0);
        let finish = candidate.finish_reason.as_deref().map(|r| gemini_finish_reason(r, !calls.is_empty()));
        let has_text = !text.is_empty() || calls.is_empty();
        choices.push(Choice {
            index,
            message: AssistantMessage {
                role: Role::Assistant,
                content: has_text.then_some(text),
                tool_calls: (!calls.is_empty()).then_some(calls),
                refusal: None,
            },
            finish_reason: finish,
            logprobs: None,
        });
    }
    if choices.is_empty() {
        // A blocked prompt: no candidates, only the reason. OpenAI's shape for that is a filtered empty answer.
        if block_message(resp).is_none() {
            return Err(GatewayError::upstream("the answer has no candidates"));
        }
        choices.push(Choice {
            index: 0,
            message: AssistantMessage { role: Role::Assistant, content: None, tool_calls: None, refusal: None },
            finish_reason: Some(FinishReason::ContentFilter),
            logprobs: None,
        });
    }
    Ok(ChatCompletion {
        id: meta.id.clone(),
        object: "chat.completion".into(),
        created: meta.created,
        model: resp.model_version.clone().unwrap_or_else(|| model.to_owned()),
        choices,
        usage: resp.usage_metadata.as_ref().map(gemini_usage),
        system_fingerprint: None,
    })
}

#[derive(Clone, Debug, Default)]
struct ChoiceState {
    started: bool,
    calls: u32,
    finished: bool,
}

/// Each SSE event of `streamGenerateContent?alt=sse` is a full `GenerateContentResponse` holding the next piece
/// of each candidate; function calls arrive whole, so each becomes one tool-call delta with id, name and
/// arguments. The finish chunk goes out with the event carrying `finishReason`; usage (cumulative in every event)
/// is sent at [`ChunkTranslator::finish`], when asked.
#[derive(Debug)]
pub struct GeminiStreamTranslator {
    ctx: RequestContext,
    meta: ResponseMeta,
    model: String,
    choices: Vec<ChoiceState>,
    usage: Option<UsageMetadata>,
    blocked: bool,
}

impl GeminiStreamTranslator {
    /// `model` names the answer until Google reports its `modelVersion`.
    pub fn new(ctx: RequestContext, meta: ResponseMeta, model: &str) -> Self {
        Self { ctx, meta, model: model.to_owned(), choices: Vec::new(), usage: None, blocked: false }
    }

    /// Translates one typed event.
    pub fn feed_response(&mut self, resp: GenerateContentResponse) -> Result<Vec<ChatCompletionChunk>, GatewayError> {
        let mut out = Vec::new();
        if let Some(version) = &resp.model_version {
            self.model.clone_from(version);
        }
        if resp.usage_metadata.is_some() {
            self.usage = resp.usage_metadata.clone();
        }
        if resp.candidates.is_empty() && block_message(&resp).is_some() && !self.blocked {
            self.blocked = true;
            out.push(chunk(&self.meta, &self.model, 0, role_delta(), None));
            out.push(chunk(&self.meta, &self.model, 0, Delta::default(), Some(FinishReason::ContentFilter)));
        }
        for (position, candidate) in resp.candidates.iter().enumerate() {
            let index = candidate.index.unwrap_or_else(|| u32::try_from(position).unwrap_or(u32::MAX));
            let slot = usize::try_from(index).unwrap_or(usize::MAX);
            if slot >= self.choices.len() {
                if slot >= MAX_CANDIDATES {
                    return Err(GatewayError::TooLarge {
                        what: format!("the candidate index {index} of the provider's stream"),
                        limit: "MAX_CANDIDATES",
                        max: MAX_CANDIDATES,
                    });
                }
                self.choices.resize(slot + 1, ChoiceState::default());
            }
            let state = &mut self.choices[slot];
            if state.finished {
                continue;
            }
            if !state.started {
                state.started = true;
                out.push(chunk(&self.meta, &self.model, index, role_delta(), None));
            }
            let (text, calls) = read_candidate(candidate, &self.meta, index, state.calls);
            if !text.is_empty() {
                out.push(chunk(
                    &self.meta,
                    &self.model,
                    index,
                    Delta { content: Some(text), ..Delta::default() },
                    None,
                ));
            }
            if !calls.is_empty() {
                let deltas = calls
                    .into_iter()
                    .enumerate()
                    .map(|(k, call)| ToolCallDelta {
                        index: state.calls + u32::try_from(k).unwrap_or(u32::MAX),
                        id: Some(call.id),
                        kind: Some("function".into()),
                        function: Some(FunctionCallDelta {
                            name: Some(call.function.name),
                            arguments: Some(call.function.arguments),
                        }),
                    })
                    .collect::<Vec<_>>();
                state.calls += u32::try_from(deltas.len()).unwrap_or(u32::MAX);
                out.push(chunk(
                    &self.meta,
                    &self.model,
                    index,
                    Delta { tool_calls: Some(deltas), ..Delta::default() },
                    None,
                ));
            }
            if let Some(reason) = candidate.finish_reason.as_deref() {
                state.finished = true;
                let finish = gemini_finish_reason(reason, state.calls > 0);
                out.push(chunk(&self.meta, &self.model, index, Delta::default(), Some(finish)));
            }
        }
        Ok(out)
    }
}

impl ChunkTranslator for GeminiStreamTranslator {
    fn feed(&mut self, event: &SseEvent) -> Result<Vec<ChatCompletionChunk>, GatewayError> {
        let value: Value = serde_json::from_str(&event.data)
            .map_err(|e| GatewayError::upstream(format!("a stream event is not JSON: {e}")))?;
        if let Some(error) = value.get("error") {
            let status = error.get("status").and_then(Value::as_str).unwrap_or("");
            let kind = match status {
                "RESOURCE_EXHAUSTED" => "rate_limit_error",
                "UNAUTHENTICATED" | "PERMISSION_DENIED" => "authentication_error",
                "NOT_FOUND" => "not_found_error",
                _ => "api_error",
            };
            let message = error.get("message").and_then(Value::as_str).unwrap_or(status).to_owned();
            return Err(GatewayError::UpstreamReported { kind: kind.into(), message });
        }
        let resp: GenerateContentResponse = serde_json::from_value(value)
            .map_err(|e| GatewayError::upstream(format!("a stream event has an unexpected shape: {e}")))?;
        self.feed_response(resp)
    }

    fn finish(&mut self) -> Result<Vec<ChatCompletionChunk>, GatewayError> {
        if !self.blocked && (self.choices.is_empty() || self.choices.iter().any(|c| c.started && !c.finished)) {
            return Err(GatewayError::upstream("the stream ended before a finishReason"));
        }
        let mut out = Vec::new();
        if self.ctx.include_usage {
            let u = self.usage.as_ref().map(gemini_usage).unwrap_or_default();
            out.push(usage_chunk(&self.meta, &self.model, u));
        }
        // A second call yields nothing more.
        self.ctx.include_usage = false;
        Ok(out)
    }
}
