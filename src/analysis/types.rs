//! The analysis's shared data types, at the bottom of its module graph: every other analysis module may use
//! them, and this file imports none of its siblings, so the layers above (rules, taxonomy, judge, analyzer) stay
//! one-way. Logic over these types lives with its policy (e.g. [`ItemVerdict::reselect`] in `severity.rs`).

use std::fmt;

use regex::Regex;
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 4] = [Severity::Low, Severity::Medium, Severity::High, Severity::Critical];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    pub fn parse(s: &str) -> Option<Severity> {
        Severity::ALL.into_iter().find(|v| v.as_str().eq_ignore_ascii_case(s.trim()))
    }

    /// One step up, saturating at `critical`.
    pub fn step_up(self) -> Severity {
        match self {
            Severity::Low => Severity::Medium,
            Severity::Medium => Severity::High,
            Severity::High | Severity::Critical => Severity::Critical,
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Fail,
    Pass,
    Unsure,
    NotApplicable,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Fail => "fail",
            Decision::Pass => "pass",
            Decision::Unsure => "unsure",
            Decision::NotApplicable => "not_applicable",
        }
    }
}

/// Who settled a check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecidedBy {
    Rule,
    Judge,
    RuleAndJudge,
}

/// One subcategory's decision for one item (API.md: `checks[]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Check {
    pub bucket: String,
    pub subcategory: String,
    pub decision: Decision,
    pub severity: Severity,
    pub confidence: f64,
    pub evidence: String,
    pub decided_by: DecidedBy,
    /// Why the severity is above the subcategory's base (high stakes, confirmed evidence, systemic).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub severity_notes: Vec<String>,
}

/// The item verdict (API.md: a result row's `analysis`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemVerdict {
    pub failed: bool,
    pub bucket: Option<String>,
    pub subcategory: Option<String>,
    pub severity: Option<Severity>,
    pub confidence: f64,
    pub reason: String,
    pub evidence: String,
    pub checks: Vec<Check>,
    pub taxonomy_version: String,
}

/// A labelled example shown to the judge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Example {
    pub input: String,
    pub output: String,
    /// `fail` or `pass`.
    pub verdict: String,
}

#[derive(Debug, Clone)]
pub enum CompiledRule {
    Keywords { keywords: Vec<String>, field: String },
    Regex { regex: Regex, field: String },
    JsonPath { path: String, steps: Vec<PathStep>, equals: Value },
}

#[derive(Debug, Clone, PartialEq)]
pub enum PathStep {
    Key(String),
    Index(usize),
}
