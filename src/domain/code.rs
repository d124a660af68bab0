//! Every code of the outside contract, with the HTTP status it answers with.
//!
//! One table so that a code and its status can never disagree, whether the code ends up in an API error, in a
//! score's `error`, in a key test, or in a gateway answer. The OpenAPI document lists the codes from here.

use serde::{Deserialize, Serialize};

macro_rules! codes {
    ($( $(#[$doc:meta])* $variant:ident = $name:literal, $status:literal; )*) => {
        /// A contract code (`UPPER_SNAKE` on the wire).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum Code {
            $( $(#[$doc])* #[serde(rename = $name)] $variant, )*
        }

        impl Code {
            /// Every code, in contract order.
            pub const ALL: &'static [Code] = &[$(Code::$variant),*];

            /// The code as the wire spells it.
            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $name,)* }
            }

            /// The HTTP status an answer carrying this code has.
            pub fn status(self) -> u16 {
                match self { $(Code::$variant => $status,)* }
            }

            /// The code for a wire spelling (stored rows, provider classifications).
            pub fn parse(s: &str) -> Option<Code> {
                match s { $($name => Some(Code::$variant),)* _ => None }
            }
        }
    };
}

codes! {
    /// No key, or a key the server does not know.
    Unauthenticated = "UNAUTHENTICATED", 401;
    /// The key is known but its role may not do this.
    Forbidden = "FORBIDDEN", 403;
    /// Missing, or another org's (indistinguishable on purpose).
    NotFound = "NOT_FOUND", 404;
    /// The request is malformed or breaks a rule; `details.field` names the field.
    ValidationFailed = "VALIDATION_FAILED", 400;
    /// The request clashes with the current state (a name taken, a run already final).
    Conflict = "CONFLICT", 409;
    /// Over a size limit; the message names the limit.
    PayloadTooLarge = "PAYLOAD_TOO_LARGE", 413;
    /// The body's content type is not one this endpoint reads.
    UnsupportedMediaType = "UNSUPPORTED_MEDIA_TYPE", 415;
    /// The path exists but not with this method (the answer carries `Allow`).
    MethodNotAllowed = "METHOD_NOT_ALLOWED", 405;
    /// Over a request, token or run-admission limit; the answer carries `Retry-After`.
    RateLimited = "RATE_LIMITED", 429;
    /// A gateway budget would be exceeded by this call.
    BudgetExceeded = "BUDGET_EXCEEDED", 429;
    /// The server is starting or stopping.
    Unavailable = "UNAVAILABLE", 503;
    /// A server-side failure; the cause is logged, never returned.
    Internal = "INTERNAL", 500;
    /// No usable provider key for the call.
    ByokNoKey = "BYOK_NO_KEY", 400;
    /// The provider refused the key (401/403).
    ByokAuthFailed = "BYOK_AUTH_FAILED", 502;
    /// The provider account's quota or billing is exhausted; not retried.
    ByokQuotaExceeded = "BYOK_QUOTA_EXCEEDED", 402;
    /// The provider does not know the model (or the deployment).
    ByokModelNotFound = "BYOK_MODEL_NOT_FOUND", 404;
    /// DNS, connect or TLS failure reaching the provider.
    ByokEndpointUnreachable = "BYOK_ENDPOINT_UNREACHABLE", 502;
    /// The provider still answered 429 after the retries.
    ByokRateLimited = "BYOK_RATE_LIMITED", 429;
    /// The provider still failed (5xx, timeouts, garbage) after the retries.
    ByokProviderError = "BYOK_PROVIDER_ERROR", 502;
    /// The judge's reply holds no usable verdict.
    JudgeUnparseable = "JUDGE_UNPARSEABLE", 502;
    /// The run's (or org's) cost limit is spent.
    CostLimitExceeded = "COST_LIMIT_EXCEEDED", 402;
    /// A scorer hit one of its bounds (regex backtracking, schema cost, input size) on this item.
    ScorerLimitExceeded = "SCORER_LIMIT_EXCEEDED", 422;
}

/// Written by hand so the document lists the wire spellings (`BYOK_NO_KEY`), the same table the code uses.
impl utoipa::PartialSchema for Code {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .enum_values(Some(Code::ALL.iter().map(|c| c.as_str())))
            .description(Some(
                "A contract code; the HTTP status of an answer carrying it is fixed per code (see docs/api.md).",
            ))
            .into()
    }
}

impl utoipa::ToSchema for Code {}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Lets tests and classifiers compare a code with its wire spelling.
impl PartialEq<&str> for Code {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_round_trips_and_has_a_real_status() {
        for &c in Code::ALL {
            assert_eq!(Code::parse(c.as_str()), Some(c));
            assert!((400..600).contains(&c.status()), "{c}");
            let json = serde_json::to_string(&c).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", c.as_str()));
        }
        assert_eq!(Code::parse("NOPE"), None);
    }
}
