//! The `failure_analysis` run kind: each item through the [`Analyzer`] (deterministic checks on the blocking pool,
//! one judge call for the subcategories still open), and after the last item the systemic rule, the bucket
//! summary and the gate (API.md "Failure analysis and security").

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{json, Value};

use super::super::model::{text_of, Item, Summary};
use super::super::processor::{Ask, ItemProcessor, Processed, Stage};
use super::{baseline_summary, kind_score, AnalysisTask};
use crate::analysis::severity::{apply_systemic_marked, SeverityOverrides};
use crate::analysis::summary::{summarize, AnalysisSummary, Gate};
use crate::analysis::{judge, AnalysisItem, AnalysisSpec, Analyzer, ItemVerdict, JudgeOutcome, PriorScore, SpecError};
use crate::domain::{Code, Score, ScoreError};
use crate::error::{Error, Result};
use crate::runs::parallel::par_map;
use crate::scoring::judge::JudgeSpec;
use crate::store::Store;

/// The score name of an analysed item (passes when no check failed).
pub const SCORER: &str = "failure_analysis";
/// Most output tokens the judge's reply may take (one decision per open check).
pub const JUDGE_MAX_TOKENS: u32 = 1_500;
/// Results whose verdict the systemic rule changed are rewritten in batches of this many.
const REWRITE_BATCH: usize = 2_000;

impl AnalysisTask {
    /// The analyzer for this task, with the security module's detectors behind its safety seam.
    pub fn analyzer(&self) -> std::result::Result<Analyzer, SpecError> {
        let spec = AnalysisSpec {
            buckets: self.buckets.clone(),
            builtin: self.builtin,
            severity_overrides: self.severity_overrides.clone(),
        };
        Ok(Analyzer::new(&spec)?.with_detector(Arc::new(super::safety::SecuritySafety)))
    }

    /// The gate, checked against the taxonomy in force.
    pub fn gate(&self, analyzer: &Analyzer) -> std::result::Result<Gate, SpecError> {
        match &self.gate {
            Value::Null => Ok(Gate::default()),
            v => Gate::parse(v, analyzer.taxonomy()),
        }
    }
}

/// A [`SpecError`] as the contract's 400, naming the field.
pub fn spec_error(e: SpecError) -> Error {
    Error::field(&e.field, format!("{}: {}", e.field, e.message))
}

/// The judge the analysis asks: the org's default key (or the run's `provider_key`) and the run's `model`.
pub fn judge_spec() -> JudgeSpec {
    JudgeSpec {
        kind: SCORER.to_owned(),
        rubric: None,
        provider: None,
        model: None,
        key_id: None,
        pass_threshold: None,
        scale: (0.0, 1.0),
        samples: 1,
        min_agreement: 0.5,
    }
}

/// The analysis's view of a run item. Items taken `from_run` carry that run's scores in
/// `metadata.from_run.scores`; they reach the judge as evidence.
pub fn analysis_item(item: &Item) -> AnalysisItem {
    let metadata = item.metadata.clone().unwrap_or_default();
    let evidence_scores = metadata
        .get("from_run")
        .and_then(|f| f.get("scores"))
        .and_then(|s| serde_json::from_value::<Vec<Score>>(s.clone()).ok())
        .unwrap_or_default()
        .into_iter()
        .map(|s| PriorScore { scorer: s.scorer, pass: Some(s.pass), score: s.score, reason: s.reason })
        .collect();
    AnalysisItem {
        input: text_of(&item.input).into_owned(),
        output: text_of(&item.output).into_owned(),
        context: item.context.clone(),
        expected: item.expected.clone(),
        metadata,
        evidence_scores,
    }
}

/// The stored detail of an analysed item, `{"analysis": verdict}`. Written and read straight from the struct:
/// a verdict holds every subcategory's decision (about 4 KB), and going through a `serde_json::Value` tree took
/// most of a deterministic analysis's CPU.
#[derive(serde::Serialize)]
struct DetailOut<'a> {
    analysis: &'a ItemVerdict,
}

#[derive(serde::Deserialize)]
struct DetailIn {
    analysis: ItemVerdict,
}

