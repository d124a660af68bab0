//! Run, dataset and result types shared by the HTTP layer, the engine and the `gavel eval` client.

use serde::{Deserialize, Serialize};

use utoipa::ToSchema;

pub use crate::domain::{text_of, Item, Score, ScoreError, Usage};

/// Lifecycle of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Queued,
    Running,
    Completed,
    Failed,
    Cancelled,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Queued => "queued",
            RunStatus::Running => "running",
            RunStatus::Completed => "completed",
            RunStatus::Failed => "failed",
            RunStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> RunStatus {
        match s {
            // A run whose items are still being stored is waiting, as far as anyone can tell.
            "queued" | "accepting" => RunStatus::Queued,
            "running" => RunStatus::Running,
            "completed" => RunStatus::Completed,
            "cancelled" => RunStatus::Cancelled,
            _ => RunStatus::Failed,
        }
    }

    pub fn is_final(self) -> bool {
        matches!(self, RunStatus::Completed | RunStatus::Failed | RunStatus::Cancelled)
    }
}

/// An item's result: it passes when every scorer passes; it is errored when any scorer errored.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct ItemResult {
    pub index: u64,
    pub item: Item,
    pub passed: bool,
    pub errored: bool,
    pub scores: Vec<Score>,
    /// Failure-analysis runs: the item's verdict `{failed, bucket, subcategory, severity, confidence, reason,
    /// evidence, checks}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub analysis: Option<serde_json::Value>,
    /// Runs with a target, items it answered: `{latency_ms, cost_usd, input_tokens, output_tokens, error?: {code,
    /// message}}` (the answer itself is `item.output`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub target: Option<serde_json::Value>,
    /// Security-audit runs: `[{check, rule, severity, confidence, field, span, evidence}]`, secrets and PII masked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Object>>)]
    pub findings: Option<serde_json::Value>,
    /// The item's scoring and judging time in milliseconds: from when the pipeline took it up to when its last
    /// score was ready (null for results stored before this was measured).
    #[serde(default)]
    pub elapsed_ms: Option<u64>,
    /// Red-team runs: `{category, transform, attack, hazard_category, response, success, severity, decided_by,
    /// owasp, reason, …}` ([`crate::redteam::report::AttemptRow`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<crate::redteam::report::AttemptRow>)]
    pub attempt: Option<serde_json::Value>,
}

/// Gate options of a run.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GateSpec {
    /// Lowest acceptable overall pass rate (0..1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_pass_rate: Option<f64>,
    /// Most items allowed to fail (errored items count as failed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_failed: Option<u64>,
    /// Lowest acceptable pass rate per scorer, by scorer name.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub per_scorer: std::collections::BTreeMap<String, f64>,
    /// Fail when a scorer's pass rate fell beyond noise against the run's `baseline` (which it then needs).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub no_regression: bool,
}

/// Figures for one scorer across the run.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct ScorerSummary {
    /// Mean score over the items this scorer did not error on.
    pub mean: f64,
    /// Share of all items this scorer passed.
    pub pass_rate: f64,
    /// Wilson 95 % interval of `pass_rate`: how far the rate may be from the true one on this many items.
    #[serde(default = "no_interval")]
    pub pass_rate_ci: [f64; 2],
    pub errors: u64,
    /// Items on which this (sampled judge) scorer was `unsure`; they count as not passed in `pass_rate`.
    #[serde(default)]
    pub unsure: u64,
}

