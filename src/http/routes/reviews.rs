//! HTTP handlers for human review: reviews of result rows, the review queue, and a scorer's agreement with people.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use crate::domain::Page;
use crate::error::{Error, Result};
use crate::http::auth::OrgMember;
use crate::http::AppState;
use crate::reviews::queue::{self, QueueRow};
use crate::reviews::repo::{self, ScorerAgreement};
use crate::reviews::{NewReview, Review};
use crate::runs::repo as runs_repo;
use crate::store::now;
use crate::store::page::{self, PageQuery, MAX_LIMIT};
use crate::tenancy::repo::find_project;
use crate::usage::audit;

/// Review one item for one scorer: 201 for a new review, 200 when it replaced the caller's earlier review of the
/// same item and scorer (one review per reviewer, item and scorer). Any org key may review; the reviewer is the key.
#[utoipa::path(post, path = "/v1/runs/{id}/results/{idx}/reviews", tag = "review", request_body = NewReview,
    params(("id" = String, Path, description = "run id"), ("idx" = u64, Path, description = "the item's index (`index` of its result row)")),
    responses((status = 201, description = "a new review", body = Review), (status = 200, description = "the caller's earlier review of this item and scorer, replaced", body = Review),
        (status = 400, description = "unknown scorer for this run, or a comment over MAX_COMMENT_CHARS", body = crate::error::ErrorBody),
        (status = 404, description = "no such run in the caller's org, or no result at that index", body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn create_review(
    state: web::Data<AppState>,
    caller: OrgMember,
    path: web::Path<(String, u64)>,
    body: web::Json<NewReview>,
) -> Result<HttpResponse> {
    let (run_id, idx) = path.into_inner();
    let review = body.into_inner().validate()?;
    let c = caller.0;
    let (saved, replaced) = state
        .store
        .write(move |conn| {
            let tx = conn.transaction()?;
            let project = repo::check_target(&tx, &c.org_id, &run_id, idx, &review.scorer)?;
            let (saved, replaced) = repo::upsert(&tx, &c.org_id, &project, &run_id, idx, &c.key_id, &review, &now())?;
            audit::record(
                &tx,
                Some(&c.org_id),
                &c.actor(),
                if replaced { "review.replace" } else { "review.create" },
                "review",
                Some(&saved.id),
                json!({"run_id": run_id, "idx": idx, "scorer": saved.scorer, "pass": saved.pass,
                       "comment_chars": saved.comment.as_ref().map(|s| s.chars().count())}),
            )?;
            tx.commit()?;
            Ok((saved, replaced))
        })
        .await?;
    Ok(if replaced { HttpResponse::Ok().json(saved) } else { HttpResponse::Created().json(saved) })
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ReviewsQuery {
    /// Page size, 1..=1000 (default 50). Ignored with `format=jsonl`.
    pub limit: Option<u32>,
    /// `next_cursor` from the previous page.
    pub cursor: Option<String>,
    /// Only reviews of this scorer.
    pub scorer: Option<String>,
    /// Only reviews of this item.
    pub idx: Option<u64>,
    /// `json` (default: a page `{items, next_cursor}`) or `jsonl` (the export: every matching review, one JSON
    /// object per line, streamed).
    pub format: Option<String>,
}

/// A run's reviews, oldest first; `format=jsonl` exports all of them as JSON lines.
#[utoipa::path(get, path = "/v1/runs/{id}/reviews", tag = "review", params(("id" = String, Path), ReviewsQuery),
    responses((status = 200, description = "a page of reviews (or, with format=jsonl, every review as JSON lines)",
        content((inline(Page<Review>) = "application/json"), (Review = "application/x-ndjson"))),
        (status = 404, body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn list_reviews(
    state: web::Data<AppState>,
    caller: OrgMember,
    id: web::Path<String>,
    q: web::Query<ReviewsQuery>,
) -> Result<HttpResponse> {
    let q = q.into_inner();
    let jsonl = match q.format.as_deref() {
        None | Some("json") => false,
        Some("jsonl") => true,
        Some(other) => return Err(Error::field("format", format!("format {other:?} is not one of json, jsonl"))),
    };
    let pq = PageQuery { limit: q.limit, cursor: q.cursor.clone() };
    let (limit, after) = (pq.limit()?, pq.after()?);
    let (org, run_id) = (caller.0.org_id, id.into_inner());
    let (o, r) = (org.clone(), run_id.clone());
    state.store.read(move |c| runs_repo::run_status(c, &o, &r).map(|_| ())).await?;
    if jsonl {
        return Ok(export(state, run_id, q.scorer, q.idx));
    }
    let rows =
        state.store.read(move |c| repo::list(c, &run_id, q.scorer.as_deref(), q.idx, after.as_deref(), limit)).await?;
    let (items, next_cursor) = page::finish(rows, limit, |r| &r.id);
    Ok(HttpResponse::Ok().json(Page { items, next_cursor }))
}

/// Stream every matching review as JSON lines, a page at a time, so memory stays bounded by one page.
fn export(state: web::Data<AppState>, run_id: String, scorer: Option<String>, idx: Option<u64>) -> HttpResponse {
    let (tx, rx) = tokio::sync::mpsc::channel::<web::Bytes>(4);
    actix_web::rt::spawn(async move {
        let mut after: Option<String> = None;
        loop {
            let (r, s, a) = (run_id.clone(), scorer.clone(), after.clone());
            let rows =
                match state.store.read(move |c| repo::list(c, &r, s.as_deref(), idx, a.as_deref(), MAX_LIMIT)).await {
                    Ok(rows) => rows,
                    Err(e) => {
                        tracing::warn!(error = %e, "review export stopped");
                        return;
                    }
                };
            let mut rows = rows;
            let more = rows.len() > MAX_LIMIT as usize;
            rows.truncate(MAX_LIMIT as usize);
            let mut buf = Vec::new();
            for r in &rows {
                if serde_json::to_writer(&mut buf, r).is_err() {
                    return;
                }
                buf.push(b'\n');
            }
            after = rows.last().map(|r| r.id.clone());
            if tx.send(web::Bytes::from(buf)).await.is_err() || !more {
                return;
            }
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|b| (Ok::<_, actix_web::Error>(b), rx))
    });
    HttpResponse::Ok().content_type("application/x-ndjson").streaming(stream)
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct QueueQuery {
    /// Page size, 1..=1000 (default 50).
    pub limit: Option<u32>,
    /// `next_cursor` from the previous page.
    pub cursor: Option<String>,
    /// Leave out items the caller has reviewed (default false: they come last).
    pub exclude_reviewed: Option<bool>,
}

/// A run's result rows in review order: judge unsure, judges disagreeing, judge failed, the rest, then what the caller
/// already reviewed. Each row says why (`reason`) and carries the item's reviews so far.
#[utoipa::path(get, path = "/v1/runs/{id}/review-queue", tag = "review", params(("id" = String, Path), QueueQuery),
    responses((status = 200, body = inline(Page<QueueRow>)), (status = 404, body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn review_queue(
    state: web::Data<AppState>,
    caller: OrgMember,
    id: web::Path<String>,
    q: web::Query<QueueQuery>,
) -> Result<HttpResponse> {
    let q = q.into_inner();
    let pq = PageQuery { limit: q.limit, cursor: q.cursor };
    let (limit, after) = (pq.limit()?, pq.after_index()?);
    let c = caller.0;
    let run_id = id.into_inner();
    let rows = state
        .store
        .read(move |conn| {
            runs_repo::run_status(conn, &c.org_id, &run_id)?;
            queue::page(conn, &run_id, &c.key_id, q.exclude_reviewed.unwrap_or(false), after, limit)
        })
        .await?;
    let (items, next_cursor) = page::finish_by_index(rows, limit, |r| r.position);
    Ok(HttpResponse::Ok().json(Page { items, next_cursor }))
}

/// A scorer's verdicts against people's reviews over every run of the project: accuracy, Cohen's kappa (null with
/// `kappa_note` when undefined), confusion counts (positive = pass), per judge model.
#[utoipa::path(get, path = "/v1/projects/{project}/scorers/{id}/agreement", tag = "review",
    params(("project" = String, Path), ("id" = String, Path, description = "a stored scorer's id or name, or a scorer type or metric name as runs use it")),
    responses((status = 200, body = ScorerAgreement), (status = 404, body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn agreement(
    state: web::Data<AppState>,
    caller: OrgMember,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse> {
    let (project, id) = path.into_inner();
    let org = caller.0.org_id;
    let out = state
        .store
        .read(move |c| {
            let p = find_project(c, &org, &project)?;
            let name = match crate::scoring::repo::find(c, &p.id, &id)? {
                Some(s) => s.name,
                None if crate::scoring::known_type(&id) => id,
                None => return Err(Error::not_found("scorer")),
            };
            repo::agreement(c, &p.id, &name)
        })
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

/// Review routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/v1/runs/{id}/results/{idx}/reviews").route(web::post().to(create_review)))
        .service(web::resource("/v1/runs/{id}/reviews").route(web::get().to(list_reviews)))
        .service(web::resource("/v1/runs/{id}/review-queue").route(web::get().to(review_queue)))
        .service(web::resource("/v1/projects/{project}/scorers/{id}/agreement").route(web::get().to(agreement)));
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(create_review, list_reviews, review_queue, agreement))]
pub struct Doc;
