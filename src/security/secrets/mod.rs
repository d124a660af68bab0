//! Secret detection: provider API keys, cloud credentials, tokens, webhook URLs, private keys, JWTs and
//! database URLs with passwords.
//!
//! Each rule passes five gates, cheapest first: a keyword (one Aho-Corasick pass for all rules), its regex
//! in a window around the keyword, token boundaries, a minimum Shannon entropy, a structural validator
//! (checksum, decodable JWT header, PEM body) and the placeholder allow-list (`sk-...`, `EXAMPLE`, `xxxx`).

mod rules;

use std::sync::LazyLock;

use base64::Engine as _;

use super::engine::{dedup_overlaps, Engine, RuleSpec};
use super::mask::mask;
use super::text::shannon_entropy;
use super::{checksum, Check, Finding};
pub(crate) use rules::{Rule, Validate, RULES};

static ENGINE: LazyLock<Result<Engine, String>> = LazyLock::new(|| {
    let specs: Vec<RuleSpec<'_>> = RULES
        .iter()
        .map(|r| RuleSpec { keywords: r.keywords, pattern: r.pattern, anchor: r.anchor, charset: r.charset })
        .collect();
    Engine::build(&specs)
});

/// Ids of every secret rule, for documentation and the self-test.
pub fn rule_ids() -> Vec<&'static str> {
    RULES.iter().map(|r| r.id).collect()
}

/// All secrets in `text` (scanned up to [`super::MAX_SCAN_BYTES`]), masked, one finding per value.
pub fn scan(text: &str) -> Vec<Finding> {
    let text = super::scanned_prefix(text);
    let Ok(engine) = ENGINE.as_ref() else { return Vec::new() };
    let mut out = Vec::new();
    for hit in engine.hits(text) {
        let rule = &RULES[hit.rule];
        let value = hit.value_str();
        if is_placeholder(value) || shannon_entropy(value) < rule.min_entropy {
            continue;
        }
        let Some(confidence) = validate(rule, value) else { continue };
        out.push(Finding {
            check: Check::SecretLeak,
            rule: rule.id,
            severity: rule.severity,
            confidence,
            span: hit.value,
            evidence: mask(value),
            via: None,
        });
    }
    dedup_overlaps(out)
}

/// The structural validator of a rule: `None` rejects the value, `Some(confidence)` accepts it.
fn validate(rule: &Rule, value: &str) -> Option<f64> {
    let c = rule.confidence;
    match rule.validate {
        Validate::None => Some(c),
        Validate::GithubCrc => checksum::github_crc32_ok(value.get(4..)?).then_some(c),
        Validate::CrcBoost => Some(if checksum::github_crc32_ok(value.get(4..)?) { 0.99 } else { c * 0.8 }),
        Validate::OpenAiMarker => Some(if value.contains("T3BlbkFJ") { 0.99 } else { c }),
        Validate::Jwt => jwt_ok(value).then_some(c),
        Validate::Pem => pem_ok(value).then_some(c),
        Validate::DbPassword => (!is_placeholder_password(value)).then_some(c),
    }
}

/// Substrings (lower-cased) that mark documentation placeholders rather than live secrets.
const PLACEHOLDER_MARKERS: &[&str] = &[
    "example",
    "xxxx",
    "****",
    "...",
    "…",
    "<",
    ">",
    "{",
    "}",
    "$(",
    "your_",
    "your-",
    "yourkey",
    "placeholder",
    "redacted",
    "dummy",
    "sample",
    "insert",
    "replace",
    "changeme",
    "fake",
    "notreal",
];

/// A run of this many identical characters marks a filler value (`AAAAAAAA…`, `00000000…`).
const PLACEHOLDER_RUN: usize = 8;

/// Whether a value is a documentation placeholder (`sk-...`, `AKIA…EXAMPLE`, `ghp_xxxx…`, `<your key>`).
pub(crate) fn is_placeholder(value: &str) -> bool {
    let lower = value.to_ascii_lowercase();
    if PLACEHOLDER_MARKERS.iter().any(|m| lower.contains(m)) {
        return true;
    }
    let b = lower.as_bytes();
    let mut run = 1;
    for i in 1..b.len() {
        run = if b[i] == b[i - 1] { run + 1 } else { 1 };
        if run >= PLACEHOLDER_RUN && b[i].is_ascii_alphanumeric() {
            return true;
        }
    }
    lower.contains("0123456789") || lower.contains("abcdefghij")
}

/// Passwords in database URLs that only stand for one.
const PLACEHOLDER_PASSWORDS: &[&str] =
    &["pass", "password", "passwd", "pwd", "secret", "changeme", "mypassword", "yourpassword", "example", "pw"];

fn is_placeholder_password(p: &str) -> bool {
    let lower = p.to_ascii_lowercase();
    PLACEHOLDER_PASSWORDS.contains(&lower.as_str())
        || lower.starts_with('$')
        || lower.starts_with('%')
        || lower.chars().all(|c| c == '*' || c == 'x')
}

/// Longest JWT header or payload we decode; longer segments are not something we report as a token.
const JWT_MAX_SEGMENT: usize = 8192;

/// A JWT is reported when its header decodes to a JSON object naming an `alg` and its payload to a JSON
/// object; random `eyJ…` strings fail here.
fn jwt_ok(token: &str) -> bool {
    let mut parts = token.split('.');
    let (Some(h), Some(p)) = (parts.next(), parts.next()) else { return false };
    let decode = |s: &str| -> Option<serde_json::Value> {
        if s.len() > JWT_MAX_SEGMENT {
            return None;
        }
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(s.trim_end_matches('=')).ok()?;
        serde_json::from_slice(&bytes).ok()
    };
    let header_ok = decode(h).is_some_and(|v| v.get("alg").is_some_and(serde_json::Value::is_string));
    header_ok && decode(p).is_some_and(|v| v.is_object())
}

/// Minimum base64 characters in a PEM body for it to be a key rather than a stub.
const PEM_MIN_BODY: usize = 64;

/// The body between the PEM markers (JSON-escaped `\n` allowed) is long, high-entropy base64.
fn pem_ok(block: &str) -> bool {
    let body_start = block.find("KEY-----").map_or(0, |i| i + 8);
    let body_end = block.rfind("-----END").unwrap_or(block.len()).max(body_start);
    let body: String = block[body_start..body_end]
        .replace("\\n", "\n")
        .lines()
        .filter(|l| !l.contains(':'))
        .flat_map(|l| l.chars())
        .filter(|c| !c.is_whitespace())
        .collect();
    body.len() >= PEM_MIN_BODY
        && body.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'=')
        && shannon_entropy(&body) >= 4.5
}

/// The error compiling the rule table, if any (a test asserts there is none).
#[cfg(test)]
pub(crate) fn engine_error() -> Option<String> {
    ENGINE.as_ref().err().cloned()
}
