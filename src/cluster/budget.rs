//! Budgets shared by all replicas: reserve-then-reconcile on one row per scope. A reservation of the estimated
//! cost is refused if spent + open reservations + estimate would exceed the limit; the budget row is locked for
//! the check, so concurrent replicas reserve one after another and can never jointly pass the limit on
//! estimates. Reconciling books the actual cost and drops the reservation. A reservation carries an expiry, so a
//! replica that dies holding one does not shrink the budget for ever. Amounts are integer micro-units.

use std::time::Duration;

use super::{millis, ClusterError, Pool, Result};

/// How long a reservation holds before it lapses: longer than the longest call (a streamed answer), so a live
/// replica reconciles first; a dead one's reservation frees within minutes.
pub const DEFAULT_RESERVATION_TTL: Duration = Duration::from_secs(600);

/// An open reservation; pass it to [`reconcile`].
#[derive(Debug, Clone)]
pub struct Reservation {
    pub id: String,
    pub scope: String,
    pub amount_micros: i64,
}

/// The outcome of [`reserve`].
#[derive(Debug, Clone)]
pub enum Reserve {
    Granted(Reservation),
    /// The estimate does not fit: the figures at the moment of the refusal.
    Refused {
        limit_micros: i64,
        spent_micros: i64,
        reserved_micros: i64,
    },
}

/// A budget's state: limit, booked spend, open (unexpired) reservations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status {
    pub limit_micros: i64,
    pub spent_micros: i64,
    pub reserved_micros: i64,
}

/// Creates the budget of `scope` or sets its limit (spend kept).
pub async fn set_limit(pool: &Pool, scope: &str, limit_micros: i64) -> Result<()> {
    let client = pool.get().await?;
    client
        .execute(
            "INSERT INTO cluster_budgets (scope, limit_micros) VALUES ($1, $2)
             ON CONFLICT (scope) DO UPDATE SET limit_micros = EXCLUDED.limit_micros",
            &[&scope, &limit_micros],
        )
        .await?;
    Ok(())
}

/// Reserves `estimate_micros` under `scope` for `owner`, lapsing after `ttl`.
pub async fn reserve(pool: &Pool, scope: &str, estimate_micros: i64, owner: &str, ttl: Duration) -> Result<Reserve> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    let Some(row) = tx
        .query_opt("SELECT limit_micros, spent_micros FROM cluster_budgets WHERE scope = $1 FOR UPDATE", &[&scope])
        .await?
    else {
        return Err(ClusterError::UnknownBudget(scope.to_owned()));
    };
    let (limit, spent): (i64, i64) = (row.get(0), row.get(1));
    tx.execute("DELETE FROM cluster_budget_reservations WHERE scope = $1 AND expires_at <= now()", &[&scope]).await?;
    let reserved: i64 = tx
        .query_one(
            "SELECT coalesce(sum(amount_micros), 0)::bigint FROM cluster_budget_reservations WHERE scope = $1",
            &[&scope],
        )
        .await?
        .get(0);
    if spent.saturating_add(reserved).saturating_add(estimate_micros) > limit {
        tx.commit().await?;
        return Ok(Reserve::Refused { limit_micros: limit, spent_micros: spent, reserved_micros: reserved });
    }
    let id = uuid::Uuid::now_v7().to_string();
    tx.execute(
        "INSERT INTO cluster_budget_reservations (id, scope, amount_micros, owner, expires_at)
         VALUES ($1, $2, $3, $4, now() + $5::bigint * interval '1 millisecond')",
        &[&id, &scope, &estimate_micros, &owner, &millis(ttl)],
    )
    .await?;
    tx.commit().await?;
    Ok(Reserve::Granted(Reservation { id, scope: scope.to_owned(), amount_micros: estimate_micros }))
}

/// Books `actual_micros` and drops the reservation, in one transaction. The cost is booked even if the
/// reservation had lapsed (the provider billed it all the same); returns whether it was still open.
pub async fn reconcile(pool: &Pool, r: &Reservation, actual_micros: i64) -> Result<bool> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    let open = tx.execute("DELETE FROM cluster_budget_reservations WHERE id = $1", &[&r.id]).await?;
    tx.execute(
        "UPDATE cluster_budgets SET spent_micros = spent_micros + $2 WHERE scope = $1",
        &[&r.scope, &actual_micros],
    )
    .await?;
    tx.commit().await?;
    Ok(open == 1)
}

/// The budget's limit, spend and open reservations.
pub async fn status(pool: &Pool, scope: &str) -> Result<Status> {
    let client = pool.get().await?;
    let row = client
        .query_opt(
            "SELECT b.limit_micros, b.spent_micros, coalesce((SELECT sum(amount_micros) FROM cluster_budget_reservations r
                 WHERE r.scope = b.scope AND r.expires_at > now()), 0)::bigint
             FROM cluster_budgets b WHERE b.scope = $1",
            &[&scope],
        )
        .await?
        .ok_or_else(|| ClusterError::UnknownBudget(scope.to_owned()))?;
    Ok(Status { limit_micros: row.get(0), spent_micros: row.get(1), reserved_micros: row.get(2) })
}
