//! Fuzzing on the stable toolchain: one proptest-driven target per parser that reads outside input (judge
//! replies, dataset bodies, the key file and master key text, the configuration file, provider SSE streams).
//!
//! Each target feeds (a) random bytes and (b) structure-aware mutations of its committed seed corpus
//! (`tests/fuzz/corpus/<target>/`: valid and near-valid inputs, plus every input that once found a bug) and asserts
//! that the parser never panics and that its work is bounded: inputs are capped in size and each target checks
//! that what the parser returns is bounded by what it was given. `FUZZ_CASES` sets the generated cases per target
//! (default 256, so `cargo test` stays fast); `.ci/run` runs 20,000. Each target prints its executions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods, unreachable_pub)]

mod config;
mod dataset;
mod harness;
mod keyfile;
mod reply;
mod sse;
