//! One pace per lane, shared by all replicas. A 429 seen by any replica sets `blocked_until` (from Retry-After)
//! so no replica calls the lane before it, and lowers the lane's rate (multiplicative decrease); successes raise
//! it again (additive increase) until the lane is unpaced. Each call takes a turn: the turn time is reserved on
//! the lane's row atomically, so turns of different replicas are spaced 1/rate apart. Lanes never throttled
//! have no row and cost one UPDATE that matches nothing.

use std::time::Duration;

use super::{from_millis, millis, Lane, Pool, Result};

/// The adaptive-rate knobs; [`PacePolicy::default`] uses the named constants below.
#[derive(Debug, Clone, Copy)]
pub struct PacePolicy {
    /// Rate given to a lane at its first 429 (calls/s).
    pub start_rate_per_s: f64,
    /// Floor of the rate after repeated 429s.
    pub min_rate_per_s: f64,
    /// Factor applied to the rate at each further 429.
    pub decrease: f64,
    /// Added to the rate per success.
    pub increase_per_s: f64,
    /// At or above this rate the lane is unpaced again.
    pub unpaced_at_per_s: f64,
    /// Block used when a 429 carries no Retry-After.
    pub default_backoff: Duration,
    /// Longest Retry-After honoured: a provider's header cannot stall a lane for days.
    pub max_retry_after: Duration,
}

/// Rate at a lane's first 429, calls/s.
pub const START_RATE_PER_S: f64 = 5.0;
/// Lowest rate a lane is slowed to, calls/s.
pub const MIN_RATE_PER_S: f64 = 0.2;
/// Multiplicative decrease per further 429.
pub const DECREASE: f64 = 0.5;
/// Additive increase per success, calls/s.
pub const INCREASE_PER_S: f64 = 0.5;
/// Rate at which pacing is lifted, calls/s.
pub const UNPACED_AT_PER_S: f64 = 50.0;
/// Block after a 429 without Retry-After.
pub const DEFAULT_BACKOFF: Duration = Duration::from_secs(1);
/// Cap on an honoured Retry-After.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);

impl Default for PacePolicy {
    fn default() -> Self {
        PacePolicy {
            start_rate_per_s: START_RATE_PER_S,
            min_rate_per_s: MIN_RATE_PER_S,
            decrease: DECREASE,
            increase_per_s: INCREASE_PER_S,
            unpaced_at_per_s: UNPACED_AT_PER_S,
            default_backoff: DEFAULT_BACKOFF,
            max_retry_after: MAX_RETRY_AFTER,
        }
    }
}

/// Records a 429 on `lane`: blocks it until now + Retry-After (never shortening an existing block) and lowers
/// its rate.
pub async fn record_throttle(pool: &Pool, lane: &Lane, retry_after: Option<Duration>, p: &PacePolicy) -> Result<()> {
    let block = retry_after.unwrap_or(p.default_backoff).min(p.max_retry_after);
    let client = pool.get().await?;
    client
        .execute(
            "INSERT INTO cluster_lane_pace (org_id, lane_target, blocked_until, next_turn_at, rate_per_s)
             VALUES ($1, $2, now() + $3::bigint * interval '1 millisecond', now(), $4)
             ON CONFLICT (org_id, lane_target) DO UPDATE SET
                 blocked_until = greatest(cluster_lane_pace.blocked_until, EXCLUDED.blocked_until),
                 rate_per_s = greatest($5, coalesce(cluster_lane_pace.rate_per_s * $6, $4))",
            &[&lane.org, &lane.target, &millis(block), &p.start_rate_per_s, &p.min_rate_per_s, &p.decrease],
        )
        .await?;
    Ok(())
}

/// Records a success on `lane`: raises a paced lane's rate, lifting the pace at `unpaced_at_per_s`.
pub async fn record_success(pool: &Pool, lane: &Lane, p: &PacePolicy) -> Result<()> {
    let client = pool.get().await?;
    client
        .execute(
            "UPDATE cluster_lane_pace SET rate_per_s =
                 CASE WHEN rate_per_s + $3 >= $4 THEN NULL ELSE rate_per_s + $3 END
             WHERE org_id = $1 AND lane_target = $2 AND rate_per_s IS NOT NULL",
            &[&lane.org, &lane.target, &p.increase_per_s, &p.unpaced_at_per_s],
        )
        .await?;
    Ok(())
}

/// Reserves this call's turn on `lane` and says how long to wait for it (zero: go now).
pub async fn take_turn(pool: &Pool, lane: &Lane) -> Result<Duration> {
    let client = pool.get().await?;
    let stmt = client
        .prepare_cached(
            "UPDATE cluster_lane_pace SET next_turn_at = CASE WHEN rate_per_s IS NULL THEN next_turn_at
                 ELSE greatest(next_turn_at, blocked_until, now()) + (1000.0 / rate_per_s) * interval '1 millisecond'
                 END
             WHERE org_id = $1 AND lane_target = $2
             RETURNING ceil(1000 * extract(epoch FROM greatest(blocked_until, now(), CASE WHEN rate_per_s IS NULL
                 THEN now() ELSE next_turn_at - (1000.0 / rate_per_s) * interval '1 millisecond' END) - now()))::bigint",
        )
        .await?;
    Ok(match client.query_opt(&stmt, &[&lane.org, &lane.target]).await? {
        Some(row) => from_millis(row.get(0)),
        None => Duration::ZERO,
    })
}

/// How long `lane` is still blocked by a Retry-After (zero: not blocked).
pub async fn blocked_for(pool: &Pool, lane: &Lane) -> Result<Duration> {
    let client = pool.get().await?;
    let stmt = client
        .prepare_cached(
            "SELECT ceil(1000 * extract(epoch FROM blocked_until - now()))::bigint FROM cluster_lane_pace
             WHERE org_id = $1 AND lane_target = $2",
        )
        .await?;
    Ok(match client.query_opt(&stmt, &[&lane.org, &lane.target]).await? {
        Some(row) => from_millis(row.get(0)),
        None => Duration::ZERO,
    })
}

/// Waits until this replica may call `lane`: takes a turn, sleeps to it, and if a 429 recorded meanwhile
/// blocked the lane past the turn, waits the block out and takes a new turn.
pub async fn wait_turn(pool: &Pool, lane: &Lane) -> Result<()> {
    loop {
        let wait = take_turn(pool, lane).await?;
        if wait.is_zero() {
            return Ok(());
        }
        tokio::time::sleep(wait).await;
        let blocked = blocked_for(pool, lane).await?;
        if blocked.is_zero() {
            return Ok(());
        }
        tokio::time::sleep(blocked).await;
    }
}
