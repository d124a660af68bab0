//! OpenAI chat-completions request → Anthropic Messages request.
//!
//! Anthropic differs in ways that matter: the system prompt is a top-level field, tool results are `tool_result`
//! blocks inside a user turn (all results of one parallel call in the same turn), `max_tokens` is required,
//! temperature stops at 1, there is no `n`, no `seed` and no response-format switch. Where a field cannot be
//! honoured the translation fails naming it, rather than quietly answering a different question.

use serde_json::{json, Value};

use super::anthropic::{
    ContentBlock, ImageSource, Message, MessagesRequest, Metadata, Role as ARole, SystemPrompt, ToolChoice as AChoice,
    ToolDef, ToolResultContent,
};
use super::common::{
    anthropic_tool_id, assistant_text, check_extra, extra_u32, parse_data_url, text_only, RequestContext,
    StructuredTool, STRUCTURED_OUTPUT_TOOL,
};
use super::error::GatewayError;
use super::openai::{
    ChatCompletionRequest, ChatMessage, MessageContent, ResponseFormat, Role, ToolChoice, ToolChoiceMode,
};

const PROVIDER: &str = "anthropic";

/// Anthropic requires `max_tokens`; when the caller names none this is sent. 4096 is the largest output every
/// Claude model since Claude 3 accepts, so it never makes a valid request fail, and it is far above typical answers.
pub const DEFAULT_ANTHROPIC_MAX_TOKENS: u32 = 4096;

/// Anthropic's documented temperature ceiling (OpenAI's is 2).
const MAX_ANTHROPIC_TEMPERATURE: f64 = 1.0;

/// Image media types Anthropic accepts.
const ANTHROPIC_IMAGE_TYPES: &[&str] = &["image/jpeg", "image/png", "image/gif", "image/webp"];

/// A translated request and what the response side must know about it.
#[derive(Clone, Debug, PartialEq)]
pub struct AnthropicPlan {
    pub body: MessagesRequest,
    pub context: RequestContext,
}

/// Translates `req` for Anthropic's `model` (the routed model name, not `req.model`, which may be an alias).
pub fn to_anthropic(req: &ChatCompletionRequest, model: &str) -> Result<AnthropicPlan, GatewayError> {
    check_extra(&req.extra, PROVIDER, &["top_k"])?;
    if req.n.is_some_and(|n| n > 1) {
        return Err(GatewayError::unsupported("n", PROVIDER, "Anthropic returns one choice per request; send n=1"));
    }
    if let Some(t) = req.temperature {
        if !(0.0..=MAX_ANTHROPIC_TEMPERATURE).contains(&t) {
            return Err(GatewayError::unsupported("temperature", PROVIDER, format!("{t} is outside its range 0..1")));
        }
    }
    let mut system = Vec::new();
    let messages = messages(&req.messages, &mut system)?;

    let mut context = RequestContext {
        stream: req.stream.unwrap_or(false),
        include_usage: req.include_usage(),
        structured_tool: None,
    };
    let mut tools = tools(req)?;
    let mut tool_choice = tool_choice(req, tools.as_deref())?;
    match &req.response_format {
        None | Some(ResponseFormat::Text) => {}
        Some(ResponseFormat::JsonObject) => system.push(JSON_OBJECT_INSTRUCTION.to_owned()),
        Some(ResponseFormat::JsonSchema { json_schema }) => {
            let schema = json_schema.schema.clone().unwrap_or_else(|| json!({"type": "object"}));
            if tools.as_ref().is_some_and(|t| !t.is_empty()) {
                // The caller's own tools must stay callable, so the schema travels as an instruction instead.
                system.push(format!("{JSON_SCHEMA_INSTRUCTION}\n{schema}"));
            } else {
                let wrapped = schema.get("type").and_then(Value::as_str) != Some("object");
                let input_schema = if wrapped {
                    json!({"type": "object", "properties": {"value": schema}, "required": ["value"]})
                } else {
                    schema
                };
                tools = Some(vec![ToolDef {
                    name: STRUCTURED_OUTPUT_TOOL.into(),
                    description: Some(json_schema.description.clone().unwrap_or_else(|| {
                        format!("Record the answer, which must follow the `{}` schema.", json_schema.name)
                    })),
                    input_schema,
                    extra: serde_json::Map::new(),
                }]);
                tool_choice =
                    Some(AChoice::Tool { name: STRUCTURED_OUTPUT_TOOL.into(), disable_parallel_tool_use: None });
                context.structured_tool = Some(StructuredTool { name: STRUCTURED_OUTPUT_TOOL.into(), wrapped });
            }
        }
    }

    let body = MessagesRequest {
        model: model.to_owned(),
        max_tokens: req.max_output_tokens().unwrap_or(DEFAULT_ANTHROPIC_MAX_TOKENS),
        messages,
        system: (!system.is_empty()).then(|| SystemPrompt::Text(system.join("\n\n"))),
        stop_sequences: req.stop.as_ref().map(|s| s.to_vec()).filter(|s| !s.is_empty()),
        temperature: req.temperature,
        top_p: req.top_p,
        top_k: extra_u32(&req.extra, "top_k")?,
        stream: context.stream.then_some(true),
        tools,
        tool_choice,
        metadata: req.user.as_ref().map(|u| Metadata { user_id: Some(u.clone()) }),
        extra: serde_json::Map::new(),
    };
    Ok(AnthropicPlan { body, context })
}

