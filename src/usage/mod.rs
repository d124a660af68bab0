//! Usage figures and the audit log.

pub mod audit;
