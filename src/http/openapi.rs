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
    tags((name = "tenancy"), (name = "byok"), (name = "runs"), (name = "usage"), (name = "gateway"), (name = "operations"))
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
        analysis::Doc::openapi(),
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
        serde_json::to_value(doc).unwrap_or_default()
    })
}
