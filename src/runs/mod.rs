//! Datasets, runs, items, results, summaries, gates and progress events.

pub mod body;
pub mod compare;
pub mod dataset;
pub mod engine;
pub mod events;
pub mod judged;
pub mod model;
pub mod repo;
pub mod routes;
pub mod summary;
