//! One file per feature: its handlers, its `configure()` (the routes it serves) and its OpenAPI fragment (`Doc`),
//! side by side so a route and its documentation cannot drift apart.

pub mod accept;
pub mod analysis;
pub mod byok;
pub mod export;
pub mod gateway;
pub mod matrix;
pub mod ops;
pub mod pairwise;
pub mod redteam;
pub mod redteam_estimate;
pub mod reviews;
pub mod run_identity;
pub mod runs;
pub mod scorers;
pub mod settings;
mod shared;
pub mod tenancy;
pub mod usage;
