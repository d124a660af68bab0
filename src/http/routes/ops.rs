//! Operations endpoints: liveness, readiness, metrics and the OpenAPI document.

use actix_web::{web, HttpResponse};
use serde_json::json;

use crate::error::{Error, Result};
use crate::http::AppState;

/// GET /healthz: the process is up.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, description = "up: {status, version}", body = serde_json::Value)))]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok", "version": env!("CARGO_PKG_VERSION")}))
}

/// GET /readyz: the store answers and the key file is open.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200, description = "ready", body = serde_json::Value), (status = 503, body = crate::error::ErrorBody)))]
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse> {
    state.store.ping().await.map_err(|e| Error::Unavailable(format!("the store is not answering: {e}")))?;
    if !state.keys.path().exists() {
        return Err(Error::Unavailable(format!("the key file {} is missing", state.keys.path().display())));
    }
    Ok(HttpResponse::Ok().json(json!({"status": "ready", "checks": {"store": "ok", "key_file": "ok"}})))
}

/// GET /metrics: Prometheus text.
#[utoipa::path(get, path = "/metrics", tag = "operations", responses((status = 200, description = "Prometheus text format", body = String, content_type = "text/plain")))]
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain; version=0.0.4; charset=utf-8").body(state.metrics.render())
}

/// GET /openapi.json: the document generated from the handlers.
pub async fn openapi() -> HttpResponse {
    HttpResponse::Ok().json(crate::http::openapi::document())
}

/// Health, readiness, metrics and the OpenAPI document.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/healthz").route(web::get().to(healthz)))
        .service(web::resource("/readyz").route(web::get().to(readyz)))
        .service(web::resource("/metrics").route(web::get().to(metrics)))
        .service(web::resource("/openapi.json").route(web::get().to(openapi)));
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(healthz, readyz, metrics))]
pub struct Doc;
