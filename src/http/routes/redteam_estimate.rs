//! The red team's cost estimate at submission: `dry_run: true` answers it (with the plan) and creates nothing; a
//! real submission carries it in its response, with a warning when `cost_limit_usd` is below its maximum (the run
//! is accepted all the same and may stop at the limit). The arithmetic is `redteam::estimate`; this file gathers
//! what it needs (the target's settings, the judge's model as the run would resolve it, the price overrides).

use std::collections::BTreeMap;
use std::time::Duration;

use actix_web::{web, HttpResponse};
use serde::Serialize;
use serde_json::{json, Value};
use utoipa::ToSchema;

use crate::error::Result;
use crate::http::auth::Caller;
use crate::http::routes::accept::{submit, Submission};
use crate::http::AppState;
use crate::judge::keys::RequestKey;
use crate::redteam::attacker::AttackerSpec;
use crate::redteam::estimate::{self, Estimate, Setup};
use crate::redteam::plan::Attempt;
use crate::redteam::transforms::Transform;
use crate::runs::repo;
use crate::targets::TargetSpec;

/// The answer of a dry run: the estimate and the plan it was made from.
#[derive(Serialize, ToSchema)]
pub struct DryRun {
    pub estimate: Estimate,
    /// `{categories: {NAME: attempts}, transforms: [...], benign, attempts_per_category, strategies?: {NAME: attempts}}`.
    #[schema(value_type = Object)]
    pub plan: Value,
}

/// The 200 answer of `POST …/security/red-team`: a dry run's estimate, or the finished run (with its `estimate`
/// and `warnings`).
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
#[allow(dead_code)] // A schema only: the handler answers JSON built from either shape.
pub enum RedTeamAnswer {
    DryRun(DryRun),
    Run(Box<crate::runs::model::Run>),
}

/// What the run's request says that the estimate needs.
pub struct Asked<'a> {
    pub org_id: &'a str,
    pub target: &'a TargetSpec,
    pub attacker: Option<&'a AttackerSpec>,
    pub run_model: Option<&'a str>,
    pub request_key: Option<&'a RequestKey>,
}

/// The estimate of `attempts` as the run would make them.
pub async fn estimate_for(state: &web::Data<AppState>, a: &Asked<'_>, attempts: &[Attempt]) -> Result<Estimate> {
    let judge = state.runs.judge();
    let spec = crate::runs::kinds::redteam::judge_spec();
    let judge_model = judge.model_for(a.org_id, &spec, a.run_model, a.request_key).await?;
    let default_max = state.config.runs.target_max_tokens;
    let (target_model, system, template, max_tokens) = match a.target {
        TargetSpec::Provider(p) => (
            Some(p.model.as_str()),
            p.system_prompt.as_deref(),
            p.prompt.as_deref(),
            p.params.as_ref().and_then(|x| x.max_tokens).unwrap_or(default_max),
        ),
        TargetSpec::Http(_) => (None, None, None, default_max),
    };
    let setup = Setup {
        target_model,
        target_system: system,
        target_template: template,
        target_max_tokens: max_tokens,
        judge_model: judge_model.as_deref(),
        judge_prompt_bytes: crate::runs::kinds::redteam::judge_prompt_bytes(),
        judge_max_tokens: crate::runs::kinds::redteam::JUDGE_MAX_TOKENS,
        judge_shown_chars: crate::runs::kinds::redteam::MAX_JUDGED_CHARS,
        attacker: a.attacker,
        prices: judge.price_overrides(),
    };
    Ok(estimate::estimate(attempts, &setup))
}

/// The plan as a dry run shows it: attempts per category, the transforms, the benign probes, the strategies.
pub fn plan_json(attempts: &[Attempt], transforms: &[Transform], per: u32, attacker: Option<&AttackerSpec>) -> Value {
    let mut categories: BTreeMap<&str, u64> = BTreeMap::new();
    let mut strategies: BTreeMap<&str, u64> = BTreeMap::new();
    let mut benign = 0u64;
    for a in attempts {
        match a.category {
            Some(c) => {
                if let Some(spec) = attacker {
                    let s = crate::redteam::attacker::strategy_for(spec, categories.values().sum::<u64>() as usize);
                    *strategies.entry(s.as_str()).or_default() += 1;
                }
                *categories.entry(c.as_str()).or_default() += 1;
            }
            None => benign += 1,
        }
    }
    let mut plan = json!({"categories": categories, "transforms": transforms.iter().map(|t| t.name()).collect::<Vec<_>>(),
                          "benign": benign, "attempts_per_category": per});
    if attacker.is_some() {
        plan["strategies"] = json!(strategies);
    }
    plan
}

/// Accepts the run as `accept` does (202, or 200 with the finished run within `wait_s`), the response carrying
/// the estimate and its warnings.
pub async fn accept_estimated(
    state: &web::Data<AppState>,
    c: &Caller,
    sub: Submission,
    estimate: &Estimate,
    warnings: Vec<String>,
) -> Result<HttpResponse> {
    let wait_s = sub.wait_s;
    let (run_id, mut rx) = submit(state, c, sub).await?;
    if let Some(w) = wait_s.filter(|w| *w > 0.0) {
        tokio::time::timeout(Duration::try_from_secs_f64(w).unwrap_or_default(), rx.wait_for(|s| s.status.is_final()))
            .await
            .ok();
    }
    let (org, rid) = (c.org_id.clone(), run_id);
    let run = state.store.read(move |conn| repo::get_run(conn, &org, &rid)).await?;
    let (status, mut body) = if run.status.is_final() {
        (actix_web::http::StatusCode::OK, serde_json::to_value(&run).unwrap_or(Value::Null))
    } else {
        // The shape of `accept::accepted`.
        (
            actix_web::http::StatusCode::ACCEPTED,
            json!({"id": run.id, "status": run.status, "status_url": format!("/v1/runs/{}", run.id), "progress": run.progress}),
        )
    };
    if let Value::Object(m) = &mut body {
        m.insert("estimate".to_owned(), json!(estimate));
        m.insert("warnings".to_owned(), json!(warnings));
    }
    Ok(HttpResponse::build(status).json(body))
}
