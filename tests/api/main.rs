//! One integration-test binary: the real server on random loopback ports, talked to over HTTP.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::disallowed_methods,
    clippy::let_underscore_must_use,
    unreachable_pub
)]

#[path = "../support/mod.rs"]
mod support;

mod analysis_filters;
mod analysis_runs;
mod analyze_local;
mod architecture;
mod audit_judged;
mod audit_runs;
mod backup_load;
mod byok;
mod cli;
mod crash_loop;
mod dashboard;
mod egress;
mod errors;
mod eval_cli;
mod eval_file;
mod export;
mod gateway;
mod gateway_content;
mod gateway_limits;
mod gateway_log;
mod gateway_memo;
mod gateway_sdk;
mod gateway_secrets;
mod http_parser;
mod identity;
mod judge;
mod judge_process;
mod judge_provider_mode;
mod ops;
mod packaging;
mod providers;
mod ratelimit;
mod redteam;
mod redteam_attacker;
mod redteam_estimate;
mod redteam_report;
mod reviews;
mod runs;
mod secrets;
mod sigterm;
mod targets;
mod tenancy;
mod trust;
mod upgrade;
