//! The audit log: who created, tested, rotated, used and deleted what, when. Never a secret:
//! callers pass metadata only, and `details` is built from typed fields, not from request bodies.

use rusqlite::{params, Connection};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::error::Result;

/// One audit row.
#[derive(Serialize, ToSchema)]
pub struct AuditEntry {
    pub id: String,
    pub actor: String,
    pub action: String,
    pub target_type: String,
    pub target_id: Option<String>,
    #[schema(value_type = Object)]
    pub details: Value,
    pub at: String,
}

/// Append a row; runs inside the caller's write transaction so the change and its record land together.
pub fn record(
    conn: &Connection,
    org_id: Option<&str>,
    actor: &str,
    action: &str,
    target_type: &str,
    target_id: Option<&str>,
    details: Value,
) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO audit_log (id, org_id, actor, action, target_type, target_id, details, at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            crate::store::new_id("aud"),
            org_id,
            actor,
            action,
            target_type,
            target_id,
            details.to_string(),
            crate::store::now()
        ],
    )?;
    Ok(())
}

/// The org's audit log, newest first.
pub fn list(conn: &Connection, org_id: &str, before: Option<&str>, limit: u32) -> Result<Vec<AuditEntry>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, actor, action, target_type, target_id, details, at FROM audit_log
         WHERE org_id = ?1 AND (?2 IS NULL OR id < ?2) ORDER BY id DESC LIMIT ?3",
    )?;
    let rows = stmt
        .query_map(params![org_id, before, limit + 1], |r| {
            let details: String = r.get(5)?;
            Ok(AuditEntry {
                id: r.get(0)?,
                actor: r.get(1)?,
                action: r.get(2)?,
                target_type: r.get(3)?,
                target_id: r.get(4)?,
                details: serde_json::from_str(&details).unwrap_or(Value::Null),
                at: r.get(6)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}
