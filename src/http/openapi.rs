//! The OpenAPI document, generated from the handlers' annotations so it cannot drift from the code.

use std::sync::OnceLock;

use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::{Modify, OpenApi};

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components
            .add_security_scheme("api_key", SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-API-Key"))));
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "gavel", description = "Self-hosted LLM evaluation on your own provider keys. Errors are always {\"error\": {code, message, details}}; `code` is one of the `Code` values."),
    components(schemas(crate::error::ErrorBody, crate::error::ErrorDetail, crate::domain::Code)),
    modifiers(&Security),
    tags((name = "tenancy"), (name = "byok"), (name = "runs"), (name = "review"), (name = "usage"), (name = "gateway"), (name = "operations"))
)]
struct ApiDoc;

/// The whole document: the base above merged with each route file's fragment.
fn build() -> utoipa::openapi::OpenApi {
    use super::routes::*;
    let mut doc = ApiDoc::openapi();
    for part in [
        ops::Doc::openapi(),
        tenancy::Doc::openapi(),
        byok::Doc::openapi(),
        scorers::Doc::openapi(),
        runs::Doc::openapi(),
        reviews::Doc::openapi(),
        export::Doc::openapi(),
        matrix::Doc::openapi(),
        pairwise::Doc::openapi(),
        analysis::Doc::openapi(),
        redteam::Doc::openapi(),
        usage::Doc::openapi(),
        settings::Doc::openapi(),
        gateway::Doc::openapi(),
    ] {
        doc.merge(part);
    }
    doc
}

/// The document as JSON, built once.
pub fn document() -> &'static serde_json::Value {
    static DOC: OnceLock<serde_json::Value> = OnceLock::new();
    DOC.get_or_init(|| {
        let mut doc = build();
        doc.info.version = env!("CARGO_PKG_VERSION").to_string();
        let mut json = serde_json::to_value(doc).unwrap_or_default();
        add_common_errors(&mut json);
        json
    })
}

/// Paths answered in a provider's own shape, whose errors are `{"error": {message, type, code, ...}}` rather than
/// the contract's `{"error": {code, message, details}}`.
const PROVIDER_SHAPED: [&str; 4] = ["/v1/chat/completions", "/v1/messages", "/v1/embeddings", "/v1/models"];

/// Every answer a client can get must be documented, or generated clients (and schemathesis) treat it as a
/// contract break. The errors that any handler of a kind can give (a bad query or body, a missing key, a missing
/// resource, a body too large, a rate limit, an internal fault) come from shared extractors and middleware rather
/// than the handler, so they are added here from the operation's shape instead of being repeated on every route.
fn add_common_errors(doc: &mut serde_json::Value) {
    use serde_json::{json, Value};
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else { return };
    for (path, ops) in paths.iter_mut() {
        let provider_shaped = PROVIDER_SHAPED.contains(&path.as_str());
        let schema =
            if provider_shaped { "#/components/schemas/ProviderError" } else { "#/components/schemas/ErrorBody" };
        let Some(ops) = ops.as_object_mut() else { continue };
        for op in ops.values_mut() {
            let authed = op.get("security").and_then(Value::as_array).is_some_and(|s| !s.is_empty());
            let has_query =
                op.get("parameters").and_then(Value::as_array).is_some_and(|ps| ps.iter().any(|p| p["in"] == "query"));
            let has_body = op.get("requestBody").is_some();
            let mut add: Vec<(&str, &str)> =
                vec![("500", "INTERNAL: an unexpected fault; the request id is in the log")];
            if authed {
                add.push(("401", "UNAUTHENTICATED: no, an unknown or a revoked API key"));
                add.push(("403", "FORBIDDEN: the key's role may not do this"));
                add.push(("429", "RATE_LIMITED: over the key's, org's or client address's request rate (`limits.*`); see Retry-After"));
            }
            if path.contains('{') {
                add.push(("404", "NOT_FOUND: no such resource in the caller's org"));
            }
            if has_query || has_body {
                add.push(("400", "VALIDATION_FAILED: a bad parameter or body; `details` names the field"));
            }
            if has_body {
                add.push(("413", "PAYLOAD_TOO_LARGE: the body is over `server.max_body_bytes` (or the limit named)"));
                add.push(("415", "UNSUPPORTED_MEDIA_TYPE: the body's Content-Type is not one this route reads"));
            }
            let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else { continue };
            for (status, description) in add {
                responses.entry(status.to_string()).or_insert_with(|| {
                    json!({"description": description, "content": {"application/json": {"schema": {"$ref": schema}}}})
                });
            }
        }
    }
    if let Some(schemas) = doc.pointer_mut("/components/schemas").and_then(Value::as_object_mut) {
        schemas.insert(
            "ProviderError".into(),
            json!({
                "description": "An error in the provider's own shape (OpenAI's, or Anthropic's on /v1/messages); `code` \
                    (or `type`) carries the contract code.",
                "type": "object",
                "required": ["error"],
                "properties": {"error": {"type": "object", "properties": {
                    "message": {"type": "string"}, "type": {"type": "string"}, "code": {"type": ["string", "null"]},
                    "param": {"type": ["string", "null"]}}}}
            }),
        );
    }
}
