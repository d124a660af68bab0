//! The cache key of a gateway request: SHA-256 over the org, the routed provider and model, and the request in a
//! canonical JSON form.
//!
//! Canonical means: object keys sorted at every depth, insignificant whitespace gone, integral floats written as
//! integers (`1.0` and `1` ask the same thing), and the top-level fields that do not change the answer removed:
//! `stream` and `stream_options` (a streamed and an unstreamed call share the answer) and `model` (the routed
//! provider and model are hashed apart, so two aliases of one target share entries). Each part is length-prefixed,
//! so no two different inputs hash the same bytes.

use std::io::Write as _;

use ring::digest::{Context, SHA256};
use serde_json::Value;

/// Bumped when the canonical form changes, so old entries are simply never hit again.
const CACHE_KEY_VERSION: &[u8] = b"gavel-gateway-cache-v1";

/// Top-level request fields that do not change the answer.
const IGNORED_FIELDS: &[&str] = &["stream", "stream_options", "model"];

/// The key as 64 lower-case hex digits. Runs once per cacheable request, so it writes the canonical text straight
/// into one buffer (no copy of the request, no per-key or per-number strings) and feeds the digest part by part.
pub fn cache_key(org_id: &str, provider: &str, model: &str, request: &Value) -> String {
    let mut canonical = Vec::with_capacity(512);
    match request {
        Value::Object(map) => {
            write_object(map.iter().filter(|(k, _)| !IGNORED_FIELDS.contains(&k.as_str())), &mut canonical)
        }
        other => write_canonical(other, &mut canonical),
    }
    let mut ctx = Context::new(&SHA256);
    for part in [CACHE_KEY_VERSION, org_id.as_bytes(), provider.as_bytes(), model.as_bytes(), &canonical] {
        ctx.update(&(part.len() as u64).to_be_bytes());
        ctx.update(part);
    }
    hex(ctx.finish().as_ref())
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// The canonical JSON text of `value` (exposed for tests and debugging of cache misses).
pub fn canonical_json(value: &Value) -> String {
    let mut out = Vec::new();
    write_canonical(value, &mut out);
    // Only serde_json's own (UTF-8) output and ASCII punctuation went in.
    String::from_utf8_lossy(&out).into_owned()
}

/// An object with its keys in byte order (serde_json's map already iterates sorted unless `preserve_order` is on,
/// so the sort is usually only a check).
fn write_object<'a>(entries: impl Iterator<Item = (&'a String, &'a Value)>, out: &mut Vec<u8>) {
    let mut entries: Vec<(&String, &Value)> = entries.collect();
    if !entries.is_sorted_by(|a, b| a.0 <= b.0) {
        entries.sort_by(|a, b| a.0.cmp(b.0));
    }
    out.push(b'{');
    for (i, (key, v)) in entries.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_json(key.as_str(), out);
        out.push(b':');
        write_canonical(v, out);
    }
    out.push(b'}');
}

/// A string or number as serde_json writes it (writing into a Vec cannot fail).
fn write_json<T: serde::Serialize + ?Sized>(v: &T, out: &mut Vec<u8>) {
    serde_json::to_writer(&mut *out, v).ok();
}

fn write_canonical(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Object(map) => write_object(map.iter(), out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(v, out);
            }
            out.push(b']');
        }
        Value::Number(n) => match n.as_f64() {
            // Integral floats within the exactly representable range print as integers.
            Some(f) if n.is_f64() && f.fract() == 0.0 && f.abs() < 9.0e15 => {
                write!(out, "{}", f as i64).ok();
            }
            _ => write_json(n, out),
        },
        Value::String(s) => write_json(s.as_str(), out),
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Null => out.extend_from_slice(b"null"),
    }
}
