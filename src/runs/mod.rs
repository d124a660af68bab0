//! Datasets, runs, items, results, summaries, gates and progress events.

pub mod analysis_filter;
pub mod baseline;
pub mod browse;
pub mod compare;
pub mod compare_buckets;
pub mod dataset;
mod durable;
pub mod engine;
pub mod export;
pub mod identity;
pub mod inline;
pub mod kinds;
pub mod matrix;
pub mod model;
pub mod pairwise;
mod parallel;
pub mod pipeline;
pub mod processor;
pub mod produce;
pub mod repo;
pub mod sink;
pub mod stage;
pub mod summary;
pub mod task;
