//! Tests of the coordination layer against a real PostgreSQL started per test (tests/support/postgres.rs).
//! Each "replica" is its own pool with its own owner id, as separate processes would be.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../../tests/support/postgres.rs"]
mod postgres;

mod coordination;
mod queue;

use super::{connect, schema, Pool};
pub(super) use postgres::Postgres;

/// A started server with the schema applied and one pool, or `None` when skipped.
pub(super) async fn setup() -> Option<(Postgres, Pool)> {
    let pg = tokio::task::spawn_blocking(Postgres::start).await.unwrap()?;
    let pool = connect(&pg.url(), 8).unwrap();
    schema::migrate(&pool).await.unwrap();
    Some((pg, pool))
}

/// Another replica's pool on the same server.
pub(super) fn replica(pg: &Postgres, size: usize) -> Pool {
    connect(&pg.url(), size).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn migrations_run_once_when_replicas_start_together() {
    let Some(pg) = tokio::task::spawn_blocking(Postgres::start).await.unwrap() else { return };
    let pools: Vec<Pool> = (0..5).map(|_| replica(&pg, 2)).collect();
    let applied: Vec<usize> = futures_util::future::join_all(pools.iter().map(schema::migrate))
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(applied.iter().sum::<usize>(), schema::MIGRATIONS.len(), "applied {applied:?}");
    assert_eq!(schema::migrate(&pools[0]).await.unwrap(), 0, "a later start applies nothing");
    let c = pools[0].get().await.unwrap();
    let versions: i64 = c.query_one("SELECT count(*) FROM cluster_schema_migrations", &[]).await.unwrap().get(0);
    assert_eq!(versions, schema::MIGRATIONS.len() as i64);
}
