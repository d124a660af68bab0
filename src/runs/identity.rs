//! A run's identity: its `name`, its `labels` (`{branch: main, model: gpt-4o}`) and the `baseline` it is compared
//! against. Labels live twice: as JSON on the run's row (what the API shows) and one row each in `run_labels`, indexed
//! by `(project_id, key, value, run_id)`, so `?label=k:v` listings and "newest completed run with this label" are
//! index range scans in id (= creation) order, never a scan of a project's runs.

use std::collections::BTreeMap;

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use super::model::RunStatus;
use crate::error::{Error, Result};

/// Longest run name, in characters.
pub const MAX_RUN_NAME_CHARS: usize = 200;
/// Most labels on one run, and most `label` filters in one listing.
pub const MAX_LABELS: usize = 32;
/// Longest label key, in characters (keys are `[A-Za-z0-9_.-]`).
pub const MAX_LABEL_KEY_CHARS: usize = 64;
/// Longest label value, in characters.
pub const MAX_LABEL_VALUE_CHARS: usize = 200;
/// How a label reference starts in `baseline`: `label=KEY:VALUE`.
pub const LABEL_REF_PREFIX: &str = "label=";

/// What a run is called and compared with, stored in its spec (and on its row).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Identity {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// The run id `baseline` resolved to when the run was accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline_id: Option<String>,
}

impl Identity {
    pub fn is_empty(&self) -> bool {
        self.name.is_none() && self.labels.is_empty() && self.baseline_id.is_none()
    }
}

/// `name`: 1..=[`MAX_RUN_NAME_CHARS`] characters, not blank, no control characters.
pub fn validate_name(name: &str) -> Result<()> {
    let n = name.chars().count();
    if name.trim().is_empty() || n > MAX_RUN_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(Error::field(
            "name",
            format!("name must be 1-{MAX_RUN_NAME_CHARS} characters (MAX_RUN_NAME_CHARS), not blank, without control characters"),
        ));
    }
    Ok(())
}

