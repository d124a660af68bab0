//! Runs that produce their outputs, several targets at once: `targets: [..]` in a run body makes one run per
//! target over the same items, answered together, and `GET /v1/projects/{project}/matrix?runs=a,b,c` is their
//! comparison table (pass rate, counts, target cost, latency p50/p95/mean, per-scorer pass rate per target).

use std::time::Duration;

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{Error, Result};
use crate::http::auth::{Caller, OrgMember};
use crate::http::routes::accept::{submit, Submission};
use crate::http::AppState;
use crate::runs::matrix::Comparison;
use crate::runs::model::{Run, RunStatus};
use crate::runs::repo;
use crate::targets::TargetSpec;
use crate::tenancy::repo::find_project;

/// One run of a matrix, as the 202 answer names it.
#[derive(Serialize, ToSchema)]
pub struct MatrixRunRef {
    pub id: String,
    pub status: RunStatus,
    pub status_url: String,
    pub target: TargetSpec,
}

/// 202: the matrix's runs were accepted.
#[derive(Serialize, ToSchema)]
pub struct MatrixAccepted {
    pub runs: Vec<MatrixRunRef>,
    /// `GET` it for the comparison table.
    pub comparison_url: String,
}

/// 200 (with `wait_s`, every run finished in time): the runs and their comparison.
#[derive(Serialize, ToSchema)]
pub struct MatrixDone {
    pub runs: Vec<Run>,
    pub comparison: Comparison,
}

/// What `POST …/runs` answers with 200: the finished run, or with `targets` the finished matrix.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum RunAnswer {
    Run(Box<Run>),
    Matrix(MatrixDone),
}

fn comparison_url(project: &str, ids: &[String]) -> String {
    format!("/v1/projects/{project}/matrix?runs={}", ids.join(","))
}

