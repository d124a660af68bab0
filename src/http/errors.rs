//! Framework-level failures mapped into the contract's error shape.

use actix_web::body::{BoxBody, EitherBody};
use actix_web::dev::ServiceResponse;
use actix_web::error::{JsonPayloadError, QueryPayloadError};
use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::middleware::ErrorHandlerResponse;
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use serde_json::json;

use crate::domain::Code;
use crate::error::{Error, ErrorBody, ErrorDetail};

/// The HTTP status of a contract code.
pub fn status_of(code: Code) -> StatusCode {
    StatusCode::from_u16(code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

impl ResponseError for Error {
    fn status_code(&self) -> StatusCode {
        status_of(self.code())
    }

    fn error_response(&self) -> HttpResponse {
        if let Error::Internal(cause) = self {
            tracing::error!(error = format!("{cause:#}"), "internal error");
        }
        let mut b = HttpResponse::build(self.status_code());
        if let Error::RateLimited { retry_after_s, .. } = self {
            b.insert_header((header::RETRY_AFTER, retry_after_s.to_string()));
        }
        b.json(self.body())
    }
}

/// A deserialisation message with the offending *values* taken out: serde quotes the value it could not read
/// (`invalid type: string "sk-…"`), and a value in a field meant for a secret must never come back in an error.
/// Field names and expected types stay, so the message still says what to fix.
pub fn redact_values(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    loop {
        let next = [("string \"", '"'), ("variant `", '`'), ("value: `", '`')]
            .iter()
            .filter_map(|(open, close)| rest.find(open).map(|i| (i, *open, *close)))
            .min_by_key(|(i, _, _)| *i);
        let Some((i, open, close)) = next else {
            out.push_str(rest);
            return out;
        };
        out.push_str(&rest[..i + open.len() - 1]);
        let after = &rest[i + open.len()..];
        match after.find(close) {
            // A short backticked word is an enum variant the caller mistyped (`mistral`): keep it, it helps.
            Some(j) if close == '`' && j <= 24 => {
                out.push('`');
                out.push_str(&after[..=j]);
                rest = &after[j + 1..];
            }
            Some(j) => {
                out.push_str("(value hidden)");
                rest = &after[j + close.len_utf8()..];
            }
            None => {
                out.push_str("(value hidden)");
                return out;
            }
        }
    }
}

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
            message: format!("invalid JSON body: {}", redact_values(&de.to_string())),
            details: json!({"line": de.line(), "column": de.column()}),
        },
        other => Error::validation(format!("could not read the body: {other}")),
    };
    e.into()
}

/// `QueryConfig::error_handler`.
pub fn query_error(err: QueryPayloadError, _req: &HttpRequest) -> actix_web::Error {
    Error::validation(format!("invalid query string: {}", redact_values(&err.to_string()))).into()
}

/// `PathConfig::error_handler`.
pub fn path_error(err: actix_web::error::PathError, _req: &HttpRequest) -> actix_web::Error {
    Error::NotFound(format!("no such resource: {err}")).into()
}

/// Routes nothing matches.
pub async fn not_found(req: HttpRequest) -> Result<HttpResponse, Error> {
    Err(Error::NotFound(format!("no route for {} {}", req.method(), req.path())))
}

fn code_for(status: StatusCode) -> Code {
    match status.as_u16() {
        400 => Code::ValidationFailed,
        401 => Code::Unauthenticated,
        403 => Code::Forbidden,
        404 => Code::NotFound,
        405 => Code::MethodNotAllowed,
        409 => Code::Conflict,
        413 => Code::PayloadTooLarge,
        415 => Code::UnsupportedMediaType,
        429 => Code::RateLimited,
        503 => Code::Unavailable,
        _ => Code::Internal,
    }
}

/// The methods a route pattern answers, for a 405's `Allow` header, read from the served OpenAPI document (which
/// the handlers' annotations generate and a test keeps complete), so no second table can drift from the routes.
fn allowed_methods(pattern: &str) -> Option<String> {
    let ops = super::openapi::document().get("paths")?.get(pattern)?.as_object()?;
    let methods: Vec<String> = ["get", "post", "put", "patch", "delete"]
        .iter()
        .filter(|m| ops.contains_key(**m))
        .map(|m| m.to_ascii_uppercase())
        .collect();
    (!methods.is_empty()).then(|| methods.join(", "))
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
    let body = ErrorBody { error: ErrorDetail { code, message, details: json!({}) } };
    let status = if code == Code::Internal && status.as_u16() < 500 { status } else { status_of(code).max(status) };
    let allow = (status == StatusCode::METHOD_NOT_ALLOWED)
        .then(|| res.request().match_pattern().and_then(|p| allowed_methods(&p)))
        .flatten();
    let (req, _) = res.into_parts();
    let mut builder = HttpResponse::build(status);
    if let Some(allow) = allow {
        builder.insert_header((header::ALLOW, allow));
    }
    let resp: HttpResponse<BoxBody> = builder.json(body);
    Ok(ErrorHandlerResponse::Response(ServiceResponse::new(req, resp).map_body(|_, b| EitherBody::right(b))))
}

#[cfg(test)]
mod tests {
    use super::redact_values;

    #[test]
    fn quoted_values_never_come_back() {
        let m = redact_values("invalid type: string \"sk-proj-abc123\", expected struct ProviderKeyInput at line 1");
        assert!(!m.contains("sk-proj"), "{m}");
        assert!(m.contains("expected struct ProviderKeyInput"), "{m}");
        let m = redact_values(
            "unknown variant `sk-ant-api03-abcdefghijklmnopqrstuvwxyz`, expected one of `openai`, `anthropic`",
        );
        assert!(!m.contains("sk-ant"), "{m}");
        assert!(redact_values("unknown variant `mistral`, expected one of `openai`").contains("`mistral`"));
        assert!(m.contains("`openai`"), "{m}");
        assert_eq!(redact_values("missing field `name`"), "missing field `name`");
        assert!(!redact_values("invalid type: string \"unterminated").contains("unterminated"));
    }
}
