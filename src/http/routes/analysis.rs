//! HTTP handlers for failure analyses, security audits and a project's stored failure buckets. Both kinds are runs
//! (`GET /v1/runs/{id}`, `…/results`, `…/events`, `…/cancel` serve them); what is here is their submission and its
//! validation, every error naming its field.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::ToSchema;

use super::shared::project_write;
use crate::analysis::custom::parse_buckets;
use crate::analysis::{SpecError, Taxonomy};
use crate::error::{Error, Result};
use crate::http::auth::{Caller, OrgMember};
use crate::http::body::{content_type, read_limited};
use crate::http::routes::accept::{accept, validate_provider_key, validate_wait, Submission};
use crate::http::AppState;
use crate::runs::kinds::analysis::{parse_overrides, spec_error};
use crate::runs::kinds::audit::{parse_checks, parse_gate};
use crate::runs::kinds::buckets::{self, StoredBucket};
use crate::runs::kinds::source::{items_of_run, Take};
use crate::runs::kinds::{audit_judge, AnalysisTask, AuditTask, KindSpec};
use crate::runs::model::{Item, Run};
use crate::runs::repo::{self, RunSpec};
use crate::store::now;
use crate::tenancy::repo::find_project;

/// Keys a `gate` of these kinds may carry.
const GATE_KEYS: [&str; 4] = ["max_severity", "max_share", "no_regression", "baseline"];

/// POST /v1/projects/{project}/failure-analysis
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAnalysis {
    /// Inline items.
    #[serde(default)]
    pub dataset: Option<Vec<Item>>,
    /// A stored dataset's id or name.
    #[serde(default)]
    pub dataset_id: Option<String>,
    /// An earlier run of the project: its failed and errored items are analysed, with their scores as evidence.
    #[serde(default)]
    pub from_run: Option<String>,
    /// Custom buckets `{name, definition, rubric?, examples?, rules?, severity}` for this analysis (next to the
    /// project's stored ones; one of the same name replaces the stored one).
    #[serde(default)]
    #[schema(value_type = Option<Vec<Object>>)]
    pub buckets: Option<Value>,
    /// `false`: only the custom buckets, not the built-in taxonomy (default true).
    #[serde(default)]
    pub builtin: Option<bool>,
    /// `{max_severity?, max_share?: {BUCKET | BUCKET.SUBCATEGORY: 0..1}, no_regression?, baseline?: RUN_ID}`.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub gate: Option<Value>,
    /// `bucket.subcategory` (or `subcategory`) → severity, over the taxonomy's defaults.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub severity_overrides: Option<Value>,
    /// A provider key for this analysis's judge only: kept in memory, never stored or logged.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub provider_key: Option<crate::judge::keys::RequestKey>,
    /// Judge model.
    #[serde(default)]
    pub model: Option<String>,
    /// Reuse cached judge replies (default true).
    #[serde(default)]
    pub cache: Option<bool>,
    /// Stop judging once the analysis has cost this much (USD).
    #[serde(default)]
    pub cost_limit_usd: Option<f64>,
    /// Hold the request up to this many seconds for the analysis to finish.
    #[serde(default)]
    pub wait_s: Option<f64>,
    /// The run's name (1-200 characters).
    #[serde(default)]
    pub name: Option<String>,
    /// Labels `{KEY: VALUE}`, as on `POST …/runs`.
    #[serde(default)]
    pub labels: Option<std::collections::BTreeMap<String, String>>,
}

