//! The reverse direction, for `POST /v1/messages`: an Anthropic-shaped request becomes an OpenAI request (so any
//! provider can serve it through the OpenAI path), and the OpenAI answer becomes an Anthropic answer.
//!
//! Anthropic's `tool_result` blocks live in a user turn; OpenAI wants one `tool` message per result, right after the
//! assistant message that made the calls, so a user turn's results are emitted first, then its other content.
//! Thinking blocks in the history are dropped (only Anthropic can read them back); `cache_control` marks are dropped
//! (an optimisation hint, not content); `is_error` on a tool result has no OpenAI equivalent and is dropped.

use serde_json::{json, Map, Value};

use super::anthropic::{
    AnthropicUsage, Content, ContentBlock, ImageSource, MessagesRequest, MessagesResponse, Role as ARole, StopReason,
    SystemPrompt, ToolChoice as AChoice, ToolResultContent,
};
use super::common::{anthropic_tool_id, ResponseMeta};
use super::error::GatewayError;
use super::openai::{
    ChatCompletion, ChatCompletionRequest, ChatMessage, ContentPart, FinishReason, FunctionCall, FunctionDef,
    MessageContent, NamedFunction, NamedToolChoice, Role, Stop, StreamOptions, Tool, ToolCall, ToolChoice,
    ToolChoiceMode, Usage,
};

const PROVIDER: &str = "the OpenAI path";

/// Anthropic request fields dropped because they do not change the answer's content.
const INGRESS_DROPPABLE: &[&str] = &["service_tier"];

/// Anthropic request → OpenAI request. `model` is kept as the caller wrote it, for routing.
pub fn anthropic_request_to_openai(req: &MessagesRequest) -> Result<ChatCompletionRequest, GatewayError> {
    let mut keys: Vec<&String> = req.extra.keys().collect();
    keys.sort();
    for key in keys {
        let value = &req.extra[key.as_str()];
        let disabled_thinking = key == "thinking" && value.get("type").and_then(Value::as_str) == Some("disabled");
        if value.is_null() || disabled_thinking || INGRESS_DROPPABLE.contains(&key.as_str()) {
            continue;
        }
        return Err(GatewayError::unsupported(key.clone(), PROVIDER, "the field has no OpenAI equivalent"));
    }
    let mut messages = Vec::new();
    match &req.system {
        None => {}
        Some(SystemPrompt::Text(text)) => messages.push(ChatMessage::text(Role::System, text.clone())),
        Some(SystemPrompt::Blocks(blocks)) => {
            let mut texts = Vec::new();
            for (j, block) in blocks.iter().enumerate() {
                match block {
                    ContentBlock::Text { text } => texts.push(text.as_str()),
                    _ => return Err(GatewayError::invalid(format!("system[{j}]"), "only text blocks are allowed")),
                }
            }
            messages.push(ChatMessage::text(Role::System, texts.join("\n")));
        }
    }
    for (i, msg) in req.messages.iter().enumerate() {
        let param = format!("messages[{i}]");
        match msg.role {
            ARole::User => user_messages(msg.content.clone(), &param, &mut messages)?,
            ARole::Assistant => messages.push(assistant_message(msg.content.clone(), &param)?),
        }
    }
    let mut extra = Map::new();
    if let Some(k) = req.top_k {
        // OpenAI has no top_k; vLLM and others honour it, and the Anthropic and Gemini translators map it back.
        extra.insert("top_k".into(), Value::from(k));
    }
    let (tool_choice, parallel_tool_calls) = tool_choice(req.tool_choice.as_ref());
    let stream = req.stream == Some(true);
    Ok(ChatCompletionRequest {
        model: req.model.clone(),
        messages,
        stream: stream.then_some(true),
        // The Anthropic stream's usage needs OpenAI's usage chunk.
        stream_options: stream.then(|| StreamOptions { include_usage: Some(true), extra: Map::new() }),
        max_tokens: Some(req.max_tokens),
        temperature: req.temperature,
        top_p: req.top_p,
        stop: req.stop_sequences.clone().filter(|s| !s.is_empty()).map(Stop::Many),
        user: req.metadata.as_ref().and_then(|m| m.user_id.clone()),
        tools: tools(req)?,
        tool_choice,
        parallel_tool_calls,
        extra,
        ..ChatCompletionRequest::default()
    })
}

