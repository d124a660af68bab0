//! OpenAI chat-completions request → Gemini `generateContent` request.
//!
//! Gemini names roles `user` and `model`, keeps the system prompt apart (`systemInstruction`), answers tool calls
//! with `functionResponse` parts that name the function (OpenAI's `tool` messages carry only the call id, so the
//! name is looked up in the assistant turn that made the call), takes images only inline, and JSON schemas only in
//! its subset (see [`super::gemini_schema`]).

use std::collections::HashMap;

use serde_json::{json, Value};

use super::common::{assistant_text, check_extra, extra_u32, parse_data_url, text_only, RequestContext};
use super::error::GatewayError;
use super::gemini::{
    Blob, Content, FunctionCall, FunctionCallingConfig, FunctionDeclaration, FunctionResponse, GenerateContentRequest,
    GenerationConfig, Part, Tool, ToolConfig,
};
use super::gemini_schema::gemini_schema;
use super::openai::{
    ChatCompletionRequest, ChatMessage, MessageContent, ResponseFormat, Role, ToolChoice, ToolChoiceMode,
};

const PROVIDER: &str = "google";

/// A translated request: `model` and `context.stream` give the path (see [`super::gemini::generate_path`]).
#[derive(Clone, Debug, PartialEq)]
pub struct GeminiPlan {
    pub model: String,
    pub body: GenerateContentRequest,
    pub context: RequestContext,
}

/// Translates `req` for Gemini's `model` (the routed model name).
pub fn to_gemini(req: &ChatCompletionRequest, model: &str) -> Result<GeminiPlan, GatewayError> {
    check_extra(&req.extra, PROVIDER, &["top_k", "presence_penalty", "frequency_penalty"])?;
    if req.parallel_tool_calls == Some(false) {
        return Err(GatewayError::unsupported(
            "parallel_tool_calls",
            PROVIDER,
            "Gemini has no switch to forbid parallel function calls",
        ));
    }
    let (system, contents) = contents(&req.messages)?;
    let mut config = GenerationConfig {
        stop_sequences: req.stop.as_ref().map(|s| s.to_vec()).filter(|s| !s.is_empty()),
        candidate_count: req.n.filter(|n| *n != 1),
        max_output_tokens: req.max_output_tokens(),
        temperature: req.temperature,
        top_p: req.top_p,
        top_k: extra_u32(&req.extra, "top_k")?,
        seed: req.seed,
        presence_penalty: extra_f64(req, "presence_penalty")?,
        frequency_penalty: extra_f64(req, "frequency_penalty")?,
        ..GenerationConfig::default()
    };
    match &req.response_format {
        None | Some(ResponseFormat::Text) => {}
        Some(ResponseFormat::JsonObject) => config.response_mime_type = Some("application/json".into()),
        Some(ResponseFormat::JsonSchema { json_schema }) => {
            config.response_mime_type = Some("application/json".into());
            if let Some(schema) = &json_schema.schema {
                config.response_schema = Some(gemini_schema(schema, "response_format.json_schema.schema")?);
            }
        }
    }
    let tools = tools(req)?;
    let tool_config = tool_config(req, tools.as_deref())?;
    let body = GenerateContentRequest {
        contents,
        system_instruction: (!system.is_empty()).then_some(Content { role: None, parts: system }),
        tools,
        tool_config,
        generation_config: (config != GenerationConfig::default()).then_some(config),
        safety_settings: None,
    };
    let context = RequestContext {
        stream: req.stream.unwrap_or(false),
        include_usage: req.include_usage(),
        structured_tool: None,
    };
    Ok(GeminiPlan { model: model.to_owned(), body, context })
}

fn extra_f64(req: &ChatCompletionRequest, key: &str) -> Result<Option<f64>, GatewayError> {
    match req.extra.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v.as_f64().map(Some).ok_or_else(|| GatewayError::invalid(key, "must be a number")),
    }
}

fn contents(input: &[ChatMessage]) -> Result<(Vec<Part>, Vec<Content>), GatewayError> {
    let mut system = Vec::new();
    let mut out: Vec<Content> = Vec::new();
    // Call id → function name, from the assistant turns seen so far.
    let mut names: HashMap<&str, &str> = HashMap::new();
    for (i, msg) in input.iter().enumerate() {
        let param = format!("messages[{i}]");
        let (role, parts) = match msg.role {
            Role::System | Role::Developer => {
                let text = text_only(msg.content.as_ref(), &format!("{param}.content"), PROVIDER)?;
                if !text.is_empty() {
                    system.push(Part::text(text));
                }
                continue;
            }
            Role::User => ("user", user_parts(msg, &param)?),
            Role::Assistant => {
                for call in msg.tool_calls.iter().flatten() {
                    names.insert(call.id.as_str(), call.function.name.as_str());
                }
                ("model", assistant_parts(msg, &param)?)
            }
            Role::Tool => {
                let id = msg
                    .tool_call_id
                    .as_deref()
                    .ok_or_else(|| GatewayError::invalid(format!("{param}.tool_call_id"), "a tool message needs it"))?;
                let name = names.get(id).copied().ok_or_else(|| {
                    GatewayError::invalid(
                        format!("{param}.tool_call_id"),
                        format!("`{id}` answers no tool call of an earlier assistant message"),
                    )
                })?;
                let text = text_only(msg.content.as_ref(), &format!("{param}.content"), PROVIDER)?;
                let part = Part {
                    function_response: Some(FunctionResponse {
                        id: None,
                        name: name.to_owned(),
                        response: function_response(&text),
                    }),
                    ..Part::default()
                };
                ("user", vec![part])
            }
            Role::Function => {
                return Err(GatewayError::unsupported(
                    format!("{param}.role"),
                    PROVIDER,
                    "the deprecated `function` role; use tool_calls and `tool` messages",
                ))
            }
        };
        if parts.is_empty() {
            continue;
        }
        match out.last_mut() {
            Some(last) if last.role.as_deref() == Some(role) => last.parts.extend(parts),
            _ => out.push(Content { role: Some(role.to_owned()), parts }),
        }
    }
    Ok((system, out))
}

