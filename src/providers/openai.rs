//! The OpenAI chat-completions wire format, shared by OpenAI, Azure OpenAI, Groq and OpenAI-compatible servers.

use serde_json::{json, Map, Value};

use super::{join_url, temperature, ChatRequest, ChatResponse, Endpoint};
use crate::domain::Provider;

const OPENAI_BASE: &str = "https://api.openai.com/v1";
const GROQ_BASE: &str = "https://api.groq.com/openai/v1";
/// The GA api-version that first had structured outputs; used only when a key names none.
const AZURE_DEFAULT_API_VERSION: &str = "2024-10-21";

/// The chat-completions body, built without HTTP so tests can check it against OpenAI's published OpenAPI schema.
///
/// The providers differ in what they accept: OpenAI wants `max_completion_tokens` (its reasoning models reject
/// `max_tokens` and any temperature but the default); Azure ignores `model` (the deployment decides) and older
/// api-versions only know `max_tokens`; Groq and most compatible servers only know `max_tokens` and JSON mode, so
/// there the schema travels in the system prompt instead.
pub fn openai_body(provider: Provider, req: &ChatRequest) -> Value {
    let mut system = req.system.clone();
    let json_mode = matches!(provider, Provider::Groq | Provider::OpenaiCompatible);
    if let (true, Some(schema)) = (json_mode, &req.json_schema) {
        if !system.is_empty() {
            system.push_str("\n\n");
        }
        system.push_str("Reply with a single JSON object that follows this JSON schema:\n");
        system.push_str(&schema.to_string());
    }
    let mut messages = Vec::new();
    if !system.is_empty() {
        messages.push(json!({"role": "system", "content": system}));
    }
    for t in &req.history {
        messages.push(json!({"role": t.role(), "content": t.text}));
    }
    messages.push(json!({"role": "user", "content": req.user}));

    let mut body = Map::new();
    if provider != Provider::AzureOpenai {
        body.insert("model".into(), Value::from(req.model.clone()));
    }
    body.insert("messages".into(), Value::Array(messages));
    let reasoning = provider == Provider::Openai && is_reasoning_model(&req.model);
    if !reasoning {
        body.insert("temperature".into(), temperature(req.temperature));
    }
    let max_key = if provider == Provider::Openai { "max_completion_tokens" } else { "max_tokens" };
    body.insert(max_key.into(), Value::from(req.max_tokens.max(1)));
    if let Some(p) = req.sampling.top_p.filter(|_| !reasoning) {
        body.insert("top_p".into(), temperature(p));
    }
    if !req.sampling.stop.is_empty() {
        body.insert("stop".into(), Value::from(req.sampling.stop.clone()));
    }
    if let Some(seed) = req.sampling.seed {
        body.insert("seed".into(), Value::from(seed));
    }
    if let Some(schema) = &req.json_schema {
        let format = if json_mode {
            json!({"type": "json_object"})
        } else {
            json!({"type": "json_schema", "json_schema": {"name": "judge_verdict", "schema": schema, "strict": false}})
        };
        body.insert("response_format".into(), format);
    }
    Value::Object(body)
}

/// OpenAI's reasoning models accept only the default temperature; sending 0 gets the call rejected.
fn is_reasoning_model(model: &str) -> bool {
    let m = model.to_ascii_lowercase();
    ["o1", "o3", "o4", "gpt-5"].iter().any(|p| m == *p || m.starts_with(&format!("{p}-")))
}

pub(super) fn url(provider: Provider, endpoint: &Endpoint) -> Result<url::Url, String> {
    url_for(provider, endpoint, "/chat/completions")
}

/// `{base}{path}` for an OpenAI-style server (`/chat/completions`, `/embeddings`).
pub(super) fn url_for(provider: Provider, endpoint: &Endpoint, path: &str) -> Result<url::Url, String> {
    let base = match (provider, endpoint.base_url.as_deref()) {
        (_, Some(b)) if !b.trim().is_empty() => b,
        (Provider::Groq, _) => GROQ_BASE,
        (Provider::Openai, _) => OPENAI_BASE,
        _ => return Err("base_url is required (e.g. http://localhost:8000/v1)".into()),
    };
    join_url(base, path)
}

/// `{endpoint}/openai/deployments/{deployment}/chat/completions?api-version=...`, with the deployment name
/// percent-encoded as one path segment.
pub(super) fn azure_url(endpoint: &Endpoint, model: &str) -> Result<url::Url, String> {
    azure_url_for(endpoint, model, &["chat", "completions"])
}

/// `{endpoint}/openai/deployments/{deployment}/{tail...}?api-version=...`.
pub(super) fn azure_url_for(endpoint: &Endpoint, model: &str, tail: &[&str]) -> Result<url::Url, String> {
    let root = endpoint
        .endpoint
        .as_deref()
        .or(endpoint.base_url.as_deref())
        .filter(|s| !s.trim().is_empty())
        .ok_or("endpoint is required (e.g. https://my-resource.openai.azure.com)")?;
    let deployment = endpoint.deployment.as_deref().filter(|s| !s.trim().is_empty()).unwrap_or(model);
    if deployment.trim().is_empty() {
        return Err("deployment is required".into());
    }
    let api_version = endpoint.api_version.as_deref().filter(|s| !s.trim().is_empty());
    let mut url = join_url(root, "/openai/deployments")?;
    url.path_segments_mut().map_err(|()| format!("invalid endpoint {root:?}"))?.push(deployment).extend(tail);
    url.query_pairs_mut().append_pair("api-version", api_version.unwrap_or(AZURE_DEFAULT_API_VERSION));
    Ok(url)
}

/// Reads `choices[0].message.content` and `usage`; an error string says what was missing.
pub(super) fn parse(json: &Value, requested_model: &str) -> Result<ChatResponse, String> {
    let message = json.pointer("/choices/0/message").ok_or("the answer has no choices[0].message")?;
    let text = match message.get("content") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => {
            parts.iter().filter_map(|p| p.get("text").and_then(Value::as_str)).collect::<Vec<_>>().join("")
        }
        _ => String::new(),
    };
    if text.trim().is_empty() {
        if let Some(refusal) = message.get("refusal").and_then(Value::as_str) {
            return Err(format!("the model refused: {refusal}"));
        }
        let finish = json.pointer("/choices/0/finish_reason").and_then(Value::as_str).unwrap_or("unknown");
        return Err(format!("choices[0].message.content is empty (finish_reason {finish})"));
    }
    let usage = |field: &str| json.pointer(&format!("/usage/{field}")).and_then(Value::as_u64).unwrap_or(0);
    Ok(ChatResponse {
        text,
        model: json.get("model").and_then(Value::as_str).filter(|m| !m.is_empty()).unwrap_or(requested_model).into(),
        input_tokens: usage("prompt_tokens"),
        output_tokens: usage("completion_tokens"),
    })
}
