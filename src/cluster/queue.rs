//! The task queue per lane. Tasks are written in the caller's transaction (the one that accepts the run), so a
//! run is never accepted without its work, nor work queued for a run that was rolled back. A replica claims a
//! batch with `FOR UPDATE SKIP LOCKED` (claimers never wait on or double-take each other's rows) and holds each
//! task under a lease (visibility timeout) that it extends by heartbeat; a task whose lease expired is claimable
//! again, so a dead replica's work is taken over. Completion inserts the result with `ON CONFLICT DO NOTHING` and
//! deletes the task in one transaction: if a lease expired while a slow replica was still finishing, both may
//! finish, but only one result is ever stored.

use std::time::Duration;

use serde_json::Value;

use super::{millis, Lane, Pool, Result};

/// Lease a claim holds before the task is visible to others again, unless heartbeated. Long enough for a slow
/// judge call between heartbeats, short enough that a dead replica's work resumes quickly.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(30);
/// How often a live replica extends its leases: a third of the lease, so two missed beats still keep it.
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(10);
/// Tasks written per INSERT statement by [`enqueue`]; bounds one statement's parameter arrays.
pub const ENQUEUE_BATCH: usize = 1_000;
/// Most tasks one [`claim`] takes, whatever the caller asks: a replica should not hoard a lane's work.
pub const MAX_CLAIM_BATCH: i64 = 500;

/// One task to enqueue.
#[derive(Debug, Clone)]
pub struct NewTask {
    pub item_id: String,
    pub payload: Value,
}

/// A task held under this replica's lease.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: i64,
    pub run_id: String,
    pub item_id: String,
    pub payload: Value,
    /// How many times the task has been claimed, this claim included (1 on the first).
    pub attempts: i32,
}

/// What [`complete`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Completion {
    /// This call stored the item's result.
    Recorded,
    /// A result was already stored (another replica finished first); this one was dropped.
    Duplicate,
}

/// Writes the tasks of `run_id` for `lane` inside the caller's transaction; tasks already present for the same
/// (run, item) are left alone. Returns the number written.
pub async fn enqueue(
    tx: &tokio_postgres::Transaction<'_>,
    lane: &Lane,
    run_id: &str,
    tasks: &[NewTask],
) -> Result<u64> {
    let stmt = tx
        .prepare(
            "INSERT INTO cluster_tasks (org_id, lane_target, run_id, item_id, payload)
             SELECT $1, $2, $3, t.item, t.payload FROM unnest($4::text[], $5::jsonb[]) AS t(item, payload)
             ON CONFLICT (run_id, item_id) DO NOTHING",
        )
        .await?;
    let mut written = 0;
    for chunk in tasks.chunks(ENQUEUE_BATCH) {
        let items: Vec<&str> = chunk.iter().map(|t| t.item_id.as_str()).collect();
        let payloads: Vec<&Value> = chunk.iter().map(|t| &t.payload).collect();
        written += tx.execute(&stmt, &[&lane.org, &lane.target, &run_id, &items, &payloads]).await?;
    }
    Ok(written)
}

/// Claims up to `max` (capped at [`MAX_CLAIM_BATCH`]) claimable tasks of `lane` for `owner`, oldest first,
/// leased for `lease`. A task is claimable when unleased or its lease has expired.
pub async fn claim(pool: &Pool, lane: &Lane, owner: &str, max: i64, lease: Duration) -> Result<Vec<Claimed>> {
    let client = pool.get().await?;
    let stmt = client
        .prepare_cached(
            "WITH picked AS MATERIALIZED (
                 SELECT id FROM cluster_tasks
                 WHERE org_id = $1 AND lane_target = $2 AND (lease_expires_at IS NULL OR lease_expires_at <= now())
                 ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED)
             UPDATE cluster_tasks t
             SET lease_owner = $4, lease_expires_at = now() + $5::bigint * interval '1 millisecond', attempts = attempts + 1
             FROM picked WHERE t.id = picked.id
             RETURNING t.id, t.run_id, t.item_id, t.payload, t.attempts",
        )
        .await?;
    let max = max.clamp(0, MAX_CLAIM_BATCH);
    let rows = client.query(&stmt, &[&lane.org, &lane.target, &max, &owner, &millis(lease)]).await?;
    let mut out: Vec<Claimed> = rows
        .iter()
        .map(|r| Claimed { id: r.get(0), run_id: r.get(1), item_id: r.get(2), payload: r.get(3), attempts: r.get(4) })
        .collect();
    out.sort_by_key(|c| c.id);
    Ok(out)
}

/// Extends every still-valid lease of `owner` to `lease` from now; returns how many. An expired lease is not
/// revived: another replica may already hold the task.
pub async fn heartbeat(pool: &Pool, owner: &str, lease: Duration) -> Result<u64> {
    let client = pool.get().await?;
    let n = client
        .execute(
            "UPDATE cluster_tasks SET lease_expires_at = now() + $2::bigint * interval '1 millisecond'
             WHERE lease_owner = $1 AND lease_expires_at > now()",
            &[&owner, &millis(lease)],
        )
        .await?;
    Ok(n)
}

/// Stores the task's result (first one wins) and deletes the task, in one transaction.
pub async fn complete(pool: &Pool, task: &Claimed, owner: &str, result: &Value) -> Result<Completion> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    let inserted = tx
        .execute(
            "INSERT INTO cluster_results (run_id, item_id, payload, completed_by) VALUES ($1, $2, $3, $4)
             ON CONFLICT (run_id, item_id) DO NOTHING",
            &[&task.run_id, &task.item_id, result, &owner],
        )
        .await?;
    tx.execute("DELETE FROM cluster_tasks WHERE id = $1", &[&task.id]).await?;
    tx.commit().await?;
    Ok(if inserted == 1 { Completion::Recorded } else { Completion::Duplicate })
}

/// Gives `owner`'s leases back at once (a graceful shutdown), so others need not wait for them to expire.
pub async fn release_all(pool: &Pool, owner: &str) -> Result<u64> {
    let client = pool.get().await?;
    Ok(client
        .execute(
            "UPDATE cluster_tasks SET lease_owner = NULL, lease_expires_at = NULL WHERE lease_owner = $1",
            &[&owner],
        )
        .await?)
}

/// Tasks of `run_id` not yet completed.
pub async fn pending(pool: &Pool, run_id: &str) -> Result<i64> {
    let client = pool.get().await?;
    Ok(client.query_one("SELECT count(*) FROM cluster_tasks WHERE run_id = $1", &[&run_id]).await?.get(0))
}

/// The stored results of `run_id` as (item id, payload), by item id.
pub async fn results(pool: &Pool, run_id: &str) -> Result<Vec<(String, Value)>> {
    let client = pool.get().await?;
    let rows = client
        .query("SELECT item_id, payload FROM cluster_results WHERE run_id = $1 ORDER BY item_id", &[&run_id])
        .await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}
