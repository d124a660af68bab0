//! One error type for the whole application, each variant carrying its contract [`Code`].
//!
//! The message returned to the client is separate from the logged cause: a 5xx never leaks its cause.
//! How an error becomes an HTTP answer lives in `http::errors`; this module knows nothing of HTTP frameworks.

use serde::Serialize;
use serde_json::{json, Value};

pub use crate::domain::Code;

/// Every way a request can fail, each with its contract code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{message}")]
    Validation { message: String, details: Value },
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{0}")]
    MethodNotAllowed(String),
    /// Over a limit; `retry_after_s` becomes the `Retry-After` header.
    #[error("{message}")]
    RateLimited { message: String, retry_after_s: u64 },
    #[error("{0}")]
    Unavailable(String),
    /// A provider-side or budget failure that answers a request directly (gateway, key test).
    #[error("{message}")]
    Coded { code: Code, message: String },
    /// A server-side failure; the cause is logged, never returned.
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

/// The error body, also used by the OpenAPI document.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// One of the contract's UPPER_SNAKE codes.
    pub code: Code,
    pub message: String,
    #[schema(value_type = Object)]
    pub details: Value,
}

impl Error {
    /// A 400 naming the offending field in `details.field`.
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        Error::Validation { message: message.into(), details: json!({ "field": field }) }
    }

    pub fn validation(message: impl Into<String>) -> Self {
        Error::Validation { message: message.into(), details: json!({}) }
    }

    pub fn not_found(what: &str) -> Self {
        Error::NotFound(format!("{what} not found"))
    }

    pub fn internal(e: impl Into<anyhow::Error>) -> Self {
        Error::Internal(e.into())
    }

    /// A 429 with the time after which a retry may succeed.
    pub fn rate_limited(message: impl Into<String>, retry_after_s: u64) -> Self {
        Error::RateLimited { message: message.into(), retry_after_s: retry_after_s.max(1) }
    }

    /// The contract code.
    pub fn code(&self) -> Code {
        match self {
            Error::Unauthenticated(_) => Code::Unauthenticated,
            Error::Forbidden(_) => Code::Forbidden,
            Error::NotFound(_) => Code::NotFound,
            Error::Validation { .. } => Code::ValidationFailed,
            Error::Conflict(_) => Code::Conflict,
            Error::PayloadTooLarge(_) => Code::PayloadTooLarge,
            Error::UnsupportedMediaType(_) => Code::UnsupportedMediaType,
            Error::MethodNotAllowed(_) => Code::MethodNotAllowed,
            Error::RateLimited { .. } => Code::RateLimited,
            Error::Unavailable(_) => Code::Unavailable,
            Error::Coded { code, .. } => *code,
            Error::Internal(_) => Code::Internal,
        }
    }

    fn details(&self) -> Value {
        match self {
            Error::Validation { details, .. } => details.clone(),
            Error::RateLimited { retry_after_s, .. } => json!({ "retry_after_s": retry_after_s }),
            _ => json!({}),
        }
    }

    /// The body, for places that build responses or events outside the HTTP error path.
    pub fn body(&self) -> ErrorBody {
        ErrorBody { error: ErrorDetail { code: self.code(), message: self.to_string(), details: self.details() } }
    }
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        Error::Internal(e.into())
    }
}

/// Result alias for handlers and feature logic.
pub type Result<T, E = Error> = std::result::Result<T, E>;
