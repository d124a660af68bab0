//! Datasets, runs, run items and results in SQLite. Items and results are written in batched transactions;
//! `(run_id, idx)` primary keys with `INSERT OR IGNORE` make "exactly one result per item" hold even across restarts.

use std::sync::LazyLock;

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use utoipa::ToSchema;

use super::analysis_filter::{AnalysisFilter, FILTER_SQL};
use super::model::{GateSpec, Item, ItemResult, Progress, Run, RunStatus, Score, Summary};
use super::summary::Outcome;
use crate::error::{Error, Result};
use crate::scoring::ScorerSpec;

/// What a run was asked to do, stored with it so it can be resumed exactly.
#[derive(Clone, Debug, Serialize, serde::Deserialize)]
pub struct RunSpec {
    pub scorers: Vec<ScorerSpec>,
    #[serde(default)]
    pub gate: GateSpec,
    /// Judge model for this run, under a scorer's own `model`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Reuse cached verdicts.
    #[serde(default = "yes")]
    pub cache: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_limit_usd: Option<f64>,
    /// The run came with its own provider key (held in memory only, never here).
    #[serde(default)]
    pub request_key: bool,
    /// The target items without an output get theirs from (no secrets: an HTTP target's headers are held in
    /// memory only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<crate::targets::TargetSpec>,
    /// A failure analysis or a security audit: what it runs with (absent: an `eval` run of `scorers`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<super::task::KindSpec>,
    /// The run's name, labels and resolved baseline.
    #[serde(default, skip_serializing_if = "super::identity::Identity::is_empty")]
    pub identity: super::identity::Identity,
}

