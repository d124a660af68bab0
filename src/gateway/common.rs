//! Small pieces the translators share: what the response side must know about the request, data URLs, tool ids,
//! and the rule for fields a provider cannot honour.

use serde_json::{Map, Value};

use super::error::GatewayError;
use super::openai::{MessageContent, Usage};

/// The identity of the answer the gateway gives: OpenAI's `id` (`chatcmpl-...`) and `created` (Unix seconds).
/// The caller makes them (from its request id and clock) so translation stays pure and repeatable, and so tool-call
/// ids derived from it are stable for one answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResponseMeta {
    pub id: String,
    pub created: i64,
}

impl ResponseMeta {
    pub fn new(id: impl Into<String>, created: i64) -> Self {
        Self { id: id.into(), created }
    }

    /// A tool-call id for providers that give none (Gemini): unique within the answer, repeatable for the same one.
    pub(crate) fn tool_call_id(&self, choice: u32, index: u32) -> String {
        let base: String = self.id.chars().filter(|c| c.is_ascii_alphanumeric()).rev().take(24).collect();
        let base: String = base.chars().rev().collect();
        if choice == 0 {
            format!("call_{base}_{index}")
        } else {
            format!("call_{base}_{choice}_{index}")
        }
    }
}

/// What the response translators must know about how the request was translated.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RequestContext {
    pub stream: bool,
    /// `stream_options.include_usage`: emit a final chunk with `usage` and empty `choices`.
    pub include_usage: bool,
    /// Set when `response_format: json_schema` became Anthropic's forced tool: that tool's input is the content.
    pub structured_tool: Option<StructuredTool>,
}

/// The forced tool standing in for `response_format: json_schema` on Anthropic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StructuredTool {
    pub name: String,
    /// A non-object schema was wrapped as `{"value": schema}` (Anthropic's tool input must be an object), so the
    /// answer's `value` is the content.
    pub wrapped: bool,
}

/// The name of the forced structured-output tool; a caller's own tool of this name is refused.
pub const STRUCTURED_OUTPUT_TOOL: &str = "json_response";

/// Fields that change nothing in the answer (storage, billing tier, cache routing hints, abuse identifiers), so
/// dropping them for a non-OpenAI provider is honest.
const DROPPABLE_FIELDS: &[&str] = &["store", "metadata", "service_tier", "prompt_cache_key", "safety_identifier"];

/// Fields that may be dropped when they hold their no-op value.
fn is_neutral(key: &str, value: &Value) -> bool {
    match key {
        "logprobs" => value == &Value::Bool(false),
        "frequency_penalty" | "presence_penalty" => value.as_f64() == Some(0.0),
        "logit_bias" => value.as_object().is_some_and(Map::is_empty),
        _ => false,
    }
}

/// Refuses the first request field a non-OpenAI provider cannot honour. `honoured` lists the extra fields the
/// translator maps itself; `null` values count as absent.
pub(crate) fn check_extra(
    extra: &Map<String, Value>,
    provider: &'static str,
    honoured: &[&str],
) -> Result<(), GatewayError> {
    let mut keys: Vec<&String> = extra.keys().collect();
    keys.sort();
    for key in keys {
        let value = &extra[key.as_str()];
        if value.is_null() || honoured.contains(&key.as_str()) || DROPPABLE_FIELDS.contains(&key.as_str()) {
            continue;
        }
        if is_neutral(key, value) {
            continue;
        }
        return Err(GatewayError::unsupported(key.clone(), provider, "the field has no equivalent there"));
    }
    Ok(())
}

/// A `u32` extra field (`top_k`), or an error naming it.
pub(crate) fn extra_u32(extra: &Map<String, Value>, key: &str) -> Result<Option<u32>, GatewayError> {
    match extra.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| GatewayError::invalid(key, "must be a non-negative integer")),
    }
}

/// A decoded `data:` URL: media type (lower-cased) and the base64 payload as given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct DataUrl {
    pub media_type: String,
    pub data: String,
}

/// `Ok(None)` for a URL that is not a `data:` URL; an error for a `data:` URL that is not base64.
pub(crate) fn parse_data_url(url: &str, param: &str) -> Result<Option<DataUrl>, GatewayError> {
    let Some(rest) = url.strip_prefix("data:") else {
        return Ok(None);
    };
    let Some((meta, data)) = rest.split_once(',') else {
        return Err(GatewayError::invalid(param, "a data: URL needs a comma before its payload"));
    };
    let mut fields = meta.split(';');
    let media_type = fields.next().unwrap_or("").trim().to_ascii_lowercase();
    if !fields.any(|f| f.trim().eq_ignore_ascii_case("base64")) {
        return Err(GatewayError::invalid(param, "only base64 data: URLs are supported (data:image/png;base64,...)"));
    }
    if media_type.is_empty() {
        return Err(GatewayError::invalid(param, "the data: URL names no media type"));
    }
    Ok(Some(DataUrl { media_type, data: data.trim().to_owned() }))
}

