//! The OpenAI-compatible gateway's HTTP surface: `/v1/chat/completions`, `/v1/embeddings`, `/v1/messages`
//! (Anthropic's shape), `/v1/models` and the request log `/v1/gateway/requests`. Errors of the gateway calls are
//! in the provider's own shape (OpenAI's, or Anthropic's on `/v1/messages`) with the contract code; every answer
//! carries the `x-gavel-*` headers and `x-request-id`. The logic is in `crate::gateway`.

use std::convert::Infallible;

use actix_web::http::header::{HeaderName, HeaderValue, RETRY_AFTER};
use actix_web::{web, HttpRequest, HttpResponse, HttpResponseBuilder};
use futures_util::StreamExt;
use serde_json::Value;

use crate::domain::{Code, Page};
use crate::error::Result;
use crate::gateway::{egress, Answer, CallInfo, Failure, Meta};
use crate::http::auth::OrgMember;
use crate::http::AppState;
use crate::store::page::{self, PageQuery};

/// The longest `x-gavel-project` value accepted (project names are far shorter).
pub const MAX_PROJECT_HEADER_LEN: usize = 200;

/// Which error shape a route answers in.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    OpenAi,
    Anthropic,
}

/// The caller and what its headers ask. An authentication failure comes back in the route's error shape too, so
/// SDKs raise their own error class for it (OpenAI's `AuthenticationError`).
fn call_info(req: &HttpRequest, caller: Result<OrgMember>) -> std::result::Result<CallInfo, Failure> {
    let request_id = actix_web::HttpMessage::extensions(req)
        .get::<crate::http::metrics::RequestId>()
        .map_or_else(|| uuid::Uuid::now_v7().simple().to_string(), |r| r.0.clone());
    let caller = caller.map_err(|e| {
        let mut f = Failure::new(e.code(), e.to_string());
        f.meta.request_id = request_id.clone();
        if let crate::error::Error::RateLimited { retry_after_s, .. } = &e {
            f.retry_after_s = Some(*retry_after_s);
        }
        f
    })?;
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    let cache_control = header("cache-control").unwrap_or("").to_ascii_lowercase();
    let directives: Vec<&str> = cache_control.split(',').map(str::trim).collect();
    let project = header("x-gavel-project").filter(|p| !p.is_empty()).map(str::to_owned);
    if project.as_ref().is_some_and(|p| p.len() > MAX_PROJECT_HEADER_LEN) {
        let mut f = Failure::new(
            Code::ValidationFailed,
            format!("x-gavel-project is longer than MAX_PROJECT_HEADER_LEN ({MAX_PROJECT_HEADER_LEN})"),
        );
        f.meta.request_id = request_id;
        return Err(f);
    }
    Ok(CallInfo {
        org_id: caller.0.org_id.clone(),
        api_key_id: caller.0.key_id.clone(),
        project,
        request_id,
        cache_read: !directives.contains(&"no-cache"),
        cache_write: !directives.contains(&"no-store"),
    })
}

fn put(b: &mut HttpResponseBuilder, name: &'static str, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        b.insert_header((HeaderName::from_static(name), v));
    }
}

/// The `x-gavel-*` headers and `x-request-id`.
fn with_meta(mut b: HttpResponseBuilder, m: &Meta) -> HttpResponseBuilder {
    put(&mut b, "x-request-id", &m.request_id);
    put(&mut b, "x-gavel-cache", if m.cache.is_empty() { "miss" } else { m.cache });
    put(&mut b, "x-gavel-provider", m.provider.unwrap_or(""));
    put(&mut b, "x-gavel-model", m.model.as_deref().unwrap_or(""));
    put(&mut b, "x-gavel-key-source", m.key_source.unwrap_or(""));
    // A stream's cost is known only at its end (the request log has it).
    let cost = m.cost_usd.map_or_else(|| "unknown".to_owned(), |c| format!("{c:.6}"));
    put(&mut b, "x-gavel-cost-usd", &cost);
    put(&mut b, "x-gavel-overhead-ms", &m.overhead_ms.to_string());
    put(&mut b, "x-gavel-attempts", &m.attempts.to_string());
    b
}

fn failure(f: &Failure, shape: Shape) -> HttpResponse {
    let status = actix_web::http::StatusCode::from_u16(f.status).unwrap_or(actix_web::http::StatusCode::BAD_GATEWAY);
    let mut b = with_meta(HttpResponse::build(status), &f.meta);
    if let Some(s) = f.retry_after_s.filter(|_| f.status == 429 || f.status == 503) {
        b.insert_header((RETRY_AFTER, s.to_string()));
    }
    match shape {
        Shape::OpenAi => b.json(egress::openai_error(f)),
        Shape::Anthropic => b.json(egress::anthropic_error(f)),
    }
}

fn parse_body(body: &[u8], request_id: &str) -> std::result::Result<Value, Failure> {
    serde_json::from_slice::<Value>(body).ok().filter(Value::is_object).ok_or_else(|| {
        let mut f = Failure::new(Code::ValidationFailed, "the request body must be a JSON object");
        f.meta.request_id = request_id.to_owned();
        f
    })
}

