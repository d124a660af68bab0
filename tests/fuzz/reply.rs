//! The judge-reply parser: any text a model can send back.

use gavel::scoring::reply::{infer_scale, parse_reply};

use crate::harness::{corpus, fuzz};

/// Longest reply fed: judge replies are capped far below this by the providers' max_tokens.
const MAX_LEN: usize = 16 * 1024;
/// An error message quotes at most 200 bytes of the reply plus its own words.
const MAX_ERROR_LEN: usize = 600;

const TOKENS: &[&[u8]] = &[
    b"{",
    b"}",
    b"\"score\":",
    b"\"pass\":",
    b"\"reason\":",
    b"```json\n",
    b"```",
    b"<think>",
    b"</think>",
    b"<thinking>",
    b"</thinking>",
    b"/5",
    b" out of 10",
    b"(1-5)",
    b"\"max_score\":",
    b"1e308",
    b"-0",
    b"NaN",
    b"\"verdict\":",
    b"\\u0000",
    b"\"",
    b",",
    b"[",
    b"]",
    b"\xE2\x80\xA6",
    b"\xF0\x9F\x98\x80",
];

#[test]
fn judge_reply_parser() {
    let scales = [(0.0, 1.0), (1.0, 5.0), (0.0, 10.0), (1.0, 1.0), (-5.0, 5.0)];
    fuzz("reply", corpus("reply"), TOKENS, MAX_LEN, |bytes| {
        let text = String::from_utf8_lossy(bytes);
        let scale = scales[bytes.len() % scales.len()];
        match parse_reply(&text, scale) {
            Ok(v) => {
                assert!(v.score.is_finite() && (0.0..=1.0).contains(&v.score), "score {} outside 0..1", v.score);
                assert!(v.reason.len() <= text.len() + 64, "reason longer than the reply");
            }
            Err(e) => assert!(e.len() <= MAX_ERROR_LEN, "error message of {} bytes", e.len()),
        }
        if let Some((lo, hi)) = infer_scale(&text) {
            assert!(lo.is_finite() && hi.is_finite() && lo < hi, "scale {lo}..{hi}");
        }
    });
}