fn valid_key(k: &str) -> bool {
    (1..=MAX_LABEL_KEY_CHARS).contains(&k.len())
        && k.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

fn check_key(field: &str, k: &str) -> Result<()> {
    if valid_key(k) {
        return Ok(());
    }
    Err(Error::field(
        field,
        format!("{field}: label key {k:?} must match [A-Za-z0-9_.-]{{1,{MAX_LABEL_KEY_CHARS}}} (MAX_LABEL_KEY_CHARS)"),
    ))
}

fn check_value(field: &str, v: &str) -> Result<()> {
    if v.chars().count() > MAX_LABEL_VALUE_CHARS || v.chars().any(char::is_control) {
        return Err(Error::field(
            field,
            format!(
                "{field}: a label value is at most {MAX_LABEL_VALUE_CHARS} characters (MAX_LABEL_VALUE_CHARS), without control characters"
            ),
        ));
    }
    Ok(())
}

/// `labels`: at most [`MAX_LABELS`], keys `[A-Za-z0-9_.-]{1,64}`, values at most 200 characters.
pub fn validate_labels(labels: &BTreeMap<String, String>) -> Result<()> {
    if labels.len() > MAX_LABELS {
        return Err(Error::field(
            "labels",
            format!("labels: at most {MAX_LABELS} labels (MAX_LABELS), {} given", labels.len()),
        ));
    }
    for (k, v) in labels {
        check_key("labels", k)?;
        check_value(&format!("labels.{k}"), v)?;
    }
    Ok(())
}

/// `KEY:VALUE` (the value may itself hold `:`), checked like a label; errors name `field`.
pub fn parse_label(field: &str, s: &str) -> Result<(String, String)> {
    let (k, v) = s
        .split_once(':')
        .ok_or_else(|| Error::field(field, format!("{field}: {s:?} is not KEY:VALUE (for example branch:main)")))?;
    check_key(field, k)?;
    check_value(field, v)?;
    Ok((k.to_owned(), v.to_owned()))
}

/// The `label` filters of a listing: each `KEY:VALUE`, at most [`MAX_LABELS`].
pub fn parse_filters(raw: &[String]) -> Result<Vec<(String, String)>> {
    if raw.len() > MAX_LABELS {
        return Err(Error::field("label", format!("at most {MAX_LABELS} label filters (MAX_LABELS)")));
    }
    raw.iter().map(|s| parse_label("label", s)).collect()
}

/// Write a run's labels in the caller's transaction (the run's row is already there).
pub fn insert_labels(conn: &Connection, run_id: &str, project: &str, identity: &Identity) -> Result<()> {
    if identity.name.is_some() || !identity.labels.is_empty() || identity.baseline_id.is_some() {
        let labels = serde_json::to_string(&identity.labels).map_err(Error::internal)?;
        conn.execute(
            "UPDATE runs SET name = ?2, labels = ?3, baseline_id = ?4 WHERE id = ?1",
            params![run_id, identity.name, labels, identity.baseline_id],
        )?;
    }
    let mut stmt =
        conn.prepare_cached("INSERT INTO run_labels (run_id, project_id, key, value) VALUES (?1, ?2, ?3, ?4)")?;
    for (k, v) in &identity.labels {
        stmt.execute(params![run_id, project, k, v])?;
    }
    Ok(())
}

/// The labels column read back (`{}` when none).
pub fn labels_of(text: Option<String>) -> BTreeMap<String, String> {
    text.and_then(|t| serde_json::from_str(&t).ok()).unwrap_or_default()
}

/// The SQL that selects a project's run ids carrying every one of `n >= 1` labels, newest first, after a cursor:
/// parameters `?1` project, `?2` cursor (unused without one), `?3` limit, then key/value pairs from `?4`. The
/// first label drives an index range scan that starts at the cursor (so a deep page costs no more than the
/// first); the others are primary-key probes.
pub fn filtered_ids_sql(n: usize, after_cursor: bool) -> String {
    let mut sql =
        String::from("SELECT l0.run_id FROM run_labels l0 WHERE l0.project_id = ?1 AND l0.key = ?4 AND l0.value = ?5");
    if after_cursor {
        sql.push_str(" AND l0.run_id < ?2");
    }
    for i in 1..n {
        let (k, v) = (4 + 2 * i, 5 + 2 * i);
        sql.push_str(&format!(
            " AND EXISTS (SELECT 1 FROM run_labels l WHERE l.run_id = l0.run_id AND l.key = ?{k} AND l.value = ?{v})"
        ));
    }
    sql.push_str(" ORDER BY l0.run_id DESC LIMIT ?3");
    sql
}

/// Resolve a `baseline` reference at acceptance: `label=KEY:VALUE` is the newest completed run of this project and
/// kind with that label; anything else is a run id of this project (another org's or project's run answers as
/// missing, exactly like one that does not exist). Errors name `field`.
pub fn resolve_baseline(
    conn: &Connection,
    org: &str,
    project: &str,
    kind: &str,
    field: &str,
    r: &str,
) -> Result<String> {
    if let Some(label) = r.strip_prefix(LABEL_REF_PREFIX) {
        let (k, v) = parse_label(field, label)?;
        let id: Option<String> = conn
            .prepare_cached(
                "SELECT l.run_id FROM run_labels l JOIN runs r ON r.id = l.run_id
                 WHERE l.project_id = ?1 AND l.key = ?2 AND l.value = ?3 AND r.status = 'completed' AND r.kind = ?4
                 ORDER BY l.run_id DESC LIMIT 1",
            )?
            .query_row(params![project, k, v, kind], |row| row.get(0))
            .optional()?;
        return id.ok_or_else(|| {
            Error::field(field, format!("{field}: no completed {kind} run of this project has the label {k}:{v}"))
        });
    }
    let row: Option<(String, String)> = conn
        .prepare_cached("SELECT kind, status FROM runs WHERE id = ?1 AND org_id = ?2 AND project_id = ?3")?
        .query_row(params![r, org, project], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?;
    match row {
        None => Err(Error::field(field, format!("{field}: no run {r:?} in this project"))),
        Some((k, _)) if k != kind => {
            Err(Error::field(field, format!("{field}: run {r:?} is a {k} run, not {kind}: compare like with like")))
        }
        Some((_, s)) if RunStatus::parse(&s) == RunStatus::Failed => {
            Err(Error::field(field, format!("{field}: run {r:?} failed and has no summary to compare with")))
        }
        Some(_) => Ok(r.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_and_names_are_checked_with_the_field_named() {
        assert!(validate_name("nightly").is_ok());
        assert!(validate_name(" ").is_err() && validate_name(&"x".repeat(201)).is_err());
        let mut l: BTreeMap<String, String> = [("branch".into(), "main".into())].into();
        assert!(validate_labels(&l).is_ok());
        l.insert("bad key".into(), "v".into());
        let e = validate_labels(&l).unwrap_err();
        assert!(e.to_string().contains("MAX_LABEL_KEY_CHARS"), "{e}");
        let many: BTreeMap<String, String> = (0..33).map(|i| (format!("k{i}"), "v".into())).collect();
        assert!(validate_labels(&many).unwrap_err().to_string().contains("MAX_LABELS"));
        assert_eq!(parse_label("label", "url:http://x").ok(), Some(("url".into(), "http://x".into())));
        assert!(parse_label("label", "nocolon").is_err() && parse_label("label", ":v").is_err());
    }

    #[test]
    fn the_filter_sql_binds_one_pair_per_label() {
        let sql = filtered_ids_sql(3, true);
        assert!(sql.contains("?8") && sql.contains("?9") && !sql.contains("?10"), "{sql}");
        assert!(sql.contains("run_id < ?2") && !filtered_ids_sql(1, false).contains("?2"));
    }
}
