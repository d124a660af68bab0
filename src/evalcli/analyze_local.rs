//! `gavel analyze --local`: a failure analysis of a dataset file in-process, with no server and nothing written to
//! disk. The items go through the one run pipeline with the server's `failure_analysis` processor, in-memory sink
//! and judge scheduler (the same judge prompts, structured output and one call per item), then through the same
//! systemic rule, summary and gate as a server run.
//!
//! The judge's key comes from the environment, as for `gavel eval --local`. When no key is set and some item has
//! subcategories only a judge decides, the command refuses (exit 2) rather than leave them undecided: a gate
//! that silently skipped half the taxonomy would pass runs it never looked at. `--deterministic-only` is the
//! explicit way to run the rules alone.

use std::path::Path;
use std::sync::Mutex;

use serde_json::json;

use super::local::{local_judge, local_request, request_key, JudgeFlags};
use super::usage;
use crate::analysis::severity::apply_systemic;
use crate::analysis::summary::summarize;
use crate::analysis::{Analyzer, ItemVerdict};
use crate::runs::dataset::{self, Format};
use crate::runs::kinds::analysis::{analysis_item, fill_summary, processed, spec_error, SCORER};
use crate::runs::kinds::{AnalysisTask, KindSpec};
use crate::runs::model::{GateSpec, Item, ItemResult, Progress, Run, RunStatus, Summary};
use crate::runs::summary::Outcome;

/// What `gavel analyze --local` was given (the command's flags; the caller has refused `--from-run` and
/// `--baseline`, which need a server).
pub(super) struct LocalAnalysis<'a> {
    pub dataset: Option<&'a Path>,
    pub max_severity: &'a str,
    pub project: Option<&'a str>,
    /// Run the deterministic checks alone: no judge, no key needed; the judge-only subcategories are not decided.
    pub deterministic_only: bool,
    pub judge: JudgeFlags<'a>,
}

/// Whether some item still has subcategories open after the rules (it would get a judge call).
fn needs_judge(analyzer: &Analyzer, items: &[Item]) -> bool {
    items.iter().any(|item| {
        let ai = analysis_item(item);
        let pre = analyzer.precheck(&ai);
        analyzer.judge_prompt(&ai, &pre).is_some()
    })
}

/// The finished run (id `local`) and its result rows.
pub(super) async fn run(args: &LocalAnalysis<'_>) -> anyhow::Result<(Run, Vec<ItemResult>)> {
    let path = args.dataset.ok_or_else(|| usage("give --dataset FILE"))?;
    let bytes = std::fs::read(path).map_err(|e| usage(format!("reading {}: {e}", path.display())))?;
    let items =
        dataset::parse(Format::from_path(path), &bytes).map_err(|e| usage(format!("{}: {e}", path.display())))?;
    let task = AnalysisTask {
        buckets: None,
        builtin: true,
        gate: json!({"max_severity": args.max_severity}),
        severity_overrides: Default::default(),
    };
    let analyzer = task.analyzer().map_err(|e| usage(spec_error(e).to_string()))?;
    let gate = task.gate(&analyzer).map_err(|e| usage(spec_error(e).to_string()))?;
    let kind = KindSpec::FailureAnalysis(task);
    let judging = if args.deterministic_only {
        None
    } else {
        match request_key(&args.judge) {
            Ok(rk) => {
                let judge = local_judge(rk)?;
                crate::runs::kinds::prepare_judging(&judge, &kind, local_request(args.judge.model))
                    .await
                    .map_err(|e| usage(e.to_string()))?
            }
            Err(e) if needs_judge(&analyzer, &items) => {
                return Err(usage(format!(
                    "{e:#}; the judged subcategories need a provider key (the deterministic checks alone: \
                     --deterministic-only)"
                )))
            }
            // The rules decide every item: no key is needed.
            Err(_) => None,
        }
    };
    let judged = judging.is_some();
    let processor = kind.processor(judged).map_err(|e| usage(e.to_string()))?;
    let total = items.len() as u64;
    let progress = Mutex::new(super::Progress::new());
    let report = |done: u64| {
        if let Ok(mut p) = progress.lock() {
            p.update(done, total);
        }
    };
    let (agg, mut results) =
        crate::runs::engine::drive_local(Vec::new(), Some(processor), vec![SCORER.to_owned()], items, judging, &report)
            .await
            .map_err(|e| usage(e.to_string()))?;
    if let Ok(p) = progress.lock() {
        p.finish();
    }
    if judged {
        warn_judge_errors(&results);
    }
    let (verdicts, systemic) = apply_systemic_rule(&mut results)?;
    let a = summarize(&verdicts, &systemic, &gate, None);
    let mut summary: Summary = agg.finish(total, &GateSpec::default(), RunStatus::Completed);
    fill_summary(&mut summary, &verdicts, &a).map_err(|e| usage(e.to_string()))?;
    summary.gate.passed = a.gate.passed;
    summary.gate.reasons = a.gate.reasons.clone();
    summary.should_gate_ci = !a.gate.passed;
    let now = crate::store::now();
    let run = Run {
        id: "local".into(),
        project_id: args.project.unwrap_or("local").to_owned(),
        kind: "failure_analysis".into(),
        name: None,
        labels: Default::default(),
        baseline_id: None,
        status: RunStatus::Completed,
        progress: Progress { done: total, total },
        summary: Some(summary),
        error: None,
        scorers: vec![SCORER.to_owned()],
        target: None,
        dataset_id: None,
        created_at: now.clone(),
        started_at: Some(now.clone()),
        finished_at: Some(now),
    };
    Ok((run, results))
}

/// After the last item, as the server's `finish`: the systemic rule over every verdict, rewriting the rows it
/// raised. Answers the verdicts and the systemic subcategories.
fn apply_systemic_rule(
    results: &mut [ItemResult],
) -> anyhow::Result<(Vec<ItemVerdict>, Vec<crate::analysis::severity::Systemic>)> {
    let before = results
        .iter()
        .map(|r| {
            let v = r.analysis.clone().ok_or_else(|| anyhow::anyhow!("item {} has no analysis", r.index))?;
            Ok(serde_json::from_value::<ItemVerdict>(v)?)
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut verdicts = before.clone();
    let systemic = apply_systemic(&mut verdicts);
    for (r, (now, was)) in results.iter_mut().zip(verdicts.iter().zip(&before)) {
        if now == was {
            continue;
        }
        let error = r.scores.first().and_then(|s| s.error.clone());
        let p = processed(now, error);
        let o = Outcome::of(&p.scores);
        r.scores = p.scores;
        r.passed = o == Outcome::Passed;
        r.errored = o == Outcome::Errored;
        r.analysis = Some(serde_json::to_value(now)?);
    }
    Ok((verdicts, systemic))
}

/// Says on stderr when judge calls failed (a wrong key, an unreachable provider): those items' judged checks are
/// `unsure`, which the table alone would not explain.
fn warn_judge_errors(results: &[ItemResult]) {
    let errors: Vec<_> = results.iter().filter_map(|r| r.scores.first().and_then(|s| s.error.as_ref())).collect();
    if let Some(first) = errors.first() {
        eprintln!(
            "gavel analyze: the judge failed on {} of {} items ({}: {}); their judged checks are unsure",
            errors.len(),
            results.len(),
            first.code.as_str(),
            first.message
        );
    }
}
