//! HTTP handlers for provider keys. The secret goes to the key file first; metadata and the audit row
//! follow in one store transaction, and a failed metadata write takes the secret back out.

use actix_web::{web, HttpResponse};
use serde_json::json;

use super::shared::id_page;
use crate::byok::model::{
    validate_secret, Connection as ConnSettings, CreateProviderKey, LastTest, PatchProviderKey, ProviderKey,
};
use crate::byok::repo;
use crate::domain::Page;
use crate::domain::Secret;
use crate::error::{Error, Result};
use crate::http::auth::{OrgAdmin, OrgMember};
use crate::http::AppState;
use crate::store::page::PageQuery;
use crate::store::{new_id, now};
use crate::tenancy::apikey::prefix;
use crate::tenancy::model::validate_name;
use crate::usage::audit;

async fn put_secret(state: &AppState, org: &str, id: &str, provider: &str, secret: Secret) -> Result<()> {
    let (keys, org, id, provider) = (state.keys.clone(), org.to_string(), id.to_string(), provider.to_string());
    crate::telemetry::spawn_blocking_in_span(move || keys.put(&org, &id, &provider, &secret))
        .await
        .map_err(Error::internal)??;
    Ok(())
}

async fn remove_secret(state: &AppState, id: &str) -> Result<()> {
    let (keys, id) = (state.keys.clone(), id.to_string());
    crate::telemetry::spawn_blocking_in_span(move || keys.remove(&id)).await.map_err(Error::internal)??;
    Ok(())
}

/// Add a provider key.
#[utoipa::path(post, path = "/v1/byok-keys", tag = "byok", request_body = CreateProviderKey,
    responses((status = 201, body = ProviderKey), (status = 400, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn create_byok_key(
    state: web::Data<AppState>,
    caller: OrgAdmin,
    body: web::Json<CreateProviderKey>,
) -> Result<HttpResponse> {
    let b = body.into_inner();
    validate_name("name", &b.name)?;
    validate_secret(&b.key)?;
    let settings = ConnSettings {
        base_url: b.base_url,
        endpoint: b.endpoint,
        deployment: b.deployment,
        api_version: b.api_version,
        default_model: b.default_model,
    };
    settings.validate(b.provider)?;
    crate::byok::destination::check(state.runs.judge().http().policy(), &settings, &["base_url", "endpoint"], "")
        .await?;
    let c = caller.0;
    let id = new_id("pk");
    let key_prefix = prefix(b.key.expose_secret());
    put_secret(&state, &c.org_id, &id, b.provider.as_str(), b.key).await?;
    let (org, kid, provider, name, wants_default) = (c.org_id.clone(), id.clone(), b.provider, b.name, b.is_default);
    let actor = c.actor();
    let written = state
        .store
        .write(move |conn| {
            let tx = conn.transaction()?;
            let k = repo::insert(&tx, &org, &kid, provider, &name, &key_prefix, wants_default, &settings, &now())?;
            audit::record(&tx, Some(&org), &actor, "byok_key.create", "byok_key", Some(&k.id),
                json!({"provider": k.provider.as_str(), "name": k.name, "key_prefix": k.key_prefix, "is_default": k.is_default}))?;
            tx.commit()?;
            Ok(k)
        })
        .await;
    match written {
        Ok(k) => {
            tracing::info!(key = %k.id, provider = k.provider.as_str(), "provider key added");
            Ok(HttpResponse::Created().json(k))
        }
        Err(e) => {
            if let Err(cleanup) = remove_secret(&state, &id).await {
                tracing::error!(key = %id, error = %cleanup, "could not remove the secret of a key whose metadata failed");
            }
            Err(e)
        }
    }
}

/// List the org's provider keys (metadata only).
#[utoipa::path(get, path = "/v1/byok-keys", tag = "byok", params(PageQuery),
    responses((status = 200, body = inline(Page<ProviderKey>))), security(("api_key" = [])))]
pub async fn list_byok_keys(
    state: web::Data<AppState>,
    caller: OrgMember,
    q: web::Query<PageQuery>,
) -> Result<HttpResponse> {
    let org = caller.0.org_id;
    id_page(&state.store, &q, |k: &ProviderKey| &k.id, move |c, after, limit| repo::list(c, &org, after, limit)).await
}

/// One provider key's metadata.
#[utoipa::path(get, path = "/v1/byok-keys/{id}", tag = "byok",
    responses((status = 200, body = ProviderKey), (status = 404, body = crate::error::ErrorBody)), security(("api_key" = [])))]
