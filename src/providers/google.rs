//! The Gemini API (`generateContent`) wire format.

use serde_json::{json, Map, Value};

use super::{join_url, temperature, ChatRequest, ChatResponse, Endpoint};

const GOOGLE_BASE: &str = "https://generativelanguage.googleapis.com";

/// The `generateContent` body, built without HTTP so tests can check it.
pub fn google_body(req: &ChatRequest) -> Value {
    let mut body = Map::new();
    if !req.system.is_empty() {
        body.insert("systemInstruction".into(), json!({"parts": [{"text": req.system}]}));
    }
    // Gemini names the assistant's turns `model`.
    let mut contents: Vec<Value> = req
        .history
        .iter()
        .map(|t| json!({"role": if t.assistant { "model" } else { "user" }, "parts": [{"text": t.text}]}))
        .collect();
    contents.push(json!({"role": "user", "parts": [{"text": req.user}]}));
    body.insert("contents".into(), Value::Array(contents));
    let mut config = Map::new();
    config.insert("temperature".into(), temperature(req.temperature));
    config.insert("maxOutputTokens".into(), Value::from(req.max_tokens.max(1)));
    if let Some(p) = req.sampling.top_p {
        config.insert("topP".into(), temperature(p));
    }
    if !req.sampling.stop.is_empty() {
        config.insert("stopSequences".into(), Value::from(req.sampling.stop.clone()));
    }
    if let Some(seed) = req.sampling.seed {
        config.insert("seed".into(), Value::from(seed));
    }
    if let Some(schema) = &req.json_schema {
        config.insert("responseMimeType".into(), Value::from("application/json"));
        config.insert("responseSchema".into(), gemini_schema(schema));
    }
    body.insert("generationConfig".into(), Value::Object(config));
    Value::Object(body)
}

/// Gemini takes only an OpenAPI 3.0 subset of JSON Schema and rejects the whole call on any keyword it does not
/// know (`additionalProperties`, `$schema`, `const`...), so the judge's schema is rewritten into that subset:
/// unknown keywords dropped, `type: [T, "null"]` turned into `nullable`, `const` into a one-value `enum`, `oneOf`
/// into `anyOf`, type names upper-cased as in Google's examples.
pub fn gemini_schema(schema: &Value) -> Value {
    let Some(obj) = schema.as_object() else {
        return json!({"type": "STRING"});
    };
    let mut out = Map::new();
    match obj.get("type") {
        Some(Value::String(t)) => {
            out.insert("type".into(), Value::from(t.to_ascii_uppercase()));
        }
        Some(Value::Array(types)) => {
            let names: Vec<&str> = types.iter().filter_map(Value::as_str).collect();
            if let Some(t) = names.iter().find(|t| **t != "null") {
                out.insert("type".into(), Value::from(t.to_ascii_uppercase()));
            }
            if names.contains(&"null") {
                out.insert("nullable".into(), Value::Bool(true));
            }
        }
        _ => {}
    }
    for (key, value) in obj {
        match key.as_str() {
            "description" | "title" | "nullable" | "minimum" | "maximum" | "minItems" | "maxItems" | "minLength"
            | "maxLength" | "minProperties" | "maxProperties" | "pattern" | "required" | "propertyOrdering"
            | "example" | "default" => {
                out.insert(key.clone(), value.clone());
            }
            "format" => {
                if matches!(value.as_str(), Some("enum" | "date-time" | "int32" | "int64" | "float" | "double")) {
                    out.insert(key.clone(), value.clone());
                }
            }
            "enum" => {
                if let Some(values) = string_values(value) {
                    out.insert("type".into(), Value::from("STRING"));
                    out.insert("enum".into(), values);
                }
            }
            "const" => {
                if let Some(s) = value.as_str() {
                    out.insert("type".into(), Value::from("STRING"));
                    out.insert("enum".into(), json!([s]));
                }
            }
            "properties" => {
                if let Some(props) = value.as_object() {
                    let converted = props.iter().map(|(k, v)| (k.clone(), gemini_schema(v))).collect();
                    out.insert(key.clone(), Value::Object(converted));
                }
            }
            "items" => {
                out.insert(key.clone(), gemini_schema(value));
            }
            "anyOf" | "oneOf" => {
                if let Some(options) = value.as_array() {
                    out.insert("anyOf".into(), Value::Array(options.iter().map(gemini_schema).collect()));
                }
            }
            _ => {}
        }
    }
    Value::Object(out)
}

fn string_values(value: &Value) -> Option<Value> {
    let values = value.as_array()?;
    values.iter().all(Value::is_string).then(|| Value::Array(values.clone()))
}

/// `{base}/v1beta/models/{model}:generateContent`, the model percent-encoded as one path segment; a base that
/// already ends in a version (`/v1beta`, `/v1`) is accepted as well.
pub(super) fn url(endpoint: &Endpoint, model: &str) -> Result<url::Url, String> {
    url_for(endpoint, model, "generateContent")
}

/// `{base}/v1beta/models/{model}:{method}` (`generateContent`, `streamGenerateContent`, `batchEmbedContents`).
pub(super) fn url_for(endpoint: &Endpoint, model: &str, method: &str) -> Result<url::Url, String> {
    let base = endpoint.base_url.as_deref().filter(|b| !b.trim().is_empty()).unwrap_or(GOOGLE_BASE);
    let trimmed = base.trim().trim_end_matches('/');
    let versioned = trimmed.ends_with("/v1beta") || trimmed.ends_with("/v1");
    let mut url = join_url(base, if versioned { "/models" } else { "/v1beta/models" })?;
    let model = model.strip_prefix("models/").unwrap_or(model);
    url.path_segments_mut().map_err(|()| format!("invalid base URL {base:?}"))?.push(&format!("{model}:{method}"));
    Ok(url)
}

/// Reads the first candidate's text parts and `usageMetadata`, and explains blocked prompts and answers.
pub(super) fn parse(json: &Value, requested_model: &str) -> Result<ChatResponse, String> {
    let Some(candidate) = json.pointer("/candidates/0") else {
        if let Some(reason) = json.pointer("/promptFeedback/blockReason").and_then(Value::as_str) {
            return Err(format!("the prompt was blocked (blockReason {reason})"));
        }
        return Err("the answer has no candidates".into());
    };
    let text: String = candidate
        .pointer("/content/parts")
        .and_then(Value::as_array)
        .map(|parts| {
            parts
                .iter()
                .filter(|p| p.get("thought").and_then(Value::as_bool) != Some(true))
                .filter_map(|p| p.get("text").and_then(Value::as_str))
                .collect()
        })
        .unwrap_or_default();
    if text.trim().is_empty() {
        let finish = candidate.get("finishReason").and_then(Value::as_str).unwrap_or("unknown");
        if matches!(finish, "SAFETY" | "RECITATION" | "BLOCKLIST" | "PROHIBITED_CONTENT" | "SPII" | "IMAGE_SAFETY") {
            return Err(format!("the answer was blocked by Google's safety filters (finishReason {finish})"));
        }
        return Err(format!("the answer holds no text (finishReason {finish})"));
    }
    let usage = |field: &str| json.pointer(&format!("/usageMetadata/{field}")).and_then(Value::as_u64).unwrap_or(0);
    Ok(ChatResponse {
        text,
        model: json
            .get("modelVersion")
            .and_then(Value::as_str)
            .filter(|m| !m.is_empty())
            .unwrap_or(requested_model)
            .into(),
        input_tokens: usage("promptTokenCount"),
        // Thinking tokens are billed as output.
        output_tokens: usage("candidatesTokenCount") + usage("thoughtsTokenCount"),
    })
}
