//! The HTTP surface: application state, the route table, and the adapters that turn every
//! framework-level failure (bad JSON, wrong content type, unknown route, wrong method) into the contract's shape.

pub mod auth;
pub mod dashboard;
pub mod errors;
pub mod metrics;
pub mod openapi;
pub mod ops;

use std::sync::Arc;

use actix_web::web;

use crate::config::Config;
use crate::keystore::KeyFile;
use crate::store::Store;

/// Shared state handed to every handler.
pub struct AppState {
    pub config: Arc<Config>,
    pub store: Store,
    pub keys: Arc<KeyFile>,
    /// SHA-256 (hex) of the server admin keys: the one from `init` and the optional configured one.
    pub admin_key_hashes: Vec<String>,
    pub metrics: metrics::Metrics,
}

impl AppState {
    /// Constant-time comparison against the server admin key hashes.
    pub fn is_server_admin(&self, hash: &str) -> bool {
        self.admin_key_hashes.iter().fold(false, |found, h| {
            let same = h.len() == hash.len() && h.bytes().zip(hash.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0;
            found | same
        })
    }
}

/// Every route. Resources list their methods so a wrong method answers 405 rather than 404.
pub fn routes(cfg: &mut web::ServiceConfig) {
    use crate::{byok, tenancy::routes as t, usage};
    cfg.service(web::resource("/healthz").route(web::get().to(ops::healthz)))
        .service(web::resource("/readyz").route(web::get().to(ops::readyz)))
        .service(web::resource("/metrics").route(web::get().to(ops::metrics)))
        .service(web::resource("/openapi.json").route(web::get().to(ops::openapi)))
        .service(web::resource("/v1/orgs").route(web::post().to(t::create_org)).route(web::get().to(t::list_orgs)))
        .service(
            web::resource("/v1/api-keys")
                .route(web::post().to(t::create_api_key))
                .route(web::get().to(t::list_api_keys)),
        )
        .service(web::resource("/v1/api-keys/{id}").route(web::delete().to(t::revoke_api_key)))
        .service(
            web::resource("/v1/projects")
                .route(web::post().to(t::create_project))
                .route(web::get().to(t::list_projects)),
        )
        .service(
            web::resource("/v1/projects/{project}")
                .route(web::get().to(t::get_project))
                .route(web::delete().to(t::delete_project)),
        )
        .service(
            web::resource("/v1/byok-keys")
                .route(web::post().to(byok::routes::create))
                .route(web::get().to(byok::routes::list)),
        )
        .service(
            web::resource("/v1/byok-keys/{id}")
                .route(web::get().to(byok::routes::get))
                .route(web::patch().to(byok::routes::patch))
                .route(web::delete().to(byok::routes::delete)),
        )
        .service(web::resource("/v1/audit-log").route(web::get().to(usage::audit::list_route)))
        .service(web::resource("/").route(web::get().to(dashboard::serve)).route(web::head().to(dashboard::serve)))
        .service(
            web::resource("/{tail:.*}")
                .route(web::get().to(dashboard::serve))
                .route(web::head().to(dashboard::serve))
                .default_service(web::to(errors::not_found)),
        );
}
