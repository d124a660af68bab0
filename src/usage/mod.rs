//! Usage figures and the audit log.

pub mod audit;
pub mod book;
pub mod repo;