fn user_messages(content: Content, param: &str, out: &mut Vec<ChatMessage>) -> Result<(), GatewayError> {
    let mut parts = Vec::new();
    let mut has_image = false;
    for (j, block) in content.into_blocks().into_iter().enumerate() {
        let param = format!("{param}.content[{j}]");
        match block {
            ContentBlock::Text { text } => parts.push(ContentPart::text(text)),
            ContentBlock::Image { source } => {
                has_image = true;
                parts.push(ContentPart::image(image_url(source)));
            }
            ContentBlock::ToolResult { tool_use_id, content, .. } => {
                let text = tool_result_text(content, &param)?;
                out.push(ChatMessage { tool_call_id: Some(tool_use_id), ..ChatMessage::text(Role::Tool, text) });
            }
            ContentBlock::ToolUse { .. } | ContentBlock::Thinking { .. } | ContentBlock::RedactedThinking { .. } => {
                return Err(GatewayError::invalid(param, "this block belongs in an assistant turn"))
            }
        }
    }
    if parts.is_empty() {
        return Ok(());
    }
    // Text-only turns go as a plain string: the one shape every OpenAI-compatible server accepts.
    let content = if has_image {
        MessageContent::Parts(parts)
    } else {
        MessageContent::Text(parts.into_iter().filter_map(|p| p.text).collect::<Vec<_>>().join("\n"))
    };
    out.push(ChatMessage { content: Some(content), ..ChatMessage::text(Role::User, "") });
    Ok(())
}

fn image_url(source: ImageSource) -> String {
    match source {
        ImageSource::Base64 { media_type, data } => format!("data:{media_type};base64,{data}"),
        ImageSource::Url { url } => url,
    }
}

fn tool_result_text(content: Option<ToolResultContent>, param: &str) -> Result<String, GatewayError> {
    match content {
        None => Ok(String::new()),
        Some(ToolResultContent::Text(text)) => Ok(text),
        Some(ToolResultContent::Blocks(blocks)) => {
            let mut texts = Vec::with_capacity(blocks.len());
            for (k, block) in blocks.into_iter().enumerate() {
                match block {
                    ContentBlock::Text { text } => texts.push(text),
                    _ => {
                        return Err(GatewayError::unsupported(
                            format!("{param}.content[{k}]"),
                            PROVIDER,
                            "OpenAI tool results hold only text",
                        ))
                    }
                }
            }
            Ok(texts.join("\n"))
        }
    }
}

fn assistant_message(content: Content, param: &str) -> Result<ChatMessage, GatewayError> {
    let mut text = String::new();
    let mut calls = Vec::new();
    for (j, block) in content.into_blocks().into_iter().enumerate() {
        match block {
            ContentBlock::Text { text: t } => text.push_str(&t),
            ContentBlock::ToolUse { id, name, input } => calls.push(ToolCall {
                id,
                kind: "function".into(),
                function: FunctionCall { name, arguments: input.to_string() },
            }),
            ContentBlock::Thinking { .. } | ContentBlock::RedactedThinking { .. } => {}
            ContentBlock::Image { .. } | ContentBlock::ToolResult { .. } => {
                return Err(GatewayError::invalid(format!("{param}.content[{j}]"), "this block belongs in a user turn"))
            }
        }
    }
    let content = (!text.is_empty() || calls.is_empty()).then_some(MessageContent::Text(text));
    Ok(ChatMessage {
        content,
        tool_calls: (!calls.is_empty()).then_some(calls),
        ..ChatMessage::text(Role::Assistant, "")
    })
}

fn tools(req: &MessagesRequest) -> Result<Option<Vec<Tool>>, GatewayError> {
    let Some(tools) = &req.tools else {
        return Ok(None);
    };
    let mut out = Vec::with_capacity(tools.len());
    for (i, tool) in tools.iter().enumerate() {
        if let Some(kind) = tool.extra.get("type").and_then(Value::as_str).filter(|k| *k != "custom") {
            return Err(GatewayError::unsupported(
                format!("tools[{i}].type"),
                PROVIDER,
                format!("Anthropic server tool `{kind}`"),
            ));
        }
        let parameters =
            if tool.input_schema.is_null() { json!({"type": "object"}) } else { tool.input_schema.clone() };
        out.push(Tool {
            kind: "function".into(),
            function: Some(FunctionDef {
                name: tool.name.clone(),
                description: tool.description.clone(),
                parameters: Some(parameters),
                strict: None,
            }),
            extra: Map::new(),
        });
    }
    Ok(Some(out))
}

