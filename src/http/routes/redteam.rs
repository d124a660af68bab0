//! `POST /v1/projects/{project}/security/red-team`: a run of kind `red_team`. The request's target is checked as
//! a run's is (the same target abstraction, the same destination policy), the attempts are planned here and
//! stored as the run's items, and the run is accepted like any other (202, or 200 within `wait_s`).

use std::collections::BTreeMap;

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::ToSchema;

use crate::error::{Error, Result};
use crate::http::auth::OrgMember;
use crate::http::body::{content_type, read_limited};
use crate::http::routes::accept::{validate_provider_key, validate_wait, Submission};
use crate::http::AppState;
use crate::redteam::transforms::Transform;
use crate::redteam::{
    plan, Category, DEFAULT_ATTEMPTS_PER_CATEGORY, LIBRARY_VERSION, MAX_ATTEMPTS_PER_CATEGORY, MAX_TOTAL_ATTEMPTS,
};
use crate::runs::kinds::analysis::spec_error;
use crate::runs::kinds::redteam::parse_gate;
use crate::runs::kinds::{KindSpec, RedTeamTask};
use crate::runs::repo::{self, RunSpec};
use crate::targets::TargetSpec;
use crate::tenancy::repo::find_project;

/// Most labels a red-team run may carry, and the longest label key or value (characters).
pub const MAX_LABELS: usize = 32;
pub const MAX_LABEL_CHARS: usize = 200;

/// POST /v1/projects/{project}/security/red-team
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRedTeam {
    /// What to attack: a provider target `{provider, model, system_prompt?, …}` or an HTTP target `{url, headers?,
    /// body_template?, response_path?, system_prompt?, canary?}` (headers are held in memory only).
    pub target: crate::targets::TargetBody,
    /// Category names (default: all nine).
    #[serde(default)]
    pub categories: Option<Vec<String>>,
    /// Transform names (default: `none`), or pairwise compositions `a+b` (apply `a`, then `b`); attempts cycle
    /// through them.
    #[serde(default)]
    pub transforms: Option<Vec<String>>,
    /// Attempts per category (default 10, at most `MAX_ATTEMPTS_PER_CATEGORY`).
    #[serde(default)]
    pub attempts_per_category: Option<u32>,
    /// An attacker model on the org's keys: `{provider, model, key_id?, strategies?: [paraphrase, translation,
    /// refine, multi_turn], max_rounds?: 1-5, max_turns?: 1-5}`; attack attempts cycle through the strategies.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub attacker: Option<Value>,
    /// Stop sending attacks (and judging) once the run has cost this much (USD); the rest get COST_LIMIT_EXCEEDED.
    #[serde(default)]
    pub cost_limit_usd: Option<f64>,
    /// `{max_asr?: {CATEGORY: 0..1}, max_severity?, no_regression?, baseline?: RUN_ID}`.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub gate: Option<Value>,
    #[serde(default)]
    pub wait_s: Option<f64>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<BTreeMap<String, String>>)]
    pub labels: Option<BTreeMap<String, String>>,
    /// A provider key for the judge only (kept in memory, never stored or logged).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub provider_key: Option<crate::judge::keys::RequestKey>,
    /// Judge model.
    #[serde(default)]
    pub model: Option<String>,
    /// Validate the request exactly as a submission and answer 200 `{estimate, plan}` (calls, tokens and the most
    /// USD the run can cost), creating no run and calling nothing.
    #[serde(default)]
    pub dry_run: bool,
}

fn names<T: Copy>(
    field: &str,
    given: Option<Vec<String>>,
    all: &[T],
    parse: impl Fn(&str) -> Option<T>,
    show: impl Fn(T) -> &'static str,
    default: Vec<T>,
) -> Result<Vec<T>> {
    let Some(list) = given else { return Ok(default) };
    if list.is_empty() {
        return Err(Error::field(field, format!("{field} must name at least one")));
    }
    let mut out: Vec<T> = Vec::new();
    for (i, n) in list.iter().enumerate() {
        let v = parse(n).ok_or_else(|| {
            let known: Vec<&str> = all.iter().map(|t| show(*t)).collect();
            Error::field(&format!("{field}[{i}]"), format!("{field}[{i}]: unknown {n:?}; one of {}", known.join(", ")))
        })?;
        if !out.iter().any(|o| show(*o) == show(v)) {
            out.push(v);
        }
    }
    Ok(out)
}

/// The requested transforms (default `none`), each a step or a composition `a+b`, duplicates dropped; 400 naming
/// `transforms[i]` and the unknown part.
fn transform_names(given: Option<Vec<String>>) -> Result<Vec<Transform>> {
    let Some(list) = given else { return Ok(vec![Transform::NONE]) };
    if list.is_empty() {
        return Err(Error::field("transforms", "transforms must name at least one"));
    }
    let mut out: Vec<Transform> = Vec::new();
    for (i, n) in list.iter().enumerate() {
        let t = Transform::parse(n)
            .map_err(|m| Error::field(&format!("transforms[{i}]"), format!("transforms[{i}]: {m}")))?;
        if !out.contains(&t) {
            out.push(t);
        }
    }
    Ok(out)
}

