//! HTTP handlers for orgs, projects and API keys.

use actix_web::{web, HttpResponse};
use serde_json::json;

use super::shared::id_page;
use crate::domain::Page;
use crate::error::Result;
use crate::http::auth::{AnyKey, OrgAdmin, OrgMember, ServerAdmin};
use crate::http::AppState;
use crate::store::now;
use crate::store::page::{self, PageQuery};
use crate::tenancy::model::*;
use crate::tenancy::{apikey, repo};
use crate::usage::audit;

const SERVER_ADMIN_ACTOR: &str = "server_admin";

/// Create an org and its first admin key.
#[utoipa::path(post, path = "/v1/orgs", tag = "tenancy", request_body = CreateOrg,
    responses((status = 201, body = CreatedOrg), (status = 409, body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn create_org(
    state: web::Data<AppState>,
    _: ServerAdmin,
    body: web::Json<CreateOrg>,
) -> Result<HttpResponse> {
    let name = body.into_inner().name;
    validate_name("name", &name)?;
    let key = apikey::generate();
    let (hash, prefix) = (apikey::hash(key.expose_secret()), apikey::prefix(key.expose_secret()));
    let org = state
        .store
        .write(move |c| {
            let tx = c.transaction()?;
            let ts = now();
            let org = repo::insert_org(&tx, &name, &ts)?;
            let k = repo::insert_api_key(&tx, &org.id, "admin", Role::Admin, &hash, &prefix, &ts)?;
            audit::record(
                &tx,
                Some(&org.id),
                SERVER_ADMIN_ACTOR,
                "org.create",
                "org",
                Some(&org.id),
                json!({"name": org.name}),
            )?;
            audit::record(
                &tx,
                Some(&org.id),
                SERVER_ADMIN_ACTOR,
                "api_key.create",
                "api_key",
                Some(&k.id),
                json!({"role": "admin", "key_prefix": k.key_prefix}),
            )?;
            tx.commit()?;
            Ok(org)
        })
        .await?;
    tracing::info!(org = %org.id, "org created");
    Ok(HttpResponse::Created().json(CreatedOrg {
        id: org.id,
        name: org.name,
        created_at: org.created_at,
        admin_api_key: key.expose_secret().to_string(),
    }))
}

/// List orgs.
#[utoipa::path(get, path = "/v1/orgs", tag = "tenancy", params(PageQuery),
    responses((status = 200, body = inline(Page<Org>))), security(("api_key" = [])))]
pub async fn list_orgs(state: web::Data<AppState>, _: ServerAdmin, q: web::Query<PageQuery>) -> Result<HttpResponse> {
    id_page(&state.store, &q, |o: &Org| &o.id, repo::list_orgs).await
}

/// Create an API key; the key is in this answer only.
#[utoipa::path(post, path = "/v1/api-keys", tag = "tenancy", request_body = CreateApiKey,
    responses((status = 201, body = CreatedApiKey), (status = 403, body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn create_api_key(
    state: web::Data<AppState>,
    caller: OrgAdmin,
    body: web::Json<CreateApiKey>,
) -> Result<HttpResponse> {
    let CreateApiKey { name, role } = body.into_inner();
    validate_name("name", &name)?;
    let key = apikey::generate();
    let (hash, prefix) = (apikey::hash(key.expose_secret()), apikey::prefix(key.expose_secret()));
    let c = caller.0;
    let created = state
        .store
        .write(move |conn| {
            let tx = conn.transaction()?;
            let k = repo::insert_api_key(&tx, &c.org_id, &name, role, &hash, &prefix, &now())?;
            c.audit(
                &tx,
                "api_key.create",
                "api_key",
                &k.id,
                json!({"name": k.name, "role": role.as_str(), "key_prefix": k.key_prefix}),
            )?;
            tx.commit()?;
            Ok(k)
        })
        .await?;
    Ok(HttpResponse::Created().json(CreatedApiKey {
        id: created.id,
        name: created.name,
        role: created.role,
        key: key.expose_secret().to_string(),
        key_prefix: created.key_prefix,
        created_at: created.created_at,
    }))
}

/// List the org's active API keys (never the keys themselves).
#[utoipa::path(get, path = "/v1/api-keys", tag = "tenancy", params(PageQuery),
    responses((status = 200, body = inline(Page<ApiKey>))), security(("api_key" = [])))]
