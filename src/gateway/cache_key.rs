//! The cache key of a gateway request: SHA-256 over the org, the routed provider and model, and the request in a
//! canonical JSON form.
//!
//! Canonical means: object keys sorted at every depth, insignificant whitespace gone, integral floats written as
//! integers (`1.0` and `1` ask the same thing), and the top-level fields that do not change the answer removed:
//! `stream` and `stream_options` (a streamed and an unstreamed call share the answer) and `model` (the routed
//! provider and model are hashed apart, so two aliases of one target share entries). Each part is length-prefixed,
//! so no two different inputs hash the same bytes.

use ring::digest::{digest, SHA256};
use serde_json::Value;

/// Bumped when the canonical form changes, so old entries are simply never hit again.
const CACHE_KEY_VERSION: &[u8] = b"gavel-gateway-cache-v1";

/// Top-level request fields that do not change the answer.
const IGNORED_FIELDS: &[&str] = &["stream", "stream_options", "model"];

/// The key as 64 lower-case hex digits.
pub fn cache_key(org_id: &str, provider: &str, model: &str, request: &Value) -> String {
    let mut body = request.clone();
    if let Value::Object(map) = &mut body {
        for field in IGNORED_FIELDS {
            map.remove(*field);
        }
    }
    let mut canonical = String::new();
    write_canonical(&body, &mut canonical);
    let mut input = Vec::with_capacity(canonical.len() + 128);
    for part in [CACHE_KEY_VERSION, org_id.as_bytes(), provider.as_bytes(), model.as_bytes(), canonical.as_bytes()] {
        input.extend_from_slice(&(part.len() as u64).to_be_bytes());
        input.extend_from_slice(part);
    }
    digest(&SHA256, &input).as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// The canonical JSON text of `value` (exposed for tests and debugging of cache misses).
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (key, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(v, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(v, out);
            }
            out.push(']');
        }
        Value::Number(n) => match n.as_f64() {
            // Integral floats within the exactly representable range print as integers.
            Some(f) if n.is_f64() && f.fract() == 0.0 && f.abs() < 9.0e15 => out.push_str(&format!("{}", f as i64)),
            _ => out.push_str(&n.to_string()),
        },
        other => out.push_str(&other.to_string()),
    }
}
