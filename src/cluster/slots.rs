//! At most C calls in flight per lane, summed over every replica. Each lane has slot rows 0..C-1; a call holds
//! one slot under a lease (holder, token, expiry). Taking a slot is a single UPDATE of one free-or-expired row
//! picked with `FOR UPDATE SKIP LOCKED`, so two replicas never take the same slot and the number of held,
//! unexpired slots below C can never exceed C. A replica that dies leaves its slots to expire; another takes
//! them. Lowering C takes effect for new acquisitions; slots numbered ≥ the new C drain as their calls end.

use std::time::Duration;

use super::{millis, Lane, Pool, Result};

/// Lease of a slot unless heartbeated: longer than a typical call, short enough that a dead replica's share of
/// the cap returns within a minute.
pub const DEFAULT_SLOT_LEASE: Duration = Duration::from_secs(60);
/// Pause between attempts of [`acquire`] while the lane is full. Polling rather than LISTEN/NOTIFY keeps the
/// primitive stateless; a few milliseconds is small next to a provider call.
pub const DEFAULT_POLL: Duration = Duration::from_millis(5);

/// A held slot; give it back with [`release`].
#[derive(Debug, Clone)]
pub struct SlotLease {
    pub lane: Lane,
    pub slot: i32,
    token: String,
}

/// Takes a free (or expired) slot of `lane` under cap `cap` for `owner`, or `None` if all are held.
pub async fn try_acquire(
    pool: &Pool,
    lane: &Lane,
    cap: u32,
    owner: &str,
    lease: Duration,
) -> Result<Option<SlotLease>> {
    let client = pool.get().await?;
    let cap = i32::try_from(cap).unwrap_or(i32::MAX);
    let token = uuid::Uuid::now_v7().to_string();
    let take = client
        .prepare_cached(
            "WITH free AS MATERIALIZED (
                 SELECT slot FROM cluster_lane_slots
                 WHERE org_id = $1 AND lane_target = $2 AND slot < $3 AND (holder IS NULL OR expires_at <= now())
                 ORDER BY slot LIMIT 1 FOR UPDATE SKIP LOCKED)
             UPDATE cluster_lane_slots s
             SET holder = $4, token = $5, expires_at = now() + $6::bigint * interval '1 millisecond'
             FROM free WHERE s.org_id = $1 AND s.lane_target = $2 AND s.slot = free.slot
             RETURNING s.slot",
        )
        .await?;
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 6] =
        [&lane.org, &lane.target, &cap, &owner, &token, &millis(lease)];
    for _ in 0..2 {
        if let Some(row) = client.query_opt(&take, &params).await? {
            return Ok(Some(SlotLease { lane: lane.clone(), slot: row.get(0), token }));
        }
        // None free: perhaps the lane's rows do not exist yet (or the cap was raised). Create any missing and
        // try once more; if none were missing, the lane is full.
        let created = client
            .execute(
                "INSERT INTO cluster_lane_slots (org_id, lane_target, slot)
                 SELECT $1, $2, g FROM generate_series(0, $3 - 1) g ON CONFLICT DO NOTHING",
                &[&lane.org, &lane.target, &cap],
            )
            .await?;
        if created == 0 {
            break;
        }
    }
    Ok(None)
}

/// Like [`try_acquire`], polling every `poll` until a slot is free or `timeout` has passed (`None`).
pub async fn acquire(
    pool: &Pool,
    lane: &Lane,
    cap: u32,
    owner: &str,
    lease: Duration,
    poll: Duration,
    timeout: Duration,
) -> Result<Option<SlotLease>> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(s) = try_acquire(pool, lane, cap, owner, lease).await? {
            return Ok(Some(s));
        }
        if tokio::time::Instant::now() + poll > deadline {
            return Ok(None);
        }
        tokio::time::sleep(poll).await;
    }
}

/// Extends a held slot's lease; `false` if it was lost (expired and taken by another holder).
pub async fn heartbeat(pool: &Pool, held: &SlotLease, lease: Duration) -> Result<bool> {
    let client = pool.get().await?;
    let n = client
        .execute(
            "UPDATE cluster_lane_slots SET expires_at = now() + $5::bigint * interval '1 millisecond'
             WHERE org_id = $1 AND lane_target = $2 AND slot = $3 AND token = $4",
            &[&held.lane.org, &held.lane.target, &held.slot, &held.token, &millis(lease)],
        )
        .await?;
    Ok(n == 1)
}

/// Gives a slot back; `false` if it had already been lost.
pub async fn release(pool: &Pool, held: SlotLease) -> Result<bool> {
    let client = pool.get().await?;
    let n = client
        .execute(
            "UPDATE cluster_lane_slots SET holder = NULL, token = NULL, expires_at = NULL
             WHERE org_id = $1 AND lane_target = $2 AND slot = $3 AND token = $4",
            &[&held.lane.org, &held.lane.target, &held.slot, &held.token],
        )
        .await?;
    Ok(n == 1)
}

/// Slots of `lane` held and unexpired right now, over all replicas.
pub async fn in_flight(pool: &Pool, lane: &Lane) -> Result<i64> {
    let client = pool.get().await?;
    Ok(client
        .query_one(
            "SELECT count(*) FROM cluster_lane_slots
             WHERE org_id = $1 AND lane_target = $2 AND holder IS NOT NULL AND expires_at > now()",
            &[&lane.org, &lane.target],
        )
        .await?
        .get(0))
}
