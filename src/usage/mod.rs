//! Usage figures, the audit log and the gateway's request log.

pub mod audit;
pub mod book;
pub mod repo;
pub mod requests;
