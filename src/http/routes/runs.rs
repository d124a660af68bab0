//! HTTP handlers for datasets and runs.

use std::time::Duration;

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::ToSchema;

use super::shared::{id_page, project_write};
use crate::domain::Page;
use crate::error::{Error, Result};
use crate::http::auth::OrgMember;
use crate::http::body::{content_type, read_limited};
use crate::http::routes::accept::{accept, validate_provider_key, validate_wait, Submission};
use crate::http::routes::run_identity;
use crate::http::AppState;
use crate::runs::dataset::{self, Format};
use crate::runs::inline::Inline;
use crate::runs::kinds::result_filter;
use crate::runs::model::{GateSpec, Item, Run};
use crate::runs::repo::{self, Dataset, ResultsQuery, RunSpec};
use crate::runs::summary::{validate_gate, Outcome};
use crate::scoring::{self, repo as scorer_repo, ScorerRef};
use crate::store::now;
use crate::store::page::{self, PageQuery};
use crate::tenancy::model::validate_name;
use crate::tenancy::repo::find_project;
use crate::usage::audit;

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DatasetQuery {
    /// The dataset's name (default: `dataset-<time>`).
    pub name: Option<String>,
}

/// Upload a dataset: a JSON array (`application/json`), JSONL (`application/x-ndjson`) or CSV (`text/csv`).
#[utoipa::path(post, path = "/v1/projects/{project}/datasets", tag = "runs", params(("project" = String, Path), DatasetQuery),
    request_body(content = Vec<Item>, description = "JSON array, JSONL or CSV with a header row"),
    responses((status = 201, body = Dataset), (status = 400, body = crate::error::ErrorBody), (status = 413, body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn create_dataset(
    state: web::Data<AppState>,
    caller: OrgMember,
    project: web::Path<String>,
    q: web::Query<DatasetQuery>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse> {
    let format = Format::from_content_type(&content_type(&req)).ok_or_else(|| {
        Error::UnsupportedMediaType("send a dataset as application/json, application/x-ndjson or text/csv".into())
    })?;
    let name = q.into_inner().name.unwrap_or_else(|| format!("dataset-{}", now()));
    validate_name("name", &name)?;
    let body = read_limited(&req, payload, state.config.server.max_dataset_bytes).await?;
    let items = crate::telemetry::spawn_blocking_in_span(move || dataset::parse(format, &body))
        .await
        .map_err(Error::internal)??;
    let c = caller.0;
    let ds = project_write(&state.store, c, project.into_inner(), move |tx, c, p| {
        let ds = repo::insert_dataset(tx, &c.org_id, &p.id, &name, &items, &now())?;
        c.audit(tx, "dataset.create", "dataset", &ds.id, json!({"name": ds.name, "items": ds.items}))?;
        Ok(ds)
    })
    .await?;
    Ok(HttpResponse::Created().json(ds))
}

/// A project's datasets.
#[utoipa::path(get, path = "/v1/projects/{project}/datasets", tag = "runs", params(("project" = String, Path), PageQuery),
    responses((status = 200, body = inline(Page<Dataset>))), security(("api_key" = [])))]
pub async fn list_datasets(
    state: web::Data<AppState>,
    caller: OrgMember,
    project: web::Path<String>,
    q: web::Query<PageQuery>,
) -> Result<HttpResponse> {
    let org = caller.0.org_id;
    id_page(
        &state.store,
        &q,
        |d: &Dataset| &d.id,
        move |c, after, limit| {
            let p = find_project(c, &org, &project)?;
            repo::list_datasets(c, &p.id, after, limit)
        },
    )
    .await
}

/// One dataset's metadata.
#[utoipa::path(get, path = "/v1/projects/{project}/datasets/{id}", tag = "runs", params(("project" = String, Path), ("id" = String, Path)),
    responses((status = 200, body = Dataset), (status = 404, body = crate::error::ErrorBody)), security(("api_key" = [])))]
