//! Stored scorers of a project.

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::ScorerSpec;
use crate::error::{Error, Result};

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct StoredScorer {
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[schema(value_type = Object)]
    pub config: Value,
    pub created_at: String,
}

impl StoredScorer {
    pub fn spec(&self) -> ScorerSpec {
        ScorerSpec { name: self.name.clone(), kind: self.kind.clone(), config: self.config.clone() }
    }
}

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredScorer> {
    let config: String = r.get(3)?;
    Ok(StoredScorer {
        id: r.get(0)?,
        name: r.get(1)?,
        kind: r.get(2)?,
        config: serde_json::from_str(&config).unwrap_or(Value::Null),
        created_at: r.get(4)?,
    })
}

pub fn insert(conn: &Connection, org: &str, project: &str, spec: &ScorerSpec, now: &str) -> Result<StoredScorer> {
    let id = crate::store::new_id("scr");
    conn.execute(
        "INSERT INTO scorers (id, org_id, project_id, name, type, config, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![id, org, project, spec.name, spec.kind, spec.config.to_string(), now],
    )
    .map_err(|e| match e {
        rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation => {
            Error::Conflict(format!("a scorer named {:?} already exists in this project", spec.name))
        }
        other => other.into(),
    })?;
    Ok(StoredScorer {
        id,
        name: spec.name.clone(),
        kind: spec.kind.clone(),
        config: spec.config.clone(),
        created_at: now.into(),
    })
}

pub fn list(conn: &Connection, project: &str, after: Option<&str>, limit: u32) -> Result<Vec<StoredScorer>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, name, type, config, created_at FROM scorers WHERE project_id = ?1 AND (?2 IS NULL OR id > ?2)
         ORDER BY id LIMIT ?3",
    )?;
    let rows = stmt.query_map(params![project, after, limit + 1], row)?.collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// All of a project's scorers, to resolve the names a run uses.
pub fn all(conn: &Connection, project: &str) -> Result<Vec<StoredScorer>> {
    list(conn, project, None, u32::MAX - 1)
}

pub fn find(conn: &Connection, project: &str, id_or_name: &str) -> Result<Option<StoredScorer>> {
    Ok(conn
        .prepare_cached(
            "SELECT id, name, type, config, created_at FROM scorers WHERE project_id = ?1 AND (id = ?2 OR name = ?2)
             ORDER BY id = ?2 DESC LIMIT 1",
        )?
        .query_row(params![project, id_or_name], row)
        .optional()?)
}

pub fn delete(conn: &Connection, project: &str, id_or_name: &str) -> Result<StoredScorer> {
    let s = find(conn, project, id_or_name)?.ok_or_else(|| Error::not_found("scorer"))?;
    conn.execute("DELETE FROM scorers WHERE id = ?1", [&s.id])?;
    Ok(s)
}
