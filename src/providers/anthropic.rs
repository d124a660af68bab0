//! The Anthropic Messages API wire format.

use serde_json::{json, Map, Value};

use super::{join_url, temperature, ChatRequest, ChatResponse, Endpoint};

const ANTHROPIC_BASE: &str = "https://api.anthropic.com";
/// The forced tool whose input is the verdict; Anthropic has no response-format switch, a forced tool call is its
/// documented way to get JSON that follows a schema.
pub(super) const VERDICT_TOOL: &str = "record_verdict";

/// The Messages API body, built without HTTP so tests can check it.
pub fn anthropic_body(req: &ChatRequest) -> Value {
    let mut body = Map::new();
    body.insert("model".into(), Value::from(req.model.clone()));
    body.insert("max_tokens".into(), Value::from(req.max_tokens.max(1)));
    body.insert("temperature".into(), temperature(req.temperature));
    if let Some(p) = req.sampling.top_p {
        body.insert("top_p".into(), temperature(p));
    }
    if !req.sampling.stop.is_empty() {
        body.insert("stop_sequences".into(), Value::from(req.sampling.stop.clone()));
    }
    if !req.system.is_empty() {
        body.insert("system".into(), Value::from(req.system.clone()));
    }
    let mut messages: Vec<Value> = req.history.iter().map(|t| json!({"role": t.role(), "content": t.text})).collect();
    messages.push(json!({"role": "user", "content": req.user}));
    body.insert("messages".into(), Value::Array(messages));
    if let Some(schema) = &req.json_schema {
        body.insert(
            "tools".into(),
            json!([{
                "name": VERDICT_TOOL,
                "description": "Record the judge's verdict. Always call this tool exactly once with the verdict.",
                "input_schema": input_schema(schema),
            }]),
        );
        body.insert("tool_choice".into(), json!({"type": "tool", "name": VERDICT_TOOL}));
    }
    Value::Object(body)
}

/// Anthropic requires a tool's input schema to describe an object; anything else is wrapped in one.
fn input_schema(schema: &Value) -> Value {
    if wraps(Some(schema)) {
        json!({"type": "object", "properties": {"value": schema}, "required": ["value"]})
    } else {
        schema.clone()
    }
}

/// Whether [`anthropic_body`] wrapped the schema, so [`parse`] knows to unwrap the tool input again.
pub(super) fn wraps(schema: Option<&Value>) -> bool {
    schema.is_some_and(|s| s.get("type").and_then(Value::as_str) != Some("object"))
}

/// `{base}/v1/messages`; a base that already ends in `/v1` is accepted as well.
pub(super) fn url(endpoint: &Endpoint) -> Result<url::Url, String> {
    let base = endpoint.base_url.as_deref().filter(|b| !b.trim().is_empty()).unwrap_or(ANTHROPIC_BASE);
    let path = if base.trim().trim_end_matches('/').ends_with("/v1") { "/messages" } else { "/v1/messages" };
    join_url(base, path)
}

/// Reads the forced tool call's input (as JSON text) or else the text blocks, and `usage`.
pub(super) fn parse(json: &Value, requested_model: &str, wrapped: bool) -> Result<ChatResponse, String> {
    let blocks = json.get("content").and_then(Value::as_array).ok_or("the answer has no content array")?;
    let tool_input = blocks.iter().find(|b| b.get("type").and_then(Value::as_str) == Some("tool_use")).and_then(|b| {
        let input = b.get("input")?;
        Some(if wrapped { input.get("value").unwrap_or(input).to_string() } else { input.to_string() })
    });
    let text = match tool_input {
        Some(t) => t,
        None => blocks
            .iter()
            .filter(|b| b.get("type").and_then(Value::as_str) == Some("text"))
            .filter_map(|b| b.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join(""),
    };
    if text.trim().is_empty() {
        let stop = json.get("stop_reason").and_then(Value::as_str).unwrap_or("unknown");
        return Err(format!("the answer holds no text or tool_use block (stop_reason {stop})"));
    }
    let usage = |field: &str| json.pointer(&format!("/usage/{field}")).and_then(Value::as_u64).unwrap_or(0);
    Ok(ChatResponse {
        text,
        model: json.get("model").and_then(Value::as_str).filter(|m| !m.is_empty()).unwrap_or(requested_model).into(),
        input_tokens: usage("input_tokens"),
        output_tokens: usage("output_tokens"),
    })
}
