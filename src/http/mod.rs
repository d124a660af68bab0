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
    /// Runs in progress.
    pub runs: Arc<crate::runs::engine::RunManager>,
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
    use crate::{byok, runs::routes as r, scoring::routes as sc, tenancy::routes as t, usage};
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
        .service(
            web::resource("/v1/projects/{project}/scorers")
                .route(web::post().to(sc::create))
                .route(web::get().to(sc::list)),
        )
        .service(web::resource("/v1/projects/{project}/scorers/{id}").route(web::delete().to(sc::delete)))
        .service(
            web::resource("/v1/projects/{project}/datasets")
                .route(web::post().to(r::create_dataset))
                .route(web::get().to(r::list_datasets)),
        )
        .service(
            web::resource("/v1/projects/{project}/datasets/{id}")
                .route(web::get().to(r::get_dataset))
                .route(web::delete().to(r::delete_dataset)),
        )
        .service(
            web::resource("/v1/projects/{project}/runs")
                .route(web::post().to(r::create_run))
                .route(web::get().to(r::list_runs)),
        )
        .service(web::resource("/v1/projects/{project}/compare").route(web::get().to(crate::runs::compare::compare)))
        .service(web::resource("/v1/me").route(web::get().to(t::me)))
        .service(web::resource("/v1/runs/{id}").route(web::get().to(r::get_run)))
        .service(web::resource("/v1/runs/{id}/results").route(web::get().to(r::list_results)))
        .service(web::resource("/v1/runs/{id}/events").route(web::get().to(r::events)))
        .service(web::resource("/v1/runs/{id}/cancel").route(web::post().to(r::cancel_run)))
        .service(web::resource("/v1/byok-keys/{id}/test").route(web::post().to(byok::routes::test)))
        .service(web::resource("/v1/usage").route(web::get().to(usage::routes::usage)))
        .service(
            web::resource("/v1/org/settings")
                .route(web::get().to(crate::judge::routes::get_settings))
                .route(web::patch().to(crate::judge::routes::patch_settings)),
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
