//! Cross-replica coordination on PostgreSQL (issue 15, first piece): the tables and primitives that let several
//! gavel processes share one database and still keep the per-lane cap, the shared 429 pace, budgets and
//! exactly-once results. Nothing in `gavel serve` uses this module yet; the SQLite store stays the only store.
//!
//! Every primitive takes the database clock (`now()`) as the one clock: replicas' own clocks may disagree, the
//! database's is the same for all of them. Durations cross the wire as whole milliseconds.

pub mod budget;
pub mod pace;
pub mod queue;
pub mod schema;
pub mod slots;

#[cfg(test)]
mod tests;

use std::time::Duration;

pub use deadpool_postgres::Pool;

/// Connections per replica pool unless the caller says otherwise: enough for a lane worker set plus heartbeats
/// without holding a large share of PostgreSQL's default `max_connections` (100) when several replicas run.
pub const DEFAULT_POOL_SIZE: usize = 16;
/// How long a caller waits for a free pooled connection before the call fails (rather than hanging forever
/// when the database is gone).
pub const POOL_WAIT_TIMEOUT: Duration = Duration::from_secs(10);

/// A lane: the unit the cap, the pace and the queue are kept per, an organisation and a provider (or an HTTP
/// target's host).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Lane {
    pub org: String,
    pub target: String,
}

impl Lane {
    pub fn new(org: impl Into<String>, target: impl Into<String>) -> Self {
        Lane { org: org.into(), target: target.into() }
    }
}

/// What can go wrong talking to the coordination database. The messages carry no connection password:
/// tokio-postgres never prints it.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("cluster database pool: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    #[error("cluster database: {0}")]
    Db(#[from] tokio_postgres::Error),
    #[error("cluster database configuration: {0}")]
    Config(String),
    #[error("no budget row for scope {0}")]
    UnknownBudget(String),
}

/// Result of the cluster primitives.
pub type Result<T> = std::result::Result<T, ClusterError>;

/// A connection pool for one replica. TLS is not wired yet (loopback and private networks only; a later piece of
/// issue 15 adds rustls).
pub fn connect(url: &str, max_size: usize) -> Result<Pool> {
    let cfg: tokio_postgres::Config = url.parse().map_err(|e| ClusterError::Config(format!("{e}")))?;
    let mgr = deadpool_postgres::Manager::from_config(
        cfg,
        tokio_postgres::NoTls,
        deadpool_postgres::ManagerConfig { recycling_method: deadpool_postgres::RecyclingMethod::Fast },
    );
    Pool::builder(mgr)
        .max_size(max_size)
        .wait_timeout(Some(POOL_WAIT_TIMEOUT))
        .runtime(deadpool_postgres::Runtime::Tokio1)
        .build()
        .map_err(|e| ClusterError::Config(e.to_string()))
}

/// A fresh identity for one replica process, written as lease owner so leases can be told apart.
pub fn replica_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// A duration as whole milliseconds for SQL (`$n::bigint * interval '1 millisecond'`), saturating.
pub(crate) fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Milliseconds from SQL back to a duration; negative means "none".
pub(crate) fn from_millis(ms: i64) -> Duration {
    Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}