pub async fn get_dataset(
    state: web::Data<AppState>,
    caller: OrgMember,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse> {
    let (project, id) = path.into_inner();
    let org = caller.0.org_id;
    let ds = state
        .store
        .read(move |c| {
            let p = find_project(c, &org, &project)?;
            repo::find_dataset(c, &p.id, &id)
        })
        .await?;
    Ok(HttpResponse::Ok().json(ds))
}

/// Delete a dataset (runs made from it keep their own copy of the items).
#[utoipa::path(delete, path = "/v1/projects/{project}/datasets/{id}", tag = "runs", params(("project" = String, Path), ("id" = String, Path)),
    responses((status = 204), (status = 404, body = crate::error::ErrorBody)), security(("api_key" = [])))]
pub async fn delete_dataset(
    state: web::Data<AppState>,
    caller: OrgMember,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse> {
    let (project, id) = path.into_inner();
    let c = caller.0;
    project_write(&state.store, c, project, move |tx, c, p| {
        let ds = repo::find_dataset(tx, &p.id, &id)?;
        repo::delete_dataset(tx, &p.id, &ds.id)?;
        c.audit(tx, "dataset.delete", "dataset", &ds.id, json!({"name": ds.name}))?;
        Ok(())
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// POST /v1/projects/{project}/runs
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRun {
    /// Inline items (read one at a time into their stored text: see [`crate::runs::inline`]).
    #[serde(default)]
    #[schema(value_type = Option<Vec<Item>>)]
    pub dataset: Option<Inline>,
    /// A stored dataset's id or name.
    #[serde(default)]
    pub dataset_id: Option<String>,
    /// Stored scorer names or ids, scorer types, or inline `{type, config, name?}`.
    #[serde(default)]
    pub scorers: Vec<ScorerRef>,
    /// Built-in metric names.
    #[serde(default)]
    pub metrics: Vec<String>,
    #[serde(default)]
    pub gate: Option<GateSpec>,
    /// Hold the request up to this many seconds for the run to finish.
    #[serde(default)]
    pub wait_s: Option<f64>,
    /// A provider key for this run only: kept in memory, never stored or logged.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub provider_key: Option<crate::judge::keys::RequestKey>,
    /// Judge model for this run (a scorer's own `model` still wins).
    #[serde(default)]
    pub model: Option<String>,
    /// Reuse cached verdicts (default true).
    #[serde(default)]
    pub cache: Option<bool>,
    /// Stop judging once the run has cost this much (USD); the rest get COST_LIMIT_EXCEEDED.
    #[serde(default)]
    pub cost_limit_usd: Option<f64>,
    /// The run's name (1-200 characters).
    #[serde(default)]
    pub name: Option<String>,
    /// Labels `{KEY: VALUE}`: at most 32, keys `[A-Za-z0-9_.-]{1,64}`, values at most 200 characters.
    #[serde(default)]
    pub labels: Option<std::collections::BTreeMap<String, String>>,
    /// The run to compare with: `label=KEY:VALUE` (the newest completed run of this project with that label) or a
    /// run id; resolved at acceptance. `gate.no_regression` needs it.
    #[serde(default)]
    pub baseline: Option<String>,
    /// Items without `output` get theirs from this target, then are scored.
    #[serde(default)]
    pub target: Option<crate::targets::TargetBody>,
    /// A matrix: one run per target (2..=`runs.max_matrix_targets`) over the same items.
    #[serde(default)]
    pub targets: Option<Vec<crate::targets::TargetBody>>,
}

/// A body that failed to parse: say which item, when the body is JSON at all.
fn explain_run_body(body: &[u8], e: serde_json::Error) -> Error {
    if let Ok(Value::Object(mut m)) = serde_json::from_slice::<Value>(body) {
        if let Some(Value::Array(items)) = m.remove("dataset") {
            if let Err(err) = dataset::items_from_values(items) {
                return err;
            }
        }
    }
    Error::Validation {
        message: format!("invalid run body: {e}"),
        details: json!({"line": e.line(), "column": e.column()}),
    }
}

/// Submit a run; 202 at once, or 200 with the finished run when `wait_s` allows.
#[utoipa::path(post, path = "/v1/projects/{project}/runs", tag = "runs", params(("project" = String, Path)), request_body = CreateRun,
    responses((status = 202, description = "accepted: {id, status, status_url, progress}; with `targets`: {runs: [{id, status, status_url, target}], comparison_url}", body = serde_json::Value),
        (status = 200, description = "the finished run; with `targets`: {runs: [Run], comparison}", body = super::matrix::RunAnswer),
        (status = 400, body = crate::error::ErrorBody), (status = 413, body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn create_run(
    state: web::Data<AppState>,
    caller: OrgMember,
    project: web::Path<String>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse> {
    if content_type(&req) != "application/json" {
        return Err(Error::UnsupportedMediaType("send the run as JSON with Content-Type: application/json".into()));
    }
    let t0 = std::time::Instant::now();
    let body = read_limited(&req, payload, state.config.server.max_dataset_bytes).await?;
    let t_read = t0.elapsed();
    let parsed = crate::telemetry::spawn_blocking_in_span(move || {
        serde_json::from_slice::<CreateRun>(&body).map_err(|e| explain_run_body(&body, e))
    })
    .await
    .map_err(Error::internal)??;
    let t_parse = t0.elapsed() - t_read;
    let CreateRun {
        dataset,
        dataset_id,
        scorers,
        metrics,
        gate,
        wait_s,
        provider_key,
        model,
        cache,
        cost_limit_usd,
        name,
        labels,
        baseline,
        target,
        targets,
    } = parsed;
    run_identity::check(name.as_deref(), labels.as_ref())?;
    if let Some(k) = &provider_key {
        validate_provider_key(k, state.runs.judge().http().policy()).await?;
    }
    if cost_limit_usd.is_some_and(|c| c.is_nan() || c < 0.0) {
        return Err(Error::field("cost_limit_usd", "cost_limit_usd must be a non-negative number"));
    }
    if model.as_deref().is_some_and(|m| m.trim().is_empty() || m.len() > 200) {
        return Err(Error::field("model", "model must be 1-200 characters"));
    }
    let gate = gate.unwrap_or_default();
    validate_gate(&gate)?;
    run_identity::check_no_regression(gate.no_regression, baseline.as_deref(), "baseline")?;
    validate_wait(wait_s)?;
    let checked = super::matrix::checked_targets(&state, &caller.0.org_id, target, targets).await?;
    let items = match (dataset, &dataset_id) {
        (Some(_), Some(_)) => return Err(Error::field("dataset", "give dataset or dataset_id, not both")),
        (None, None) => return Err(Error::field("dataset", "a run needs dataset (items) or dataset_id")),
        (Some(items), None) if items.is_empty() => return Err(Error::field("dataset", "the dataset has no items")),
        (Some(items), None) => {
            if checked.is_none() {
                items.require_outputs()?;
            }
            Some(items)
        }
        (None, Some(_)) => None,
    };
    let c = caller.0;
    let (org, proj) = (c.org_id.clone(), project.into_inner());
    let proj_name = proj.clone();
    let (project_id, stored, identity) = state
        .store
        .read(move |conn| {
            let p = find_project(conn, &org, &proj)?;
            let b = baseline.as_deref().map(|b| ("baseline", b));
            let identity = run_identity::resolve(conn, &org, &p.id, "eval", name, labels, b)?;
            Ok((p.id.clone(), scorer_repo::all(conn, &p.id)?, identity))
        })
        .await?;
    // Compiling scorers (regexes, schemas) is CPU work: off the HTTP worker.
    let limits = scoring::Limits::from(&state.config.runs);
    let resolved = crate::telemetry::spawn_blocking_in_span(move || {
        let by_name: std::collections::HashMap<&str, &scorer_repo::StoredScorer> =
            stored.iter().flat_map(|s| [(s.name.as_str(), s), (s.id.as_str(), s)]).collect();
        scoring::resolve(&scorers, &metrics, &limits, |name| by_name.get(name).map(|s| s.spec()))
    })
    .await
    .map_err(Error::internal)??;
    // A judge scorer naming a provider key the org does not have would fail on every item: refuse it now.
    let named_keys: Vec<(usize, String)> = resolved
        .iter()
        .enumerate()
        .filter_map(|(i, (s, _))| s.config.get("key_id").and_then(Value::as_str).map(|k| (i, k.to_string())))
        .collect();
    if !named_keys.is_empty() {
        let org = c.org_id.clone();
        let keys = state.store.read(move |conn| crate::byok::repo::all_of_org(conn, &org)).await?;
        if let Some((i, k)) = named_keys.iter().find(|(_, k)| !keys.iter().any(|pk| &pk.id == k)) {
            return Err(Error::field(
                &format!("scorers[{i}].config.key_id"),
                format!("scorers[{i}].config.key_id: no provider key {k:?} in this org"),
            ));
        }
    }
    let spec = RunSpec {
        scorers: resolved.into_iter().map(|(s, _)| s).collect(),
        gate,
        model,
        cache: cache.unwrap_or(true),
        cost_limit_usd,
        request_key: provider_key.is_some(),
        target: None,
        task: None,
        identity,
    };
    let names: Vec<String> = spec.scorers.iter().map(|s| s.name.clone()).collect();
    tracing::debug!(read_ms = t_read.as_secs_f64() * 1e3, parse_ms = t_parse.as_secs_f64() * 1e3, "run body read");
    let submission = |spec: RunSpec, items: Option<Inline>, headers: crate::targets::Headers| Submission {
        project_id: project_id.clone(),
        audit: json!({"scorers": names, "target": spec.target.as_ref().map(|t| t.label())}),
        spec,
        items,
        dataset_id: dataset_id.clone(),
        provider_key: provider_key.clone(),
        target_headers: headers,
        wait_s,
        action: "run.create",
    };
    match checked {
        Some((list, true)) => {
            let subs = list
                .into_iter()
                .map(|(t, headers)| {
                    let spec = RunSpec { target: Some(t.clone()), ..spec.clone() };
                    (submission(spec, items.clone(), headers), t)
                })
                .collect();
            super::matrix::submit_matrix(&state, &c, &proj_name, subs, wait_s).await
        }
        Some((mut list, false)) => {
            let (t, headers) = list.remove(0);
            let spec = RunSpec { target: Some(t), ..spec };
            accept(&state, &c, submission(spec, items, headers)).await
        }
        None => accept(&state, &c, submission(spec, items, Vec::new())).await,
    }
}

/// A run's status, progress and (when finished) summary.
#[utoipa::path(get, path = "/v1/runs/{id}", tag = "runs", params(("id" = String, Path)),
    responses((status = 200, body = Run), (status = 404, body = crate::error::ErrorBody)), security(("api_key" = [])))]
pub async fn get_run(state: web::Data<AppState>, caller: OrgMember, id: web::Path<String>) -> Result<HttpResponse> {
    let org = caller.0.org_id;
    let mut run = state.store.read(move |c| repo::get_run(c, &org, &id)).await?;
    if let Some(rx) = state.runs.subscribe(&run.id) {
        run.progress.done = run.progress.done.max(rx.borrow().done);
    }
    Ok(HttpResponse::Ok().json(run))
}

/// A project's runs, newest first; `label=KEY:VALUE` (repeatable) keeps those with every label given.
#[utoipa::path(get, path = "/v1/projects/{project}/runs", tag = "runs", params(("project" = String, Path), run_identity::RunsQuery),
    responses((status = 200, body = inline(Page<Run>)), (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn list_runs(
    state: web::Data<AppState>,
    caller: OrgMember,
    project: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse> {
    let (q, labels) = run_identity::parse_runs_query(req.query_string())?;
    let (limit, before) = (q.limit()?, q.after()?);
    let org = caller.0.org_id;
    let rows = state
        .store
        .read(move |c| {
            let p = find_project(c, &org, &project)?;
            repo::list_runs(c, &p.id, &labels, before.as_deref(), limit)
        })
        .await?;
    let (items, next_cursor) = page::finish(rows, limit, |r| &r.id);
    Ok(HttpResponse::Ok().json(Page { items, next_cursor }))
}

/// One row per item: the item and its scores, in item order. Filters combine (all must hold) and page with the
/// cursor. A failure analysis's results also filter by `bucket`, `subcategory` and `severity`: items with a failing
/// check there, by the worst severity of those checks (the same counting as the summary's `buckets`); a name not
/// in the run's taxonomy, a severity off the scale, or these filters on another kind of run is a 400 naming the
/// parameter.
#[utoipa::path(get, path = "/v1/runs/{id}/results", tag = "runs", params(("id" = String, Path), ResultsQuery),
    responses((status = 200, body = inline(Page<crate::runs::model::ItemResult>)), (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn list_results(
    state: web::Data<AppState>,
    caller: OrgMember,
    id: web::Path<String>,
    q: web::Query<ResultsQuery>,
) -> Result<HttpResponse> {
    let q = q.into_inner();
    let pq = PageQuery { limit: q.limit, cursor: q.cursor.clone() };
    let (limit, after) = (pq.limit()?, pq.after_index()?);
    let outcome = match q.status.as_deref() {
        None => None,
        Some("passed") => Some(Outcome::Passed),
        Some("failed") => Some(Outcome::Failed),
        Some("errored") => Some(Outcome::Errored),
        Some(other) => {
            return Err(Error::field("status", format!("status {other:?} is not one of passed, failed, errored")))
        }
    };
    let analysis = result_filter::parse(q.bucket.clone(), q.subcategory.clone(), q.severity.as_deref())?;
    let org = caller.0.org_id;
    let rows = state
        .store
        .read(move |c| {
            repo::run_status(c, &org, &id)?;
            result_filter::check(c, &id, &analysis)?;
            let search = q.q.as_deref().map(str::trim).filter(|s| !s.is_empty());
            repo::list_results(c, &id, after, outcome, q.scorer.as_deref(), search, &analysis, limit)
        })
        .await?;
    let (items, next_cursor) = page::finish_by_index(rows, limit, |r| r.index);
    Ok(HttpResponse::Ok().json(json!({"items": items, "next_cursor": next_cursor})))
}

/// Cancel a queued or running run.
#[utoipa::path(post, path = "/v1/runs/{id}/cancel", tag = "runs", params(("id" = String, Path)),
    responses((status = 200, body = Run), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn cancel_run(state: web::Data<AppState>, caller: OrgMember, id: web::Path<String>) -> Result<HttpResponse> {
    let c = caller.0;
    let (org, rid, actor) = (c.org_id.clone(), id.into_inner(), c.actor());
    let r2 = rid.clone();
    state
        .store
        .write(move |conn| {
            let tx = conn.transaction()?;
            repo::cancel_run(&tx, &org, &r2)?;
            audit::record(&tx, Some(&org), &actor, "run.cancel", "run", Some(&r2), json!({}))?;
            tx.commit()?;
            Ok(())
        })
        .await?;
    state.runs.cancel(&rid);
    if let Some(mut rx) = state.runs.subscribe(&rid) {
        tokio::time::timeout(Duration::from_secs(10), rx.wait_for(|s| s.status.is_final())).await.ok();
    }
    let org = c.org_id;
    let run = state.store.read(move |conn| repo::get_run(conn, &org, &rid)).await?;
    Ok(HttpResponse::Ok().json(run))
}

/// One Server-Sent Event as a client's SSE parser reads it (the document describes events, not the raw stream).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct RunEvent {
    /// `progress` or `summary`.
    event: String,
    /// JSON text: `{done, total}` for `progress`, the finished run for `summary`.
    data: String,
    id: Option<String>,
    retry: Option<u64>,
}

/// Server-Sent Events: `progress` events while the run goes, then one `summary` event with the finished run.
/// A client that connects after the end gets the `summary` event at once.
#[utoipa::path(get, path = "/v1/runs/{id}/events", tag = "runs", params(("id" = String, Path)),
    responses((status = 200, description = "`progress` events, then one `summary` event", body = RunEvent, content_type = "text/event-stream"), (status = 404, body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn events(state: web::Data<AppState>, caller: OrgMember, id: web::Path<String>) -> Result<HttpResponse> {
    let org = caller.0.org_id;
    let rid = id.into_inner();
    let (o, r) = (org.clone(), rid.clone());
    state.store.read(move |c| repo::run_status(c, &o, &r)).await?;
    let (tx, rx) = tokio::sync::mpsc::channel::<web::Bytes>(16);
    let st = state.clone();
    actix_web::rt::spawn(async move {
        crate::http::sse::produce(st, org, rid, tx).await;
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|b| (Ok::<_, actix_web::Error>(b), rx))
    });
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("cache-control", "no-cache"))
        .insert_header(("x-accel-buffering", "no"))
        .streaming(stream))
}

/// Compare two runs of a project (of one kind). Two failure analyses add `buckets`: per bucket and subcategory the
/// failed items and shares of both runs, the change and whether it is beyond noise (two-proportion z-test, p < 0.05),
/// and which buckets `grew` or `shrank` beyond noise. Runs of different kinds are a 400 naming `head`.
#[utoipa::path(get, path = "/v1/projects/{project}/compare", tag = "runs", params(("project" = String, Path), crate::runs::compare::CompareQuery),
    responses((status = 200, description = "{base, head, per_scorer, counts, items, next_cursor, buckets?}", body = serde_json::Value), (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn compare(
    state: web::Data<AppState>,
    caller: OrgMember,
    project: web::Path<String>,
    q: web::Query<crate::runs::compare::CompareQuery>,
) -> Result<HttpResponse> {
    let q = q.into_inner();
    let pq = PageQuery { limit: q.limit, cursor: q.cursor.clone() };
    let (limit, after) = (pq.limit()?, pq.after_index()?);
    let org = caller.0.org_id;
    let (base, head, counts, items, buckets) = state
        .store
        .read(move |c| {
            let p = find_project(c, &org, &project)?;
            let base = repo::get_run(c, &org, &q.base)?;
            let head = repo::get_run(c, &org, &q.head)?;
            if base.project_id != p.id || head.project_id != p.id {
                return Err(Error::not_found("run"));
            }
            let buckets = crate::runs::compare_buckets::compare_runs(&base, &head)?;
            let (counts, items) = crate::runs::compare::changed_items(c, &base.id, &head.id, after, limit)?;
            Ok((base, head, counts, items, buckets))
        })
        .await?;
    let (items, next_cursor) = page::finish_by_index(items, limit, |c| c.index);
    let per_scorer = crate::runs::compare::deltas(&base, &head);
    let mut answer = serde_json::json!({
        "base": base, "head": head, "per_scorer": per_scorer, "counts": counts, "items": items, "next_cursor": next_cursor
    });
    if let Some(b) = buckets {
        answer["buckets"] = serde_json::to_value(b).map_err(Error::internal)?;
    }
    Ok(HttpResponse::Ok().json(answer))
}

/// Datasets, runs, results, events and comparisons.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/v1/projects/{project}/datasets")
            .route(web::post().to(create_dataset))
            .route(web::get().to(list_datasets)),
    )
    .service(
        web::resource("/v1/projects/{project}/datasets/{id}")
            .route(web::get().to(get_dataset))
            .route(web::delete().to(delete_dataset)),
    )
    .service(
        web::resource("/v1/projects/{project}/runs").route(web::post().to(create_run)).route(web::get().to(list_runs)),
    )
    .service(web::resource("/v1/projects/{project}/compare").route(web::get().to(compare)))
    .service(web::resource("/v1/runs/{id}").route(web::get().to(get_run)))
    .service(web::resource("/v1/runs/{id}/results").route(web::get().to(list_results)))
    .service(web::resource("/v1/runs/{id}/events").route(web::get().to(events)))
    .service(web::resource("/v1/runs/{id}/cancel").route(web::post().to(cancel_run)));
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(
    create_dataset,
    list_datasets,
    get_dataset,
    delete_dataset,
    create_run,
    get_run,
    list_runs,
    list_results,
    cancel_run,
    events,
    compare
))]
pub struct Doc;
