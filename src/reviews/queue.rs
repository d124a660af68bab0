//! The review queue: a run's result rows in the order people should look at them.
//!
//! 1. `unsure`: a judge scorer's samples split (its `pass` is null);
//! 2. `disagreement`: two judge scorers gave the item different definite verdicts;
//! 3. `failed`: a judge scorer failed it;
//! 4. `rest`: everything else;
//! 5. `reviewed`: items the caller has already reviewed (for any scorer), last, or left out with
//!    `exclude_reviewed=true`.
//!
//! Within a class, item order. "Judge scorers" are the run's model-graded scorers; a run without any (only
//! heuristics) ranks by all its scorers, so its failures still come first. The class is computed in SQL over the
//! stored scores, and a page's position is `class << 48 | idx`, so the queue pages with the same signed cursors as
//! results do.

use rusqlite::{params, Connection};
use serde::Serialize;
use utoipa::ToSchema;

use super::Review;
use crate::domain::{Item, Score};
use crate::error::{Error, Result};
use crate::runs::repo as runs_repo;

/// Why an item is where it is in the queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum QueueReason {
    Unsure,
    Disagreement,
    Failed,
    Rest,
    Reviewed,
}

impl QueueReason {
    fn from_code(c: i64) -> QueueReason {
        match c {
            0 => QueueReason::Unsure,
            1 => QueueReason::Disagreement,
            2 => QueueReason::Failed,
            3 => QueueReason::Rest,
            _ => QueueReason::Reviewed,
        }
    }
}

/// Bits of a queue position that hold the item index (runs are far below 2^48 items).
const INDEX_BITS: u32 = 48;

/// One row of the queue: the result row, why it is here, and its reviews so far (everyone's).
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct QueueRow {
    pub index: u64,
    pub item: Item,
    pub passed: bool,
    pub errored: bool,
    pub scores: Vec<Score>,
    pub reason: QueueReason,
    /// The run's judge scorers (the ones to review).
    pub judge_scorers: Vec<String>,
    pub reviews: Vec<Review>,
    /// Queue position, the paging key.
    #[serde(skip)]
    pub position: u64,
}

/// The scorers whose verdicts a queue ranks by: the run's judge scorers, else all of them.
pub fn judge_scorers(conn: &Connection, run_id: &str) -> Result<Vec<String>> {
    let spec = runs_repo::run_work(conn, run_id)?.spec;
    let judges: Vec<String> =
        spec.scorers.iter().filter(|s| crate::scoring::judge::is_judge(&s.kind)).map(|s| s.name.clone()).collect();
    Ok(if judges.is_empty() { spec.scorers.into_iter().map(|s| s.name).collect() } else { judges })
}

/// One page (`limit + 1` rows) of the queue after position `after`, for reviewer `me`.
pub fn page(
    conn: &Connection,
    run_id: &str,
    me: &str,
    exclude_reviewed: bool,
    after: Option<u64>,
    limit: u32,
) -> Result<Vec<QueueRow>> {
    let judges = judge_scorers(conn, run_id)?;
    let judges_json = serde_json::to_string(&judges).map_err(Error::internal)?;
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT idx, item, outcome, scores, code, (code << {INDEX_BITS}) | idx AS pos FROM (
           SELECT r.idx AS idx, i.item AS item, r.outcome AS outcome, r.scores AS scores,
             CASE
               WHEN EXISTS (SELECT 1 FROM reviews v WHERE v.run_id = r.run_id AND v.idx = r.idx AND v.reviewer = ?2) THEN 4
               WHEN EXISTS (SELECT 1 FROM json_each(r.scores) s
                   WHERE json_extract(s.value, '$.scorer') IN (SELECT value FROM json_each(?3))
                     AND json_extract(s.value, '$.error') IS NULL AND json_extract(s.value, '$.pass') IS NULL) THEN 0
               WHEN (SELECT count(DISTINCT json_extract(s.value, '$.pass')) FROM json_each(r.scores) s
                   WHERE json_extract(s.value, '$.scorer') IN (SELECT value FROM json_each(?3))
                     AND json_extract(s.value, '$.error') IS NULL AND json_extract(s.value, '$.pass') IS NOT NULL) > 1 THEN 1
               WHEN EXISTS (SELECT 1 FROM json_each(r.scores) s
                   WHERE json_extract(s.value, '$.scorer') IN (SELECT value FROM json_each(?3))
                     AND json_extract(s.value, '$.error') IS NULL AND json_extract(s.value, '$.pass') = 0) THEN 2
               ELSE 3
             END AS code
           FROM run_results r JOIN run_items i ON i.run_id = r.run_id AND i.idx = r.idx
           WHERE r.run_id = ?1)
         WHERE (?4 IS NULL OR pos > ?4) AND (?5 = 0 OR code < 4)
         ORDER BY pos LIMIT ?6"
    ))?;
    let rows = stmt
        .query_map(
            params![run_id, me, judges_json, after.map(|a| a as i64), exclude_reviewed as i64, limit as i64 + 1],
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, i64>(4)?,
                    r.get::<_, i64>(5)?,
                ))
            },
        )?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let idxs: Vec<u64> = rows.iter().map(|r| r.0 as u64).collect();
    let mut reviews = super::repo::of_items(conn, run_id, &idxs)?;
    rows.into_iter()
        .map(|(idx, item, outcome, scores, code, pos)| {
            let outcome = crate::runs::summary::Outcome::from_code(outcome);
            Ok(QueueRow {
                index: idx as u64,
                item: serde_json::from_str(&item).map_err(Error::internal)?,
                passed: outcome == crate::runs::summary::Outcome::Passed,
                errored: outcome == crate::runs::summary::Outcome::Errored,
                scores: serde_json::from_str(&scores).map_err(Error::internal)?,
                reason: QueueReason::from_code(code),
                judge_scorers: judges.clone(),
                reviews: reviews.remove(&(idx as u64)).unwrap_or_default(),
                position: pos as u64,
            })
        })
        .collect()
}

/// The position of item `idx` in class `code`, as the SQL computes it (kept in one place for the tests).
#[cfg(test)]
fn position(code: u64, idx: u64) -> u64 {
    (code << INDEX_BITS) | idx
}

#[cfg(test)]
mod tests {
    #[test]
    fn positions_order_by_class_then_index() {
        assert!(super::position(0, 1_000_000) < super::position(1, 0));
        assert_eq!(super::position(2, 5) & ((1 << super::INDEX_BITS) - 1), 5);
    }
}