/// Submit a red-team run: 202 at once, or 200 with the finished run within `wait_s`; either carries the run's
/// cost `estimate` and `warnings` (a `cost_limit_usd` below the estimate's maximum). With `dry_run: true`, 200
/// `{estimate, plan}` and no run.
#[utoipa::path(post, path = "/v1/projects/{project}/security/red-team", tag = "analysis", params(("project" = String, Path)),
    request_body = CreateRedTeam,
    responses((status = 202, description = "accepted: {id, status, status_url, progress, estimate, warnings}", body = serde_json::Value),
        (status = 200, description = "the finished run (with estimate and warnings), or with dry_run the estimate and plan", body = super::redteam_estimate::RedTeamAnswer),
        (status = 400, description = "VALIDATION_FAILED naming the field, or BYOK_NO_KEY: an `attacker` whose provider has no usable key in the org (its `key_id` not an org key, no default key, or the org's provider_mode rules the server's key out)", body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody),
        (status = 413, body = crate::error::ErrorBody), (status = 415, body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn create_red_team(
    state: web::Data<AppState>,
    caller: OrgMember,
    project: web::Path<String>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse> {
    if content_type(&req) != "application/json" {
        return Err(Error::UnsupportedMediaType("send the request as JSON with Content-Type: application/json".into()));
    }
    let body = read_limited(&req, payload, state.config.server.max_body_bytes).await?;
    let b: CreateRedTeam = serde_json::from_slice(&body).map_err(|e| Error::Validation {
        message: format!("invalid body: {e}"),
        details: json!({"line": e.line(), "column": e.column()}),
    })?;
    let c = caller.0;
    let attacker = crate::redteam::attacker::parse(b.attacker.as_ref()).map_err(|(f, m)| Error::field(&f, m))?;
    if let Some(k) = &b.provider_key {
        validate_provider_key(k, state.runs.judge().http().policy()).await?;
    }
    if b.cost_limit_usd.is_some_and(|x| x.is_nan() || x < 0.0) {
        return Err(Error::field("cost_limit_usd", "cost_limit_usd must be a non-negative number"));
    }
    if b.model.as_deref().is_some_and(|m| m.trim().is_empty() || m.len() > 200) {
        return Err(Error::field("model", "model must be 1-200 characters"));
    }
    validate_wait(b.wait_s)?;
    if b.name.as_deref().is_some_and(|n| n.trim().is_empty() || n.chars().count() > MAX_LABEL_CHARS) {
        return Err(Error::field("name", format!("name must be 1-{MAX_LABEL_CHARS} characters (MAX_LABEL_CHARS)")));
    }
    if let Some(l) = &b.labels {
        if l.len() > MAX_LABELS
            || l.iter().any(|(k, v)| {
                k.is_empty() || k.chars().count() > MAX_LABEL_CHARS || v.chars().count() > MAX_LABEL_CHARS
            })
        {
            return Err(Error::field("labels", format!("labels: at most {MAX_LABELS} (MAX_LABELS), keys and values of at most {MAX_LABEL_CHARS} characters (MAX_LABEL_CHARS)")));
        }
    }
    let categories =
        names("categories", b.categories, &Category::ALL, Category::parse, Category::as_str, Category::ALL.to_vec())?;
    let transforms = transform_names(b.transforms)?;
    let per = b.attempts_per_category.unwrap_or(DEFAULT_ATTEMPTS_PER_CATEGORY);
    if per == 0 || per > MAX_ATTEMPTS_PER_CATEGORY {
        return Err(Error::field(
            "attempts_per_category",
            format!("attempts_per_category must be 1-{MAX_ATTEMPTS_PER_CATEGORY} (MAX_ATTEMPTS_PER_CATEGORY)"),
        ));
    }
    let total = categories.len() * per as usize + crate::redteam::library::BENIGN.len();
    if total > MAX_TOTAL_ATTEMPTS {
        return Err(Error::field(
            "attempts_per_category",
            format!("{total} attempts ({} categories × {per} + benign probes) is over MAX_TOTAL_ATTEMPTS ({MAX_TOTAL_ATTEMPTS})", categories.len()),
        ));
    }
    let cat_names: Vec<String> = categories.iter().map(|c| c.as_str().to_owned()).collect();
    let gate = b.gate.unwrap_or(Value::Null);
    let parsed_gate = parse_gate(&gate, &cat_names).map_err(spec_error)?;
    if let Some(a) = &attacker {
        // The request's own provider_key serves the attacker too when it is for the attacker's provider.
        if b.provider_key.as_ref().is_none_or(|k| k.provider != a.provider) {
            let who = format!("attacker {}/{} has no usable key", a.provider.as_str(), a.model);
            let spec = crate::runs::kinds::converse::judge_spec(a);
            super::accept::require_key(&state, &c.org_id, None, spec, &who).await?;
        }
    }
    let checked = super::matrix::checked_targets(&state, &c.org_id, Some(b.target), None).await?;
    let Some((mut list, _)) = checked else { return Err(Error::field("target", "target is required")) };
    let (mut target, headers) = list.remove(0);
    let seed: u64 = rand::random();
    let (planted, system_prompt, canary) = match &mut target {
        TargetSpec::Provider(p) => match &p.system_prompt {
            Some(s) => (None, Some(s.clone()), None),
            None => {
                let planted = plan::planted(seed);
                p.system_prompt = Some(planted.system_prompt.clone());
                (Some(planted), None, None)
            }
        },
        TargetSpec::Http(h) => (None, h.system_prompt.clone(), h.canary.clone()),
    };
    let (org, proj, baseline) = (c.org_id.clone(), project.into_inner(), parsed_gate.baseline.clone());
    let (name, labels) = (b.name.clone(), b.labels.clone());
    let (project_id, identity) = state
        .store
        .read(move |conn| {
            let p = find_project(conn, &org, &proj)?;
            if let Some(b) = &baseline {
                repo::get_run(conn, &org, b)
                    .map_err(|_| Error::field("gate.baseline", format!("gate.baseline: no run {b:?} in this org")))?;
            }
            // Name and labels as every run carries them (listed, filtered by label).
            let identity = super::run_identity::resolve(conn, &org, &p.id, "red_team", name, labels, None)?;
            Ok((p.id, identity))
        })
        .await?;
    let attempts = plan::attempts(&categories, &transforms, per, seed);
    let mut items = attempts.iter().enumerate().map(|(i, a)| a.item(i)).collect::<Vec<_>>();
    if let Some(a) = &attacker {
        tag_strategies(&mut items, a);
    }
    let asked = super::redteam_estimate::Asked {
        org_id: &c.org_id,
        target: &target,
        attacker: attacker.as_ref(),
        run_model: b.model.as_deref(),
        request_key: b.provider_key.as_ref(),
    };
    let estimate = super::redteam_estimate::estimate_for(&state, &asked, &attempts).await?;
    if b.dry_run {
        let plan = super::redteam_estimate::plan_json(&attempts, &transforms, per, attacker.as_ref());
        return Ok(HttpResponse::Ok().json(super::redteam_estimate::DryRun { estimate, plan }));
    }
    let warnings: Vec<String> =
        crate::redteam::estimate::limit_warning(&estimate, b.cost_limit_usd).into_iter().collect();
    let label = target.label();
    let task = RedTeamTask {
        categories: cat_names.clone(),
        transforms: transforms.iter().map(|t| t.name()).collect(),
        attempts_per_category: per,
        seed,
        library_version: LIBRARY_VERSION.to_owned(),
        planted,
        system_prompt,
        canary,
        gate,
        name: b.name,
        labels: b.labels.map(|l| json!(l)),
        attacker,
        estimate: Some(json!(estimate)),
    };
    let spec = RunSpec {
        scorers: Vec::new(),
        gate: Default::default(),
        model: b.model,
        // Every attack reaches the target, and no answer (which may be a leak) is kept in the cache.
        cache: false,
        cost_limit_usd: b.cost_limit_usd,
        request_key: b.provider_key.is_some(),
        target: Some(target),
        task: Some(KindSpec::RedTeam(Box::new(task))),
        identity,
    };
    let sub = Submission {
        project_id,
        spec,
        items: super::accept::encode_items(Some(items)).await?,
        dataset_id: None,
        provider_key: b.provider_key,
        target_headers: headers,
        wait_s: b.wait_s,
        action: "red_team.create",
        audit: json!({"kind": "red_team", "categories": cat_names, "target": label, "attempts": total}),
    };
    super::redteam_estimate::accept_estimated(&state, &c, sub, &estimate, warnings).await
}

/// Each attack attempt's strategy (`metadata.red_team.strategy`), cycling through the attacker's; benign probes
/// are sent as written.
fn tag_strategies(items: &mut [crate::domain::Item], spec: &crate::redteam::attacker::AttackerSpec) {
    let mut n = 0;
    for item in items {
        let Some(Value::Object(rt)) = item.metadata.as_mut().and_then(|m| m.get_mut("red_team")) else { continue };
        if rt.get("benign").and_then(Value::as_bool).unwrap_or(false) {
            continue;
        }
        let s = crate::redteam::attacker::strategy_for(spec, n);
        rt.insert("strategy".to_owned(), json!(s.as_str()));
        n += 1;
    }
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/v1/projects/{project}/security/red-team").route(web::post().to(create_red_team)));
}

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(create_red_team),
    components(schemas(
        super::redteam_estimate::RedTeamAnswer,
        super::redteam_estimate::DryRun,
        crate::redteam::estimate::Estimate,
        crate::redteam::estimate::RoleEstimate
    ))
)]
pub struct Doc;
