//! GET/PATCH /v1/org/settings: the org's provider precedence, model overrides and default cost limit.

use actix_web::{web, HttpResponse};
use serde_json::json;

use crate::error::{Error, Result};
use crate::http::auth::{OrgAdmin, OrgMember};
use crate::http::AppState;
use crate::judge::keys::OrgSettings;

/// The org's judge settings.
#[utoipa::path(get, path = "/v1/org/settings", tag = "byok", responses((status = 200, body = OrgSettings)), security(("api_key" = [])))]
pub async fn get_settings(state: web::Data<AppState>, caller: OrgMember) -> Result<HttpResponse> {
    let org = caller.0.org_id;
    let s = state.store.read(move |c| crate::judge::org_settings(c, &org)).await?;
    Ok(HttpResponse::Ok().json(s))
}

/// Replace the org's judge settings (org admins). Absent fields fall back to the server's defaults.
#[utoipa::path(patch, path = "/v1/org/settings", tag = "byok", request_body = OrgSettings,
    responses((status = 200, body = OrgSettings), (status = 400, body = crate::error::ErrorBody)), security(("api_key" = [])))]
pub async fn patch_settings(
    state: web::Data<AppState>,
    caller: OrgAdmin,
    body: web::Json<OrgSettings>,
) -> Result<HttpResponse> {
    let s = body.into_inner();
    if let Some(p) = &s.provider_precedence {
        let mut seen = std::collections::HashSet::new();
        if p.is_empty() || !p.iter().all(|x| seen.insert(*x)) {
            return Err(Error::field(
                "provider_precedence",
                "provider_precedence lists providers once each, at least one",
            ));
        }
    }
    if s.cost_limit_usd.is_some_and(|c| c.is_nan() || c < 0.0) {
        return Err(Error::field("cost_limit_usd", "cost_limit_usd must be a non-negative number"));
    }
    for (metric, model) in &s.model_overrides {
        if !crate::scoring::judge::is_judge(metric) {
            return Err(Error::field(
                &format!("model_overrides.{metric}"),
                format!("{metric} is not llm_judge or a built-in metric"),
            ));
        }
        if model.trim().is_empty() {
            return Err(Error::field(&format!("model_overrides.{metric}"), "the model must not be empty"));
        }
    }
    if let Some(l) = &s.default_key_limits {
        l.validate()?;
    }
    for (alias, targets) in &s.model_aliases {
        let field = format!("model_aliases.{alias}");
        if alias.trim().is_empty() || alias.len() > crate::gateway::MAX_MODEL_NAME_LEN {
            return Err(Error::field(&field, "an alias name is 1 to MAX_MODEL_NAME_LEN (256) characters"));
        }
        if targets.is_empty() || targets.len() > crate::gateway::MAX_ALIAS_TARGETS {
            return Err(Error::field(&field, "an alias lists 1 to MAX_ALIAS_TARGETS (8) targets"));
        }
        if targets.iter().any(|t| t.model.trim().is_empty()) {
            return Err(Error::field(&field, "a target's model must not be empty"));
        }
    }
    let c = caller.0;
    let saved = s.clone();
    state
        .store
        .write(move |conn| {
            let tx = conn.transaction()?;
            crate::judge::save_org_settings(&tx, &c.org_id, &saved)?;
            c.audit(&tx, "org.settings", "org", &c.org_id, json!(saved))?;
            tx.commit()?;
            Ok(())
        })
        .await?;
    Ok(HttpResponse::Ok().json(s))
}

/// `/v1/org/settings`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/v1/org/settings").route(web::get().to(get_settings)).route(web::patch().to(patch_settings)),
    );
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(get_settings, patch_settings))]
pub struct Doc;
