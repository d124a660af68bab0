//! Scorers: how a run names them (stored scorer, type string, inline spec), validation, and compilation
//! into something the engine calls per item. Heuristics are computed in place; model-graded scorers go to the
//! judge scheduler.

pub mod heuristics;
pub mod judge;
mod reply;
pub mod repo;
pub mod stats;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::error::{Error, Result};
use heuristics::Heuristic;

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

/// Validate and compile; `field` prefixes the config paths in errors (`scorers[2]`).
pub fn compile(spec: &ScorerSpec, field: &str) -> Result<CompiledScorer> {
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
    let h = Heuristic::compile(&spec.kind, &spec.config).map_err(|e| {
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
pub fn resolve(
    refs: &[ScorerRef],
    metrics: &[String],
    stored: impl Fn(&str) -> Option<ScorerSpec>,
) -> Result<Vec<(ScorerSpec, CompiledScorer)>> {
    let mut out: Vec<(ScorerSpec, CompiledScorer)> = Vec::new();
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
        let base = spec.name.clone();
        let mut n = 2;
        while out.iter().any(|(s, _)| s.name == spec.name) {
            spec.name = format!("{base}#{n}");
            n += 1;
        }
        let compiled = compile(&spec, &field)?;
        out.push((spec, compiled));
    }
    if out.is_empty() {
        return Err(Error::field("scorers", "name at least one scorer or metric"));
    }
    Ok(out)
}
