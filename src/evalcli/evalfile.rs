//! `gavel.eval.toml`: an evaluation kept in the repository (datasets, scorers, gate, target, labels, baseline),
//! read by `gavel eval -c FILE` (or `./gavel.eval.toml`), with flags over it. See docs/eval-file.md.
//!
//! Parsing is strict: an unknown key is an error naming the key, the file, the line and the column, because a
//! misspelt `min_pass_rate` silently ignored would make a gate pass that should fail.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::{usage, EvalArgs};
use crate::runs::model::GateSpec;

/// The file `gavel eval` reads when no `-c` is given and it exists in the working directory.
pub const DEFAULT_FILE: &str = "gavel.eval.toml";

/// The evaluation file as written.
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EvalFile {
    /// Server URL (flag `--server` and env `GAVEL_URL` win).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// Name of the environment variable holding the API key (default: `GAVEL_API_KEY`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_env: Option<String>,
    /// Refused when present: a key in a committed file is a leaked key.
    #[serde(default, skip_serializing)]
    pub api_key: Option<toml::Spanned<toml::Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Dataset files, relative to this file: JSON array, JSONL/NDJSON, CSV.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub datasets: Vec<String>,
    /// A dataset stored on the server, instead of files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataset_id: Option<String>,
    /// Items written inline (what `--from-promptfoo --print-eval-file` produces).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scorers: Vec<ScorerEntry>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metrics: Vec<String>,
    /// Judge model of the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gate: Option<GateFile>,
    /// Passed through as the run body's `target`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<Value>,
    /// Passed through as the run body's `targets` (a matrix: one run per target).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub targets: Option<Vec<Value>>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// `label=KEY:VALUE` or a run id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<String>,
}

/// A scorer: a stored scorer's name or id or a scorer type, or an inline `{type, config, name?}`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(untagged)]
pub enum ScorerEntry {
    Name(String),
    Inline(InlineEntry),
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct InlineEntry {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<Value>,
}

impl ScorerEntry {
    fn to_json(&self) -> Value {
        match self {
            ScorerEntry::Name(n) => Value::String(n.clone()),
            ScorerEntry::Inline(i) => {
                let mut v = json!({"type": i.kind, "config": i.config.clone().unwrap_or_else(|| json!({}))});
                if let Some(n) = &i.name {
                    v["name"] = json!(n);
                }
                v
            }
        }
    }
}

/// `[gate]`.
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GateFile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_pass_rate: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_failed: Option<u64>,
    /// `NAME = 0.9` or `NAME = {min_pass_rate = 0.9}`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub per_scorer: BTreeMap<String, PerScorerGate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_regression: Option<bool>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(untagged)]
pub enum PerScorerGate {
    Rate(f64),
    Table(PerScorerTable),
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PerScorerTable {
    pub min_pass_rate: f64,
}

impl PerScorerGate {
    fn rate(&self) -> f64 {
        match self {
            PerScorerGate::Rate(r) => *r,
            PerScorerGate::Table(t) => t.min_pass_rate,
        }
    }
}

/// (line, column), 1-based, of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map(|l| l.chars().count()).unwrap_or(0) + 1;
    (line, col)
}

/// Parse an evaluation file's text; `path` names it in errors.
pub fn parse(text: &str, path: &Path) -> anyhow::Result<EvalFile> {
    let file: EvalFile = toml::from_str(text).map_err(|e| {
        let mut msg = e.to_string();
        if msg.contains("untagged enum ScorerEntry") {
            msg.push_str(
                "a scorer is a string (a stored scorer's name or id, or a type) or a table {type, config, name}",
            );
        } else if msg.contains("untagged enum PerScorerGate") {
            msg.push_str("a per-scorer gate is a number (the minimum pass rate) or {min_pass_rate = X}");
        }
        usage(format!("{}: {}", path.display(), msg.trim_end()))
    })?;
    if let Some(k) = &file.api_key {
        let (line, col) = line_col(text, k.span().start);
        return Err(usage(format!(
            "{}: line {line}, column {col}: `api_key` is refused in an evaluation file (the file is committed, so the \
             key would leak): set GAVEL_API_KEY, pass --api-key, or name the variable holding it with `api_key_env`",
            path.display()
        )));
    }
    Ok(file)
}

/// Read and parse an evaluation file.
pub fn load(path: &Path) -> anyhow::Result<EvalFile> {
    let text = std::fs::read_to_string(path).map_err(|e| usage(format!("reading {}: {e}", path.display())))?;
    parse(&text, path)
}

/// The gate as flags and file set it.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct GatePlan {
    pub min_pass_rate: Option<f64>,
    pub max_failed: Option<u64>,
    pub per_scorer: BTreeMap<String, f64>,
    pub no_regression: bool,
}

