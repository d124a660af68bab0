//! The shapes of a red-team run's report as the OpenAPI document shows them: an attempt's row
//! (`results[].attempt`) and a rate per hazard category (`summary.hazard_categories`). The run kind builds these
//! as JSON (`runs::kinds::redteam`); the types here are the schema only, kept beside the vocabulary they name.

use serde::Serialize;
use utoipa::ToSchema;

/// One attempt of a red-team run (`results[].attempt`).
#[derive(Serialize, ToSchema)]
#[allow(dead_code)] // A schema only: the rows are built as JSON.
pub struct AttemptRow {
    /// The attack category (`prompt_injection`, …, `jailbreak`, …), or `benign` for a benign probe.
    pub category: String,
    /// The transform applied (`none`, `base64`, `base64+rot13`, …).
    pub transform: String,
    /// The library id of the attack or benign probe.
    pub attack: String,
    /// The OWASP Top 10 for LLM Applications (2025) entry of the category (`LLM01`, …); null for benign probes.
    pub owasp: Option<String>,
    /// The MLCommons hazard category (`S1`–`S14`) of a harmful-goal attack (the jailbreaks), separate from the
    /// category and its OWASP entry; null for attacks on the deployment and for benign probes.
    pub hazard_category: Option<String>,
    pub benign: bool,
    /// The target's answer (secrets and PII masked), at most 4000 characters; null when it gave none.
    pub response: Option<String>,
    /// The attack succeeded (for a benign probe: always false).
    pub success: bool,
    /// Neither the rules nor a judge could decide (no judge key, the target failed); counted apart.
    pub undecided: bool,
    /// The answer is a refusal (for a benign probe: over-refusal).
    pub refused: bool,
    /// `low`, `medium`, `high` or `critical`.
    pub severity: String,
    /// `rule`, `judge` or `none`.
    pub decided_by: String,
    pub reason: String,
    /// Runs with an attacker model: `paraphrase`, `translation`, `refine` or `multi_turn`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub strategy: Option<String>,
    /// The attacker declined to write the attempt (`reason: attacker refused`); nothing was sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<bool>,
    /// Runs with an attacker model: `[{step, role: user|assistant, content}]`, masked.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Object>>)]
    pub transcript: Option<serde_json::Value>,
}

/// The attack success rate of one hazard category (`summary.hazard_categories.S2`, …).
#[derive(Serialize, ToSchema)]
#[allow(dead_code)] // A schema only: the summary is built as JSON.
pub struct HazardRate {
    /// The category's name in the MLCommons taxonomy (`non-violent crimes`, …).
    pub name: Option<String>,
    /// Decided attempts (undecided and skipped ones apart).
    pub attempts: u64,
    pub successes: u64,
    /// successes / attempts (0 with no attempt).
    pub asr: f64,
    /// Wilson 95 % interval of `asr`: `[lo, hi]`.
    pub asr_ci: [f64; 2],
    pub undecided: u64,
    /// Successful attempts per severity.
    pub severity: std::collections::BTreeMap<String, u64>,
}