/// POST /v1/projects/{project}/security/audit
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAudit {
    #[serde(default)]
    pub dataset: Option<Vec<Item>>,
    #[serde(default)]
    pub dataset_id: Option<String>,
    /// An earlier run of the project: every item with a result is audited.
    #[serde(default)]
    pub from_run: Option<String>,
    /// Check names (default: every deterministic check).
    #[serde(default)]
    #[schema(value_type = Option<Vec<String>>)]
    pub checks: Option<Value>,
    /// `{max_severity?, max_share?: {CHECK: 0..1}, no_regression?, baseline?: RUN_ID}`.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub gate: Option<Value>,
    #[serde(default)]
    pub wait_s: Option<f64>,
    /// The run's name (1-200 characters).
    #[serde(default)]
    pub name: Option<String>,
    /// Labels `{KEY: VALUE}`, as on `POST …/runs`.
    #[serde(default)]
    pub labels: Option<std::collections::BTreeMap<String, String>>,
    /// A provider key for the judge of `harmful_content` and `toxicity` (kept in memory, never stored or logged).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub provider_key: Option<crate::judge::keys::RequestKey>,
    /// Judge model for the judged checks.
    #[serde(default)]
    pub model: Option<String>,
}

/// Reads a JSON body off the HTTP worker, explaining which item is wrong when the dataset is.
async fn read_body<T: serde::de::DeserializeOwned + Send + 'static>(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    payload: web::Payload,
) -> Result<T> {
    if content_type(req) != "application/json" {
        return Err(Error::UnsupportedMediaType("send the request as JSON with Content-Type: application/json".into()));
    }
    let body = read_limited(req, payload, state.config.server.max_dataset_bytes).await?;
    crate::telemetry::spawn_blocking_in_span(move || {
        serde_json::from_slice::<T>(&body).map_err(|e| {
            if let Ok(Value::Object(mut m)) = serde_json::from_slice::<Value>(&body) {
                if let Some(Value::Array(items)) = m.remove("dataset") {
                    if let Err(err) = crate::runs::dataset::items_from_values(items) {
                        return err;
                    }
                }
            }
            Error::Validation {
                message: format!("invalid body: {e}"),
                details: json!({"line": e.line(), "column": e.column()}),
            }
        })
    })
    .await
    .map_err(Error::internal)?
}

/// Unknown gate keys are refused by name, so a typo (`max_sevrity`) cannot silently disable a gate.
fn check_gate_keys(gate: &Value) -> Result<()> {
    if let Some(obj) = gate.as_object() {
        if let Some(k) = obj.keys().find(|k| !GATE_KEYS.contains(&k.as_str())) {
            return Err(Error::field(
                &format!("gate.{k}"),
                format!("gate.{k} is not a gate rule of this kind; one of {}", GATE_KEYS.join(", ")),
            ));
        }
    }
    Ok(())
}

/// The project, the items (inline or from a run) and the dataset id, checked: exactly one source.
#[allow(clippy::too_many_arguments)]
async fn resolve_source(
    state: &web::Data<AppState>,
    c: &Caller,
    project: String,
    dataset: Option<Vec<Item>>,
    dataset_id: Option<String>,
    from_run: Option<String>,
    take: Take,
    baseline: Option<String>,
    kind: &'static str,
) -> Result<(String, Option<Vec<Item>>, Option<String>, Option<String>)> {
    let given = [dataset.is_some(), dataset_id.is_some(), from_run.is_some()].iter().filter(|b| **b).count();
    if given != 1 {
        return Err(Error::field("dataset", "give exactly one of dataset (items), dataset_id or from_run"));
    }
    if dataset.as_ref().is_some_and(Vec::is_empty) {
        return Err(Error::field("dataset", "the dataset has no items"));
    }
    if let Some(items) = &dataset {
        crate::runs::dataset::require_outputs(items)?;
    }
    let (org, ds) = (c.org_id.clone(), dataset_id.clone());
    let (pid, from, baseline) = state
        .store
        .read(move |conn| {
            let p = find_project(conn, &org, &project)?;
            // `label=KEY:VALUE` or a run id of this project and kind, resolved once, here.
            let baseline = match &baseline {
                Some(b) => Some(crate::runs::identity::resolve_baseline(conn, &org, &p.id, kind, "gate.baseline", b)?),
                None => None,
            };
            if let Some(d) = &ds {
                repo::find_dataset(conn, &p.id, d)?;
            }
            let from = match &from_run {
                Some(r) => Some(items_of_run(conn, &org, &p.id, r, take)?),
                None => None,
            };
            Ok((p.id, from, baseline))
        })
        .await?;
    let items = match (dataset, from) {
        (Some(d), _) => Some(d),
        (None, Some(f)) if f.is_empty() => {
            let what = if take == Take::NotPassed { "no failed or errored item" } else { "no item with a result" };
            return Err(Error::field("from_run", format!("from_run: that run has {what} to look at")));
        }
        (None, f) => f,
    };
    Ok((pid, items, dataset_id, baseline))
}

