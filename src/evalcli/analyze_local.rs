//! `gavel analyze --local`: a failure analysis of a dataset file in-process, with no server and nothing written to
//! disk — the same analyzer, systemic rule, summary and gate as a server's `failure_analysis` run, on its
//! deterministic checks (the judged subcategories stay `unsure`, as on a server without a provider key).

use serde_json::json;

use std::path::Path;

use super::usage;
use crate::analysis::severity::apply_systemic;
use crate::analysis::summary::summarize;
use crate::analysis::JudgeOutcome;
use crate::runs::dataset::{self, Format};
use crate::runs::kinds::analysis::{analysis_item, fill_summary, processed, spec_error};
use crate::runs::kinds::AnalysisTask;
use crate::runs::model::{GateSpec, ItemResult, Progress, Run, RunStatus, Summary};
use crate::runs::summary::{Aggregator, Outcome};

/// What `gavel analyze --local` was given (the command's flags; the caller has refused `--from-run` and
/// `--baseline`, which need a server).
pub(super) struct LocalAnalysis<'a> {
    pub dataset: Option<&'a Path>,
    pub max_severity: &'a str,
    pub project: Option<&'a str>,
}

/// The finished run (id `local`) and its result rows.
pub(super) fn run(args: &LocalAnalysis<'_>) -> anyhow::Result<(Run, Vec<ItemResult>)> {
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
    let started = std::time::Instant::now();
    let mut verdicts: Vec<_> = items
        .iter()
        .map(|item| {
            let ai = analysis_item(item);
            let pre = analyzer.precheck(&ai);
            analyzer.finish(&ai, pre, JudgeOutcome::NotAsked)
        })
        .collect();
    let systemic = apply_systemic(&mut verdicts);
    let a = summarize(&verdicts, &systemic, &gate, None);
    let mut agg = Aggregator::new(vec![crate::runs::kinds::analysis::SCORER.to_owned()]);
    let mut results = Vec::with_capacity(items.len());
    for (index, (item, verdict)) in items.into_iter().zip(&verdicts).enumerate() {
        let p = processed(verdict, None);
        let o = agg.add(&p.scores);
        results.push(ItemResult {
            index: index as u64,
            item,
            passed: o == Outcome::Passed,
            errored: o == Outcome::Errored,
            scores: p.scores,
            target: None,
            analysis: Some(serde_json::to_value(verdict)?),
            findings: None,
            elapsed_ms: Some(started.elapsed().as_millis() as u64),
            attempt: None,
        });
    }
    let total = results.len() as u64;
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
        scorers: vec![crate::runs::kinds::analysis::SCORER.to_owned()],
        target: None,
        dataset_id: None,
        created_at: now.clone(),
        started_at: Some(now.clone()),
        finished_at: Some(now),
    };
    Ok((run, results))
}