/// An item's verdict as its stored result: one score and the `analysis` detail.
pub fn processed(verdict: &ItemVerdict, judge_error: Option<ScoreError>) -> Processed {
    let score = kind_score(SCORER, !verdict.failed, verdict.reason.clone(), judge_error);
    Processed { scores: vec![score], detail: serde_json::to_string(&DetailOut { analysis: verdict }).ok() }
}

/// The per-item work of a failure analysis.
pub struct AnalysisProcessor {
    analyzer: Arc<Analyzer>,
    judged: bool,
}

impl AnalysisProcessor {
    pub fn new(task: &AnalysisTask, judged: bool) -> Result<AnalysisProcessor> {
        Ok(AnalysisProcessor { analyzer: Arc::new(task.analyzer().map_err(spec_error)?), judged })
    }
}

impl ItemProcessor for AnalysisProcessor {
    fn process(&self, item: &Item) -> Stage {
        let ai = analysis_item(item);
        let pre = self.analyzer.precheck(&ai);
        let prompt = if self.judged { self.analyzer.judge_prompt(&ai, &pre) } else { None };
        let Some(prompt) = prompt else {
            return Stage::Done(processed(&self.analyzer.finish(&ai, pre, JudgeOutcome::NotAsked), None));
        };
        let (analyzer, open) = (self.analyzer.clone(), Arc::new(prompt.open));
        let check = open.clone();
        Stage::Ask(Ask {
            system: prompt.system,
            user: prompt.user,
            schema: prompt.schema,
            max_tokens: JUDGE_MAX_TOKENS,
            accept: Box::new(move |text| judge::parse_reply(text, &check).map(|_| ())),
            then: Box::new(move |reply| {
                let (outcome, error) = match reply.map(|text| judge::parse_reply(&text, &open)) {
                    Ok(Ok(r)) => (JudgeOutcome::Reply(r), None),
                    Ok(Err(why)) => {
                        (JudgeOutcome::Failed(why.clone()), Some(ScoreError::new(Code::JudgeUnparseable, why)))
                    }
                    Err(e) => (JudgeOutcome::Failed(e.message.clone()), Some(e)),
                };
                processed(&analyzer.finish(&ai, pre, outcome), error)
            }),
        })
    }
}