/// The gate with its `baseline` resolved to a run id, and the run's identity.
fn with_baseline(
    mut gate: Value,
    baseline_id: Option<String>,
    name: Option<String>,
    labels: Option<std::collections::BTreeMap<String, String>>,
) -> (Value, crate::runs::identity::Identity) {
    if let (Some(id), Some(g)) = (&baseline_id, gate.as_object_mut()) {
        g.insert("baseline".into(), json!(id));
    }
    (gate, crate::runs::identity::Identity { name, labels: labels.unwrap_or_default(), baseline_id })
}

fn baseline_of(gate: &Value) -> Option<String> {
    gate.get("baseline").and_then(Value::as_str).map(str::to_owned)
}

/// Submit a failure analysis: a run of kind `failure_analysis`; 202 at once, or 200 with the finished run.
#[utoipa::path(post, path = "/v1/projects/{project}/failure-analysis", tag = "analysis", params(("project" = String, Path)),
    request_body = CreateAnalysis,
    responses((status = 202, description = "accepted: {id, status, status_url, progress}", body = serde_json::Value), (status = 200, body = Run),
        (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody),
        (status = 413, body = crate::error::ErrorBody), (status = 415, body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn create_analysis(
    state: web::Data<AppState>,
    caller: OrgMember,
    project: web::Path<String>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse> {
    let b: CreateAnalysis = read_body(&state, &req, payload).await?;
    crate::http::routes::run_identity::check(b.name.as_deref(), b.labels.as_ref())?;
    let c = caller.0;
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
    let gate = b.gate.clone().unwrap_or(Value::Null);
    check_gate_keys(&gate)?;
    let overrides = match &b.severity_overrides {
        None | Some(Value::Null) => Default::default(),
        Some(v) => parse_overrides(v).map_err(spec_error)?,
    };
    let (project_id, items, dataset_id, base) = resolve_source(
        &state,
        &c,
        project.into_inner(),
        b.dataset,
        b.dataset_id,
        b.from_run.clone(),
        Take::NotPassed,
        baseline_of(&gate),
        "failure_analysis",
    )
    .await?;
    let (gate, identity) = with_baseline(gate, base, b.name, b.labels);
    let pid = project_id.clone();
    let stored = state.store.read(move |conn| buckets::all(conn, &pid)).await?;
    let task = AnalysisTask {
        buckets: buckets::merged(stored, b.buckets.as_ref()),
        builtin: b.builtin.unwrap_or(true),
        gate,
        severity_overrides: overrides,
    };
    // Compiling the taxonomy (custom rules' regexes) is CPU work: off the HTTP worker.
    let task = crate::telemetry::spawn_blocking_in_span(move || {
        let analyzer = task.analyzer().map_err(spec_error)?;
        task.gate(&analyzer).map_err(spec_error)?;
        Ok::<_, Error>(task)
    })
    .await
    .map_err(Error::internal)??;
    let custom = task.buckets.as_ref().and_then(Value::as_array).map_or(0, Vec::len);
    let spec = RunSpec {
        scorers: Vec::new(),
        gate: Default::default(),
        model: b.model,
        cache: b.cache.unwrap_or(true),
        cost_limit_usd: b.cost_limit_usd,
        request_key: b.provider_key.is_some(),
        target: None,
        task: Some(KindSpec::FailureAnalysis(task)),
        identity,
    };
    let sub = Submission {
        project_id,
        spec,
        items: super::accept::encode_items(items).await?,
        dataset_id,
        provider_key: b.provider_key,
        target_headers: Vec::new(),
        wait_s: b.wait_s,
        action: "failure_analysis.create",
        audit: json!({"kind": "failure_analysis", "custom_buckets": custom, "from_run": b.from_run}),
    };
    accept(&state, &c, sub).await
}

/// Submit a security audit: a run of kind `security_audit`; 202 at once, or 200 with the finished run.
#[utoipa::path(post, path = "/v1/projects/{project}/security/audit", tag = "analysis", params(("project" = String, Path)),
    request_body = CreateAudit,
    responses((status = 202, description = "accepted: {id, status, status_url, progress}", body = serde_json::Value), (status = 200, body = Run),
        (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody),
        (status = 413, body = crate::error::ErrorBody), (status = 415, body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn create_audit(
    state: web::Data<AppState>,
    caller: OrgMember,
    project: web::Path<String>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse> {
    let b: CreateAudit = read_body(&state, &req, payload).await?;
    crate::http::routes::run_identity::check(b.name.as_deref(), b.labels.as_ref())?;
    let c = caller.0;
    validate_wait(b.wait_s)?;
    let checks = parse_checks(b.checks.as_ref()).map_err(spec_error)?;
    if let Some(k) = &b.provider_key {
        validate_provider_key(k, state.runs.judge().http().policy()).await?;
    }
    if b.model.as_deref().is_some_and(|m| m.trim().is_empty() || m.len() > 200) {
        return Err(Error::field("model", "model must be 1-200 characters"));
    }
    let judged: Vec<&String> = checks.iter().filter(|c| audit_judge::JUDGED.contains(&c.as_str())).collect();
    if !judged.is_empty() && b.provider_key.is_none() {
        // The judged checks need a key now: refused here rather than every item errored later.
        let names: Vec<&str> = judged.iter().map(|s| s.as_str()).collect();
        let who = format!("checks {} need a judge", names.join(", "));
        super::accept::require_key(&state, &c.org_id, b.model.as_deref(), audit_judge::judge_spec(), &who).await?;
    }
    let gate = b.gate.unwrap_or(Value::Null);
    check_gate_keys(&gate)?;
    parse_gate(&gate, &checks).map_err(spec_error)?;
    let (project_id, items, dataset_id, base) = resolve_source(
        &state,
        &c,
        project.into_inner(),
        b.dataset,
        b.dataset_id,
        b.from_run.clone(),
        Take::All,
        baseline_of(&gate),
        "security_audit",
    )
    .await?;
    let (gate, identity) = with_baseline(gate, base, b.name, b.labels);
    let audit_details = json!({"kind": "security_audit", "checks": checks, "from_run": b.from_run});
    let spec = RunSpec {
        scorers: Vec::new(),
        gate: Default::default(),
        model: b.model,
        cache: true,
        cost_limit_usd: None,
        request_key: b.provider_key.is_some(),
        target: None,
        task: Some(KindSpec::SecurityAudit(AuditTask { checks, gate })),
        identity,
    };
    let sub = Submission {
        project_id,
        spec,
        items: super::accept::encode_items(items).await?,
        dataset_id,
        provider_key: b.provider_key,
        target_headers: Vec::new(),
        wait_s: b.wait_s,
        action: "security_audit.create",
        audit: audit_details,
    };
    accept(&state, &c, sub).await
}

/// A [`SpecError`] of a single bucket (`buckets[0].rules[1].pattern`) named from the bucket (`rules[1].pattern`).
fn bucket_error(e: SpecError) -> Error {
    let field = e.field.strip_prefix("buckets[0].").or_else(|| e.field.strip_prefix("buckets[0]")).unwrap_or(&e.field);
    let field = if field.is_empty() { "bucket" } else { field };
    Error::field(field, format!("{field}: {}", e.message))
}

/// Store a custom failure bucket for the project's analyses; validated now (rules compiled), errors naming the field.
#[utoipa::path(post, path = "/v1/projects/{project}/buckets", tag = "analysis", params(("project" = String, Path)),
    request_body(content = Object, description = "{name, definition, rubric?, examples?: [{input, output, verdict}], rules?: [..], severity}"),
    responses((status = 201, body = StoredBucket), (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody),
        (status = 409, body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn create_bucket(
    state: web::Data<AppState>,
    caller: OrgMember,
    project: web::Path<String>,
    body: web::Json<Value>,
) -> Result<HttpResponse> {
    let bucket = body.into_inner();
    let checked = bucket.clone();
    let name = crate::telemetry::spawn_blocking_in_span(move || {
        let builtin = Taxonomy::builtin();
        let names: Vec<&str> = builtin.buckets.iter().map(|b| b.name.as_str()).collect();
        let parsed = parse_buckets(&Value::Array(vec![checked]), &names).map_err(bucket_error)?;
        parsed.into_iter().next().map(|b| b.name).ok_or_else(|| Error::field("name", "name: required"))
    })
    .await
    .map_err(Error::internal)??;
    let c = caller.0;
    let stored = project_write(&state.store, c, project.into_inner(), move |tx, c, p| {
        let s = buckets::insert(tx, &c.org_id, &p.id, &name, &bucket, &now())?;
        c.audit(tx, "bucket.create", "bucket", &s.id, json!({"name": s.name}))?;
        Ok(s)
    })
    .await?;
    Ok(HttpResponse::Created().json(stored))
}

/// The project's stored custom buckets (all of them: at most `MAX_STORED_BUCKETS`), and the built-in taxonomy.
#[utoipa::path(get, path = "/v1/projects/{project}/buckets", tag = "analysis", params(("project" = String, Path)),
    responses((status = 200, body = inline(crate::domain::Page<StoredBucket>)), (status = 404, body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn list_buckets(
    state: web::Data<AppState>,
    caller: OrgMember,
    project: web::Path<String>,
) -> Result<HttpResponse> {
    let org = caller.0.org_id;
    let items = state
        .store
        .read(move |c| {
            let p = find_project(c, &org, &project)?;
            buckets::all(c, &p.id)
        })
        .await?;
    // The built-in taxonomy rides along, so a client sees every bucket an analysis of the project uses.
    Ok(HttpResponse::Ok().json(json!({"items": items, "next_cursor": null, "builtin": Taxonomy::builtin().describe()})))
}

/// Delete a stored bucket (by id or name); analyses already submitted keep theirs.
#[utoipa::path(delete, path = "/v1/projects/{project}/buckets/{id}", tag = "analysis",
    params(("project" = String, Path), ("id" = String, Path)),
    responses((status = 204), (status = 404, body = crate::error::ErrorBody)), security(("api_key" = [])))]
pub async fn delete_bucket(
    state: web::Data<AppState>,
    caller: OrgMember,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse> {
    let (project, id) = path.into_inner();
    let c = caller.0;
    project_write(&state.store, c, project, move |tx, c, p| {
        let s = buckets::delete(tx, &p.id, &id)?;
        c.audit(tx, "bucket.delete", "bucket", &s.id, json!({"name": s.name}))?;
        Ok(())
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Failure analysis, security audit and stored buckets.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/v1/projects/{project}/failure-analysis").route(web::post().to(create_analysis)))
        .service(web::resource("/v1/projects/{project}/security/audit").route(web::post().to(create_audit)))
        .service(
            web::resource("/v1/projects/{project}/buckets")
                .route(web::post().to(create_bucket))
                .route(web::get().to(list_buckets)),
        )
        .service(web::resource("/v1/projects/{project}/buckets/{id}").route(web::delete().to(delete_bucket)));
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(create_analysis, create_audit, create_bucket, list_buckets, delete_bucket))]
pub struct Doc;