/// Accept one run per target (each with its own submission), then answer for all of them.
pub async fn submit_matrix(
    state: &web::Data<AppState>,
    c: &Caller,
    project: &str,
    subs: Vec<(Submission, TargetSpec)>,
    wait_s: Option<f64>,
) -> Result<HttpResponse> {
    let project_id = subs.first().map(|(s, _)| s.project_id.clone()).unwrap_or_default();
    let mut started = Vec::with_capacity(subs.len());
    for (sub, target) in subs {
        let (id, rx) = submit(state, c, sub).await?;
        started.push((id, rx, target));
    }
    if let Some(w) = wait_s.filter(|w| *w > 0.0) {
        let all = futures_util::future::join_all(
            started.iter_mut().map(|(_, rx, _)| async move { rx.wait_for(|s| s.status.is_final()).await.is_ok() }),
        );
        tokio::time::timeout(Duration::try_from_secs_f64(w).unwrap_or_default(), all).await.ok();
    }
    let ids: Vec<String> = started.iter().map(|(id, _, _)| id.clone()).collect();
    let (org, read_ids, pid) = (c.org_id.clone(), ids.clone(), project_id.clone());
    let (runs, comparison) = state
        .store
        .read(move |conn| {
            let runs = read_ids.iter().map(|id| repo::get_run(conn, &org, id)).collect::<Result<Vec<_>>>()?;
            let done = runs.iter().all(|r| r.status.is_final());
            let cmp = if done { Some(crate::runs::matrix::comparison(conn, &org, &pid, &read_ids)?) } else { None };
            Ok((runs, cmp))
        })
        .await?;
    match comparison {
        Some(comparison) => Ok(HttpResponse::Ok().json(RunAnswer::Matrix(MatrixDone { runs, comparison }))),
        None => {
            let refs = runs
                .into_iter()
                .zip(started)
                .map(|(r, (_, _, target))| MatrixRunRef {
                    status_url: format!("/v1/runs/{}", r.id),
                    id: r.id,
                    status: r.status,
                    target,
                })
                .collect();
            Ok(HttpResponse::Accepted()
                .json(MatrixAccepted { runs: refs, comparison_url: comparison_url(project, &ids) }))
        }
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct MatrixQuery {
    /// Run ids, comma-separated (at most `runs.max_matrix_targets`).
    pub runs: String,
}

/// The comparison table of runs of a project (a matrix's runs, or any runs that made their outputs).
#[utoipa::path(get, path = "/v1/projects/{project}/matrix", tag = "runs", params(("project" = String, Path), MatrixQuery),
    responses((status = 200, body = Comparison), (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn matrix(
    state: web::Data<AppState>,
    caller: OrgMember,
    project: web::Path<String>,
    q: web::Query<MatrixQuery>,
) -> Result<HttpResponse> {
    let ids: Vec<String> = q.runs.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect();
    let max = state.config.runs.max_matrix_targets;
    if ids.is_empty() {
        return Err(Error::field("runs", "runs names no run id (runs=ID,ID,…)"));
    }
    if ids.len() > max {
        return Err(Error::field(
            "runs",
            format!("runs names {} runs, over runs.max_matrix_targets ({max})", ids.len()),
        ));
    }
    let org = caller.0.org_id;
    let cmp = state
        .store
        .read(move |c| {
            let p = find_project(c, &org, &project)?;
            crate::runs::matrix::comparison(c, &org, &p.id, &ids)
        })
        .await?;
    Ok(HttpResponse::Ok().json(cmp))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/v1/projects/{project}/matrix").route(web::get().to(matrix)));
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(matrix), components(schemas(MatrixAccepted, MatrixDone, RunAnswer)))]
pub struct Doc;

/// The request's targets, checked (fields, limits, destinations, key ids); `None` without any. `matrix` is true
/// for `targets`.
pub async fn checked_targets(
    state: &web::Data<AppState>,
    org: &str,
    target: Option<crate::targets::TargetBody>,
    targets: Option<Vec<crate::targets::TargetBody>>,
) -> Result<Option<(Vec<(TargetSpec, crate::targets::Headers)>, bool)>> {
    let max = state.config.runs.max_matrix_targets;
    let limits = crate::targets::Limits { max_prompt_bytes: state.config.runs.max_target_prompt_bytes };
    let (bodies, matrix) = match (target, targets) {
        (Some(_), Some(_)) => return Err(Error::field("targets", "give target or targets, not both")),
        (None, None) => return Ok(None),
        (Some(t), None) => (vec![("target".to_string(), t)], false),
        (None, Some(list)) => {
            if list.len() < 2 || list.len() > max {
                return Err(Error::field(
                    "targets",
                    format!("targets takes 2 to runs.max_matrix_targets ({max}) targets; it has {}", list.len()),
                ));
            }
            (list.into_iter().enumerate().map(|(i, t)| (format!("targets[{i}]"), t)).collect(), true)
        }
    };
    let mut out = Vec::with_capacity(bodies.len());
    for (at, body) in bodies {
        let (spec, headers) = crate::targets::validate(body, &at, limits)?;
        crate::targets::spec::check_destination(&spec, &at, state.runs.judge().http().policy()).await?;
        out.push((at, spec, headers));
    }
    let named: Vec<(String, String)> = out
        .iter()
        .filter_map(|(at, s, _)| match s {
            TargetSpec::Provider(p) => p.key_id.clone().map(|k| (at.clone(), k)),
            TargetSpec::Http(_) => None,
        })
        .collect();
    if !named.is_empty() {
        let org = org.to_string();
        let keys = state.store.read(move |conn| crate::byok::repo::all_of_org(conn, &org)).await?;
        if let Some((at, k)) = named.iter().find(|(_, k)| !keys.iter().any(|pk| &pk.id == k)) {
            return Err(Error::field(
                &format!("{at}.key_id"),
                format!("{at}.key_id: no provider key {k:?} in this org"),
            ));
        }
    }
    Ok(Some((out.into_iter().map(|(_, s, h)| (s, h)).collect(), matrix)))
}
