//! Turns failed calls into [`ErrorKind`]s and safe messages.
//!
//! Each provider signals the same conditions differently (Anthropic's empty wallet is a 400 "credit balance"
//! message, Gemini's bad key is a 400 `API_KEY_INVALID`, OpenAI's is a 429 `insufficient_quota`), so the status
//! alone is not enough: the error body's type, code, status and message are read too.

use std::error::Error as _;

use serde_json::Value;

use super::retry::retry_after;
use super::{ErrorKind, ProviderError};
use crate::domain::Provider;
use crate::domain::Secret;

const REDACTED: &str = "[REDACTED]";
/// Long enough for the provider's explanation, short enough for a table cell and a log line.
const MAX_MESSAGE_CHARS: usize = 300;
/// The most of an upstream's own words kept in a failure's message. An upstream's error body is not ours to
/// reflect: with a `base_url` pointed at some internal service, a verbatim body would hand its content to whoever
/// reads the key test or the scores, so only a bounded, scrubbed summary is kept.
pub const MAX_UPSTREAM_SUMMARY_CHARS: usize = 200;
/// The longest provider error code quoted; real ones (`invalid_api_key`, `RESOURCE_EXHAUSTED`) are short.
const MAX_PROVIDER_CODE_LEN: usize = 64;
/// Fragments of the key shorter than this are too likely to be ordinary text to be worth removing.
const MIN_FRAGMENT: usize = 6;

/// The fields of a provider error body that classification looks at.
#[derive(Debug, Default)]
struct ErrorInfo {
    message: String,
    /// `error.type` (OpenAI, Anthropic) or `error.status` (Gemini), lower-cased.
    kind: String,
    /// `error.code` (OpenAI, Azure), lower-cased.
    code: String,
    /// The whole body, lower-cased, for markers buried in details (Gemini's `quotaId`, `reason`).
    haystack: String,
    /// Gemini's `google.rpc.RetryInfo` detail.
    retry_delay: Option<String>,
    /// The provider's own error code as written (`error.code`, else `error.type` or `error.status`), when it is a
    /// plain token: quoted in the summary, never a free text.
    provider_code: Option<String>,
}

fn plain_token(v: Option<&Value>) -> Option<String> {
    let Some(Value::String(s)) = v else { return None };
    let plain = !s.is_empty()
        && s.len() <= MAX_PROVIDER_CODE_LEN
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    plain.then(|| s.clone())
}