fn yes() -> bool {
    true
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Dataset {
    pub id: String,
    pub name: String,
    pub items: u64,
    pub created_at: String,
}

pub fn insert_dataset(
    conn: &Connection,
    org: &str,
    project: &str,
    name: &str,
    items: &[Item],
    now: &str,
) -> Result<Dataset> {
    let id = crate::store::new_id("ds");
    conn.execute(
        "INSERT INTO datasets (id, org_id, project_id, name, items, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![id, org, project, name, items.len() as i64, now],
    )?;
    let mut stmt = conn.prepare_cached("INSERT INTO dataset_items (dataset_id, idx, item) VALUES (?1, ?2, ?3)")?;
    for (i, item) in items.iter().enumerate() {
        stmt.execute(params![id, i as i64, serde_json::to_string(item).map_err(Error::internal)?])?;
    }
    Ok(Dataset { id, name: name.into(), items: items.len() as u64, created_at: now.into() })
}

fn dataset_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Dataset> {
    Ok(Dataset { id: r.get(0)?, name: r.get(1)?, items: r.get::<_, i64>(2)? as u64, created_at: r.get(3)? })
}

pub fn list_datasets(conn: &Connection, project: &str, after: Option<&str>, limit: u32) -> Result<Vec<Dataset>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, name, items, created_at FROM datasets WHERE project_id = ?1 AND (?2 IS NULL OR id > ?2) ORDER BY id LIMIT ?3",
    )?;
    let rows =
        stmt.query_map(params![project, after, limit + 1], dataset_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

pub fn find_dataset(conn: &Connection, project: &str, id_or_name: &str) -> Result<Dataset> {
    conn.prepare_cached(
        "SELECT id, name, items, created_at FROM datasets WHERE project_id = ?1 AND (id = ?2 OR name = ?2)
         ORDER BY id = ?2 DESC, id DESC LIMIT 1",
    )?
    .query_row(params![project, id_or_name], dataset_row)
    .optional()?
    .ok_or_else(|| Error::not_found("dataset"))
}

pub fn delete_dataset(conn: &Connection, project: &str, id: &str) -> Result<()> {
    if conn.execute("DELETE FROM datasets WHERE project_id = ?1 AND id = ?2", params![project, id])? == 0 {
        return Err(Error::not_found("dataset"));
    }
    Ok(())
}

/// Record an accepted run with its items, in the caller's transaction: after commit, nothing of it can be lost.
#[allow(clippy::too_many_arguments)]
/// Items stored per write transaction while a run is accepted, so the single writer is never held for long.
pub const ACCEPT_BATCH: usize = 10_000;

/// The run's row, in the state `accepting`: invisible to the engine until [`open_run`], and removed at the next
/// start if the process dies first (its client never had a 202). Returns the run's item count.
#[allow(clippy::too_many_arguments)]
pub fn insert_run(
    conn: &Connection,
    id: &str,
    org: &str,
    project: &str,
    spec: &RunSpec,
    inline_items: usize,
    dataset_id: Option<&str>,
    now: &str,
) -> Result<u64> {
    let total: i64 = match dataset_id {
        Some(ds) => conn.query_row("SELECT items FROM datasets WHERE id = ?1", [ds], |r| r.get(0))?,
        None => inline_items as i64,
    };
    conn.execute(
        "INSERT INTO runs (id, org_id, project_id, kind, status, spec, total, dataset_id, created_at)
         VALUES (?1, ?2, ?3, ?8, 'accepting', ?4, ?5, ?6, ?7)",
        params![
            id,
            org,
            project,
            serde_json::to_string(spec).map_err(Error::internal)?,
            total,
            dataset_id,
            now,
            spec.task.as_ref().map_or("eval", super::task::KindSpec::kind)
        ],
    )?;
    super::identity::insert_labels(conn, id, project, &spec.identity)?;
    Ok(total as u64)
}

/// Where one batch of a run's items comes from.
pub enum ItemBatch<'a> {
    /// Inline items (already encoded), the first of them at index `from`.
    Encoded { items: &'a [super::inline::Encoded], from: usize },
    /// `n` items of a stored dataset, starting at index `from`.
    Dataset { id: &'a str, from: usize, n: usize },
}

/// One batch of a run's items, in a transaction of its own.
pub fn insert_run_items(conn: &mut Connection, id: &str, batch: ItemBatch<'_>) -> Result<()> {
    let tx = conn.transaction()?;
    match batch {
        ItemBatch::Dataset { id: ds, from, n } => {
            tx.execute(
                "INSERT INTO run_items (run_id, idx, item, item_key)
                 SELECT ?1, idx, item, CAST(coalesce(json_extract(item, '$.id'), idx) AS TEXT) FROM dataset_items
                 WHERE dataset_id = ?2 AND idx >= ?3 AND idx < ?4",
                params![id, ds, from as i64, (from + n) as i64],
            )?;
        }
        ItemBatch::Encoded { items, from } => {
            // The matching key is SQLite's reading of the item's id in both paths, so inline and stored datasets
            // agree on it. For the usual ids (none, a string, an integer) it was computed with the text, identically
            // and without re-parsing each item's JSON on the only writer; any other id falls back to SQLite.
            let mut stmt = tx.prepare_cached(
                "INSERT INTO run_items (run_id, idx, item, item_key)
                 VALUES (?1, ?2, ?3, coalesce(?4, CAST(coalesce(json_extract(?3, '$.id'), ?2) AS TEXT)))",
            )?;
            for (i, e) in items.iter().enumerate() {
                stmt.execute(params![id, (from + i) as i64, &*e.text, e.key.as_deref()])?;
            }
        }
    }
    tx.commit()?;
    Ok(())
}

/// Every item is stored: the run is `queued` and the engine may take it.
pub fn open_run(conn: &Connection, id: &str) -> Result<()> {
    conn.execute("UPDATE runs SET status = 'queued' WHERE id = ?1 AND status = 'accepting'", [id])?;
    Ok(())
}

/// Runs whose acceptance a crash interrupted (no client was told about them): removed at start-up.
pub fn drop_unaccepted(conn: &Connection) -> Result<usize> {
    Ok(conn.execute("DELETE FROM runs WHERE status = 'accepting'", [])?)
}

/// A batch of finished items.
pub struct ResultRow {
    pub idx: u64,
    pub outcome: Outcome,
    pub scores_json: String,
    /// Each scorer's verdict in a comparable form (see [`verdict_signature`]).
    pub verdicts: String,
    /// The kind-specific detail of the result (`{"analysis": …}` or `{"findings": …}`), JSON.
    pub detail: Option<String>,
    /// Scoring and judging time of the item.
    pub elapsed_ms: u64,
}

/// Every scorer's verdict (pass, fail, unsure or error), sorted by scorer: two results with the same scorers have the same
/// signature exactly when no scorer's verdict moved, which lets a comparison skip decoding their scores.
pub fn verdict_signature(scores: &[Score]) -> String {
    let mut v: Vec<(&str, char)> = scores
        .iter()
        .map(|s| {
            (
                s.scorer.as_str(),
                if s.error.is_some() {
                    'E'
                } else if s.unsure {
                    'U'
                } else if s.pass {
                    'P'
                } else {
                    'F'
                },
            )
        })
        .collect();
    v.sort_unstable();
    let mut out = String::new();
    for (name, verdict) in v {
        out.push_str(&name.len().to_string());
        out.push(':');
        out.push_str(name);
        out.push(verdict);
    }
    out
}

/// Write a batch of results, the usage behind them and the run's progress in one transaction; an item that already
/// has a result keeps it.
pub fn insert_results(
    conn: &mut Connection,
    run_id: &str,
    rows: &[ResultRow],
    usage: Option<(&str, &[(crate::usage::book::LineKey, crate::usage::book::Line)])>,
) -> Result<u64> {
    let tx = conn.transaction()?;
    if let Some((org, lines)) = usage {
        crate::usage::repo::add(&tx, org, run_id, lines)?;
    }
    // O(batch): count what this batch added (a row already there, from a run resumed after a crash, adds
    // nothing) instead of recounting the whole run.
    let mut added = 0i64;
    {
        let mut stmt = tx.prepare_cached(
            "INSERT OR IGNORE INTO run_results (run_id, idx, outcome, scores, verdicts, detail, elapsed_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?;
        for r in rows {
            let ms = i64::try_from(r.elapsed_ms).unwrap_or(i64::MAX);
            added +=
                stmt.execute(params![run_id, r.idx as i64, r.outcome as i64, r.scores_json, r.verdicts, r.detail, ms])?
                    as i64;
        }
    }
    let done: i64 =
        tx.query_row("UPDATE runs SET done = done + ?2 WHERE id = ?1 RETURNING done", params![run_id, added], |r| {
            r.get(0)
        })?;
    tx.commit()?;
    Ok(done as u64)
}

pub fn mark_running(conn: &Connection, run_id: &str, now: &str) -> Result<()> {
    conn.execute(
        "UPDATE runs SET status = 'running', started_at = coalesce(started_at, ?2) WHERE id = ?1 AND status IN ('queued', 'running')",
        params![run_id, now],
    )?;
    Ok(())
}

/// Put a run in a final state with its summary. A run cancelled meanwhile stays cancelled.
pub fn finish_run(
    conn: &Connection,
    run_id: &str,
    status: RunStatus,
    summary: Option<&Summary>,
    error: Option<&str>,
    now: &str,
) -> Result<()> {
    let summary = summary.map(serde_json::to_string).transpose().map_err(Error::internal)?;
    conn.execute(
        "UPDATE runs SET status = CASE WHEN status = 'cancelled' THEN status ELSE ?2 END,
             summary = ?3, error = ?4, finished_at = ?5 WHERE id = ?1",
        params![run_id, status.as_str(), summary, error, now],
    )?;
    Ok(())
}

/// Cancel a queued or running run of this org; a finished run is a conflict.
pub fn cancel_run(conn: &Connection, org: &str, run_id: &str) -> Result<()> {
    let status = run_status(conn, org, run_id)?;
    if status.is_final() {
        return Err(Error::Conflict(format!("the run is already {}", status.as_str())));
    }
    conn.execute("UPDATE runs SET status = 'cancelled' WHERE id = ?1", [run_id])?;
    Ok(())
}

pub fn run_status(conn: &Connection, org: &str, run_id: &str) -> Result<RunStatus> {
    let s: String = conn
        .query_row("SELECT status FROM runs WHERE id = ?1 AND org_id = ?2", params![run_id, org], |r| r.get(0))
        .optional()?
        .ok_or_else(|| Error::not_found("run"))?;
    Ok(RunStatus::parse(&s))
}

const RUN_COLUMNS: &str = "id, project_id, kind, status, spec, total, done, summary, error, dataset_id, created_at, \
     started_at, finished_at, name, labels, baseline_id";

fn run_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Run> {
    let spec: String = r.get(4)?;
    let spec: Option<RunSpec> = serde_json::from_str(&spec).ok();
    let summary: Option<String> = r.get(7)?;
    Ok(Run {
        id: r.get(0)?,
        project_id: r.get(1)?,
        kind: r.get(2)?,
        status: RunStatus::parse(&r.get::<_, String>(3)?),
        progress: Progress { total: r.get::<_, i64>(5)? as u64, done: r.get::<_, i64>(6)? as u64 },
        target: spec.as_ref().and_then(|s| s.target.clone()),
        scorers: spec.map(|s| s.scorers.into_iter().map(|s| s.name).collect()).unwrap_or_default(),
        summary: summary.and_then(|s| serde_json::from_str(&s).ok()),
        error: r.get(8)?,
        dataset_id: r.get(9)?,
        created_at: r.get(10)?,
        started_at: r.get(11)?,
        finished_at: r.get(12)?,
        name: r.get(13)?,
        labels: super::identity::labels_of(r.get(14)?),
        baseline_id: r.get(15)?,
    })
}

pub fn get_run(conn: &Connection, org: &str, run_id: &str) -> Result<Run> {
    conn.prepare_cached(&format!("SELECT {RUN_COLUMNS} FROM runs WHERE id = ?1 AND org_id = ?2"))?
        .query_row(params![run_id, org], run_row)
        .optional()?
        .ok_or_else(|| Error::not_found("run"))
}

/// Runs of a project, newest first; with `labels`, only those carrying every one of them.
pub fn list_runs(
    conn: &Connection,
    project: &str,
    labels: &[(String, String)],
    before: Option<&str>,
    limit: u32,
) -> Result<Vec<Run>> {
    if labels.is_empty() {
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {RUN_COLUMNS} FROM runs WHERE project_id = ?1 AND (?2 IS NULL OR id < ?2) ORDER BY id DESC LIMIT ?3"
        ))?;
        let rows =
            stmt.query_map(params![project, before, limit + 1], run_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
        return Ok(rows);
    }
    let ids = super::identity::filtered_ids_sql(labels.len(), before.is_some());
    let mut stmt =
        conn.prepare_cached(&format!("SELECT {RUN_COLUMNS} FROM runs WHERE id IN ({ids}) ORDER BY id DESC"))?;
    let limit = i64::from(limit) + 1;
    let mut args: Vec<&dyn rusqlite::ToSql> = vec![&project, &before, &limit];
    for (k, v) in labels {
        args.push(k);
        args.push(v);
    }
    let rows = stmt.query_map(args.as_slice(), run_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// What the engine needs to (re)start a run.
pub struct RunWork {
    pub org_id: String,
    pub spec: RunSpec,
    pub total: u64,
}

pub fn run_work(conn: &Connection, run_id: &str) -> Result<RunWork> {
    let (org_id, spec, total): (String, String, i64) =
        conn.query_row("SELECT org_id, spec, total FROM runs WHERE id = ?1", [run_id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?;
    Ok(RunWork { org_id, spec: serde_json::from_str(&spec).map_err(Error::internal)?, total: total as u64 })
}

/// Runs the process was working on when it stopped.
pub fn unfinished_runs(conn: &Connection) -> Result<Vec<String>> {
    let mut stmt = conn.prepare("SELECT id FROM runs WHERE status IN ('queued', 'running') ORDER BY id")?;
    let ids = stmt.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<Vec<String>>>()?;
    Ok(ids)
}

/// Scores already stored for a run (to rebuild the aggregator on resume).
pub fn stored_scores(conn: &Connection, run_id: &str, mut each: impl FnMut(Vec<Score>)) -> Result<()> {
    let mut stmt = conn.prepare("SELECT scores FROM run_results WHERE run_id = ?1")?;
    let mut rows = stmt.query([run_id])?;
    while let Some(r) = rows.next()? {
        let text: String = r.get(0)?;
        each(serde_json::from_str(&text).map_err(Error::internal)?);
    }
    Ok(())
}

/// Up to `limit` items after `after` that have no result yet.
pub fn pending_items(conn: &Connection, run_id: &str, after: Option<u64>, limit: u32) -> Result<Vec<(u64, Item)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT i.idx, i.item FROM run_items i
         WHERE i.run_id = ?1 AND (?2 IS NULL OR i.idx > ?2)
           AND NOT EXISTS (SELECT 1 FROM run_results r WHERE r.run_id = i.run_id AND r.idx = i.idx)
         ORDER BY i.idx LIMIT ?3",
    )?;
    let rows = stmt
        .query_map(params![run_id, after.map(|a| a as i64), limit], |r| {
            Ok((r.get::<_, i64>(0)? as u64, r.get::<_, String>(1)?))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    rows.into_iter().map(|(i, text)| Ok((i, serde_json::from_str(&text).map_err(Error::internal)?))).collect()
}

/// Which results to list.
#[derive(Clone, Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ResultsQuery {
    pub limit: Option<u32>,
    pub cursor: Option<String>,
    /// `passed`, `failed` or `errored`.
    pub status: Option<String>,
    /// Only items this scorer did not pass.
    pub scorer: Option<String>,
    /// Case-insensitive (ASCII) substring of the item's input or output.
    pub q: Option<String>,
    /// Failure analysis runs: only items with a failing check in this bucket (of the run's taxonomy).
    pub bucket: Option<String>,
    /// Failure analysis runs: only items with a failing check of this subcategory (within `bucket` when given).
    pub subcategory: Option<String>,
    /// Failure analysis runs: `low`, `medium`, `high` or `critical`: only items whose worst failing check
    /// (within `bucket` and `subcategory` when given) has this severity.
    pub severity: Option<String>,
}

/// The results page's query: item order, the status, scorer and text filters, and [`FILTER_SQL`] (`?7`–`?9`).
static RESULTS_SQL: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT i.idx, i.item, r.outcome, r.scores, r.detail, r.elapsed_ms FROM run_results r JOIN run_items i ON i.run_id = r.run_id AND i.idx = r.idx
         WHERE r.run_id = ?1 AND (?2 IS NULL OR r.idx > ?2) AND (?3 IS NULL OR r.outcome = ?3)
           AND (?4 IS NULL OR EXISTS (SELECT 1 FROM json_each(r.scores) s
                WHERE json_extract(s.value, '$.scorer') = ?4 AND coalesce(json_extract(s.value, '$.pass'), 0) = 0))
           AND (?6 IS NULL OR instr(lower(CAST(json_extract(i.item, '$.input') AS TEXT)), lower(?6)) > 0
                OR instr(lower(CAST(json_extract(i.item, '$.output') AS TEXT)), lower(?6)) > 0
                OR instr(lower(CAST(json_extract(r.detail, '$.output') AS TEXT)), lower(?6)) > 0)
           AND {}
         ORDER BY r.idx LIMIT ?5",
        FILTER_SQL
    )
});

/// One page of results in item order; the cursor is the last item index.
#[allow(clippy::too_many_arguments)]
pub fn list_results(
    conn: &Connection,
    run_id: &str,
    after: Option<u64>,
    outcome: Option<Outcome>,
    scorer: Option<&str>,
    q: Option<&str>,
    analysis: &AnalysisFilter,
    limit: u32,
) -> Result<Vec<ItemResult>> {
    let mut stmt = conn.prepare_cached(&RESULTS_SQL)?;
    let (bucket, sub, rank) = (analysis.bucket.as_deref(), analysis.subcategory.as_deref(), analysis.severity_rank());
    let rows = stmt
        .query_map(
            params![
                run_id,
                after.map(|a| a as i64),
                outcome.map(|o| o as i64),
                scorer,
                limit + 1,
                q,
                bucket,
                sub,
                rank
            ],
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, Option<i64>>(5)?,
                ))
            },
        )?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    rows.into_iter()
        .map(|(idx, item, outcome, scores, detail, elapsed)| {
            let outcome = Outcome::from_code(outcome);
            let (analysis, findings) = super::task::split_detail(detail.as_deref());
            let (produced, target) = super::task::split_produced(detail.as_deref());
            let mut item: Item = serde_json::from_str(&item).map_err(Error::internal)?;
            if let Some(output) = produced {
                item.output = output;
            }
            Ok(ItemResult {
                index: idx as u64,
                item,
                target,
                passed: outcome == Outcome::Passed,
                errored: outcome == Outcome::Errored,
                scores: serde_json::from_str::<Vec<Score>>(&scores).map_err(Error::internal)?,
                analysis,
                findings,
                elapsed_ms: elapsed.map(|ms| ms.max(0) as u64),
                attempt: super::task::attempt_of(detail.as_deref()),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use serde_json::json;

    /// The keys computed in Rust are the ones SQLite computes for the same item, or none (SQLite decides).
    #[test]
    fn usual_item_keys_agree_with_sqlite() {
        let db = rusqlite::Connection::open_in_memory().unwrap();
        let ids = [
            None,
            Some(json!(null)),
            Some(json!("k-1")),
            Some(json!("")),
            Some(json!("ünï")),
            Some(json!(0)),
            Some(json!(-42)),
            Some(json!(i64::MAX)),
            Some(json!(u64::MAX)),
            Some(json!(1.5)),
            Some(json!(true)),
            Some(json!([1])),
        ];
        for (idx, id) in ids.iter().enumerate() {
            let item = match id {
                Some(v) => json!({"id": v, "input": "q", "output": "a"}),
                None => json!({"input": "q", "output": "a"}),
            };
            let sql: String = db
                .query_row(
                    "SELECT CAST(coalesce(json_extract(?1, '$.id'), ?2) AS TEXT)",
                    (item.to_string(), idx as i64),
                    |r| r.get(0),
                )
                .unwrap();
            if let Some(ours) = super::super::inline::usual_item_key(id.as_ref(), idx as i64) {
                assert_eq!(ours, sql, "id {id:?}");
            }
        }
        assert_eq!(super::super::inline::usual_item_key(Some(&json!(1.5)), 3), None, "floats are left to SQLite");
    }
}