pub async fn get_byok_key(
    state: web::Data<AppState>,
    caller: OrgMember,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    let org = caller.0.org_id;
    let k = state.store.read(move |c| repo::get(c, &org, &id)).await?;
    Ok(HttpResponse::Ok().json(k))
}

fn merged(current: &ProviderKey, p: &PatchProviderKey) -> ConnSettings {
    fn pick(change: &Option<Option<String>>, now: &Option<String>) -> Option<String> {
        match change {
            Some(v) => v.clone(),
            None => now.clone(),
        }
    }
    ConnSettings {
        base_url: pick(&p.base_url, &current.base_url),
        endpoint: pick(&p.endpoint, &current.endpoint),
        deployment: pick(&p.deployment, &current.deployment),
        api_version: pick(&p.api_version, &current.api_version),
        default_model: pick(&p.default_model, &current.default_model),
    }
}

/// Rename, make default, rotate the secret, or change where the provider is reached.
#[utoipa::path(patch, path = "/v1/byok-keys/{id}", tag = "byok", request_body = PatchProviderKey,
    responses((status = 200, body = ProviderKey), (status = 400, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn patch_byok_key(
    state: web::Data<AppState>,
    caller: OrgAdmin,
    id: web::Path<String>,
    body: web::Json<PatchProviderKey>,
) -> Result<HttpResponse> {
    let p = body.into_inner();
    let c = caller.0;
    let id = id.into_inner();
    let (org, kid) = (c.org_id.clone(), id.clone());
    let current = state.store.read(move |conn| repo::get(conn, &org, &kid)).await?;
    if let Some(n) = &p.name {
        validate_name("name", n)?;
    }
    if p.is_default == Some(false) && current.is_default {
        return Err(Error::field(
            "is_default",
            "a provider always has one default key: make another key the default instead",
        ));
    }
    let settings = merged(&current, &p);
    settings.validate(current.provider)?;
    let moved: Vec<&str> = [("base_url", p.base_url.is_some()), ("endpoint", p.endpoint.is_some())]
        .into_iter()
        .filter_map(|(f, present)| present.then_some(f))
        .collect();
    crate::byok::destination::check(state.runs.judge().http().policy(), &settings, &moved, "").await?;
    let mut changed: Vec<&str> = Vec::new();
    for (field, present) in [
        ("name", p.name.is_some()),
        ("is_default", p.is_default == Some(true) && !current.is_default),
        ("base_url", p.base_url.is_some()),
        ("endpoint", p.endpoint.is_some()),
        ("deployment", p.deployment.is_some()),
        ("api_version", p.api_version.is_some()),
        ("default_model", p.default_model.is_some()),
        ("key", p.key.is_some()),
    ] {
        if present {
            changed.push(field);
        }
    }
    let new_prefix = match p.key {
        Some(secret) => {
            validate_secret(&secret)?;
            let pre = prefix(secret.expose_secret());
            put_secret(&state, &c.org_id, &id, current.provider.as_str(), secret).await?;
            Some(pre)
        }
        None => None,
    };
    let actor = c.actor();
    let org = c.org_id.clone();
    let (name, make_default) = (p.name, p.is_default == Some(true));
    let changed: Vec<String> = changed.into_iter().map(String::from).collect();
    let rotated = new_prefix.is_some();
    let kid_for_log = id.clone();
    let k = state
        .store
        .write(move |conn| {
            let tx = conn.transaction()?;
            let k = repo::update(&tx, &org, &id, name.as_deref(), make_default, &settings, new_prefix.as_deref(), &now())?;
            let action = if new_prefix.is_some() { "byok_key.rotate" } else { "byok_key.update" };
            audit::record(&tx, Some(&org), &actor, action, "byok_key", Some(&k.id),
                json!({"provider": k.provider.as_str(), "changed": changed, "key_prefix": k.key_prefix, "is_default": k.is_default}))?;
            tx.commit()?;
            Ok(k)
        })
        .await;
    let k = match k {
        Ok(k) => k,
        Err(e) => {
            if rotated {
                // The key file already holds the new secret: say so, so an operator knows the prefix shown and the
                // audit log are behind, and that rotating again puts them right.
                tracing::error!(key = %kid_for_log, error = %e,
                    "the secret was rotated in the key file but its metadata and audit row could not be saved; rotate it again");
            }
            return Err(e);
        }
    };
    if rotated {
        state.runs.judge().clear_failure(&k.id);
    }
    Ok(HttpResponse::Ok().json(k))
}

/// The answer of a key test.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct TestResult {
    pub ok: bool,
    pub latency_ms: u64,
    pub model: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub error: Option<crate::domain::ScoreError>,
}

/// One minimal real call to the provider with this key; records `last_test` and clears a failing status on success.
#[utoipa::path(post, path = "/v1/byok-keys/{id}/test", tag = "byok",
    responses((status = 200, body = TestResult), (status = 404, body = crate::error::ErrorBody)), security(("api_key" = [])))]
