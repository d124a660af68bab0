//! Framework-level failures mapped into the contract's error shape.

use actix_web::body::{BoxBody, EitherBody};
use actix_web::dev::ServiceResponse;
use actix_web::error::{JsonPayloadError, QueryPayloadError};
use actix_web::http::header;
use actix_web::middleware::ErrorHandlerResponse;
use actix_web::{HttpRequest, HttpResponse};
use serde_json::json;

use crate::error::{status_for, Error, ErrorBody, ErrorDetail};

/// `JsonConfig::error_handler`: oversized → 413, wrong content type → 415, unparsable or unknown fields → 400.
pub fn json_error(err: JsonPayloadError, _req: &HttpRequest) -> actix_web::Error {
    let e = match &err {
        JsonPayloadError::OverflowKnownLength { length, limit } => {
            Error::PayloadTooLarge(format!("the body is {length} bytes, over the limit of {limit} bytes"))
        }
        JsonPayloadError::Overflow { limit } => {
            Error::PayloadTooLarge(format!("the body is over the limit of {limit} bytes"))
        }
        JsonPayloadError::ContentType => {
            Error::UnsupportedMediaType("send the body as JSON with Content-Type: application/json".into())
        }
        JsonPayloadError::Deserialize(de) => Error::Validation {
            message: format!("invalid JSON body: {de}"),
            details: json!({"line": de.line(), "column": de.column()}),
        },
        other => Error::validation(format!("could not read the body: {other}")),
    };
    e.into()
}

/// `QueryConfig::error_handler`.
pub fn query_error(err: QueryPayloadError, _req: &HttpRequest) -> actix_web::Error {
    Error::validation(format!("invalid query string: {err}")).into()
}

/// `PathConfig::error_handler`.
pub fn path_error(err: actix_web::error::PathError, _req: &HttpRequest) -> actix_web::Error {
    Error::NotFound(format!("no such resource: {err}")).into()
}

/// Routes nothing matches.
pub async fn not_found(req: HttpRequest) -> Result<HttpResponse, Error> {
    Err(Error::NotFound(format!("no route for {} {}", req.method(), req.path())))
}

fn code_for(status: actix_web::http::StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "VALIDATION_FAILED",
        401 => "UNAUTHENTICATED",
        403 => "FORBIDDEN",
        404 => "NOT_FOUND",
        405 => "METHOD_NOT_ALLOWED",
        409 => "CONFLICT",
        413 => "PAYLOAD_TOO_LARGE",
        415 => "UNSUPPORTED_MEDIA_TYPE",
        429 => "RATE_LIMITED",
        503 => "UNAVAILABLE",
        _ => "INTERNAL",
    }
}

/// `ErrorHandlers` default: any error response that is not already JSON (a bare 405 from the router, a
/// framework 400, a 500 from a panic guard) gets the contract's shape, so no client ever sees an empty error.
pub fn normalise<B>(res: ServiceResponse<B>) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let code = code_for(status);
    let message = match (status.as_u16(), res.response().error()) {
        (405, _) => format!("{} is not allowed on {}", res.request().method(), res.request().path()),
        (s, Some(e)) if s < 500 => e.to_string(),
        (s, _) => status.canonical_reason().map(str::to_string).unwrap_or_else(|| format!("HTTP {s}")),
    };
    let body = ErrorBody { error: ErrorDetail { code: code.into(), message, details: json!({}) } };
    let status = if code == "INTERNAL" && status.as_u16() < 500 { status } else { status_for(code).max(status) };
    let (req, _) = res.into_parts();
    let resp: HttpResponse<BoxBody> = HttpResponse::build(status).json(body);
    Ok(ErrorHandlerResponse::Response(ServiceResponse::new(req, resp).map_body(|_, b| EitherBody::right(b))))
}
