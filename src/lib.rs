//! gavel: a self-hosted LLM-evaluation appliance. The library holds everything; `main.rs` only dispatches,
//! so integration tests build the very same application.

pub mod analysis;
pub mod app;
pub mod bootstrap;
pub mod byok;
pub mod cli;
pub mod cluster;
pub mod commands;
pub mod config;
pub mod domain;
pub mod error;
pub mod evalcli;
pub mod gateway;
pub mod http;
pub mod judge;
pub mod keystore;
pub mod providers;
pub mod redteam;
pub mod reviews;
pub mod runs;
pub mod scoring;
pub mod security;
pub mod store;
pub mod targets;
pub mod telemetry;
pub mod tenancy;
pub mod usage;

pub use app::Application;
