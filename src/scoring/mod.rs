//! Scorers: how a run names them (stored scorer, type string, inline spec), validation, and compilation
//! into something the engine calls per item. Heuristics are computed in place; model-graded scorers go to the
//! judge scheduler.

pub mod heuristics;
pub mod judge;
pub mod pairwise;
pub mod reply;
pub mod repo;
pub mod stats;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::error::{Error, Result};
use heuristics::{Heuristic, HeuristicLimits};

/// A scorer as a run records it: resolved to a type and a config, with the name results carry.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct ScorerSpec {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub config: Value,
}

/// A scorer ready to score items.
pub struct CompiledScorer {
    pub name: String,
    pub kind: Compiled,
}

/// How a scorer is computed: in place, or by a model through the judge scheduler.
pub enum Compiled {
    Heuristic(Heuristic),
    Judge(judge::JudgeSpec),
}

/// Every type a run can name without a stored scorer.
pub fn known_type(kind: &str) -> bool {
    heuristics::is_heuristic(kind) || judge::is_judge(kind)
}

/// What the scorers of one run may cost: how many there are, and how big a schema may be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// `runs.max_scorers_per_run`.
    pub max_scorers: usize,
    pub schema: HeuristicLimits,
}

impl From<&crate::config::RunsConfig> for Limits {
    fn from(c: &crate::config::RunsConfig) -> Self {
        Limits {
            max_scorers: c.max_scorers_per_run,
            schema: HeuristicLimits {
                max_bytes: c.max_schema_bytes,
                max_patterns: c.max_schema_patterns,
                max_levenshtein_cells: c.max_levenshtein_cells,
            },
        }
    }
}

/// Validate and compile; `field` prefixes the config paths in errors (`scorers[2]`).
pub fn compile(spec: &ScorerSpec, field: &str, schema: &HeuristicLimits) -> Result<CompiledScorer> {
    if !known_type(&spec.kind) {
        return Err(Error::field(
            &format!("{field}.type"),
            format!(
                "unknown scorer type {:?}; known types: {}, llm_judge, {}",
                spec.kind,
                heuristics::HEURISTIC_TYPES.join(", "),
                judge::METRICS.join(", ")
            ),
        ));
    }
    if judge::is_judge(&spec.kind) {
        let j = judge::compile(&spec.kind, &spec.config).map_err(|(f, m)| {
            let path = if field.is_empty() { f } else { format!("{field}.{f}") };
            Error::field(&path, format!("{path}: {m}"))
        })?;
        return Ok(CompiledScorer { name: spec.name.clone(), kind: Compiled::Judge(j) });
    }
    let h = Heuristic::compile_limited(&spec.kind, &spec.config, schema).map_err(|e| {
        let path = if field.is_empty() { e.field.clone() } else { format!("{field}.{}", e.field) };
        Error::field(&path, format!("{path}: {}", e.message))
    })?;
    Ok(CompiledScorer { name: spec.name.clone(), kind: Compiled::Heuristic(h) })
}

/// A scorer as a request names it.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum ScorerRef {
    /// A stored scorer's name or id, or a type run with its defaults.
    Name(String),
    /// An inline scorer.
    Inline(InlineScorer),
}

#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InlineScorer {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub config: Value,
}

/// Resolve what a run asks for into specs, with unique names; `stored` looks a stored scorer up by name or id.
///
/// `limits.max_scorers` bounds the scorers (and metrics) one run may name (`runs.max_scorers_per_run`): each is
/// compiled and runs on every item, so the count multiplies a run's cost. Names are made unique in linear time
/// (`equals`, `equals#2`, …).
pub fn resolve(
    refs: &[ScorerRef],
    metrics: &[String],
    limits: &Limits,
    stored: impl Fn(&str) -> Option<ScorerSpec>,
) -> Result<Vec<(ScorerSpec, CompiledScorer)>> {
    let max = limits.max_scorers;
    if refs.len() + metrics.len() > max {
        return Err(Error::field(
            "scorers",
            format!(
                "a run may name at most {max} scorers and metrics (runs.max_scorers_per_run); this one names {}",
                refs.len() + metrics.len()
            ),
        ));
    }
    let mut out: Vec<(ScorerSpec, CompiledScorer)> = Vec::new();
    let mut taken: std::collections::HashSet<String> = std::collections::HashSet::new();
    let mut next_suffix: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let entries = refs
        .iter()
        .enumerate()
        .map(|(i, r)| (format!("scorers[{i}]"), r.clone()))
        .chain(metrics.iter().enumerate().map(|(i, m)| (format!("metrics[{i}]"), ScorerRef::Name(m.clone()))));
    for (field, r) in entries {
        let spec = match r {
            ScorerRef::Name(n) => match stored(&n) {
                Some(s) => s,
                None if known_type(&n) => ScorerSpec { name: n.clone(), kind: n, config: Value::Null },
                None => {
                    return Err(Error::field(
                        &field,
                        format!("{field}: {n:?} is neither a scorer of this project nor a scorer type"),
                    ))
                }
            },
            ScorerRef::Inline(s) => {
                let name = s.name.clone().unwrap_or_else(|| s.kind.clone());
                ScorerSpec { name, kind: s.kind, config: s.config }
            }
        };
        let mut spec = spec;
        if taken.contains(&spec.name) {
            let base = spec.name.clone();
            let n = next_suffix.entry(base.clone()).or_insert(2);
            while taken.contains(&format!("{base}#{n}")) {
                *n += 1;
            }
            spec.name = format!("{base}#{n}");
            *n += 1;
        }
        taken.insert(spec.name.clone());
        let compiled = compile(&spec, &field, &limits.schema)?;
        out.push((spec, compiled));
    }
    if out.is_empty() {
        return Err(Error::field("scorers", "name at least one scorer or metric"));
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn names_are_made_unique_in_order_even_against_explicit_suffixes() {
        let inline = |name: Option<&str>| {
            ScorerRef::Inline(InlineScorer {
                name: name.map(str::to_string),
                kind: "contains".into(),
                config: serde_json::json!({"value": "a"}),
            })
        };
        let refs = vec![inline(None), inline(Some("contains#2")), inline(None), inline(None)];
        let limits = |max_scorers| Limits { max_scorers, schema: HeuristicLimits::default() };
        let out = resolve(&refs, &[], &limits(10), |_| None).unwrap();
        let names: Vec<&str> = out.iter().map(|(s, _)| s.name.as_str()).collect();
        assert_eq!(names, ["contains", "contains#2", "contains#3", "contains#4"]);
        let err = resolve(&refs, &["relevance".to_string()], &limits(4), |_| None).err().unwrap();
        assert!(err.to_string().contains("runs.max_scorers_per_run"), "{err}");
    }
}
