//! Exporting a run's results (CSV, JSONL; streamed in pages, see `runs::export`) and browsing a stored dataset's
//! items page by page.

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use crate::domain::Page;
use crate::error::Result;
use crate::http::auth::OrgMember;
use crate::http::AppState;
use crate::runs::browse::{self, DatasetItem};
use crate::runs::export::{self, ExportFilter, ExportFormat, EXPORT_CHANNEL_PAGES};
use crate::runs::kinds::result_filter;
use crate::runs::repo;
use crate::store::page::{self, PageQuery};
use crate::tenancy::repo::find_project;

/// `GET /v1/runs/{id}/export`: the format and the filters of `GET /v1/runs/{id}/results` (without paging).
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    /// `csv` or `jsonl`.
    pub format: Option<String>,
    /// `passed`, `failed` or `errored`.
    pub status: Option<String>,
    /// Only items this scorer did not pass.
    pub scorer: Option<String>,
    /// Case-insensitive (ASCII) substring of the item's input or output.
    pub q: Option<String>,
    /// Failure analysis runs: as on `GET /v1/runs/{id}/results`.
    pub bucket: Option<String>,
    pub subcategory: Option<String>,
    pub severity: Option<String>,
}

/// Download a run's results, all of them or those the filters select, as a file. CSV columns: `index, id, input,
/// output, expected, outcome`, then per scorer `NAME.score, NAME.pass, NAME.reason, NAME.error`; text cells that
/// start with `=`, `+`, `-`, `@`, tab or CR get a leading `'` (no formula runs when the file is opened in a
/// spreadsheet). JSONL: one `/results` row per line. Streamed in pages: any run size, bounded server memory.
#[utoipa::path(get, path = "/v1/runs/{id}/export", tag = "runs", params(("id" = String, Path), ExportQuery),
    responses(
        (status = 200, description = "the file (Content-Disposition: attachment; filename=\"RUN_ID.csv\")", content(
            (String = "text/csv"),
            (crate::runs::model::ItemResult = "application/x-ndjson"))),
        (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn export_results(
    state: web::Data<AppState>,
    caller: OrgMember,
    id: web::Path<String>,
    q: web::Query<ExportQuery>,
) -> Result<HttpResponse> {
    let q = q.into_inner();
    let format = ExportFormat::parse(q.format.as_deref())?;
    let filter = ExportFilter {
        outcome: export::parse_status(q.status.as_deref())?,
        scorer: q.scorer.filter(|s| !s.is_empty()),
        q: q.q.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string),
        analysis: result_filter::parse(q.bucket, q.subcategory, q.severity.as_deref())?,
    };
    let org = caller.0.org_id;
    let af = filter.analysis.clone();
    let run = state
        .store
        .read(move |c| {
            let run = repo::get_run(c, &org, &id)?;
            result_filter::check(c, &run.id, &af)?;
            Ok(run)
        })
        .await?;
    let filename = format!("{}.{}", run.id, format.extension());
    let (tx, rx) = tokio::sync::mpsc::channel(EXPORT_CHANNEL_PAGES);
    actix_web::rt::spawn(export::produce(state.store.clone(), run.id, run.scorers, format, filter, tx));
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|page| (page.map_err(actix_web::Error::from), rx))
    });
    Ok(HttpResponse::Ok()
        .content_type(format.content_type())
        .insert_header(("content-disposition", format!("attachment; filename=\"{filename}\"")))
        .insert_header(("cache-control", "no-store"))
        .streaming(stream))
}

/// A stored dataset's items in order, `{items: [{idx, item}], next_cursor}`.
#[utoipa::path(get, path = "/v1/projects/{project}/datasets/{id}/items", tag = "runs",
    params(("project" = String, Path), ("id" = String, Path, description = "dataset id or name"), PageQuery),
    responses((status = 200, body = inline(Page<DatasetItem>)), (status = 400, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn dataset_items(
    state: web::Data<AppState>,
    caller: OrgMember,
    path: web::Path<(String, String)>,
    q: web::Query<PageQuery>,
) -> Result<HttpResponse> {
    let (project, id) = path.into_inner();
    let (limit, after) = (q.limit()?, q.after_index()?);
    let org = caller.0.org_id;
    let rows = state
        .store
        .read(move |c| {
            let p = find_project(c, &org, &project)?;
            let ds = repo::find_dataset(c, &p.id, &id)?;
            browse::dataset_items(c, &ds.id, after, limit)
        })
        .await?;
    let (items, next_cursor) = page::finish_by_index(rows, limit, |r| r.idx);
    Ok(HttpResponse::Ok().json(Page { items, next_cursor }))
}

/// Export and dataset items.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/v1/runs/{id}/export").route(web::get().to(export_results)))
        .service(web::resource("/v1/projects/{project}/datasets/{id}/items").route(web::get().to(dataset_items)));
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(export_results, dataset_items))]
pub struct Doc;
