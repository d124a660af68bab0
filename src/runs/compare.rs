//! Comparing two runs of a project: pass rate per scorer side by side, and the items whose verdict changed —
//! "what did my prompt change break?". Items are matched by their `id` when they have one, else by position.

use std::collections::BTreeMap;

use rusqlite::{params, Connection};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::model::{Item, Run, Score};
use super::summary::Outcome;
use crate::error::{Error, Result};

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CompareQuery {
    /// The earlier run.
    pub base: String,
    /// The later run.
    pub head: String,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct Side {
    pub passed: bool,
    pub errored: bool,
    pub scores: Vec<Score>,
}

#[derive(Serialize, ToSchema)]
pub struct Changed {
    /// The matching key: the item's id, or its position.
    #[schema(value_type = Object)]
    pub key: Value,
    /// Position in the head run.
    pub index: u64,
    pub item: Item,
    /// `regressed` (passed before, not now), `fixed`, or `changed` (some scorer's verdict moved).
    pub change: String,
    pub base: Side,
    pub head: Side,
}

#[derive(Serialize, ToSchema)]
pub struct ScorerDelta {
    pub base_pass_rate: Option<f64>,
    pub head_pass_rate: Option<f64>,
    pub delta: Option<f64>,
    pub base_mean: Option<f64>,
    pub head_mean: Option<f64>,
    /// Two-sided p-value of a two-proportion z-test between the pass rates (when both runs have the scorer).
    pub p_value: Option<f64>,
    /// Whether the pass rate moved beyond noise (p < 0.05): a regression or a fix worth believing.
    pub beyond_noise: Option<bool>,
}

/// Did any scorer present in both runs change its verdict? (A scorer only one run has is no change.)
fn verdict_moved(a: &[Score], b: &[Score]) -> bool {
    a.iter()
        .any(|x| b.iter().any(|y| y.scorer == x.scorer && (y.pass, y.error.is_some()) != (x.pass, x.error.is_some())))
}

/// (counts, one page of changed items after `after`).
pub fn changed_items(
    conn: &Connection,
    base: &str,
    head: &str,
    after: Option<u64>,
    limit: u32,
) -> Result<(BTreeMap<&'static str, u64>, Vec<Changed>)> {
    let mut stmt = conn.prepare(
        "WITH a AS (SELECT coalesce(json_extract(i.item, '$.id'), i.idx) AS k, r.outcome, r.scores
                    FROM run_items i JOIN run_results r ON r.run_id = i.run_id AND r.idx = i.idx WHERE i.run_id = ?1),
              b AS (SELECT coalesce(json_extract(i.item, '$.id'), i.idx) AS k, i.idx, i.item, r.outcome, r.scores
                    FROM run_items i JOIN run_results r ON r.run_id = i.run_id AND r.idx = i.idx WHERE i.run_id = ?2)
         SELECT b.k, b.idx, b.item, a.outcome, a.scores, b.outcome, b.scores FROM b JOIN a ON a.k = b.k ORDER BY b.idx",
    )?;
    let mut rows = stmt.query(params![base, head])?;
    let mut counts: BTreeMap<&'static str, u64> =
        [("regressed", 0), ("fixed", 0), ("changed", 0), ("unchanged", 0)].into();
    let mut page = Vec::new();
    while let Some(r) = rows.next()? {
        let (ao, bo) = (Outcome::from_code(r.get(3)?), Outcome::from_code(r.get(5)?));
        let (a_scores, b_scores): (String, String) = (r.get(4)?, r.get(6)?);
        let a: Vec<Score> = serde_json::from_str(&a_scores).map_err(Error::internal)?;
        let b: Vec<Score> = serde_json::from_str(&b_scores).map_err(Error::internal)?;
        let change = match (ao == Outcome::Passed, bo == Outcome::Passed) {
            (true, false) => "regressed",
            (false, true) => "fixed",
            _ if ao != bo || verdict_moved(&a, &b) => "changed",
            _ => "unchanged",
        };
        if let Some(n) = counts.get_mut(change) {
            *n += 1;
        }
        let idx = r.get::<_, i64>(1)? as u64;
        if change == "unchanged" || after.is_some_and(|a| idx <= a) || page.len() > limit as usize {
            continue;
        }
        let key: Value = match r.get_ref(0)? {
            rusqlite::types::ValueRef::Integer(i) => Value::from(i),
            rusqlite::types::ValueRef::Text(t) => Value::String(String::from_utf8_lossy(t).into_owned()),
            rusqlite::types::ValueRef::Real(f) => Value::from(f),
            _ => Value::Null,
        };
        let item: String = r.get(2)?;
        page.push(Changed {
            key,
            index: idx,
            item: serde_json::from_str(&item).map_err(Error::internal)?,
            change: change.into(),
            base: Side { passed: ao == Outcome::Passed, errored: ao == Outcome::Errored, scores: a },
            head: Side { passed: bo == Outcome::Passed, errored: bo == Outcome::Errored, scores: b },
        });
    }
    Ok((counts, page))
}

pub fn deltas(base: &Run, head: &Run) -> BTreeMap<String, ScorerDelta> {
    let empty = BTreeMap::new();
    let b = base.summary.as_ref().map(|s| &s.per_scorer).unwrap_or(&empty);
    let h = head.summary.as_ref().map(|s| &s.per_scorer).unwrap_or(&empty);
    let (bn, hn) = (base.summary.as_ref().map_or(0, |s| s.items), head.summary.as_ref().map_or(0, |s| s.items));
    let passes = |rate: f64, n: u64| (rate * n as f64).round() as u64;
    b.keys()
        .chain(h.keys())
        .map(|name| {
            let (bs, hs) = (b.get(name), h.get(name));
            let delta = bs.zip(hs).map(|(x, y)| ((y.pass_rate - x.pass_rate) * 1e6).round() / 1e6);
            let test = bs.zip(hs).map(|(x, y)| {
                crate::scoring::stats::two_proportion_z(passes(y.pass_rate, hn), hn, passes(x.pass_rate, bn), bn)
            });
            (
                name.clone(),
                ScorerDelta {
                    base_pass_rate: bs.map(|s| s.pass_rate),
                    head_pass_rate: hs.map(|s| s.pass_rate),
                    delta,
                    base_mean: bs.map(|s| s.mean),
                    head_mean: hs.map(|s| s.mean),
                    p_value: test.as_ref().map(|t| (t.p_value * 1e6).round() / 1e6),
                    beyond_noise: test.as_ref().map(|t| t.significant),
                },
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::scoring::stats::two_proportion_z;

    #[test]
    fn a_drop_from_90_to_60_percent_on_200_items_is_beyond_noise_and_one_item_is_not() {
        assert!(two_proportion_z(120, 200, 180, 200).significant);
        assert!(!two_proportion_z(179, 200, 180, 200).significant);
    }
}
