//! The coordination tables, applied as one ordered list of migrations. Replicas starting at once all call
//! [`migrate`]; a transaction-scoped advisory lock makes one of them apply the list while the others wait and
//! then find nothing left to do. The lock is released with the transaction, so a replica that dies mid-migration
//! leaves neither a held lock nor a half-applied step (PostgreSQL DDL is transactional).

use super::{Pool, Result};

/// Advisory-lock key for migrations ("gavelmig" in ASCII), fixed so every replica and version agrees on it.
pub const MIGRATION_LOCK_KEY: i64 = 0x6761_7665_6c6d_6967;

/// The migrations in order; the index + 1 is the version recorded in `cluster_schema_migrations`. Append only:
/// an applied step is never edited.
pub const MIGRATIONS: &[(&str, &str)] = &[(
    "coordination tables",
    r#"
-- Work per lane. A task is leased by a replica (lease_owner, lease_expires_at: the visibility timeout) and is
-- claimable again once the lease has expired; attempts counts claims. (run_id, item_id) makes enqueue idempotent.
CREATE TABLE cluster_tasks (
    id               BIGSERIAL PRIMARY KEY,
    org_id           TEXT NOT NULL,
    lane_target      TEXT NOT NULL,
    run_id           TEXT NOT NULL,
    item_id          TEXT NOT NULL,
    payload          JSONB NOT NULL,
    lease_owner      TEXT,
    lease_expires_at TIMESTAMPTZ,
    attempts         INTEGER NOT NULL DEFAULT 0,
    enqueued_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (run_id, item_id)
);
CREATE INDEX cluster_tasks_lane ON cluster_tasks (org_id, lane_target, id);
CREATE INDEX cluster_tasks_owner ON cluster_tasks (lease_owner) WHERE lease_owner IS NOT NULL;

-- One result per item, whoever finishes first: the key is what makes completion exactly-once.
CREATE TABLE cluster_results (
    run_id       TEXT NOT NULL,
    item_id      TEXT NOT NULL,
    payload      JSONB NOT NULL,
    completed_by TEXT NOT NULL,
    completed_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (run_id, item_id)
);

-- Slot leases: slot numbers 0..cap-1 per lane; a held slot is one call in flight somewhere in the cluster.
CREATE TABLE cluster_lane_slots (
    org_id      TEXT NOT NULL,
    lane_target TEXT NOT NULL,
    slot        INTEGER NOT NULL,
    holder      TEXT,
    token       TEXT,
    expires_at  TIMESTAMPTZ,
    PRIMARY KEY (org_id, lane_target, slot)
);

-- One pace per lane: blocked_until from Retry-After, next_turn_at and rate_per_s for the adaptive spacing
-- (NULL rate: unpaced).
CREATE TABLE cluster_lane_pace (
    org_id        TEXT NOT NULL,
    lane_target   TEXT NOT NULL,
    blocked_until TIMESTAMPTZ NOT NULL DEFAULT now(),
    next_turn_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    rate_per_s    DOUBLE PRECISION,
    PRIMARY KEY (org_id, lane_target)
);

-- Budgets in integer micro-units (no float drift in sums) and their open reservations.
CREATE TABLE cluster_budgets (
    scope        TEXT PRIMARY KEY,
    limit_micros BIGINT NOT NULL,
    spent_micros BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE cluster_budget_reservations (
    id            TEXT PRIMARY KEY,
    scope         TEXT NOT NULL REFERENCES cluster_budgets (scope) ON DELETE CASCADE,
    amount_micros BIGINT NOT NULL,
    owner         TEXT NOT NULL,
    expires_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX cluster_budget_reservations_scope ON cluster_budget_reservations (scope, expires_at);
"#,
)];

/// Applies the migrations not yet applied, once across all replicas; returns how many this call applied.
pub async fn migrate(pool: &Pool) -> Result<usize> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK_KEY]).await?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS cluster_schema_migrations (
             version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
    )
    .await?;
    let row = tx.query_one("SELECT coalesce(max(version), 0) FROM cluster_schema_migrations", &[]).await?;
    let current: i32 = row.get(0);
    let mut applied = 0;
    for (i, (name, sql)) in MIGRATIONS.iter().enumerate() {
        let version = i32::try_from(i + 1).unwrap_or(i32::MAX);
        if version <= current {
            continue;
        }
        tx.batch_execute(sql).await?;
        tx.execute("INSERT INTO cluster_schema_migrations (version, name) VALUES ($1, $2)", &[&version, name]).await?;
        applied += 1;
    }
    tx.commit().await?;
    Ok(applied)
}
