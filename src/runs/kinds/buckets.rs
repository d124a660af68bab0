//! A project's stored custom failure buckets (`/v1/projects/{project}/buckets`): validated like a request's
//! `buckets` when stored, and merged into every failure analysis of the project (a request's bucket of the same
//! name wins for that run).

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::error::{Error, Result};

/// Most buckets a project may store (the analysis takes at most `analysis::custom::MAX_CUSTOM_BUCKETS` in all).
pub const MAX_STORED_BUCKETS: usize = crate::analysis::custom::MAX_CUSTOM_BUCKETS;

/// A stored bucket: its id and the bucket as it was sent.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StoredBucket {
    pub id: String,
    pub name: String,
    /// `{name, definition, rubric?, examples?, rules?, severity}`.
    #[schema(value_type = Object)]
    pub bucket: Value,
    pub created_at: String,
}

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(String, String, String, String)> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
}

fn decode((id, name, spec, created_at): (String, String, String, String)) -> Result<StoredBucket> {
    Ok(StoredBucket { id, name, bucket: serde_json::from_str(&spec).map_err(Error::internal)?, created_at })
}

pub fn all(conn: &Connection, project: &str) -> Result<Vec<StoredBucket>> {
    let mut stmt =
        conn.prepare_cached("SELECT id, name, spec, created_at FROM buckets WHERE project_id = ?1 ORDER BY id")?;
    let rows = stmt.query_map([project], row)?.collect::<rusqlite::Result<Vec<_>>>()?;
    rows.into_iter().map(decode).collect()
}

pub fn insert(
    conn: &Connection,
    org: &str,
    project: &str,
    name: &str,
    bucket: &Value,
    now: &str,
) -> Result<StoredBucket> {
    let count: i64 = conn.query_row("SELECT count(*) FROM buckets WHERE project_id = ?1", [project], |r| r.get(0))?;
    if count as usize >= MAX_STORED_BUCKETS {
        return Err(Error::field(
            "name",
            format!("a project stores at most {MAX_STORED_BUCKETS} buckets (MAX_STORED_BUCKETS); delete one first"),
        ));
    }
    let exists: Option<String> = conn
        .query_row("SELECT id FROM buckets WHERE project_id = ?1 AND name = ?2", params![project, name], |r| r.get(0))
        .optional()?;
    if exists.is_some() {
        return Err(Error::Conflict(format!("the project already has a bucket named {name:?}")));
    }
    let id = crate::store::new_id("bkt");
    let spec = bucket.to_string();
    conn.execute(
        "INSERT INTO buckets (id, org_id, project_id, name, spec, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![id, org, project, name, spec, now],
    )?;
    Ok(StoredBucket { id, name: name.to_owned(), bucket: bucket.clone(), created_at: now.to_owned() })
}

pub fn delete(conn: &Connection, project: &str, id_or_name: &str) -> Result<StoredBucket> {
    let found = conn
        .query_row(
            "SELECT id, name, spec, created_at FROM buckets WHERE project_id = ?1 AND (id = ?2 OR name = ?2)",
            params![project, id_or_name],
            row,
        )
        .optional()?
        .ok_or_else(|| Error::not_found("bucket"))?;
    conn.execute("DELETE FROM buckets WHERE id = ?1", [&found.0])?;
    decode(found)
}

/// The buckets an analysis runs with: the project's, with the request's replacing those of the same name.
pub fn merged(stored: Vec<StoredBucket>, request: Option<&Value>) -> Option<Value> {
    let req: Vec<Value> = request.and_then(Value::as_array).cloned().unwrap_or_default();
    let mut out: Vec<Value> = stored
        .into_iter()
        .map(|s| s.bucket)
        .filter(|b| !req.iter().any(|r| r.get("name").is_some_and(|n| Some(n) == b.get("name"))))
        .collect();
    out.extend(req);
    match (out.is_empty(), request) {
        (true, None) => None,
        (true, Some(r)) => Some(r.clone()),
        _ => Some(Value::Array(out)),
    }
}
