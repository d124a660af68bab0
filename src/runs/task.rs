//! What a run of another kind than `eval` runs with (stored in its spec) and how its result detail reads back:
//! data only, below the run store and the pipeline, so the store can hold a kind's spec without importing the
//! kinds' logic (which lives in [`super::kinds`]).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::analysis::severity::SeverityOverrides;

/// What a run of another kind than `eval` runs with, stored in its spec so a resumed run does exactly the same.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum KindSpec {
    FailureAnalysis(AnalysisTask),
    SecurityAudit(AuditTask),
    /// Boxed: a red-team spec is several times the size of the others.
    RedTeam(Box<RedTeamTask>),
}

impl KindSpec {
    /// The `kind` column and the API's `kind` field.
    pub fn kind(&self) -> &'static str {
        match self {
            KindSpec::FailureAnalysis(_) => "failure_analysis",
            KindSpec::SecurityAudit(_) => "security_audit",
            KindSpec::RedTeam(_) => "red_team",
        }
    }
}

/// What a failure analysis runs with, as stored with the run.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AnalysisTask {
    /// The custom buckets in force (the project's stored ones and the request's), a snapshot taken at submission.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buckets: Option<Value>,
    /// `false`: the custom buckets replace the built-in taxonomy.
    #[serde(default = "yes")]
    pub builtin: bool,
    /// The request's `gate` (validated at submission), as sent.
    #[serde(default)]
    pub gate: Value,
    #[serde(default)]
    pub severity_overrides: SeverityOverrides,
}

fn yes() -> bool {
    true
}

/// What an audit runs with, as stored with the run.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AuditTask {
    pub checks: Vec<String>,
    #[serde(default)]
    pub gate: Value,
}

/// What a red-team run runs with, as stored with the run (its items are the planned attempts).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RedTeamTask {
    pub categories: Vec<String>,
    pub transforms: Vec<String>,
    pub attempts_per_category: u32,
    /// Drawn at submission: the attempts' markers and the planted canary derive from it.
    pub seed: u64,
    pub library_version: String,
    /// What gavel planted in a target that had no system prompt (absent: the target's own is known, or unknown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub planted: Option<crate::redteam::plan::Planted>,
    /// The target's own hidden system prompt and canary, when the request named them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_prompt: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary: Option<String>,
    #[serde(default)]
    pub gate: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<Value>,
    /// The attacker model and its strategies (absent: the library and transforms alone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attacker: Option<crate::redteam::attacker::AttackerSpec>,
    /// The cost estimate made at submission (`redteam::estimate`), repeated in the summary's `red_team.estimate`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimate: Option<Value>,
}

/// A stored detail's red-team attempt, for the result row.
pub fn attempt_of(detail: Option<&str>) -> Option<Value> {
    let Some(Value::Object(mut m)) = detail.and_then(|d| serde_json::from_str::<Value>(d).ok()) else {
        return None;
    };
    m.remove("attempt")
}

/// A stored detail split into the result row's `analysis` and `findings`.
pub fn split_detail(detail: Option<&str>) -> (Option<Value>, Option<Value>) {
    let Some(Value::Object(mut m)) = detail.and_then(|d| serde_json::from_str::<Value>(d).ok()) else {
        return (None, None);
    };
    (m.remove("analysis"), m.remove("findings"))
}

/// A stored detail's produced output and target figures (a run with a target), for the result row:
/// `(output, target)`.
pub fn split_produced(detail: Option<&str>) -> (Option<Value>, Option<Value>) {
    let Some(Value::Object(mut m)) = detail.and_then(|d| serde_json::from_str::<Value>(d).ok()) else {
        return (None, None);
    };
    (m.remove("output"), m.remove("target"))
}
