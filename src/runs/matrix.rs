//! The comparison table of a matrix (one run per target over the same items): per run, the pass rate, the
//! outcome counts, what its target cost and how long it took to answer (p50, p95, mean over the items it
//! answered), and each scorer's pass rate.

use std::collections::BTreeMap;

use rusqlite::{params, Connection};
use serde::Serialize;
use utoipa::ToSchema;

use super::model::RunStatus;
use super::repo;
use crate::error::{Error, Result};

/// Answer latencies of one target, in milliseconds.
#[derive(Clone, Debug, Default, Serialize, PartialEq, ToSchema)]
pub struct Latency {
    pub p50: f64,
    pub p95: f64,
    pub mean: f64,
}

/// One run (one target) of a comparison.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Row {
    pub run_id: String,
    pub status: RunStatus,
    /// The target's `name`, else `provider/model` or the URL's host and path.
    pub target: String,
    /// 0 until the run is finished.
    pub pass_rate: f64,
    pub passed: u64,
    pub failed: u64,
    pub errored: u64,
    /// What the target's calls cost (judge calls not included; they are in the run's `summary.usage`).
    pub cost_usd: f64,
    pub latency_ms: Latency,
    /// Each scorer's pass rate.
    pub per_scorer: BTreeMap<String, f64>,
}

/// `GET /v1/projects/{project}/matrix`.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Comparison {
    pub rows: Vec<Row>,
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

/// The latencies of an answered item list.
pub fn latency(mut ms: Vec<f64>) -> Latency {
    if ms.is_empty() {
        return Latency::default();
    }
    ms.sort_by(f64::total_cmp);
    let mean = ms.iter().sum::<f64>() / ms.len() as f64;
    Latency { p50: percentile(&ms, 50.0), p95: percentile(&ms, 95.0), mean }
}

/// The table for these runs of the project, in the order given.
pub fn comparison(conn: &Connection, org: &str, project_id: &str, run_ids: &[String]) -> Result<Comparison> {
    let mut rows = Vec::with_capacity(run_ids.len());
    let mut stmt = conn.prepare_cached(
        "SELECT json_extract(detail, '$.target.latency_ms'), coalesce(json_extract(detail, '$.target.cost_usd'), 0)
         FROM run_results WHERE run_id = ?1 AND json_extract(detail, '$.target') IS NOT NULL",
    )?;
    for id in run_ids {
        let run = repo::get_run(conn, org, id)?;
        if run.project_id != project_id {
            return Err(Error::not_found("run"));
        }
        let mut ms = Vec::new();
        let mut cost = 0.0;
        let answered = stmt.query_map(params![run.id], |r| Ok((r.get::<_, Option<f64>>(0)?, r.get::<_, f64>(1)?)))?;
        for a in answered {
            let (l, c) = a?;
            ms.extend(l);
            cost += c;
        }
        let s = run.summary.as_ref();
        rows.push(Row {
            run_id: run.id.clone(),
            status: run.status,
            target: run.target.as_ref().map(|t| t.label()).unwrap_or_else(|| "(outputs given)".into()),
            pass_rate: s.map_or(0.0, |s| s.pass_rate),
            passed: s.map_or(0, |s| s.passed),
            failed: s.map_or(0, |s| s.failed),
            errored: s.map_or(0, |s| s.errored),
            cost_usd: cost,
            latency_ms: latency(ms),
            per_scorer: s
                .map(|s| s.per_scorer.iter().map(|(k, v)| (k.clone(), v.pass_rate)).collect())
                .unwrap_or_default(),
        });
    }
    Ok(Comparison { rows })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let l = latency((1..=100).rev().map(f64::from).collect());
        assert_eq!((l.p50, l.p95, l.mean), (50.0, 95.0, 50.5));
        let one = latency(vec![7.0]);
        assert_eq!((one.p50, one.p95, one.mean), (7.0, 7.0, 7.0));
        assert_eq!(latency(Vec::new()), Latency::default());
    }
}
