//! HTTP handlers for a project's stored scorers.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::ToSchema;

use super::shared::{id_page, project_write};
use crate::domain::Page;
use crate::error::Result;
use crate::http::auth::OrgMember;
use crate::http::AppState;
use crate::scoring::{compile, repo, ScorerSpec};
use crate::store::now;
use crate::store::page::PageQuery;
use crate::tenancy::model::validate_name;
use crate::tenancy::repo::find_project;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateScorer {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub config: Value,
}

/// Store a scorer; its config is validated (and compiled) now, so a bad regex is caught here, not mid-run.
#[utoipa::path(post, path = "/v1/projects/{project}/scorers", tag = "runs", request_body = CreateScorer,
    params(("project" = String, Path, description = "project name or id")),
    responses((status = 201, body = repo::StoredScorer), (status = 400, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn create_scorer(
    state: web::Data<AppState>,
    caller: OrgMember,
    project: web::Path<String>,
    body: web::Json<CreateScorer>,
) -> Result<HttpResponse> {
    let b = body.into_inner();
    validate_name("name", &b.name)?;
    if crate::scoring::known_type(&b.name) && b.name != b.kind {
        return Err(crate::error::Error::field("name", "a scorer may not be named after another scorer type"));
    }
    let spec = ScorerSpec { name: b.name, kind: b.kind, config: b.config };
    // Compiling (regexes, schemas) is CPU work: off the HTTP worker. Only the verdict is kept; runs compile again
    // (and share what another run already compiled).
    let limits = crate::scoring::Limits::from(&state.config.runs).schema;
    let spec = crate::telemetry::spawn_blocking_in_span(move || compile(&spec, "", &limits).map(|_| spec))
        .await
        .map_err(crate::error::Error::internal)??;
    let c = caller.0;
    let s = project_write(&state.store, c, project.into_inner(), move |tx, c, p| {
        let s = repo::insert(tx, &c.org_id, &p.id, &spec, &now())?;
        c.audit(tx, "scorer.create", "scorer", &s.id, json!({"name": s.name, "type": s.kind, "project": p.id}))?;
        Ok(s)
    })
    .await?;
    Ok(HttpResponse::Created().json(s))
}

/// A project's scorers.
#[utoipa::path(get, path = "/v1/projects/{project}/scorers", tag = "runs", params(("project" = String, Path), PageQuery),
    responses((status = 200, body = inline(Page<repo::StoredScorer>))), security(("api_key" = [])))]
pub async fn list_scorers(
    state: web::Data<AppState>,
    caller: OrgMember,
    project: web::Path<String>,
    q: web::Query<PageQuery>,
) -> Result<HttpResponse> {
    let org = caller.0.org_id;
    id_page(
        &state.store,
        &q,
        |s: &repo::StoredScorer| &s.id,
        move |c, after, limit| {
            let p = find_project(c, &org, &project)?;
            repo::list(c, &p.id, after, limit)
        },
    )
    .await
}

/// Delete a stored scorer (runs keep their own copy of its config).
#[utoipa::path(delete, path = "/v1/projects/{project}/scorers/{id}", tag = "runs",
    params(("project" = String, Path), ("id" = String, Path, description = "scorer id or name")),
    responses((status = 204), (status = 404, body = crate::error::ErrorBody)), security(("api_key" = [])))]
pub async fn delete_scorer(
    state: web::Data<AppState>,
    caller: OrgMember,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse> {
    let (project, id) = path.into_inner();
    let c = caller.0;
    project_write(&state.store, c, project, move |tx, c, p| {
        let s = repo::delete(tx, &p.id, &id)?;
        c.audit(tx, "scorer.delete", "scorer", &s.id, json!({"name": s.name}))?;
        Ok(())
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `/v1/projects/{project}/scorers`: stored scorers.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/v1/projects/{project}/scorers")
            .route(web::post().to(create_scorer))
            .route(web::get().to(list_scorers)),
    )
    .service(web::resource("/v1/projects/{project}/scorers/{id}").route(web::delete().to(delete_scorer)));
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(create_scorer, list_scorers, delete_scorer))]
pub struct Doc;