/// Appended to the system prompt for `response_format: json_object`, Anthropic having no JSON mode.
const JSON_OBJECT_INSTRUCTION: &str = "Reply with one valid JSON object and nothing else: no prose, no code fence.";
const JSON_SCHEMA_INSTRUCTION: &str =
    "Reply with one valid JSON object and nothing else (no prose, no code fence) that follows this JSON schema:";

/// System and developer messages (wherever they stand) become the system prompt; the rest become turns, with
/// consecutive turns of one role merged, so tool results of one parallel call share a user turn.
fn messages(input: &[ChatMessage], system: &mut Vec<String>) -> Result<Vec<Message>, GatewayError> {
    let mut out: Vec<Message> = Vec::new();
    for (i, msg) in input.iter().enumerate() {
        let param = format!("messages[{i}]");
        let (role, blocks) = match msg.role {
            Role::System | Role::Developer => {
                let text = text_only(msg.content.as_ref(), &format!("{param}.content"), PROVIDER)?;
                if !text.is_empty() {
                    system.push(text);
                }
                continue;
            }
            Role::User => (ARole::User, user_blocks(msg, &param)?),
            Role::Assistant => (ARole::Assistant, assistant_blocks(msg, &param)?),
            Role::Tool => {
                let id = msg
                    .tool_call_id
                    .as_deref()
                    .ok_or_else(|| GatewayError::invalid(format!("{param}.tool_call_id"), "a tool message needs it"))?;
                let text = text_only(msg.content.as_ref(), &format!("{param}.content"), PROVIDER)?;
                let block = ContentBlock::ToolResult {
                    tool_use_id: anthropic_tool_id(id),
                    content: Some(ToolResultContent::Text(text)),
                    is_error: None,
                };
                (ARole::User, vec![block])
            }
            Role::Function => {
                return Err(GatewayError::unsupported(
                    format!("{param}.role"),
                    PROVIDER,
                    "the deprecated `function` role; use tool_calls and `tool` messages",
                ))
            }
        };
        if blocks.is_empty() {
            continue;
        }
        match out.last_mut() {
            Some(last) if last.role == role => {
                if let super::anthropic::Content::Blocks(existing) = &mut last.content {
                    existing.extend(blocks);
                }
            }
            _ => out.push(Message { role, content: super::anthropic::Content::Blocks(blocks) }),
        }
    }
    Ok(out)
}

fn user_blocks(msg: &ChatMessage, param: &str) -> Result<Vec<ContentBlock>, GatewayError> {
    match &msg.content {
        None => Ok(Vec::new()),
        Some(MessageContent::Text(text)) => Ok(vec![ContentBlock::Text { text: text.clone() }]),
        Some(MessageContent::Parts(parts)) => {
            let mut blocks = Vec::with_capacity(parts.len());
            for (j, part) in parts.iter().enumerate() {
                let param = format!("{param}.content[{j}]");
                match (part.kind.as_str(), &part.text, &part.image_url) {
                    ("text", Some(text), _) => blocks.push(ContentBlock::Text { text: text.clone() }),
                    ("image_url", _, Some(image)) => {
                        blocks.push(ContentBlock::Image { source: image_source(&image.url, &param)? })
                    }
                    (kind, _, _) => {
                        return Err(GatewayError::unsupported(
                            format!("{param}.type"),
                            PROVIDER,
                            format!("`{kind}` content parts are not translated (text and image_url are)"),
                        ))
                    }
                }
            }
            Ok(blocks)
        }
    }
}