/// Gemini wants an object: a tool result that is a JSON object goes as it is, anything else as `{"result": ...}`.
fn function_response(text: &str) -> Value {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(obj)) => Value::Object(obj),
        Ok(other) => json!({ "result": other }),
        Err(_) => json!({ "result": text }),
    }
}

fn user_parts(msg: &ChatMessage, param: &str) -> Result<Vec<Part>, GatewayError> {
    match &msg.content {
        None => Ok(Vec::new()),
        Some(MessageContent::Text(text)) => Ok(vec![Part::text(text.clone())]),
        Some(MessageContent::Parts(parts)) => {
            let mut out = Vec::with_capacity(parts.len());
            for (j, part) in parts.iter().enumerate() {
                let param = format!("{param}.content[{j}]");
                match (part.kind.as_str(), &part.text, &part.image_url) {
                    ("text", Some(text), _) => out.push(Part::text(text.clone())),
                    ("image_url", _, Some(image)) => {
                        let url_param = format!("{param}.image_url.url");
                        let data = parse_data_url(&image.url, &url_param)?.ok_or_else(|| {
                            GatewayError::unsupported(
                                url_param.clone(),
                                PROVIDER,
                                "image URLs: Gemini takes images inline, send a base64 data: URL",
                            )
                        })?;
                        out.push(Part {
                            inline_data: Some(Blob { mime_type: data.media_type, data: data.data }),
                            ..Part::default()
                        });
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
            Ok(out)
        }
    }
}

fn assistant_parts(msg: &ChatMessage, param: &str) -> Result<Vec<Part>, GatewayError> {
    let mut parts = Vec::new();
    let text = assistant_text(msg.content.as_ref(), &format!("{param}.content"), PROVIDER)?;
    if !text.is_empty() {
        parts.push(Part::text(text));
    }
    for (k, call) in msg.tool_calls.iter().flatten().enumerate() {
        let arguments = call.function.arguments.trim();
        let args: Value = if arguments.is_empty() {
            json!({})
        } else {
            serde_json::from_str(arguments).map_err(|e| {
                GatewayError::invalid(format!("{param}.tool_calls[{k}].function.arguments"), format!("not JSON: {e}"))
            })?
        };
        parts.push(Part {
            function_call: Some(FunctionCall { id: None, name: call.function.name.clone(), args }),
            ..Part::default()
        });
    }
    Ok(parts)
}

fn tools(req: &ChatCompletionRequest) -> Result<Option<Vec<Tool>>, GatewayError> {
    let Some(tools) = req.tools.as_ref().filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    let mut declarations = Vec::with_capacity(tools.len());
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
        // Gemini refuses an OBJECT schema without properties; a function without arguments simply has none.
        let empty = |p: &Value| p.get("properties").and_then(Value::as_object).is_none_or(|m| m.is_empty());
        let parameters = match &function.parameters {
            Some(p) if !empty(p) => Some(gemini_schema(p, &format!("tools[{i}].function.parameters"))?),
            _ => None,
        };
        declarations.push(FunctionDeclaration {
            name: function.name.clone(),
            description: function.description.clone(),
            parameters,
        });
    }
    Ok(Some(vec![Tool { function_declarations: declarations }]))
}

fn tool_config(req: &ChatCompletionRequest, tools: Option<&[Tool]>) -> Result<Option<ToolConfig>, GatewayError> {
    let config = |mode: &str, allowed: Option<Vec<String>>| {
        Some(ToolConfig {
            function_calling_config: FunctionCallingConfig { mode: mode.into(), allowed_function_names: allowed },
        })
    };
    if tools.is_none() && !matches!(req.tool_choice, Some(ToolChoice::Named(_))) {
        return Ok(None);
    }
    Ok(match &req.tool_choice {
        None => None,
        Some(ToolChoice::Mode(ToolChoiceMode::Auto)) => config("AUTO", None),
        Some(ToolChoice::Mode(ToolChoiceMode::None)) => config("NONE", None),
        Some(ToolChoice::Mode(ToolChoiceMode::Required)) => config("ANY", None),
        Some(ToolChoice::Named(named)) => {
            let name = &named.function.name;
            let known = tools.into_iter().flatten().flat_map(|t| &t.function_declarations).any(|d| &d.name == name);
            if !known {
                return Err(GatewayError::invalid("tool_choice.function.name", format!("no tool named `{name}`")));
            }
            config("ANY", Some(vec![name.clone()]))
        }
    })
}
