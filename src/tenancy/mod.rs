//! Orgs, projects, API keys and roles.

pub mod apikey;
pub mod model;
pub mod repo;
