//! Translation failures, and the two error shapes gateway callers expect: OpenAI's
//! `{"error": {"message", "type", "param", "code"}}` (with the contract code in `code`) and Anthropic's
//! `{"type": "error", "error": {"type", "message"}}`.
//!
//! Messages built here quote field names and the caller's own values, never a provider key; messages quoted from a
//! provider's stream (`UpstreamReported`) should still go through the key scrubber before they are sent or logged.

use serde_json::{json, Value};

/// Why a request or an answer could not be translated.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GatewayError {
    /// The request uses a field, or a value of it, that the chosen provider cannot honour.
    #[error("{provider} cannot honour `{param}`: {reason}")]
    Unsupported { param: String, provider: &'static str, reason: String },
    /// The request itself is malformed (bad tool arguments, an unknown tool_call_id, an unusable image URL...).
    #[error("invalid `{param}`: {message}")]
    Invalid { param: String, message: String },
    /// No route knows this model name.
    #[error("the model `{model}` is not a known model, `provider/model` or alias")]
    ModelNotFound { model: String },
    /// The provider answered something that cannot be turned into the caller's shape.
    #[error("the provider's answer could not be translated: {message}")]
    Upstream { message: String },
    /// The provider reported an error inside a stream (Anthropic's `error` event); `kind` is its error type.
    #[error("the provider reported {kind}: {message}")]
    UpstreamReported { kind: String, message: String },
    /// A named limit was exceeded; `limit` names the constant.
    #[error("{what} exceeds {limit} ({max})")]
    TooLarge { what: String, limit: &'static str, max: usize },
}

impl GatewayError {
    pub(crate) fn unsupported(param: impl Into<String>, provider: &'static str, reason: impl Into<String>) -> Self {
        GatewayError::Unsupported { param: param.into(), provider, reason: reason.into() }
    }

    pub(crate) fn invalid(param: impl Into<String>, message: impl Into<String>) -> Self {
        GatewayError::Invalid { param: param.into(), message: message.into() }
    }

    pub(crate) fn upstream(message: impl Into<String>) -> Self {
        GatewayError::Upstream { message: message.into() }
    }

    /// The contract code (API.md "Error codes").
    pub fn code(&self) -> &'static str {
        match self {
            GatewayError::Unsupported { .. } | GatewayError::Invalid { .. } => "VALIDATION_FAILED",
            GatewayError::ModelNotFound { .. } => "BYOK_MODEL_NOT_FOUND",
            GatewayError::Upstream { .. } => "BYOK_PROVIDER_ERROR",
            GatewayError::UpstreamReported { kind, .. } => match kind.as_str() {
                "rate_limit_error" => "BYOK_RATE_LIMITED",
                "authentication_error" | "permission_error" => "BYOK_AUTH_FAILED",
                "billing_error" => "BYOK_QUOTA_EXCEEDED",
                "not_found_error" => "BYOK_MODEL_NOT_FOUND",
                _ => "BYOK_PROVIDER_ERROR",
            },
            GatewayError::TooLarge { .. } => "PAYLOAD_TOO_LARGE",
        }
    }

    /// The HTTP status that goes with [`Self::code`]; in a stream already under way it only informs the error event.
    pub fn status(&self) -> u16 {
        match self {
            GatewayError::Unsupported { .. } | GatewayError::Invalid { .. } => 400,
            GatewayError::ModelNotFound { .. } => 404,
            GatewayError::Upstream { .. } => 502,
            GatewayError::UpstreamReported { .. } => match self.code() {
                "BYOK_RATE_LIMITED" => 429,
                "BYOK_AUTH_FAILED" => 401,
                "BYOK_QUOTA_EXCEEDED" => 402,
                "BYOK_MODEL_NOT_FOUND" => 404,
                _ => 502,
            },
            GatewayError::TooLarge { .. } => 413,
        }
    }

    /// The request field at fault, OpenAI-style (`messages[2].content[0].image_url.url`), when there is one.
    pub fn param(&self) -> Option<&str> {
        match self {
            GatewayError::Unsupported { param, .. } | GatewayError::Invalid { param, .. } => Some(param),
            GatewayError::ModelNotFound { .. } => Some("model"),
            _ => None,
        }
    }

    /// This error in OpenAI's shape.
    pub fn to_openai(&self) -> Value {
        openai_error_body(self.code(), self.status(), &self.to_string(), self.param())
    }

    /// This error in Anthropic's shape (also the data of an Anthropic `error` stream event).
    pub fn to_anthropic(&self) -> Value {
        anthropic_error_body(self.code(), self.status(), &self.to_string())
    }
}

/// OpenAI's error body with the contract code in `code`. SDKs branch on the HTTP status; `type` follows OpenAI's
/// own names so that code inspecting it still reads sensibly.
pub fn openai_error_body(code: &str, status: u16, message: &str, param: Option<&str>) -> Value {
    json!({"error": {"message": message, "type": openai_error_type(code, status), "param": param, "code": code}})
}

/// Anthropic's error body. Anthropic has no code field, so the contract code leads the message.
pub fn anthropic_error_body(code: &str, status: u16, message: &str) -> Value {
    json!({"type": "error", "error": {"type": anthropic_error_type(code, status), "message": format!("{code}: {message}")}})
}

/// OpenAI's `error.type` for a contract code and status.
pub fn openai_error_type(code: &str, status: u16) -> &'static str {
    match code {
        "BYOK_QUOTA_EXCEEDED" | "BUDGET_EXCEEDED" | "COST_LIMIT_EXCEEDED" => return "insufficient_quota",
        "RATE_LIMITED" | "BYOK_RATE_LIMITED" => return "rate_limit_error",
        _ => {}
    }
    match status {
        401 => "authentication_error",
        403 => "permission_error",
        404 => "not_found_error",
        409 => "conflict_error",
        429 => "rate_limit_error",
        400..=499 => "invalid_request_error",
        _ => "api_error",
    }
}

/// Anthropic's `error.type` for a contract code and status (Anthropic's documented set).
pub fn anthropic_error_type(code: &str, status: u16) -> &'static str {
    match code {
        "BYOK_QUOTA_EXCEEDED" => return "billing_error",
        "RATE_LIMITED" | "BYOK_RATE_LIMITED" | "BUDGET_EXCEEDED" => return "rate_limit_error",
        _ => {}
    }
    match status {
        401 => "authentication_error",
        402 => "billing_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        529 => "overloaded_error",
        400..=499 => "invalid_request_error",
        _ => "api_error",
    }
}