impl GatePlan {
    /// With no condition at all the gate is "no item failed or errored" (max_failed 0), what a CI user expects
    /// from an exit code; any condition given replaces that default.
    pub fn spec(&self) -> GateSpec {
        let none = self.min_pass_rate.is_none() && self.max_failed.is_none() && self.per_scorer.is_empty();
        let max_failed = if none && !self.no_regression { Some(0) } else { self.max_failed };
        GateSpec {
            min_pass_rate: self.min_pass_rate,
            max_failed,
            per_scorer: self.per_scorer.clone(),
            no_regression: self.no_regression,
        }
    }

    /// The run body's `gate` (`no_regression` only when asked for: the spec leaves it out when false).
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self.spec()).unwrap_or_else(|_| json!({}))
    }
}

/// Everything one `gavel eval` needs, file and flags merged (flags win).
#[derive(Debug, Default, Clone)]
pub struct Plan {
    pub server: Option<String>,
    pub api_key: Option<String>,
    /// The variable the file named for the key, for the error when it is unset.
    pub api_key_env: Option<String>,
    pub project: Option<String>,
    pub name: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub baseline: Option<String>,
    pub datasets: Vec<PathBuf>,
    pub dataset_id: Option<String>,
    pub inline_items: Vec<Value>,
    pub scorers: Vec<Value>,
    pub metrics: Vec<String>,
    pub model: Option<String>,
    pub gate: GatePlan,
    pub target: Option<Value>,
    pub targets: Option<Vec<Value>>,
}

/// `k=v` of `--label` (and `NAME=X` of `--gate-scorer`).
fn split_pair<'a>(flag: &str, s: &'a str) -> anyhow::Result<(&'a str, &'a str)> {
    s.split_once('=')
        .filter(|(k, _)| !k.trim().is_empty())
        .map(|(k, v)| (k.trim(), v.trim()))
        .ok_or_else(|| usage(format!("{flag} {s}: expected KEY=VALUE")))
}

fn scorer_flag(s: &str) -> anyhow::Result<Value> {
    if s.trim_start().starts_with('{') {
        serde_json::from_str(s).map_err(|e| usage(format!("--scorer {s}: not a scorer object: {e}")))
    } else {
        Ok(Value::String(s.to_string()))
    }
}

