//! `POST /v1/runs/{id}/pairwise`: which of two runs gave the better outputs, judged item by item in both orders.

use actix_web::{web, HttpResponse};

use crate::error::{Error, Result};
use crate::http::auth::OrgMember;
use crate::http::AppState;
use crate::runs::pairwise::{self, PairwiseReport, PairwiseRequest, MAX_PAIRWISE_PAIRS};
use crate::runs::repo;

/// Judge run A (the path's) against run B (`against`) on the items they share, in both orders.
#[utoipa::path(post, path = "/v1/runs/{id}/pairwise", tag = "runs", params(("id" = String, Path)),
    request_body = PairwiseRequest,
    responses((status = 200, body = PairwiseReport), (status = 400, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn pairwise_runs(
    state: web::Data<AppState>,
    caller: OrgMember,
    id: web::Path<String>,
    body: web::Json<PairwiseRequest>,
) -> Result<HttpResponse> {
    let req = body.into_inner();
    let spec = pairwise::spec_of(&req.scorer)?;
    let max = req.max_pairs.unwrap_or(MAX_PAIRWISE_PAIRS);
    if !(1..=MAX_PAIRWISE_PAIRS).contains(&max) {
        return Err(Error::field(
            "max_pairs",
            format!("max_pairs must be 1 to {MAX_PAIRWISE_PAIRS} (MAX_PAIRWISE_PAIRS): each pair is two judge calls"),
        ));
    }
    let org = caller.0.org_id;
    let (a_id, b_id, org_read) = (id.into_inner(), req.against.clone(), org.clone());
    let (a, b, matched) = state
        .store
        .read(move |c| {
            let a = repo::get_run(c, &org_read, &a_id)?;
            let b = repo::get_run(c, &org_read, &b_id)?;
            if a.project_id != b.project_id {
                return Err(Error::not_found("run"));
            }
            let matched = pairwise::matched_pairs(c, &a.id, &b.id, max)?;
            Ok((a, b, matched))
        })
        .await?;
    let judge = state.runs.judge().clone();
    let (report, lines) =
        pairwise::judge_pairs(&judge, &org, (&a, &b), spec, matched, req.cache.unwrap_or(true)).await?;
    if !lines.is_empty() {
        let (org, run) = (org.clone(), a.id.clone());
        state.store.write(move |c| crate::usage::repo::add(c, &org, &run, &lines)).await?;
    }
    Ok(HttpResponse::Ok().json(report))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/v1/runs/{id}/pairwise").route(web::post().to(pairwise_runs)));
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(pairwise_runs))]
pub struct Doc;
