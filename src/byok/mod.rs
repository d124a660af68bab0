//! The customers' provider keys: metadata in SQLite, secrets only in the encrypted key file.

pub mod destination;
pub mod model;
pub mod repo;

pub use crate::domain::Provider;
