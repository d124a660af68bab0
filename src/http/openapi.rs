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
    info(title = "gavel", description = "Self-hosted LLM evaluation on your own provider keys. Errors are always {\"error\": {code, message, details}}."),
    paths(
        crate::http::ops::healthz, crate::http::ops::readyz, crate::http::ops::metrics,
        crate::tenancy::routes::create_org, crate::tenancy::routes::list_orgs,
        crate::tenancy::routes::create_api_key, crate::tenancy::routes::list_api_keys, crate::tenancy::routes::revoke_api_key,
        crate::tenancy::routes::create_project, crate::tenancy::routes::list_projects, crate::tenancy::routes::get_project,
        crate::tenancy::routes::delete_project,
        crate::byok::routes::create, crate::byok::routes::list, crate::byok::routes::get, crate::byok::routes::patch,
        crate::byok::routes::delete,
        crate::usage::audit::list_route,
        crate::scoring::routes::create, crate::scoring::routes::list, crate::scoring::routes::delete,
        crate::runs::routes::create_dataset, crate::runs::routes::list_datasets, crate::runs::routes::get_dataset,
        crate::runs::routes::delete_dataset, crate::runs::routes::create_run, crate::runs::routes::get_run,
        crate::runs::routes::list_runs, crate::runs::routes::list_results, crate::runs::routes::cancel_run,
        crate::runs::routes::events,
        crate::byok::routes::test, crate::usage::routes::usage, crate::tenancy::routes::me, crate::runs::compare::compare,
        crate::judge::routes::get_settings, crate::judge::routes::patch_settings,
    ),
    components(schemas(crate::error::ErrorBody, crate::error::ErrorDetail)),
    modifiers(&Security),
    tags((name = "tenancy"), (name = "byok"), (name = "runs"), (name = "usage"), (name = "operations"))
)]
struct ApiDoc;

/// The document as JSON, built once.
pub fn document() -> &'static serde_json::Value {
    static DOC: OnceLock<serde_json::Value> = OnceLock::new();
    DOC.get_or_init(|| {
        let mut doc = ApiDoc::openapi();
        doc.info.version = env!("CARGO_PKG_VERSION").to_string();
        serde_json::to_value(doc).unwrap_or_default()
    })
}
