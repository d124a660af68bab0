//! Comparing two runs of a project: pass rate per scorer side by side, and the items whose verdict changed —
//! "what did my prompt change break?". Items are matched by their `id` when they have one, else by position.

use std::collections::BTreeMap;

use rusqlite::{params, Connection};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::model::{Item, Run, Score, Summary};
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

/// Longest output (in characters) a compared side carries; a longer one is cut there and `output_truncated` is set.
pub const COMPARE_OUTPUT_MAX_CHARS: usize = 20_000;

#[derive(Serialize, ToSchema)]
pub struct Side {
    pub passed: bool,
    pub errored: bool,
    pub scores: Vec<Score>,
    /// This run's output for the item (as text when it is no string), for a side-by-side view; at most
    /// `COMPARE_OUTPUT_MAX_CHARS` characters.
    pub output: String,
    /// The output was longer and is cut.
    pub output_truncated: bool,
}

/// An output as bounded text for a [`Side`].
fn side_output(v: &Value) -> (String, bool) {
    let text = super::model::text_of(v);
    match text.char_indices().nth(COMPARE_OUTPUT_MAX_CHARS) {
        Some((cut, _)) => (text[..cut].to_string(), true),
        None => (text.into_owned(), false),
    }
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
    a.iter().any(|x| b.iter().any(|y| y.scorer == x.scorer && y.verdict_word() != x.verdict_word()))
}

/// (counts, one page of changed items after `after`).
///
/// Items are matched on the indexed `item_key` and classified from each result's outcome and verdict signature, so
/// only the columns needed to count are read for the whole run; scores are decoded only where two signatures
/// differ (a scorer present in one run only), and items and scores are read only for the page that is returned.
pub fn changed_items(
    conn: &Connection,
    base: &str,
    head: &str,
    after: Option<u64>,
    limit: u32,
) -> Result<(BTreeMap<&'static str, u64>, Vec<Changed>)> {
    let mut stmt = conn.prepare_cached(
        "SELECT bi.idx, ai.idx, a.outcome, b.outcome, a.verdicts, b.verdicts, bi.item_key
         FROM run_items bi
         JOIN run_results b ON b.run_id = bi.run_id AND b.idx = bi.idx
         JOIN run_items ai ON ai.run_id = ?1 AND ai.item_key = bi.item_key
         JOIN run_results a ON a.run_id = ai.run_id AND a.idx = ai.idx
         WHERE bi.run_id = ?2 ORDER BY bi.idx",
    )?;
    let mut scores_of = conn.prepare_cached("SELECT scores FROM run_results WHERE run_id = ?1 AND idx = ?2")?;
    let mut decode = |run: &str, idx: i64| -> Result<Vec<Score>> {
        let text: String = scores_of.query_row(params![run, idx], |r| r.get(0))?;
        serde_json::from_str(&text).map_err(Error::internal)
    };
    let mut rows = stmt.query(params![base, head])?;
    let mut counts: BTreeMap<&'static str, u64> =
        [("regressed", 0), ("fixed", 0), ("changed", 0), ("unchanged", 0)].into();
    let mut picked: Vec<(i64, i64, &'static str, Option<String>)> = Vec::new();
    while let Some(r) = rows.next()? {
        let (b_idx, a_idx): (i64, i64) = (r.get(0)?, r.get(1)?);
        let (ao, bo) = (Outcome::from_code(r.get(2)?), Outcome::from_code(r.get(3)?));
        let (av, bv): (Option<String>, Option<String>) = (r.get(4)?, r.get(5)?);
        let change = match (ao == Outcome::Passed, bo == Outcome::Passed) {
            (true, false) => "regressed",
            (false, true) => "fixed",
            _ if ao != bo => "changed",
            _ if av.is_some() && av == bv => "unchanged",
            _ if verdict_moved(&decode(base, a_idx)?, &decode(head, b_idx)?) => "changed",
            _ => "unchanged",
        };
        if let Some(n) = counts.get_mut(change) {
            *n += 1;
        }
        let after_cursor = after.is_none_or(|a| b_idx as u64 > a);
        if change != "unchanged" && after_cursor && picked.len() <= limit as usize {
            picked.push((b_idx, a_idx, change, r.get(6)?));
        }
    }
    drop(rows);
    let mut item_of = conn.prepare_cached("SELECT item FROM run_items WHERE run_id = ?1 AND idx = ?2")?;
    let mut page = Vec::with_capacity(picked.len());
    for (b_idx, a_idx, change, key) in picked {
        let (ao, bo): (i64, i64) = (
            conn.query_row(
                "SELECT outcome FROM run_results WHERE run_id = ?1 AND idx = ?2",
                params![base, a_idx],
                |r| r.get(0),
            )?,
            conn.query_row(
                "SELECT outcome FROM run_results WHERE run_id = ?1 AND idx = ?2",
                params![head, b_idx],
                |r| r.get(0),
            )?,
        );
        let (ao, bo) = (Outcome::from_code(ao), Outcome::from_code(bo));
        let item: String = item_of.query_row(params![head, b_idx], |r| r.get(0))?;
        let item: Item = serde_json::from_str(&item).map_err(Error::internal)?;
        let base_item: String = item_of.query_row(params![base, a_idx], |r| r.get(0))?;
        let base_item: Item = serde_json::from_str(&base_item).map_err(Error::internal)?;
        let ((b_out, b_cut), (h_out, h_cut)) = (side_output(&base_item.output), side_output(&item.output));
        // The key as the client sent it: the item's id, or its position.
        let key = item.id.clone().unwrap_or_else(|| key.map_or(Value::Null, |_| Value::from(b_idx)));
        page.push(Changed {
            key,
            index: b_idx as u64,
            item,
            change: change.into(),
            base: Side {
                passed: ao == Outcome::Passed,
                errored: ao == Outcome::Errored,
                scores: decode(base, a_idx)?,
                output: b_out,
                output_truncated: b_cut,
            },
            head: Side {
                passed: bo == Outcome::Passed,
                errored: bo == Outcome::Errored,
                scores: decode(head, b_idx)?,
                output: h_out,
                output_truncated: h_cut,
            },
        });
    }
    Ok((counts, page))
}

pub fn deltas(base: &Run, head: &Run) -> BTreeMap<String, ScorerDelta> {
    summary_deltas(base.summary.as_ref(), head.summary.as_ref())
}

/// Per scorer, the two summaries' pass rates, means and the two-proportion test between them (a run's
/// `baseline` comparison uses this too, so both answer alike).
pub fn summary_deltas(base: Option<&Summary>, head: Option<&Summary>) -> BTreeMap<String, ScorerDelta> {
    let empty = BTreeMap::new();
    let b = base.map(|s| &s.per_scorer).unwrap_or(&empty);
    let h = head.map(|s| &s.per_scorer).unwrap_or(&empty);
    let (bn, hn) = (base.map_or(0, |s| s.items), head.map_or(0, |s| s.items));
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