pub async fn test_byok_key(
    state: web::Data<AppState>,
    caller: OrgAdmin,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    let c = caller.0;
    let (org, kid) = (c.org_id.clone(), id.into_inner());
    let k = state.store.read(move |conn| repo::get(conn, &org, &kid)).await?;
    let secret = state
        .keys
        .get(&c.org_id, &k.id, k.provider.as_str())?
        .ok_or_else(|| Error::Conflict(format!("key {} has no secret in the key file; rotate it", k.id)))?;
    let model = k
        .default_model
        .clone()
        .or_else(|| k.deployment.clone())
        .or_else(|| crate::providers::default_model(k.provider).map(str::to_string));
    let endpoint = crate::providers::Endpoint {
        base_url: k.base_url.clone(),
        endpoint: k.endpoint.clone(),
        deployment: k.deployment.clone(),
        api_version: k.api_version.clone(),
    };
    let (latency_ms, outcome) = match &model {
        Some(m) => state.runs.judge().test_key(k.provider, &endpoint, &secret, m).await,
        None => (
            0,
            Err(crate::domain::ScoreError {
                code: crate::domain::Code::ByokModelNotFound,
                message: "no model to test with: set default_model on the key".into(),
            }),
        ),
    };
    drop(secret);
    let model = model.unwrap_or_default();
    let error = outcome.err();
    let last = LastTest {
        ok: error.is_none(),
        at: now(),
        latency_ms: Some(latency_ms),
        model: Some(model.clone()),
        error: error.as_ref().map(|e| json!({"code": e.code, "message": e.message})),
    };
    if last.ok {
        state.runs.judge().clear_failure(&k.id);
    }
    let (org, kid, actor, test) = (c.org_id.clone(), k.id.clone(), c.actor(), last.clone());
    state
        .store
        .write(move |conn| {
            let tx = conn.transaction()?;
            repo::record_test(&tx, &org, &kid, &test)?;
            audit::record(
                &tx,
                Some(&org),
                &actor,
                "byok_key.test",
                "byok_key",
                Some(&kid),
                json!({"ok": test.ok, "latency_ms": test.latency_ms, "model": test.model, "error": test.error}),
            )?;
            tx.commit()?;
            Ok(())
        })
        .await?;
    Ok(HttpResponse::Ok().json(TestResult { ok: last.ok, latency_ms, model, error }))
}

/// Delete a provider key; its secret leaves the key file at once.
#[utoipa::path(delete, path = "/v1/byok-keys/{id}", tag = "byok",
    responses((status = 204), (status = 404, body = crate::error::ErrorBody)), security(("api_key" = [])))]
pub async fn delete_byok_key(
    state: web::Data<AppState>,
    caller: OrgAdmin,
    id: web::Path<String>,
) -> Result<HttpResponse> {
    let c = caller.0;
    let (org, kid, actor) = (c.org_id.clone(), id.into_inner(), c.actor());
    let removed = state
        .store
        .write(move |conn| {
            let tx = conn.transaction()?;
            let k = repo::delete(&tx, &org, &kid)?;
            audit::record(
                &tx,
                Some(&org),
                &actor,
                "byok_key.delete",
                "byok_key",
                Some(&k.id),
                json!({"provider": k.provider.as_str(), "name": k.name, "key_prefix": k.key_prefix}),
            )?;
            tx.commit()?;
            Ok(k)
        })
        .await?;
    remove_secret(&state, &removed.id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `/v1/byok-keys`: the org's provider keys.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/v1/byok-keys").route(web::post().to(create_byok_key)).route(web::get().to(list_byok_keys)),
    )
    .service(
        web::resource("/v1/byok-keys/{id}")
            .route(web::get().to(get_byok_key))
            .route(web::patch().to(patch_byok_key))
            .route(web::delete().to(delete_byok_key)),
    )
    .service(web::resource("/v1/byok-keys/{id}/test").route(web::post().to(test_byok_key)));
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(create_byok_key, list_byok_keys, get_byok_key, patch_byok_key, delete_byok_key, test_byok_key))]
pub struct Doc;
