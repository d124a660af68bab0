//! GET /v1/usage

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::shared::id_page;
use crate::domain::Page;
use crate::error::{Error, Result};
use crate::http::auth::OrgAdmin;
use crate::http::auth::OrgMember;
use crate::http::AppState;
use crate::store::page::PageQuery;

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct UsageQuery {
    /// First day, `YYYY-MM-DD` or RFC 3339 (default: 30 days ago).
    pub from: Option<String>,
    /// Last day, inclusive (default: today).
    pub to: Option<String>,
}

fn day_of(field: &str, v: &str) -> Result<String> {
    if let Ok(d) = chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d") {
        return Ok(d.format("%Y-%m-%d").to_string());
    }
    chrono::DateTime::parse_from_rfc3339(v)
        .map(|t| t.to_utc().format("%Y-%m-%d").to_string())
        .map_err(|_| Error::field(field, format!("{field} must be YYYY-MM-DD or an RFC 3339 time")))
}

/// Calls, tokens and cost per provider, model and key, with a daily series.
#[utoipa::path(get, path = "/v1/usage", tag = "usage", params(UsageQuery),
    responses((status = 200, description = "{from, to, totals, by_source: {judge, target, gateway}, items: [UsageRow], daily: [DayRow]}", body = serde_json::Value)), security(("api_key" = [])))]
pub async fn usage(state: web::Data<AppState>, caller: OrgMember, q: web::Query<UsageQuery>) -> Result<HttpResponse> {
    let today = chrono::Utc::now().date_naive();
    let from = match &q.from {
        Some(f) => day_of("from", f)?,
        None => (today - chrono::Duration::days(30)).format("%Y-%m-%d").to_string(),
    };
    let to = match &q.to {
        Some(t) => day_of("to", t)?,
        None => today.format("%Y-%m-%d").to_string(),
    };
    if from > to {
        return Err(Error::field("from", "from is after to"));
    }
    let org = caller.0.org_id;
    let (f, t) = (from.clone(), to.clone());
    let (items, daily) = state.store.read(move |c| crate::usage::repo::report(c, &org, &f, &t)).await?;
    let totals = json!({
        "calls": items.iter().map(|r| r.calls).sum::<u64>(),
        "input_tokens": items.iter().map(|r| r.input_tokens).sum::<u64>(),
        "output_tokens": items.iter().map(|r| r.output_tokens).sum::<u64>(),
        "cost_usd": items.iter().map(|r| r.cost_usd).sum::<f64>(),
        "cache_hits": items.iter().map(|r| r.cache_hits).sum::<u64>(),
    });
    let mut by_source = serde_json::Map::new();
    for source in ["judge", "target", "gateway"] {
        let rows = || items.iter().filter(|r| r.source == source);
        by_source.insert(
            source.into(),
            json!({
                "calls": rows().map(|r| r.calls).sum::<u64>(),
                "input_tokens": rows().map(|r| r.input_tokens).sum::<u64>(),
                "output_tokens": rows().map(|r| r.output_tokens).sum::<u64>(),
                "cost_usd": rows().map(|r| r.cost_usd).sum::<f64>(),
                "cache_hits": rows().map(|r| r.cache_hits).sum::<u64>(),
            }),
        );
    }
    Ok(HttpResponse::Ok().json(
        json!({"from": from, "to": to, "totals": totals, "by_source": by_source, "items": items, "daily": daily}),
    ))
}

/// GET /v1/audit-log
#[utoipa::path(get, path = "/v1/audit-log", tag = "usage", params(PageQuery),
    responses((status = 200, description = "Audit rows, newest first", body = inline(Page<crate::usage::audit::AuditEntry>))),
    security(("api_key" = [])))]
pub async fn list_audit_log(
    state: web::Data<AppState>,
    caller: OrgAdmin,
    q: web::Query<PageQuery>,
) -> Result<HttpResponse> {
    let org = caller.0.org_id;
    id_page(
        &state.store,
        &q,
        |r: &crate::usage::audit::AuditEntry| &r.id,
        move |c, before, limit| crate::usage::audit::list(c, &org, before, limit),
    )
    .await
}

/// Usage figures and the audit log.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/v1/usage").route(web::get().to(usage)))
        .service(web::resource("/v1/audit-log").route(web::get().to(list_audit_log)));
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(usage, list_audit_log))]
pub struct Doc;