pub async fn list_api_keys(
    state: web::Data<AppState>,
    caller: OrgAdmin,
    q: web::Query<PageQuery>,
) -> Result<HttpResponse> {
    let org = caller.0.org_id;
    id_page(&state.store, &q, |k: &ApiKey| &k.id, move |c, after, limit| repo::list_api_keys(c, &org, after, limit))
        .await
}

/// Revoke an API key; the next request with it gets 401.
#[utoipa::path(delete, path = "/v1/api-keys/{id}", tag = "tenancy",
    responses((status = 204), (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn revoke_api_key(
    state: web::Data<AppState>,
    caller: OrgAdmin,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    let c = caller.0;
    let id = id.into_inner();
    state
        .store
        .write(move |conn| {
            let tx = conn.transaction()?;
            let k = repo::revoke_api_key(&tx, &c.org_id, &id, &now())?;
            c.audit(&tx, "api_key.revoke", "api_key", &k.id, json!({"name": k.name, "key_prefix": k.key_prefix}))?;
            tx.commit()?;
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Set or remove an API key's gateway limits (org admins).
#[utoipa::path(patch, path = "/v1/api-keys/{id}", tag = "tenancy", request_body = crate::tenancy::model::PatchApiKey,
    responses((status = 200, body = ApiKey), (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn patch_api_key(
    state: web::Data<AppState>,
    caller: OrgAdmin,
    id: web::Path<String>,
    body: web::Json<crate::tenancy::model::PatchApiKey>,
) -> Result<HttpResponse> {
    let limits = body.into_inner().limits;
    if let Some(l) = &limits {
        l.validate()?;
    }
    let c = caller.0;
    let id = id.into_inner();
    let k = state
        .store
        .write(move |conn| {
            let tx = conn.transaction()?;
            let k = repo::set_limits(&tx, &c.org_id, &id, limits.as_ref())?;
            c.audit(&tx, "api_key.limits", "api_key", &k.id, json!({"limits": limits}))?;
            tx.commit()?;
            Ok(k)
        })
        .await?;
    Ok(HttpResponse::Ok().json(k))
}

/// Create a project.
#[utoipa::path(post, path = "/v1/projects", tag = "tenancy", request_body = CreateProject,
    responses((status = 201, body = Project), (status = 409, body = crate::error::ErrorBody)), security(("api_key" = [])))]
pub async fn create_project(
    state: web::Data<AppState>,
    caller: OrgMember,
    body: web::Json<CreateProject>,
) -> Result<HttpResponse> {
    let name = body.into_inner().name;
    validate_project_name(&name)?;
    let c = caller.0;
    let p = state
        .store
        .write(move |conn| {
            let tx = conn.transaction()?;
            let p = repo::insert_project(&tx, &c.org_id, &name, &now())?;
            c.audit(&tx, "project.create", "project", &p.id, json!({"name": p.name}))?;
            tx.commit()?;
            Ok(p)
        })
        .await?;
    Ok(HttpResponse::Created().json(p))
}

/// List projects.
#[utoipa::path(get, path = "/v1/projects", tag = "tenancy", params(PageQuery),
    responses((status = 200, body = inline(Page<Project>))), security(("api_key" = [])))]
pub async fn list_projects(
    state: web::Data<AppState>,
    caller: OrgMember,
    q: web::Query<PageQuery>,
) -> Result<HttpResponse> {
    let (limit, after) = (q.limit()?, q.after()?);
    let org = caller.0.org_id;
    let rows = state.store.read(move |c| repo::list_projects(c, &org, after.as_deref(), limit)).await?;
    let (items, next_cursor) = page::finish(rows, limit, |p| &p.id);
    Ok(HttpResponse::Ok().json(Page { items, next_cursor }))
}

/// One project, by name or id.
#[utoipa::path(get, path = "/v1/projects/{project}", tag = "tenancy",
    params(("project" = String, Path, description = "project name or id")),
    responses((status = 200, body = Project), (status = 404, body = crate::error::ErrorBody)), security(("api_key" = [])))]
pub async fn get_project(
    state: web::Data<AppState>,
    caller: OrgMember,
    project: web::Path<String>,
) -> Result<HttpResponse> {
    let org = caller.0.org_id;
    let p = state.store.read(move |c| repo::find_project(c, &org, &project)).await?;
    Ok(HttpResponse::Ok().json(p))
}

/// Change a project's settings (org admins): today whether its gateway calls keep their prompt and completion text
/// in the request log.
#[utoipa::path(patch, path = "/v1/projects/{project}", tag = "tenancy", request_body = PatchProject,
    params(("project" = String, Path, description = "project name or id")),
    responses((status = 200, body = Project), (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn patch_project(
    state: web::Data<AppState>,
    caller: OrgAdmin,
    project: web::Path<String>,
    body: web::Json<PatchProject>,
) -> Result<HttpResponse> {
    let patch = body.into_inner();
    let c = caller.0;
    let p = state
        .store
        .write(move |conn| {
            let tx = conn.transaction()?;
            let mut p = repo::find_project(&tx, &c.org_id, &project)?;
            if let Some(on) = patch.gateway_log_content {
                repo::set_gateway_log_content(&tx, &c.org_id, &p.id, on)?;
                p.gateway_log_content = on;
                c.audit(&tx, "project.settings", "project", &p.id, json!({"gateway_log_content": on}))?;
            }
            tx.commit()?;
            Ok(p)
        })
        .await?;
    Ok(HttpResponse::Ok().json(p))
}

/// Delete a project (org admins).
#[utoipa::path(delete, path = "/v1/projects/{project}", tag = "tenancy",
    params(("project" = String, Path, description = "project name or id")),
    responses((status = 204), (status = 404, body = crate::error::ErrorBody)), security(("api_key" = [])))]
pub async fn delete_project(
    state: web::Data<AppState>,
    caller: OrgAdmin,
    project: web::Path<String>,
) -> Result<HttpResponse> {
    let c = caller.0;
    state
        .store
        .write(move |conn| {
            let tx = conn.transaction()?;
            let p = repo::find_project(&tx, &c.org_id, &project)?;
            repo::delete_project(&tx, &c.org_id, &p.id)?;
            c.audit(&tx, "project.delete", "project", &p.id, json!({"name": p.name}))?;
            tx.commit()?;
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Who the key is: its org and role (the dashboard uses it to show what the role allows). The server admin key
/// answers `{server_admin: true, org: null, key: {role: "server_admin"}}`, so a client can offer it the org pages.
#[utoipa::path(get, path = "/v1/me", tag = "tenancy", responses((status = 200, description = "{server_admin, org: {id, name} | null, key: {id, name, role, key_prefix}}", body = serde_json::Value)),
    security(("api_key" = [])))]
pub async fn me(state: web::Data<AppState>, caller: AnyKey) -> Result<HttpResponse> {
    let c = match caller {
        AnyKey::Org(c) => c,
        AnyKey::ServerAdmin => {
            return Ok(HttpResponse::Ok().json(json!({
                "server_admin": true,
                "org": null,
                "key": {"id": null, "name": "server admin", "role": "server_admin", "key_prefix": null},
            })))
        }
    };
    let (org, key) = (c.org_id.clone(), c.key_id.clone());
    let (org_name, key_name, prefix) = state.store.read(move |conn| repo::whoami(conn, &org, &key)).await?;
    Ok(HttpResponse::Ok().json(json!({
        "server_admin": false,
        "org": {"id": c.org_id, "name": org_name},
        "key": {"id": c.key_id, "name": key_name, "role": c.role, "key_prefix": prefix},
    })))
}

/// Orgs, API keys, projects and `/v1/me`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/v1/orgs").route(web::post().to(create_org)).route(web::get().to(list_orgs)))
        .service(
            web::resource("/v1/api-keys").route(web::post().to(create_api_key)).route(web::get().to(list_api_keys)),
        )
        .service(
            web::resource("/v1/api-keys/{id}")
                .route(web::delete().to(revoke_api_key))
                .route(web::patch().to(patch_api_key)),
        )
        .service(
            web::resource("/v1/projects").route(web::post().to(create_project)).route(web::get().to(list_projects)),
        )
        .service(
            web::resource("/v1/projects/{project}")
                .route(web::get().to(get_project))
                .route(web::patch().to(patch_project))
                .route(web::delete().to(delete_project)),
        )
        .service(web::resource("/v1/me").route(web::get().to(me)));
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(
    create_org,
    list_orgs,
    create_api_key,
    list_api_keys,
    revoke_api_key,
    patch_api_key,
    create_project,
    list_projects,
    get_project,
    patch_project,
    delete_project,
    me
))]
pub struct Doc;
