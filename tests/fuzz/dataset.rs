//! The dataset parsers: JSON, JSONL and CSV bodies as a client uploads them.

use gavel::runs::dataset::{parse, Format};

use crate::harness::{corpus, fuzz};

/// Largest body fed: enough for many items and long cells, small enough for 20,000 cases.
const MAX_LEN: usize = 32 * 1024;

const TOKENS: &[&[u8]] = &[
    b"{",
    b"}",
    b"[",
    b"]",
    b"\"input\":",
    b"\"output\":",
    b"\"expected\":",
    b"\"context\":",
    b"\"metadata\":",
    b"\"id\":",
    b"\"items\":",
    b"\n",
    b"\r\n",
    b"\r",
    b",",
    b"\"",
    b"\"\"",
    b"\xEF\xBB\xBF",
    b"1e999",
    b"-0",
    b"null",
    b"input,output,expected\n",
    b"\\ud800",
    b"\x00",
    b"\xFF",
];

fn check(format: Format, bytes: &[u8]) {
    match parse(format, bytes) {
        // Every item takes at least two bytes of body (`{}` or a CSV line), so the count is bounded by the input.
        Ok(items) => assert!(!items.is_empty() && items.len() <= bytes.len() / 2 + 1, "{} items", items.len()),
        // Messages may quote a bad value, never more than the body holds.
        Err(e) => {
            let msg = e.to_string();
            assert!(msg.len() <= bytes.len() + 512, "error message of {} bytes", msg.len());
        }
    }
}

#[test]
fn dataset_json() {
    fuzz("dataset_json", corpus("dataset_json"), TOKENS, MAX_LEN, |b| check(Format::Json, b));
}

#[test]
fn dataset_jsonl() {
    fuzz("dataset_jsonl", corpus("dataset_jsonl"), TOKENS, MAX_LEN, |b| check(Format::Jsonl, b));
}

#[test]
fn dataset_csv() {
    fuzz("dataset_csv", corpus("dataset_csv"), TOKENS, MAX_LEN, |b| check(Format::Csv, b));
}