/// Anthropic tool ids must match `^[a-zA-Z0-9_-]+$`; ids from other providers are mapped into that alphabet the
/// same way wherever they appear (tool_use and tool_result), so the pairing survives.
pub(crate) fn anthropic_tool_id(id: &str) -> String {
    let mapped: String = id.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect();
    if mapped.is_empty() {
        "toolu_".into()
    } else {
        mapped
    }
}

/// The text of a message whose content may only be text (system, developer, tool), parts joined by newlines.
pub(crate) fn text_only(
    content: Option<&MessageContent>,
    param: &str,
    provider: &'static str,
) -> Result<String, GatewayError> {
    match content {
        None => Ok(String::new()),
        Some(MessageContent::Text(t)) => Ok(t.clone()),
        Some(MessageContent::Parts(parts)) => {
            let mut texts = Vec::with_capacity(parts.len());
            for (j, part) in parts.iter().enumerate() {
                match (part.kind.as_str(), &part.text) {
                    ("text", Some(t)) => texts.push(t.as_str()),
                    (kind, _) => {
                        return Err(GatewayError::unsupported(
                            format!("{param}[{j}].type"),
                            provider,
                            format!("a `{kind}` part is not allowed in this message, only text"),
                        ))
                    }
                }
            }
            Ok(texts.join("\n"))
        }
    }
}

/// The text of an assistant message: its text and refusal parts, joined.
pub(crate) fn assistant_text(
    content: Option<&MessageContent>,
    param: &str,
    provider: &'static str,
) -> Result<String, GatewayError> {
    let Some(MessageContent::Parts(parts)) = content else {
        return text_only(content, param, provider);
    };
    let mut out = String::new();
    for (j, part) in parts.iter().enumerate() {
        match (part.kind.as_str(), &part.text) {
            ("text", Some(t)) => out.push_str(t),
            ("refusal", _) => out.push_str(part.extra.get("refusal").and_then(Value::as_str).unwrap_or("")),
            (kind, _) => {
                return Err(GatewayError::unsupported(
                    format!("{param}[{j}].type"),
                    provider,
                    format!("`{kind}` parts in an assistant message"),
                ))
            }
        }
    }
    Ok(out)
}

/// OpenAI usage from a prompt count that already includes cached tokens.
pub(crate) fn usage(prompt: u64, completion: u64, cached: Option<u64>, reasoning: Option<u64>) -> Usage {
    Usage {
        prompt_tokens: prompt,
        completion_tokens: completion,
        total_tokens: prompt.saturating_add(completion),
        prompt_tokens_details: cached.map(|cached_tokens| super::openai::PromptTokensDetails { cached_tokens }),
        completion_tokens_details: reasoning
            .map(|reasoning_tokens| super::openai::CompletionTokensDetails { reasoning_tokens }),
    }
}

/// A chunk of one choice.
pub(crate) fn chunk(
    meta: &ResponseMeta,
    model: &str,
    index: u32,
    delta: super::openai::Delta,
    finish_reason: Option<super::openai::FinishReason>,
) -> super::openai::ChatCompletionChunk {
    let choice = super::openai::ChunkChoice { index, delta, finish_reason, logprobs: None };
    chunk_with(meta, model, vec![choice], None)
}

/// The trailing usage chunk (`choices: []`) OpenAI sends when `stream_options.include_usage` was asked.
pub(crate) fn usage_chunk(meta: &ResponseMeta, model: &str, usage: Usage) -> super::openai::ChatCompletionChunk {
    chunk_with(meta, model, Vec::new(), Some(usage))
}

fn chunk_with(
    meta: &ResponseMeta,
    model: &str,
    choices: Vec<super::openai::ChunkChoice>,
    usage: Option<Usage>,
) -> super::openai::ChatCompletionChunk {
    super::openai::ChatCompletionChunk {
        id: meta.id.clone(),
        object: "chat.completion.chunk".into(),
        created: meta.created,
        model: model.to_owned(),
        choices,
        usage,
        system_fingerprint: None,
    }
}

/// The first chunk of a choice: the role, and empty content as OpenAI sends it.
pub(crate) fn role_delta() -> super::openai::Delta {
    super::openai::Delta {
        role: Some(super::openai::Role::Assistant),
        content: Some(String::new()),
        ..super::openai::Delta::default()
    }
}

/// A translator from one provider's stream to OpenAI chunks: feed each SSE event, then call `finish` once the
/// provider's body has ended. `finish` fails when the provider stopped before saying it was done.
pub trait ChunkTranslator {
    fn feed(&mut self, event: &super::sse::SseEvent) -> Result<Vec<super::openai::ChatCompletionChunk>, GatewayError>;
    fn finish(&mut self) -> Result<Vec<super::openai::ChatCompletionChunk>, GatewayError>;
}
