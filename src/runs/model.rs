//! Run, dataset and result types shared by the HTTP layer, the engine and the `gavel eval` client.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

/// One dataset item: what the model was asked, what it answered, and what it should have answered.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Item {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub id: Option<Value>,
    #[schema(value_type = Object)]
    pub input: Value,
    #[schema(value_type = Object)]
    pub output: Value,
    #[serde(default, skip_serializing_if = "Vec::is_empty", deserialize_with = "context_list")]
    pub context: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub expected: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Map<String, Value>>,
}

impl Item {
    /// An empty item, left behind when a batch takes an item out of a run's list.
    pub fn placeholder() -> Item {
        Item { id: None, input: Value::Null, output: Value::Null, context: Vec::new(), expected: None, metadata: None }
    }
}

/// `context` is a string or a list of strings.
fn context_list<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Ctx {
        One(String),
        Many(Vec<String>),
        Null(()),
    }
    Ok(
        match Ctx::deserialize(d)
            .map_err(|_| serde::de::Error::custom("context must be a string or an array of strings"))?
        {
            Ctx::One(s) => vec![s],
            Ctx::Many(v) => v,
            Ctx::Null(()) => Vec::new(),
        },
    )
}

/// Text of a JSON value as scorers see it: strings as they are, anything else as compact JSON.
pub fn text_of(v: &Value) -> std::borrow::Cow<'_, str> {
    match v {
        Value::String(s) => std::borrow::Cow::Borrowed(s.as_str()),
        Value::Null => std::borrow::Cow::Borrowed(""),
        other => std::borrow::Cow::Owned(other.to_string()),
    }
}

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
            "queued" => RunStatus::Queued,
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

/// One scorer's verdict on one item.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct Score {
    pub scorer: String,
    pub score: f64,
    pub pass: bool,
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ScoreError>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct ScoreError {
    pub code: String,
    pub message: String,
}

/// An item's result: it passes when every scorer passes; it is errored when any scorer errored.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct ItemResult {
    pub index: u64,
    pub item: Item,
    pub passed: bool,
    pub errored: bool,
    pub scores: Vec<Score>,
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
}

/// Figures for one scorer across the run.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct ScorerSummary {
    /// Mean score over the items this scorer did not error on.
    pub mean: f64,
    /// Share of all items this scorer passed.
    pub pass_rate: f64,
    pub errors: u64,
}

/// Provider usage of a run.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct Usage {
    pub calls: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cost_usd: f64,
    pub cache_hits: u64,
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
    pub pass_rate: f64,
    pub per_scorer: std::collections::BTreeMap<String, ScorerSummary>,
    pub usage: Usage,
    pub gate: GateResult,
    pub should_gate_ci: bool,
}

/// A run as the API shows it.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Run {
    pub id: String,
    pub project_id: String,
    pub kind: String,
    pub status: RunStatus,
    pub progress: Progress,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<Summary>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub scorers: Vec<String>,
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn context_is_a_string_or_a_list() {
        let a: Item = serde_json::from_str(r#"{"input":"q","output":"a","context":"c"}"#).unwrap();
        assert_eq!(a.context, vec!["c"]);
        let b: Item = serde_json::from_str(r#"{"input":"q","output":"a","context":["c","d"]}"#).unwrap();
        assert_eq!(b.context.len(), 2);
        assert!(serde_json::from_str::<Item>(r#"{"input":"q","output":"a","context":5}"#).is_err());
        assert!(serde_json::from_str::<Item>(r#"{"input":"q"}"#).is_err());
        assert!(serde_json::from_str::<Item>(r#"{"input":"q","output":"a","extra":1}"#).is_err());
        assert_eq!(text_of(&serde_json::json!({"a":1})), r#"{"a":1}"#);
    }
}