/// What a summary stored before intervals existed reads as: nothing known.
fn no_interval() -> [f64; 2] {
    [0.0, 1.0]
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct GateResult {
    pub passed: bool,
    pub reasons: Vec<String>,
}

/// The summary of a finished run.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct Summary {
    pub items: u64,
    pub passed: u64,
    pub failed: u64,
    pub errored: u64,
    /// Items not passed because a sampled judge was `unsure` (and no scorer errored): counted apart, and also
    /// within `failed`, so `passed + failed + errored = items` still holds and an unsure item is never a pass.
    #[serde(default)]
    pub unsure: u64,
    pub pass_rate: f64,
    /// Wilson 95 % interval of `pass_rate`.
    #[serde(default = "no_interval")]
    pub pass_rate_ci: [f64; 2],
    pub per_scorer: std::collections::BTreeMap<String, ScorerSummary>,
    pub usage: Usage,
    pub gate: GateResult,
    pub should_gate_ci: bool,
    /// What runs of another kind than `eval` add (failure analysis, security audit).
    #[serde(flatten, default)]
    pub kind: KindSummary,
    /// The comparison with the run's baseline, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<BaselineComparison>,
}

/// A run against its baseline, scorer by scorer (two-proportion test, as `GET /v1/projects/{p}/compare`).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct BaselineComparison {
    pub run_id: String,
    pub per_scorer: std::collections::BTreeMap<String, BaselineDelta>,
    /// Scorers whose pass rate fell beyond noise.
    pub regressions: Vec<String>,
}

/// One scorer's pass rate in the baseline and in this run.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct BaselineDelta {
    /// Null when the baseline did not have this scorer.
    pub base_pass_rate: Option<f64>,
    /// Null when this run does not have this scorer.
    pub head_pass_rate: Option<f64>,
    pub delta: Option<f64>,
    /// Two-sided p-value of the two-proportion z-test (when both runs have the scorer).
    pub p_value: Option<f64>,
    /// The pass rate fell and the fall is beyond noise (p < 0.05).
    pub regression: bool,
}

/// The summary fields of failure-analysis and security-audit runs; absent on `eval` runs.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct KindSummary {
    /// Failure analysis: `{NAME: {failed, share, severity: {low, medium, high, critical}, subcategories, examples}}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub buckets: Option<serde_json::Value>,
    /// Failure analysis: subcategories failing on at least 20 % of the items they apply to (and 3 items).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Object>>)]
    pub systemic: Option<serde_json::Value>,
    /// Failure analysis: `{failed, unsure, taxonomy_version, judge}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub analysis: Option<serde_json::Value>,
    /// Security audit: `{CHECK: {items_flagged, findings, severity: {low, medium, high, critical}}}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub checks: Option<serde_json::Value>,
    /// Red team: `{CATEGORY: {attempts, successes, asr, asr_ci: [lo, hi], undecided, owasp, severity}}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub categories: Option<serde_json::Value>,
    /// Red team: `{HAZARD: {name, attempts, successes, asr, asr_ci: [lo, hi], undecided, severity}}` per MLCommons
    /// hazard category (`S1`–`S14`) of the harmful-goal attacks, apart from `categories`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<std::collections::BTreeMap<String, crate::redteam::report::HazardRate>>)]
    pub hazard_categories: Option<serde_json::Value>,
    /// Red team: `{benign, refused, rate, rate_ci}` over the benign probes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub over_refusal: Option<serde_json::Value>,
    /// Red team: `{transforms: {TRANSFORM: {attempts, successes, asr, asr_ci: [lo, hi], undecided, severity}},
    /// library_version}`; a composition is named `a+b`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub red_team: Option<serde_json::Value>,
}

/// A run as the API shows it.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Run {
    pub id: String,
    pub project_id: String,
    pub kind: String,
    /// The run's name (`name` of the request), null when it has none.
    #[serde(default)]
    pub name: Option<String>,
    /// The run's labels, `{}` when none.
    #[serde(default)]
    pub labels: std::collections::BTreeMap<String, String>,
    /// The run `baseline` resolved to at acceptance.
    #[serde(default)]
    pub baseline_id: Option<String>,
    pub status: RunStatus,
    pub progress: Progress,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<Summary>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub scorers: Vec<String>,
    /// The run's target, when it produces its outputs (never an HTTP target's header values).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<crate::targets::TargetSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataset_id: Option<String>,
    pub created_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
}

#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct Progress {
    pub done: u64,
    pub total: u64,
}