/// The start of every OpenAI-shaped call: who calls, and the body as a JSON object; or the answer refusing it.
fn openai_call(
    req: &HttpRequest,
    caller: Result<OrgMember>,
    body: &[u8],
) -> std::result::Result<(CallInfo, Value), Box<HttpResponse>> {
    let refuse = |f: Failure| Box::new(failure(&f, Shape::OpenAi));
    let info = call_info(req, caller).map_err(refuse)?;
    let raw = parse_body(body, &info.request_id).map_err(refuse)?;
    Ok((info, raw))
}

fn sse(b: HttpResponseBuilder, frames: impl futures_util::Stream<Item = String> + 'static) -> HttpResponse {
    let mut b = b;
    b.content_type("text/event-stream").insert_header(("cache-control", "no-cache"));
    b.streaming(frames.map(|f| Ok::<_, Infallible>(web::Bytes::from(f))))
}

/// OpenAI's chat completions, on the org's provider keys.
#[utoipa::path(post, path = "/v1/chat/completions", tag = "gateway",
    request_body(content = Object, description = "OpenAI's chat completion request; unknown fields pass through to OpenAI-style providers"),
    responses((status = 200, description = "A chat completion, or with `stream: true` Server-Sent Events of chunks ending in `data: [DONE]`", body = Object),
        (status = 400, description = "OpenAI error shape; `code` is the contract code (VALIDATION_FAILED, BYOK_NO_KEY)", body = Object),
        (status = 404, description = "BYOK_MODEL_NOT_FOUND", body = Object),
        (status = 429, description = "RATE_LIMITED, BUDGET_EXCEEDED or BYOK_RATE_LIMITED, with Retry-After", body = Object)),
    security(("api_key" = [])))]
pub async fn chat_completions(
    state: web::Data<AppState>,
    caller: Result<OrgMember>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let (info, raw) = match openai_call(&req, caller, &body) {
        Ok(call) => call,
        Err(answer) => return *answer,
    };
    match state.gateway.chat(&info, raw, "chat.completions").await {
        Ok(Answer::Whole { body, meta }) => with_meta(HttpResponse::Ok(), &meta).json(body),
        Ok(Answer::Stream { items, meta }) => sse(with_meta(HttpResponse::Ok(), &meta), egress::openai_frames(items)),
        Err(f) => failure(&f, Shape::OpenAi),
    }
}

/// Anthropic's Messages API, served by any provider through the translation core.
#[utoipa::path(post, path = "/v1/messages", tag = "gateway",
    request_body(content = Object, description = "Anthropic's Messages request"),
    responses((status = 200, description = "An Anthropic message, or with `stream: true` Anthropic's event stream", body = Object),
        (status = 400, description = "Anthropic error shape; the contract code leads the message", body = Object)),
    security(("api_key" = [])))]
pub async fn messages(
    state: web::Data<AppState>,
    caller: Result<OrgMember>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let info = match call_info(&req, caller) {
        Ok(i) => i,
        Err(f) => return failure(&f, Shape::Anthropic),
    };
    let translated = serde_json::from_slice::<crate::gateway::anthropic::MessagesRequest>(&body)
        .map_err(|e| {
            Failure::new(
                Code::ValidationFailed,
                format!(
                    "the request body is not a Messages request: {}",
                    crate::http::errors::redact_values(&e.to_string())
                ),
            )
        })
        .and_then(|m| crate::gateway::anthropic_request_to_openai(&m).map_err(|e| Failure::from_gateway(&e, None)))
        .and_then(|mut r| {
            if r.stream == Some(true) {
                // The Anthropic stream's closing event carries usage: ask for it.
                r.stream_options.get_or_insert_with(Default::default).include_usage = Some(true);
            }
            serde_json::to_value(r).map_err(|e| Failure::new(Code::Internal, e.to_string()))
        });
    let raw = match translated {
        Ok(v) => v,
        Err(mut f) => {
            f.meta.request_id = info.request_id.clone();
            return failure(&f, Shape::Anthropic);
        }
    };
    let id = format!("msg_{}", info.request_id);
    match state.gateway.chat(&info, raw, "messages").await {
        Ok(Answer::Whole { body, meta }) => match egress::anthropic_whole(body, &id) {
            Ok(msg) => with_meta(HttpResponse::Ok(), &meta).json(msg),
            Err(mut f) => {
                *f.meta = meta;
                failure(&f, Shape::Anthropic)
            }
        },
        Ok(Answer::Stream { items, meta }) => {
            let model = meta.model.clone().unwrap_or_default();
            sse(with_meta(HttpResponse::Ok(), &meta), egress::anthropic_frames(items, &id, &model))
        }
        Err(f) => failure(&f, Shape::Anthropic),
    }
}

/// OpenAI's embeddings (OpenAI-style providers as they are, Google through the translation core).
#[utoipa::path(post, path = "/v1/embeddings", tag = "gateway",
    request_body(content = Object, description = "OpenAI's embeddings request"),
    responses((status = 200, description = "OpenAI's embeddings answer", body = Object),
        (status = 400, description = "OpenAI error shape", body = Object)),
    security(("api_key" = [])))]
