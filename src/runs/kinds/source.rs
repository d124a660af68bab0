//! `from_run`: the items of an earlier run of the same org, read for an analysis or an audit of them. Each copied
//! item keeps its own fields and gains `metadata.from_run: {run, index, scores}` so the analysis can show the
//! judge why the item failed, and a reader can trace it back.

use rusqlite::{params, Connection};
use serde_json::{json, Map, Value};

use super::super::model::{Item, RunStatus};
use crate::error::{Error, Result};

/// Which items of the run to take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Take {
    /// Failed and errored items (what a failure analysis looks at).
    NotPassed,
    /// Every item with a result.
    All,
}

/// The run's items with their scores, in item order. The run must belong to `org` and `project` and be finished.
pub fn items_of_run(conn: &Connection, org: &str, project: &str, run_id: &str, take: Take) -> Result<Vec<Item>> {
    let run = super::super::repo::get_run(conn, org, run_id)
        .map_err(|_| Error::field("from_run", format!("from_run: no run {run_id:?} in this org")))?;
    if run.project_id != project {
        return Err(Error::field("from_run", format!("from_run: run {run_id:?} belongs to another project")));
    }
    if !run.status.is_final() || run.status == RunStatus::Failed && run.progress.done == 0 {
        return Err(Error::Conflict(format!(
            "from_run: run {run_id} is {}; wait until it has finished",
            run.status.as_str()
        )));
    }
    let mut stmt = conn.prepare(
        "SELECT i.idx, i.item, r.scores FROM run_results r JOIN run_items i ON i.run_id = r.run_id AND i.idx = r.idx
         WHERE r.run_id = ?1 AND (?2 = 0 OR r.outcome <> 0) ORDER BY r.idx",
    )?;
    let rows = stmt
        .query_map(params![run_id, (take == Take::NotPassed) as i64], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    rows.into_iter()
        .map(|(idx, item, scores)| {
            let mut item: Item = serde_json::from_str(&item).map_err(Error::internal)?;
            let scores: Value = serde_json::from_str(&scores).map_err(Error::internal)?;
            let meta = item.metadata.get_or_insert_with(Map::new);
            meta.insert("from_run".to_owned(), json!({"run": run_id, "index": idx, "scores": scores}));
            Ok(item)
        })
        .collect()
}
