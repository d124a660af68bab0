//! Reviews in SQLite, and the rows a scorer's agreement is computed from.

use std::collections::HashMap;

use rusqlite::{params, Connection, OptionalExtension};
use serde_json::Value;

use super::agreement::{figures, Agreement, Confusion};
use super::{NewReview, Review};
use crate::error::{Error, Result};
use crate::runs::repo::{self as runs_repo, RunSpec};

const REVIEW_COLUMNS: &str = "v.id, v.run_id, v.idx, v.scorer, v.pass, v.comment, v.reviewer, k.name, v.created_at";

fn review_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Review> {
    Ok(Review {
        id: r.get(0)?,
        run_id: r.get(1)?,
        idx: r.get::<_, i64>(2)? as u64,
        scorer: r.get(3)?,
        pass: r.get::<_, i64>(4)? != 0,
        comment: r.get(5)?,
        reviewer: r.get(6)?,
        reviewer_name: r.get(7)?,
        created_at: r.get(8)?,
    })
}

/// What a review is attached to, checked: the run is the caller's org's, `idx` has a result, `scorer` is one of the
/// run's scorers. Returns the run's project id.
pub fn check_target(conn: &Connection, org: &str, run_id: &str, idx: u64, scorer: &str) -> Result<String> {
    let run = runs_repo::get_run(conn, org, run_id)?;
    if !run.scorers.iter().any(|s| s == scorer) {
        return Err(Error::field(
            "scorer",
            format!("scorer {scorer:?} is not one of this run's scorers ({})", run.scorers.join(", ")),
        ));
    }
    let has: Option<i64> = conn
        .query_row("SELECT 1 FROM run_results WHERE run_id = ?1 AND idx = ?2", params![run_id, idx as i64], |r| {
            r.get(0)
        })
        .optional()?;
    if has.is_none() {
        return Err(Error::NotFound(format!("item {idx} of this run has no result (yet)")));
    }
    Ok(run.project_id)
}

/// Store a review; a review by the same reviewer of the same item and scorer is replaced (same id, new verdict,
/// comment and time). Returns the review and whether it replaced one.
#[allow(clippy::too_many_arguments)]
pub fn upsert(
    conn: &Connection,
    org: &str,
    project: &str,
    run_id: &str,
    idx: u64,
    reviewer: &str,
    r: &NewReview,
    now: &str,
) -> Result<(Review, bool)> {
    let existing: Option<String> = conn
        .query_row(
            "SELECT id FROM reviews WHERE run_id = ?1 AND idx = ?2 AND scorer = ?3 AND reviewer = ?4",
            params![run_id, idx as i64, r.scorer, reviewer],
            |row| row.get(0),
        )
        .optional()?;
    let replaced = existing.is_some();
    let id = match existing {
        Some(id) => {
            conn.execute(
                "UPDATE reviews SET pass = ?2, comment = ?3, created_at = ?4 WHERE id = ?1",
                params![id, r.pass as i64, r.comment, now],
            )?;
            id
        }
        None => {
            let id = crate::store::new_id("rev");
            conn.execute(
                "INSERT INTO reviews (id, org_id, project_id, run_id, idx, scorer, reviewer, pass, comment, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![id, org, project, run_id, idx as i64, r.scorer, reviewer, r.pass as i64, r.comment, now],
            )?;
            id
        }
    };
    let review = conn
        .query_row(
            &format!(
                "SELECT {REVIEW_COLUMNS} FROM reviews v LEFT JOIN api_keys k ON k.id = v.reviewer WHERE v.id = ?1"
            ),
            [&id],
            review_row,
        )
        .map_err(Error::from)?;
    Ok((review, replaced))
}

/// A page of a run's reviews in creation order (`limit + 1` rows, for [`crate::store::page::finish`]).
pub fn list(
    conn: &Connection,
    run_id: &str,
    scorer: Option<&str>,
    idx: Option<u64>,
    after: Option<&str>,
    limit: u32,
) -> Result<Vec<Review>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {REVIEW_COLUMNS} FROM reviews v LEFT JOIN api_keys k ON k.id = v.reviewer
         WHERE v.run_id = ?1 AND (?2 IS NULL OR v.scorer = ?2) AND (?3 IS NULL OR v.idx = ?3)
           AND (?4 IS NULL OR v.id > ?4)
         ORDER BY v.id LIMIT ?5"
    ))?;
    let rows = stmt
        .query_map(params![run_id, scorer, idx.map(|i| i as i64), after, limit as i64 + 1], review_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// Every review of these items of a run, grouped by item.
pub fn of_items(conn: &Connection, run_id: &str, idxs: &[u64]) -> Result<HashMap<u64, Vec<Review>>> {
    let mut out: HashMap<u64, Vec<Review>> = HashMap::new();
    if idxs.is_empty() {
        return Ok(out);
    }
    let list = serde_json::to_string(idxs).map_err(Error::internal)?;
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {REVIEW_COLUMNS} FROM reviews v LEFT JOIN api_keys k ON k.id = v.reviewer
         WHERE v.run_id = ?1 AND v.idx IN (SELECT value FROM json_each(?2)) ORDER BY v.id"
    ))?;
    for r in stmt.query_map(params![run_id, list], review_row)? {
        let r = r?;
        out.entry(r.idx).or_default().push(r);
    }
    Ok(out)
}