fn image_source(url: &str, param: &str) -> Result<ImageSource, GatewayError> {
    let param = format!("{param}.image_url.url");
    if let Some(data) = parse_data_url(url, &param)? {
        if !ANTHROPIC_IMAGE_TYPES.contains(&data.media_type.as_str()) {
            return Err(GatewayError::unsupported(
                param,
                PROVIDER,
                format!("images of type {} (it takes {})", data.media_type, ANTHROPIC_IMAGE_TYPES.join(", ")),
            ));
        }
        return Ok(ImageSource::Base64 { media_type: data.media_type, data: data.data });
    }
    if url.starts_with("https://") || url.starts_with("http://") {
        return Ok(ImageSource::Url { url: url.to_owned() });
    }
    Err(GatewayError::invalid(param, "an image URL must be http(s):// or a base64 data: URL"))
}

fn assistant_blocks(msg: &ChatMessage, param: &str) -> Result<Vec<ContentBlock>, GatewayError> {
    let mut blocks = Vec::new();
    let text = assistant_text(msg.content.as_ref(), &format!("{param}.content"), PROVIDER)?;
    // Anthropic refuses empty text blocks.
    if !text.is_empty() {
        blocks.push(ContentBlock::Text { text });
    }
    for (k, call) in msg.tool_calls.iter().flatten().enumerate() {
        let arguments = call.function.arguments.trim();
        let input: Value = if arguments.is_empty() {
            json!({})
        } else {
            serde_json::from_str(arguments).map_err(|e| {
                GatewayError::invalid(format!("{param}.tool_calls[{k}].function.arguments"), format!("not JSON: {e}"))
            })?
        };
        if !input.is_object() {
            return Err(GatewayError::invalid(
                format!("{param}.tool_calls[{k}].function.arguments"),
                "must be a JSON object",
            ));
        }
        blocks.push(ContentBlock::ToolUse { id: anthropic_tool_id(&call.id), name: call.function.name.clone(), input });
    }
    Ok(blocks)
}

fn tools(req: &ChatCompletionRequest) -> Result<Option<Vec<ToolDef>>, GatewayError> {
    let Some(tools) = &req.tools else {
        return Ok(None);
    };
    let mut out = Vec::with_capacity(tools.len());
    for (i, tool) in tools.iter().enumerate() {
        let function = match (tool.kind.as_str(), &tool.function) {
            ("function", Some(f)) => f,
            (kind, _) => {
                return Err(GatewayError::unsupported(
                    format!("tools[{i}].type"),
                    PROVIDER,
                    format!("`{kind}` tools (function tools are translated)"),
                ))
            }
        };
        if function.name == STRUCTURED_OUTPUT_TOOL
            && matches!(req.response_format, Some(ResponseFormat::JsonSchema { .. }))
        {
            return Err(GatewayError::invalid(
                format!("tools[{i}].function.name"),
                format!("`{STRUCTURED_OUTPUT_TOOL}` is reserved for response_format on this provider"),
            ));
        }
        out.push(ToolDef {
            name: function.name.clone(),
            description: function.description.clone(),
            input_schema: function.parameters.clone().unwrap_or_else(|| json!({"type": "object", "properties": {}})),
            extra: serde_json::Map::new(),
        });
    }
    Ok(Some(out))
}

fn tool_choice(req: &ChatCompletionRequest, tools: Option<&[ToolDef]>) -> Result<Option<AChoice>, GatewayError> {
    let no_parallel = (req.parallel_tool_calls == Some(false)).then_some(true);
    let has_tools = tools.is_some_and(|t| !t.is_empty());
    // Anthropic refuses a tool_choice without tools; without tools every mode means the same: answer in text.
    if !has_tools && !matches!(req.tool_choice, Some(ToolChoice::Named(_))) {
        return Ok(None);
    }
    Ok(match &req.tool_choice {
        None if has_tools && no_parallel.is_some() => Some(AChoice::Auto { disable_parallel_tool_use: no_parallel }),
        None => None,
        Some(ToolChoice::Mode(ToolChoiceMode::Auto)) => Some(AChoice::Auto { disable_parallel_tool_use: no_parallel }),
        Some(ToolChoice::Mode(ToolChoiceMode::None)) => Some(AChoice::None),
        Some(ToolChoice::Mode(ToolChoiceMode::Required)) => {
            Some(AChoice::Any { disable_parallel_tool_use: no_parallel })
        }
        Some(ToolChoice::Named(named)) => {
            let name = &named.function.name;
            if !tools.into_iter().flatten().any(|t| &t.name == name) {
                return Err(GatewayError::invalid("tool_choice.function.name", format!("no tool named `{name}`")));
            }
            Some(AChoice::Tool { name: name.clone(), disable_parallel_tool_use: no_parallel })
        }
    })
}