fn error_info(body: &[u8]) -> ErrorInfo {
    let raw = String::from_utf8_lossy(&body[..body.len().min(64 * 1024)]).into_owned();
    let parsed: Option<Value> = serde_json::from_str(&raw).ok();
    // Gemini sometimes answers with a one-element array around the error object.
    let root = match parsed {
        Some(Value::Array(items)) => items.into_iter().next(),
        other => other,
    };
    let mut info = ErrorInfo { haystack: raw.to_lowercase(), ..ErrorInfo::default() };
    let Some(root) = root else {
        info.message = plain_text(&raw);
        return info;
    };
    let err = root.get("error").unwrap_or(&Value::Null);
    let text = |v: Option<&Value>| match v {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    info.message = text(err.get("message"))
        .or_else(|| text(Some(err)))
        .or_else(|| text(root.get("message")))
        .or_else(|| text(root.get("detail")))
        .unwrap_or_else(|| plain_text(&raw));
    info.provider_code = ["code", "type", "status"].iter().find_map(|f| plain_token(err.get(*f)));
    info.kind = text(err.get("type")).or_else(|| text(err.get("status"))).unwrap_or_default().to_lowercase();
    info.code = text(err.get("code")).unwrap_or_default().to_lowercase();
    info.retry_delay = err
        .get("details")
        .and_then(Value::as_array)
        .and_then(|details| details.iter().find_map(|d| d.get("retryDelay").and_then(Value::as_str)))
        .map(str::to_owned);
    info
}

/// Reduces an HTML error page (from a proxy or load balancer) to its words.
fn plain_text(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len().min(2048));
    let mut in_tag = false;
    for c in raw.chars().take(4096) {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

fn kind_for(provider: Provider, status: u16, info: &ErrorInfo) -> ErrorKind {
    let has = |marker: &str| info.haystack.contains(marker);
    let is = |field: &str, values: &[&str]| values.contains(&field);
    let message = info.message.to_lowercase();

    let quota = match provider {
        Provider::Anthropic => {
            status == 402
                || info.kind == "billing_error"
                || has("credit balance")
                || has("credit_balance")
                || has("enforced_spend_limit")
        }
        Provider::Google => status == 429 && has("perday"),
        Provider::Openai | Provider::AzureOpenai | Provider::Groq | Provider::OpenaiCompatible => {
            let markers = ["insufficient_quota", "billing_hard_limit_reached", "billing_not_active", "credit_balance"];
            status == 402 || markers.iter().any(|m| is(&info.code, &[m]) || is(&info.kind, &[m]) || has(m))
        }
    };
    if quota && (400..500).contains(&status) {
        return ErrorKind::Quota;
    }
    if status == 401 || status == 403 {
        return ErrorKind::Auth;
    }
    let bad_key = ["api_key_invalid", "api key not valid", "api_key_expired", "api key expired", "invalid api key"];
    if status == 400 && bad_key.iter().any(|m| has(m)) {
        return ErrorKind::Auth;
    }
    let not_found_codes = ["model_not_found", "deploymentnotfound", "not_found_error", "not_found", "notfounderror"];
    let mentions_model = message.contains("model") || message.contains("deployment");
    if status == 404 && (is(&info.code, &not_found_codes) || is(&info.kind, &not_found_codes) || mentions_model) {
        return ErrorKind::ModelNotFound;
    }
    let missing = ["does not exist", "not found", "unknown model", "invalid model", "no such model"];
    if (400..500).contains(&status)
        && (info.code == "model_not_found"
            || (message.contains("model") && missing.iter().any(|m| message.contains(m))))
    {
        return ErrorKind::ModelNotFound;
    }
    if status == 529 || info.kind == "overloaded_error" || (status == 503 && has("overloaded")) {
        return ErrorKind::Overloaded;
    }
    match status {
        429 => ErrorKind::RateLimited,
        408 | 409 => ErrorKind::Server,
        300..=499 => ErrorKind::InvalidRequest,
        _ => ErrorKind::Server,
    }
}

/// A non-2xx answer: classified, with the provider's own explanation (scrubbed) and its retry hint.
pub(super) fn http_error(
    provider: Provider,
    status: u16,
    headers: &reqwest::header::HeaderMap,
    body: &[u8],
    key: &Secret,
) -> ProviderError {
    let info = error_info(body);
    let kind = kind_for(provider, status, &info);
    let mut explanation = info.message.split_whitespace().collect::<Vec<_>>().join(" ");
    if (300..400).contains(&status) {
        let location = headers.get(reqwest::header::LOCATION).and_then(|v| v.to_str().ok()).unwrap_or("elsewhere");
        explanation = format!("redirect to {location}; redirects are not followed, configure the final address");
    }
    if explanation.is_empty() {
        explanation = reqwest::StatusCode::from_u16(status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("no explanation")
            .to_owned();
    }
    // Only the provider's words are scrubbed: a key fragment that happens to spell "openai" must not blank our own.
    let code = info.provider_code.as_deref().map(|c| redact_key_tokens(&remove_fragments(c, key.expose_secret())));
    let code = code.map(|c| format!(" ({c})")).unwrap_or_default();
    let message = format!("{} answered {status}{code}: {}", provider.as_str(), summarise(&explanation, key));
    // Rate-limit resets are about 429s; on other answers only an explicit Retry-After is a hint. Gemini sends no
    // header at all: its wait is a RetryInfo detail in the body ("retryDelay": "43s").
    let wait = if status == 429 {
        retry_after(headers).or_else(|| info.retry_delay.as_deref().and_then(super::retry::go_duration))
    } else {
        let mut explicit = reqwest::header::HeaderMap::new();
        for name in [reqwest::header::RETRY_AFTER, reqwest::header::HeaderName::from_static("retry-after-ms")] {
            if let Some(value) = headers.get(&name) {
                explicit.insert(name, value.clone());
            }
        }
        retry_after(&explicit)
    };
    ProviderError { kind, status: Some(status), message, retry_after: wait }
}

/// A call that got no HTTP answer at all: no route, refused, TLS failure, or no answer in time.
pub(super) fn transport_error(provider: Provider, host: &str, e: &reqwest::Error, key: &Secret) -> ProviderError {
    let mut causes: Vec<String> = Vec::new();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        // hyper's "client error (Connect)" wrapper says nothing its sources do not say better.
        if !text.starts_with("client error (") && !causes.iter().any(|c| c.contains(&text)) {
            causes.push(text);
        }
        source = s.source();
    }
    let cause = if causes.is_empty() { "connection failed".to_owned() } else { causes.join(": ") };
    let p = provider.as_str();
    let (kind, message) = if e.is_connect() || e.is_builder() {
        (ErrorKind::Unreachable, format!("{p}: cannot reach {host}: {}", scrub_secret(&cause, key)))
    } else if e.is_timeout() {
        (ErrorKind::Timeout, format!("{p}: no answer from {host} within the request timeout"))
    } else {
        (ErrorKind::Server, format!("{p}: the connection to {host} failed mid-call: {}", scrub_secret(&cause, key)))
    };
    ProviderError { kind, status: None, message: cap(&message), retry_after: None }
}

/// Makes a provider's message safe to show and log: removes every fragment of the key it may echo (OpenAI echoes
/// "sk-abc***xyz"), every token shaped like a provider key, control characters, and anything past 300 characters.
pub fn scrub_secret(text: &str, key: &Secret) -> String {
    let collapsed: String = text.chars().take(4 * MAX_MESSAGE_CHARS).collect::<String>();
    let collapsed = collapsed.split_whitespace().collect::<Vec<_>>().join(" ");
    let without_key = remove_fragments(&collapsed, key.expose_secret());
    cap(&redact_key_tokens(&without_key))
}

/// An upstream's words as gavel keeps them: markup removed, whitespace collapsed, every key fragment and
/// secret-shaped token replaced, at most [`MAX_UPSTREAM_SUMMARY_CHARS`] characters.
pub(super) fn summarise(text: &str, key: &Secret) -> String {
    let bounded: String = text.chars().take(8 * MAX_UPSTREAM_SUMMARY_CHARS).collect();
    let words = if bounded.contains('<') { plain_text(&bounded) } else { bounded };
    let scrubbed = scrub_secret(&words, key);
    cap_at(&scrubbed, MAX_UPSTREAM_SUMMARY_CHARS)
}

fn cap_at(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut shorter: String = text.chars().take(max - 1).collect();
    shorter.push('…');
    shorter
}

/// At most [`MAX_MESSAGE_CHARS`] characters, with an ellipsis when something was cut.
pub(super) fn cap(text: &str) -> String {
    cap_at(text, MAX_MESSAGE_CHARS)
}

/// Replaces every run of `text` of at least [`MIN_FRAGMENT`] characters that also occurs in the secret.
fn remove_fragments(text: &str, secret: &str) -> String {
    if secret.is_empty() {
        return text.to_owned();
    }
    if secret.chars().count() < MIN_FRAGMENT {
        return text.replace(secret, REDACTED);
    }
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let mut probe = String::new();
        let mut matched = 0;
        for (n, c) in chars[i..].iter().enumerate() {
            probe.push(*c);
            if !secret.contains(probe.as_str()) {
                break;
            }
            matched = n + 1;
        }
        if matched >= MIN_FRAGMENT {
            out.push_str(REDACTED);
            i += matched;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

/// Prefixes of well-known credential formats: provider keys (`sk-`, `gsk_`, `AIza`), GitHub (`ghp_`, `gho_`,
/// `github_pat_`), Slack (`xox?-`), AWS access key ids (`AKIA`, `ASIA`), Stripe (`rk_live_`, `pk_live_`), gavel's
/// own API keys (`gv_`) and JWTs (`eyJ`).
const SECRET_PREFIXES: &[&str] = &[
    "sk-",
    "sk_",
    "gsk_",
    "AIza",
    "ghp_",
    "gho_",
    "ghs_",
    "github_pat_",
    "xoxb-",
    "xoxp-",
    "xoxa-",
    "AKIA",
    "ASIA",
    "rk_live_",
    "pk_live_",
    "gv_",
    "eyJ",
];
/// A token this long that mixes letters and digits is treated as a secret even without a known prefix (a hex or
/// base64 credential); ordinary words and ids are shorter.
const OPAQUE_TOKEN_CHARS: usize = 32;

fn looks_secret(token: &str) -> bool {
    if SECRET_PREFIXES.iter().any(|p| token.starts_with(p)) && token.len() > 8 {
        return true;
    }
    token.len() >= OPAQUE_TOKEN_CHARS
        && token.bytes().any(|b| b.is_ascii_digit())
        && token.bytes().any(|b| b.is_ascii_alphabetic())
}

/// Replaces whole tokens shaped like a credential (a known prefix, masked or not, or a long opaque run), and the
/// word after `Bearer`/`Basic`.
fn redact_key_tokens(text: &str) -> String {
    let is_token_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '*' | '.' | '+' | '=');
    let mut out = String::with_capacity(text.len());
    let mut token = String::new();
    let mut after_scheme = false;
    let mut flush = |token: &mut String, out: &mut String| {
        if token.is_empty() {
            return;
        }
        let bare = token.trim_end_matches(['.', '=']);
        if after_scheme || looks_secret(bare) || looks_secret(token.trim_start_matches('*')) {
            out.push_str(REDACTED);
            out.push_str(&token[bare.len()..]);
            after_scheme = false;
        } else {
            after_scheme = token.eq_ignore_ascii_case("bearer") || token.eq_ignore_ascii_case("basic");
            out.push_str(token);
        }
        token.clear();
    };
    for c in text.chars() {
        if is_token_char(c) {
            token.push(c);
        } else {
            flush(&mut token, &mut out);
            out.push(c);
        }
    }
    flush(&mut token, &mut out);
    out
}
