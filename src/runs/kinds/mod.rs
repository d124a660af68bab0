//! Run kinds beyond `eval`: failure analysis ([`analysis`]) and security audit ([`audit`]). Each is a run like any
//! other (accepted, durable, resumed after a restart, answered by `GET /v1/runs/{id}`), driven by the one
//! [pipeline](super::pipeline) through its [processor seam](super::processor); what differs is the per-item work,
//! the result row's detail (`analysis` or `findings`) and the summary's extra figures and gate, computed here
//! once every item is done.

pub mod analysis;
pub mod audit;
pub mod audit_judge;
pub mod buckets;
pub mod converse;
pub mod redteam;
pub mod result_filter;
pub mod safety;
pub mod source;

use std::sync::Arc;

use serde_json::Value;

use super::model::{RunStatus, Summary};
use super::pipeline::{prepare_specs, JudgeRequest, Judging};
use super::processor::ItemProcessor;
pub use super::task::{split_detail, AnalysisTask, AuditTask, KindSpec, RedTeamTask};
use crate::domain::{Code, Score, ScoreError};
use crate::error::{Error, Result};
use crate::judge::Judge;
use crate::store::Store;

impl KindSpec {
    /// The item processor, `judged` when the run has a judge to ask.
    pub fn processor(&self, judged: bool) -> Result<Arc<dyn ItemProcessor>> {
        Ok(match self {
            KindSpec::FailureAnalysis(t) => Arc::new(analysis::AnalysisProcessor::new(t, judged)?),
            KindSpec::SecurityAudit(t) => Arc::new(audit::AuditProcessor::new(t)),
            KindSpec::RedTeam(t) => Arc::new(redteam::RedTeamProcessor::new(t, judged)),
        })
    }
}

/// The judged half of a kind's run: the failure analysis asks one judge (the org's default key, or the run's own
/// `provider_key`, with the run's `model`). With no key at all it runs on its deterministic checks alone (the
/// summary says so); a key that exists but fails makes the open checks `unsure`, item by item.
pub async fn prepare_judging(judge: &Arc<Judge>, task: &KindSpec, r: JudgeRequest<'_>) -> Result<Option<Judging>> {
    let spec = match task {
        KindSpec::FailureAnalysis(_) => analysis::judge_spec(),
        KindSpec::RedTeam(_) => redteam::judge_spec(),
        KindSpec::SecurityAudit(t) if !audit::judged_checks(t).is_empty() => audit_judge::judge_spec(),
        KindSpec::SecurityAudit(_) => return Ok(None),
    };
    let had_request_key = r.had_request_key;
    let judging = prepare_specs(judge, vec![spec], r).await?;
    let usable = judging.as_ref().and_then(|j| j.prepared.first()).is_some_and(|p| match &p.target {
        Ok(_) => true,
        Err(e) => had_request_key || e.code != Code::ByokNoKey,
    });
    Ok(judging.filter(|_| usable))
}

/// Completes the summary of a kind's run from its stored details: the kind's figures and its gate.
pub async fn finish(
    store: &Store,
    run_id: &str,
    org_id: &str,
    task: &KindSpec,
    status: RunStatus,
    summary: &mut Summary,
) -> Result<()> {
    let mut reasons = match task {
        KindSpec::FailureAnalysis(t) => analysis::finish(store, run_id, org_id, t, summary).await?,
        KindSpec::SecurityAudit(t) => audit::finish(store, run_id, org_id, t, summary).await?,
        KindSpec::RedTeam(t) => redteam::finish(store, run_id, org_id, t, summary).await?,
    };
    if status != RunStatus::Completed {
        reasons.insert(0, format!("the run is {}, not completed", status.as_str()));
    }
    summary.gate.passed = reasons.is_empty();
    summary.gate.reasons = reasons;
    summary.should_gate_ci = !summary.gate.passed;
    Ok(())
}

/// The one score a kind's item gets (it decides the item's outcome: passed, failed, errored).
fn kind_score(scorer: &str, pass: bool, reason: String, error: Option<ScoreError>) -> Score {
    Score {
        scorer: scorer.to_owned(),
        score: if pass { 1.0 } else { 0.0 },
        pass,
        reason,
        error,
        unsure: false,
        samples: None,
    }
}

/// The summary of another run of this org, for a gate's `baseline`.
async fn baseline_summary(store: &Store, org_id: &str, baseline: Option<&str>) -> Result<Option<Summary>> {
    let Some(id) = baseline else { return Ok(None) };
    let (org, id) = (org_id.to_owned(), id.to_owned());
    let run = store.read(move |c| super::repo::get_run(c, &org, &id).map(Some).or_else(not_found_none)).await?;
    Ok(run.and_then(|r| r.summary))
}

fn not_found_none<T>(e: Error) -> Result<Option<T>> {
    match e {
        Error::NotFound(_) => Ok(None),
        other => Err(other),
    }
}

/// Parses a stored JSON detail column.
fn detail_of(text: Option<String>) -> Option<Value> {
    text.and_then(|t| serde_json::from_str(&t).ok())
}