pub async fn embeddings(
    state: web::Data<AppState>,
    caller: Result<OrgMember>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let (info, raw) = match openai_call(&req, caller, &body) {
        Ok(call) => call,
        Err(answer) => return *answer,
    };
    match state.gateway.embeddings(&info, raw).await {
        Ok((body, meta)) => with_meta(HttpResponse::Ok(), &meta).json(body),
        Err(f) => failure(&f, Shape::OpenAi),
    }
}

/// The models the org can reach with a usable key, and its aliases.
#[utoipa::path(get, path = "/v1/models", tag = "gateway",
    responses((status = 200, description = "{object: \"list\", data: [{id, object: \"model\", created, owned_by}]}", body = Object)),
    security(("api_key" = [])))]
pub async fn models(state: web::Data<AppState>, caller: Result<OrgMember>, req: HttpRequest) -> HttpResponse {
    let info = match call_info(&req, caller) {
        Ok(i) => i,
        Err(f) => return failure(&f, Shape::OpenAi),
    };
    match state.gateway.view(&info.org_id, &info.api_key_id, None).await {
        Ok(view) => HttpResponse::Ok().json(state.gateway.models(&view)),
        Err(f) => failure(&f, Shape::OpenAi),
    }
}

/// `GET /v1/gateway/requests`: a page of the log, optionally narrowed by model (served or asked), project, cache
/// outcome and status (the dashboard's filters; each an exact match so the query stays one indexed scan of the
/// org's rows).
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RequestLogQuery {
    /// Page size, 1..=1000 (default 50).
    pub limit: Option<u32>,
    /// `next_cursor` from the previous page.
    pub cursor: Option<String>,
    /// Only calls served by this model (as `x-gavel-model` named it) or that asked for it (`requested_model`: an
    /// alias, `provider/model` or a native name, as the request's `model` said).
    pub model: Option<String>,
    /// Only calls attributed to this project (`x-gavel-project`).
    pub project: Option<String>,
    /// Only `hit`, `miss` or `bypass` calls.
    pub cache: Option<String>,
    /// `ok` (status below 400), `error` (400 and above) or one HTTP status such as `429`.
    pub status: Option<String>,
}

impl RequestLogQuery {
    fn filter(&self) -> Result<crate::usage::requests::Filter> {
        let nonempty = |v: &Option<String>| v.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned);
        let cache = nonempty(&self.cache);
        if cache.as_deref().is_some_and(|c| !matches!(c, "hit" | "miss" | "bypass")) {
            return Err(crate::error::Error::field("cache", "cache is hit, miss or bypass"));
        }
        let status = match nonempty(&self.status).as_deref() {
            None => None,
            Some("ok") => Some((0, 399)),
            Some("error") => Some((400, 999)),
            Some(n) => match n.parse::<u16>() {
                Ok(code) if (100..=599).contains(&code) => Some((code, code)),
                _ => {
                    return Err(crate::error::Error::field(
                        "status",
                        "status is ok, error or an HTTP status between 100 and 599",
                    ))
                }
            },
        };
        Ok(crate::usage::requests::Filter {
            model: nonempty(&self.model),
            project: nonempty(&self.project),
            cache,
            status,
        })
    }
}

/// The org's gateway request log, newest first. Each row names the `model` the caller asked for (`requested_model`)
/// beside the `provider` and `model` that served it. Rows carry `content: {prompt, completion, truncated}` only for calls
/// of a project that opted in (`PATCH /v1/projects/{project} {gateway_log_content: true}`).
#[utoipa::path(get, path = "/v1/gateway/requests", tag = "gateway", params(RequestLogQuery),
    responses((status = 200, body = inline(Page<crate::usage::requests::RequestRow>)),
        (status = 400, description = "VALIDATION_FAILED: a bad limit, cursor, cache or status", body = crate::error::ErrorBody)),
    security(("api_key" = [])))]
pub async fn list_requests(
    state: web::Data<AppState>,
    caller: OrgMember,
    q: web::Query<RequestLogQuery>,
) -> Result<HttpResponse> {
    let q = q.into_inner();
    let filter = q.filter()?;
    let pq = PageQuery { limit: q.limit, cursor: q.cursor };
    let (limit, before) = (pq.limit()?, pq.after()?);
    let org = caller.0.org_id;
    let rows =
        state.store.read(move |c| crate::usage::requests::list(c, &org, before.as_deref(), limit, &filter)).await?;
    let (items, next_cursor) = page::finish(rows, limit, |r| &r.id);
    Ok(HttpResponse::Ok().json(Page { items, next_cursor }))
}

/// The gateway's routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/v1/chat/completions").route(web::post().to(chat_completions)))
        .service(web::resource("/v1/messages").route(web::post().to(messages)))
        .service(web::resource("/v1/embeddings").route(web::post().to(embeddings)))
        .service(web::resource("/v1/models").route(web::get().to(models)))
        .service(web::resource("/v1/gateway/requests").route(web::get().to(list_requests)));
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(chat_completions, messages, embeddings, models, list_requests))]
pub struct Doc;
