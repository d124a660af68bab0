//! Failure analysis: *why* an item failed, not only *that* it failed.
//!
//! The pure core, with no I/O: a versioned taxonomy ([`taxonomy`]), custom buckets ([`custom`]), deterministic
//! checks run first ([`checks`]), one judge prompt per item holding only the rubrics still open ([`judge`]),
//! severity policy ([`severity`]), the run summary and its gate ([`summary`]), and a fault-injected labelled set that
//! measures the deterministic checks ([`faults`], [`selftest`]). Layers, one-way: shared data types at the bottom
//! (`types.rs`), rules, taxonomy, checks and the judge stage above them, and the [`Analyzer`] (`analyzer.rs`) on
//! top; no module imports the analyzer. The run engine drives it per item:
//!
//! ```text
//! let analyzer = Analyzer::new(&AnalysisSpec { .. })?;           // once per run; validation errors name the field
//! let pre = analyzer.precheck(&item);                             // deterministic, microseconds
//! let prompt = analyzer.judge_prompt(&item, &pre);                // None when nothing is left for a judge
//! let reply = judge::parse_reply(&text, &prompt.open);            // when a judge was asked
//! let verdict = analyzer.finish(&item, pre, JudgeOutcome::Reply(reply));
//! // after all items:
//! let systemic = severity::apply_systemic(&mut verdicts);
//! let summary = summary::summarize(&verdicts, &systemic, &gate, baseline.as_ref());
//! ```

mod analyzer;
pub mod checks;
pub mod custom;
pub mod faults;
pub mod gate_rules;
pub mod judge;
pub mod safety;
mod schema;
pub mod selftest;
pub mod severity;
pub mod summary;
pub mod taxonomy;
mod text;
mod types;

#[cfg(test)]
mod tests_checks;
#[cfg(test)]
mod tests_judge;
#[cfg(test)]
mod tests_summary;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use analyzer::{AnalysisSpec, Analyzer, ItemPrecheck, JudgeOutcome};
pub use checks::Precheck;
pub use custom::SpecError;
pub use safety::{BuiltinSafety, SafetyDetector, SafetyFinding};
pub use taxonomy::{Method, Taxonomy, TAXONOMY_VERSION};
pub use types::{Check, DecidedBy, Decision, ItemVerdict, Severity};

/// One item to analyse. Our own shape (not the run engine's) so this module survives restructuring; the engine
/// copies an item and its scores into it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AnalysisItem {
    pub input: String,
    pub output: String,
    #[serde(default)]
    pub context: Vec<String>,
    #[serde(default)]
    pub expected: Option<Value>,
    /// May hold `system_prompt`, `tool_calls`, `tools`, `expected_tools`, `constraints` and `high_stakes`
    /// (see docs/analysis.md for their shapes).
    #[serde(default)]
    pub metadata: Map<String, Value>,
    /// Scores the item already received (from a run it came from); shown to the judge as evidence.
    #[serde(default)]
    pub evidence_scores: Vec<PriorScore>,
}

/// A score from an earlier run of the same item.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PriorScore {
    pub scorer: String,
    /// `None` for an `unsure` verdict.
    pub pass: Option<bool>,
    pub score: f64,
    #[serde(default)]
    pub reason: String,
}

impl AnalysisItem {
    /// `metadata.high_stakes == true`; anything else (absent, a string) is not high stakes.
    pub fn high_stakes(&self) -> bool {
        self.metadata.get("high_stakes").and_then(Value::as_bool).unwrap_or(false)
    }
}
