//! The HTTP surface, and the only place that knows actix: application state, auth extractors, the route table, and
//! the adapters that turn every framework-level failure (bad JSON, wrong content type, unknown route, wrong method)
//! into the contract's shape. Feature logic lives in the feature modules; handlers here call it.

pub mod auth;
pub mod body;
pub mod dashboard;
pub mod errors;
pub mod metrics;
pub mod openapi;
pub mod ratelimit;
pub mod routes;
pub mod sse;
mod state;

use actix_web::web;

pub use state::AppState;

/// Every route, feature by feature. Resources list their methods so a wrong method answers 405 rather than 404;
/// the dashboard's catch-all comes last.
pub fn configure(cfg: &mut web::ServiceConfig) {
    routes::ops::configure(cfg);
    routes::tenancy::configure(cfg);
    routes::byok::configure(cfg);
    routes::scorers::configure(cfg);
    routes::runs::configure(cfg);
    routes::reviews::configure(cfg);
    routes::export::configure(cfg);
    routes::matrix::configure(cfg);
    routes::pairwise::configure(cfg);
    routes::analysis::configure(cfg);
    routes::redteam::configure(cfg);
    routes::usage::configure(cfg);
    routes::settings::configure(cfg);
    routes::gateway::configure(cfg);
    cfg.service(web::resource("/").route(web::get().to(dashboard::serve)).route(web::head().to(dashboard::serve)))
        .service(
            web::resource("/{tail:.*}")
                .route(web::get().to(dashboard::serve))
                .route(web::head().to(dashboard::serve))
                .default_service(web::to(errors::not_found)),
        );
}