/// After the last item: the systemic rule over every verdict (rewriting the results it raised), the bucket
/// summary, and the gate's reasons.
pub async fn finish(
    store: &Store,
    run_id: &str,
    org_id: &str,
    task: &AnalysisTask,
    summary: &mut Summary,
) -> Result<Vec<String>> {
    let analyzer = task.analyzer().map_err(spec_error)?;
    let gate = task.gate(&analyzer).map_err(spec_error)?;
    let baseline = baseline_summary(store, org_id, gate.baseline.as_deref()).await?.and_then(|s| as_analysis(&s));
    let rid = run_id.to_owned();
    let raw: Vec<(i64, Option<String>, String)> = store
        .read(move |c| {
            let mut stmt = c.prepare("SELECT idx, detail, scores FROM run_results WHERE run_id = ?1 ORDER BY idx")?;
            let rows = stmt
                .query_map([&rid], |r| {
                    Ok((r.get::<_, i64>(0)?, r.get::<_, Option<String>>(1)?, r.get::<_, String>(2)?))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
        .await?;
    // Decoding every verdict, the rule and encoding the raised ones are CPU work over the whole run: off the
    // runtime, across the cores, without a second copy of the verdicts to find what changed.
    let (idxs, verdicts, systemic, changed) = crate::telemetry::spawn_blocking_in_span(move || -> Result<_> {
        let decoded = par_map(raw, |(idx, detail, scores)| {
            let verdict = serde_json::from_str::<DetailIn>(&detail?).ok()?.analysis;
            // Only a judge failure leaves an error on the score; most rows have none to decode.
            let error = if scores.contains("\"error\"") {
                serde_json::from_str::<Vec<Score>>(&scores)
                    .ok()
                    .and_then(|s| s.into_iter().next())
                    .and_then(|s| s.error)
            } else {
                None
            };
            Some((idx as u64, verdict, error))
        })?;
        let mut idxs = Vec::with_capacity(decoded.len());
        let mut errors = Vec::with_capacity(decoded.len());
        let mut verdicts = Vec::with_capacity(decoded.len());
        for (idx, verdict, error) in decoded.into_iter().flatten() {
            idxs.push(idx);
            errors.push(error);
            verdicts.push(verdict);
        }
        let (systemic, touched) = apply_systemic_marked(&mut verdicts);
        let todo: Vec<usize> = touched.iter().enumerate().filter(|(_, t)| **t).map(|(i, _)| i).collect();
        let changed = par_map(todo, |i| {
            let p = processed(&verdicts[i], errors[i].clone());
            (idxs[i] as i64, serde_json::to_string(&p.scores).unwrap_or_default(), p.detail)
        })?;
        Ok((idxs, verdicts, systemic, changed))
    })
    .await
    .map_err(Error::internal)??;
    let mut changed = changed.into_iter();
    loop {
        let rows: Vec<(i64, String, Option<String>)> = changed.by_ref().take(REWRITE_BATCH).collect();
        if rows.is_empty() {
            break;
        }
        let rid = run_id.to_owned();
        store
            .write(move |c| {
                let tx = c.transaction()?;
                {
                    let mut stmt = tx.prepare_cached(
                        "UPDATE run_results SET scores = ?3, detail = ?4 WHERE run_id = ?1 AND idx = ?2",
                    )?;
                    for (idx, scores, detail) in &rows {
                        stmt.execute(rusqlite::params![rid, idx, scores, detail])?;
                    }
                }
                tx.commit()?;
                Ok(())
            })
            .await?;
    }
    let mut a = summarize(&verdicts, &systemic, &gate, baseline.as_ref());
    for bucket in a.buckets.values_mut() {
        for ex in bucket.examples.iter_mut() {
            ex.index = idxs.get(ex.index).copied().unwrap_or(ex.index as u64) as usize;
        }
    }
    fill_summary(summary, &verdicts, &a)?;
    Ok(std::mem::take(&mut a.gate.reasons))
}

/// The run summary's analysis figures (`buckets`, `systemic`, `analysis`) from the verdicts and their summary;
/// the server's runs and `gavel analyze --local` both fill it here.
pub fn fill_summary(summary: &mut Summary, verdicts: &[ItemVerdict], a: &AnalysisSummary) -> Result<()> {
    let judged = verdicts.iter().flat_map(|v| &v.checks).any(|c| c.decided_by != crate::analysis::DecidedBy::Rule);
    summary.kind.buckets = Some(serde_json::to_value(&a.buckets).map_err(Error::internal)?);
    summary.kind.systemic = Some(serde_json::to_value(&a.systemic).map_err(Error::internal)?);
    summary.kind.analysis = Some(json!({
        "failed": a.failed,
        "unsure": a.unsure,
        "taxonomy_version": a.taxonomy_version,
        "judged": judged,
    }));
    Ok(())
}

/// A stored run summary read back as an analysis summary (the gate's `baseline`); `None` for another kind.
fn as_analysis(s: &Summary) -> Option<AnalysisSummary> {
    let buckets = s.kind.buckets.clone()?;
    let info = s.kind.analysis.clone().unwrap_or_default();
    let v = json!({
        "items": s.items,
        "failed": info.get("failed").cloned().unwrap_or(json!(s.failed)),
        "unsure": info.get("unsure").cloned().unwrap_or(json!(0)),
        "buckets": buckets,
        "systemic": s.kind.systemic.clone().unwrap_or(json!([])),
        "gate": {"passed": s.gate.passed, "reasons": s.gate.reasons},
        "should_gate_ci": s.should_gate_ci,
        "taxonomy_version": info.get("taxonomy_version").cloned().unwrap_or(json!("")),
    });
    serde_json::from_value(v).ok()
}

/// Severity overrides as the project may store them (`bucket.subcategory` or `subcategory` → severity).
pub fn parse_overrides(v: &Value) -> std::result::Result<SeverityOverrides, SpecError> {
    let Some(map) = v.as_object() else {
        return Err(SpecError::new("severity_overrides", "must be an object of subcategory → severity"));
    };
    let mut out = BTreeMap::new();
    for (k, s) in map {
        let sev = s.as_str().and_then(crate::analysis::Severity::parse).ok_or_else(|| {
            SpecError::new(format!("severity_overrides.{k}"), "must be one of low, medium, high, critical")
        })?;
        out.insert(k.clone(), sev);
    }
    Ok(out)
}