fn tool_choice(choice: Option<&AChoice>) -> (Option<ToolChoice>, Option<bool>) {
    let parallel = |d: &Option<bool>| (*d == Some(true)).then_some(false);
    match choice {
        None => (None, None),
        Some(AChoice::Auto { disable_parallel_tool_use: d }) => {
            (Some(ToolChoice::Mode(ToolChoiceMode::Auto)), parallel(d))
        }
        Some(AChoice::Any { disable_parallel_tool_use: d }) => {
            (Some(ToolChoice::Mode(ToolChoiceMode::Required)), parallel(d))
        }
        Some(AChoice::Tool { name, disable_parallel_tool_use: d }) => (
            Some(ToolChoice::Named(NamedToolChoice {
                kind: "function".into(),
                function: NamedFunction { name: name.clone() },
            })),
            parallel(d),
        ),
        Some(AChoice::None) => (Some(ToolChoice::Mode(ToolChoiceMode::None)), None),
    }
}

/// OpenAI's finish reason as Anthropic's stop reason.
pub fn openai_stop_reason(finish: FinishReason) -> StopReason {
    match finish {
        FinishReason::Length => StopReason::MaxTokens,
        FinishReason::ToolCalls | FinishReason::FunctionCall => StopReason::ToolUse,
        FinishReason::ContentFilter => StopReason::Refusal,
        FinishReason::Stop | FinishReason::Other => StopReason::EndTurn,
    }
}

/// OpenAI's usage as Anthropic's: cached prompt tokens move out of `input_tokens` into `cache_read_input_tokens`.
pub fn openai_usage_to_anthropic(usage: &Usage) -> AnthropicUsage {
    let cached = usage.prompt_tokens_details.as_ref().map(|d| d.cached_tokens).filter(|c| *c > 0);
    AnthropicUsage {
        input_tokens: usage.prompt_tokens.saturating_sub(cached.unwrap_or(0)),
        output_tokens: usage.completion_tokens,
        cache_creation_input_tokens: None,
        cache_read_input_tokens: cached,
    }
}

/// Tool arguments as Anthropic's `input` object.
pub(crate) fn tool_input(arguments: &str) -> Result<Value, GatewayError> {
    if arguments.trim().is_empty() {
        return Ok(json!({}));
    }
    match serde_json::from_str::<Value>(arguments) {
        Ok(v @ Value::Object(_)) => Ok(v),
        _ => Err(GatewayError::upstream("the model's tool arguments are not a JSON object")),
    }
}

/// OpenAI answer → Anthropic answer; `meta.id` becomes the message id (`msg_...`, made by the caller).
pub fn openai_response_to_anthropic(
    resp: &ChatCompletion,
    meta: &ResponseMeta,
) -> Result<MessagesResponse, GatewayError> {
    let choice = resp.choices.first().ok_or_else(|| GatewayError::upstream("the answer has no choices"))?;
    let mut content = Vec::new();
    let text = choice.message.content.clone().or_else(|| choice.message.refusal.clone()).unwrap_or_default();
    if !text.is_empty() {
        content.push(ContentBlock::Text { text });
    }
    for call in choice.message.tool_calls.iter().flatten() {
        content.push(ContentBlock::ToolUse {
            id: anthropic_tool_id(&call.id),
            name: call.function.name.clone(),
            input: tool_input(&call.function.arguments)?,
        });
    }
    Ok(MessagesResponse {
        id: meta.id.clone(),
        kind: "message".into(),
        role: ARole::Assistant,
        content,
        model: resp.model.clone(),
        stop_reason: Some(choice.finish_reason.map_or(StopReason::EndTurn, openai_stop_reason)),
        stop_sequence: None,
        usage: resp.usage.as_ref().map(openai_usage_to_anthropic).unwrap_or_default(),
    })
}