/// Merge an evaluation file (`base` is its directory) with the flags; CI labels go under both.
/// `env` looks up the variable `api_key_env` names.
pub fn plan(
    args: &EvalArgs,
    file: Option<(EvalFile, PathBuf)>,
    ci_labels: BTreeMap<String, String>,
    env: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<Plan> {
    let (file, base) = file.unwrap_or_default();
    let mut p = Plan {
        server: args.remote.server.clone().or(file.server),
        project: args.remote.project.clone().or(file.project),
        name: args.name.clone().or(file.name),
        baseline: args.baseline.clone().or(file.baseline),
        model: args.model.clone().or(file.model),
        target: file.target,
        targets: file.targets,
        ..Default::default()
    };
    // Looked up only here and only when named; an unset variable is reported when a server needs the key.
    p.api_key = args.remote.api_key.clone().or_else(|| file.api_key_env.as_deref().and_then(env));
    p.api_key_env = file.api_key_env;
    if !args.datasets.is_empty() || args.dataset_id.is_some() {
        p.datasets = args.datasets.clone();
        p.dataset_id = args.dataset_id.clone();
    } else {
        p.datasets = file.datasets.iter().map(|d| base.join(d)).collect();
        p.dataset_id = file.dataset_id;
        p.inline_items = file.items;
    }
    p.scorers = if args.scorers.is_empty() {
        file.scorers.iter().map(ScorerEntry::to_json).collect()
    } else {
        args.scorers.iter().map(|s| scorer_flag(s)).collect::<anyhow::Result<_>>()?
    };
    p.metrics = if args.metrics.is_empty() { file.metrics } else { args.metrics.clone() };
    let g = file.gate.unwrap_or_default();
    p.gate = GatePlan {
        min_pass_rate: args.min_pass_rate.or(g.min_pass_rate),
        max_failed: args.max_failed.or(g.max_failed),
        per_scorer: g.per_scorer.iter().map(|(k, v)| (k.clone(), v.rate())).collect(),
        no_regression: args.no_regression || g.no_regression.unwrap_or(false),
    };
    for s in &args.gate_scorers {
        let (name, rate) = split_pair("--gate-scorer", s)?;
        let rate: f64 =
            rate.parse().map_err(|_| usage(format!("--gate-scorer {s}: the minimum pass rate must be a number")))?;
        p.gate.per_scorer.insert(name.to_string(), rate);
    }
    if p.gate.min_pass_rate.is_some_and(|r| !(0.0..=1.0).contains(&r)) {
        return Err(usage("min_pass_rate (--min-pass-rate) must be between 0 and 1"));
    }
    if let Some((name, _)) = p.gate.per_scorer.iter().find(|(_, r)| !(0.0..=1.0).contains(*r)) {
        return Err(usage(format!("the per-scorer gate of {name} must be between 0 and 1")));
    }
    if p.gate.no_regression && p.baseline.is_none() {
        return Err(usage("no_regression (--no-regression) needs a baseline: set `baseline` or --baseline"));
    }
    // Explicit labels win over detected ones: CI, then the file, then --label.
    p.labels = ci_labels;
    p.labels.extend(file.labels);
    for l in &args.labels {
        let (k, v) = split_pair("--label", l)?;
        p.labels.insert(k.to_string(), v.to_string());
    }
    if p.scorers.is_empty() && p.metrics.is_empty() {
        return Err(usage(
            "name at least one scorer or metric (--scorer, --metric, or `scorers` in the evaluation file)",
        ));
    }
    let sources = usize::from(!p.datasets.is_empty())
        + usize::from(p.dataset_id.is_some())
        + usize::from(!p.inline_items.is_empty());
    if sources == 0 {
        return Err(usage("name a dataset: --dataset FILE, --dataset-id ID, or `datasets` in the evaluation file"));
    }
    if sources > 1 {
        return Err(usage("give dataset files, a dataset_id or inline items, not several"));
    }
    if p.target.is_some() && p.targets.is_some() {
        return Err(usage("give `target` or `targets`, not both"));
    }
    Ok(p)
}

/// The body of `POST /v1/projects/{p}/runs`. `dataset` is the items array (absent with a `dataset_id`). Fields a
/// server may not know yet (`name`, `labels`, `baseline`, `target(s)`) are sent only when set.
pub fn run_body(plan: &Plan, dataset: Option<Value>) -> Value {
    let mut body = json!({"scorers": plan.scorers, "metrics": plan.metrics, "gate": plan.gate.to_json()});
    match (dataset, &plan.dataset_id) {
        (Some(d), _) => body["dataset"] = d,
        (None, Some(id)) => body["dataset_id"] = json!(id),
        (None, None) => {}
    }
    if let Some(m) = &plan.model {
        body["model"] = json!(m);
    }
    if let Some(n) = &plan.name {
        body["name"] = json!(n);
    }
    if !plan.labels.is_empty() {
        body["labels"] = json!(plan.labels);
    }
    if let Some(b) = &plan.baseline {
        body["baseline"] = json!(b);
    }
    if let Some(t) = &plan.target {
        body["target"] = t.clone();
    }
    if let Some(t) = &plan.targets {
        body["targets"] = json!(t);
    }
    body
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
#[path = "tests_evalfile.rs"]
mod tests;