/// Reviewed pairs left out of a scorer's agreement, and why.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Excluded {
    /// The judge's verdict was `unsure` (its samples split).
    pub unsure: u64,
    /// The judge's verdict was an error (no verdict).
    pub errored: u64,
}

/// `GET /v1/projects/{project}/scorers/{id}/agreement`
#[derive(Clone, Debug, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct ScorerAgreement {
    /// The scorer's name, as runs and reviews carry it.
    pub scorer: String,
    /// Pairs counted over every model.
    pub reviews: u64,
    pub agreement: Option<f64>,
    pub cohen_kappa: Option<f64>,
    pub kappa_note: Option<String>,
    pub confusion: Confusion,
    pub excluded: Excluded,
    /// The same figures per judge model (`unknown` where no model can be told; heuristic scorers: `heuristic`).
    pub by_model: std::collections::BTreeMap<String, Agreement>,
}

/// The model that judged `scorer` in a run: the scorer's own `config.model`, else the run's `model`, else the one
/// model the run's judge calls used (its usage rows), else `unknown`. Scores do not record their model, so this is
/// read from what the run was asked to do and what it spent.
fn judge_model(conn: &Connection, run_id: &str, spec: Option<&RunSpec>, scorer: &str) -> Result<String> {
    let s = spec.and_then(|sp| sp.scorers.iter().find(|s| s.name == scorer));
    if let Some(s) = s {
        if !crate::scoring::judge::is_judge(&s.kind) {
            return Ok("heuristic".into());
        }
        if let Some(m) = s.config.get("model").and_then(Value::as_str) {
            return Ok(m.to_string());
        }
    }
    if let Some(m) = spec.and_then(|sp| sp.model.clone()) {
        return Ok(m);
    }
    let mut stmt =
        conn.prepare_cached("SELECT DISTINCT model FROM usage WHERE run_id = ?1 AND source = 'judge' LIMIT 2")?;
    let models = stmt.query_map([run_id], |r| r.get::<_, String>(0))?.collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(match models.as_slice() {
        [one] => one.clone(),
        _ => "unknown".into(),
    })
}

/// A scorer's verdicts against every review of it in the project. Each review is one pair (several reviewers of
/// one item give several pairs: each person's judgement counts).
pub fn agreement(conn: &Connection, project: &str, scorer: &str) -> Result<ScorerAgreement> {
    let mut stmt = conn.prepare_cached(
        "SELECT v.run_id, v.pass, json_extract(s.value, '$.pass'), json_extract(s.value, '$.error') IS NOT NULL
         FROM reviews v
         JOIN run_results rr ON rr.run_id = v.run_id AND rr.idx = v.idx
         JOIN json_each(rr.scores) s ON json_extract(s.value, '$.scorer') = v.scorer
         WHERE v.project_id = ?1 AND v.scorer = ?2",
    )?;
    let rows = stmt
        .query_map(params![project, scorer], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? != 0, r.get::<_, Option<i64>>(2)?, r.get::<_, bool>(3)?))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut model_of: HashMap<String, String> = HashMap::new();
    let mut all = Confusion::default();
    let mut per: HashMap<String, Confusion> = HashMap::new();
    let mut excluded = Excluded::default();
    for (run_id, human, judge, errored) in rows {
        let judge = match (errored, judge) {
            (true, _) => {
                excluded.errored += 1;
                continue;
            }
            (false, None) => {
                excluded.unsure += 1;
                continue;
            }
            (false, Some(p)) => p != 0,
        };
        if !model_of.contains_key(&run_id) {
            let spec: Option<String> =
                conn.query_row("SELECT spec FROM runs WHERE id = ?1", [&run_id], |r| r.get(0)).optional()?;
            let spec: Option<RunSpec> = spec.and_then(|s| serde_json::from_str(&s).ok());
            let m = judge_model(conn, &run_id, spec.as_ref(), scorer)?;
            model_of.insert(run_id.clone(), m);
        }
        let model = model_of.get(&run_id).cloned().unwrap_or_else(|| "unknown".into());
        all.add(judge, human);
        per.entry(model).or_default().add(judge, human);
    }
    let f = figures(all);
    Ok(ScorerAgreement {
        scorer: scorer.to_string(),
        reviews: f.reviews,
        agreement: f.agreement,
        cohen_kappa: f.cohen_kappa,
        kappa_note: f.kappa_note,
        confusion: f.confusion,
        excluded,
        by_model: per.into_iter().map(|(m, c)| (m, figures(c))).collect(),
    })
}
