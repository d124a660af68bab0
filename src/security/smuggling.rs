//! Smuggled text: characters a reader does not see (Unicode tag block, zero-width characters, bidi
//! controls, variation-selector payloads) and encoded payloads (base64, hex, ROT13) that carry instructions
//! or secrets past a plain-text filter. Hidden and encoded content is decoded and scanned again by the
//! injection, secret and PII detectors, within the bounds below.

use base64::Engine as _;

use super::text::{preview, rot13};
use super::{injection, pii, secrets, Check, Finding, Severity};

/// Nesting of decodings followed (base64 inside hex inside base64 …); deeper layers are not opened.
pub const MAX_DECODE_DEPTH: usize = 2;
/// Longest encoded run decoded (bytes of the run). Longer runs (images, archives) are data, and only their
/// first `MAX_RUN_DECODE_BYTES` are looked at.
pub const MAX_RUN_DECODE_BYTES: usize = 16 * 1024;
/// Total decoded bytes per call across all runs; the rest is not decoded.
pub const MAX_DECODED_TOTAL_BYTES: usize = 256 * 1024;
/// Encoded runs examined per call.
pub const MAX_ENCODED_RUNS: usize = 256;
/// Findings of one hidden-character rule per call (a text full of zero-width characters is one story).
pub const MAX_HIDDEN_FINDINGS: usize = 32;
/// Share of printable characters a decoding needs to count as text.
const PRINTABLE_SHARE: f64 = 0.95;

/// Runs of at least this many base64/hex characters are possible payloads (shorter ones are words and ids).
const MIN_RUN: usize = 24;

fn run_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'_' | b'-')
}

/// Byte spans of base64/hex-looking runs of at least [`MIN_RUN`] characters (with up to two `=` of
/// padding). A byte loop, not a regex: it runs over every text.
fn runs(text: &str) -> impl Iterator<Item = (usize, usize)> + '_ {
    let b = text.as_bytes();
    let mut i = 0;
    std::iter::from_fn(move || {
        while i < b.len() {
            if !run_byte(b[i]) {
                i += 1;
                continue;
            }
            let s = i;
            while i < b.len() && run_byte(b[i]) {
                i += 1;
            }
            let mut e = i;
            while e < b.len() && e - i < 2 && b[e] == b'=' {
                e += 1;
            }
            i = e;
            if e - s >= MIN_RUN {
                return Some((s, e));
            }
        }
        None
    })
}

/// Hidden-text findings and findings inside decoded payloads of `text` (up to [`super::MAX_SCAN_BYTES`]).
pub fn scan(text: &str) -> Vec<Finding> {
    let text = super::scanned_prefix(text);
    let mut budget = MAX_DECODED_TOTAL_BYTES;
    let mut out = Vec::new();
    scan_depth(text, 0, &mut budget, &mut out);
    out
}

fn scan_depth(text: &str, depth: usize, budget: &mut usize, out: &mut Vec<Finding>) {
    if !text.is_ascii() {
        hidden_chars(text, depth, budget, out);
    }
    encoded_runs(text, depth, budget, out);
    if depth == 0 {
        // ROT13 has no shape to spot; rotate the whole text and look for injection phrasing only.
        for mut f in injection::scan(&rot13(text)) {
            f.via = Some("rot13");
            f.evidence = format!("rot13: {}", f.evidence);
            out.push(f);
        }
    }
}

/// Findings of the detectors inside `decoded`, re-homed to `span` of the original text.
fn rescan(decoded: &str, span: (usize, usize), via: &'static str, depth: usize, budget: &mut usize) -> Vec<Finding> {
    let mut inner = injection::scan(decoded);
    inner.extend(secrets::scan(decoded));
    inner.extend(pii::scan(decoded, &pii::Allow::default()));
    if depth + 1 < MAX_DECODE_DEPTH {
        scan_depth(decoded, depth + 1, budget, &mut inner);
    }
    for f in &mut inner {
        f.span = span;
        f.via = Some(f.via.unwrap_or(via));
    }
    inner
}

fn is_tag(c: char) -> bool {
    ('\u{E0000}'..='\u{E007F}').contains(&c)
}
fn is_zero_width(c: char) -> bool {
    matches!(
        c,
        '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{2060}' | '\u{FEFF}' | '\u{180E}' | '\u{2061}'
            ..='\u{2064}' | '\u{3164}' | '\u{FFA0}'
    )
}
fn is_bidi(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}
fn is_vs(c: char) -> bool {
    matches!(c, '\u{FE00}'..='\u{FE0F}' | '\u{E0100}'..='\u{E01EF}')
}
fn is_emoji_like(c: char) -> bool {
    matches!(c, '\u{1F000}'..='\u{1FAFF}' | '\u{2600}'..='\u{27BF}' | '\u{FE0F}')
}
/// Scripts that legitimately use ZWJ/ZWNJ inside words (Arabic, Persian, Indic, …): any non-ASCII letter.
fn joins_script(c: Option<char>) -> bool {
    c.is_some_and(|c| !c.is_ascii() && c.is_alphabetic())
}
fn is_rtl(c: char) -> bool {
    matches!(c, '\u{0590}'..='\u{08FF}' | '\u{FB1D}'..='\u{FDFF}' | '\u{FE70}'..='\u{FEFF}')
}

fn hidden_chars(text: &str, depth: usize, budget: &mut usize, out: &mut Vec<Finding>) {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let has_rtl = chars.iter().any(|&(_, c)| is_rtl(c));
    let end_of = |i: usize| chars.get(i).map_or(text.len(), |&(o, _)| o);
    let (mut n_zw, mut n_bidi) = (0usize, 0usize);
    let mut i = 0;
    while i < chars.len() {
        let (start, c) = chars[i];
        if is_tag(c) {
            let mut j = i;
            let mut decoded = String::new();
            while j < chars.len() && is_tag(chars[j].1) {
                let v = chars[j].1 as u32 - 0xE0000;
                if (0x20..0x7F).contains(&v) {
                    decoded.push(char::from(v as u8));
                }
                j += 1;
            }
            let span = (start, end_of(j));
            let inner = rescan(&decoded, span, "unicode_tags", depth, budget);
            let evidence = hidden_evidence(j - i, &decoded, &inner);
            out.push(hidden(span, "unicode_tags", Severity::High, 0.95, evidence));
            out.extend(inner);
            i = j;
            continue;
        }
        if is_vs(c) {
            let mut j = i;
            while j < chars.len() && is_vs(chars[j].1) {
                j += 1;
            }
            if j - i >= 4 {
                let bytes: Vec<u8> = chars[i..j]
                    .iter()
                    .map(|&(_, v)| match v {
                        '\u{FE00}'..='\u{FE0F}' => (v as u32 - 0xFE00) as u8,
                        _ => (v as u32 - 0xE0100 + 16) as u8,
                    })
                    .collect();
                let decoded = String::from_utf8_lossy(&bytes).into_owned();
                let span = (start, end_of(j));
                let inner = rescan(&decoded, span, "variation_selectors", depth, budget);
                let evidence = hidden_evidence(j - i, &decoded, &inner);
                out.push(hidden(span, "variation_selector_payload", Severity::High, 0.9, evidence));
                out.extend(inner);
            }
            i = j;
            continue;
        }
        if is_zero_width(c) {
            let mut j = i;
            while j < chars.len() && is_zero_width(chars[j].1) {
                j += 1;
            }
            let prev = i.checked_sub(1).map(|k| chars[k].1);
            let next = chars.get(j).map(|&(_, n)| n);
            let legit_join = j - i == 1
                && matches!(c, '\u{200C}' | '\u{200D}')
                && (prev.is_some_and(is_emoji_like)
                    || next.is_some_and(is_emoji_like)
                    || joins_script(prev)
                    || joins_script(next));
            let leading_bom = c == '\u{FEFF}' && start == 0 && j - i == 1;
            if !legit_join && !leading_bom && n_zw < MAX_HIDDEN_FINDINGS {
                n_zw += 1;
                let sev = if j - i >= 2 { Severity::Medium } else { Severity::Low };
                out.push(hidden(
                    (start, end_of(j)),
                    "zero_width",
                    sev,
                    0.8,
                    format!("{} zero-width character(s)", j - i),
                ));
            }
            i = j;
            continue;
        }
        if is_bidi(c) && n_bidi < MAX_HIDDEN_FINDINGS {
            n_bidi += 1;
            let is_override = matches!(c, '\u{202D}' | '\u{202E}');
            let sev = match (is_override, has_rtl) {
                (true, false) => Severity::High,
                (true, true) | (false, false) => Severity::Medium,
                (false, true) => Severity::Low,
            };
            out.push(hidden(
                (start, end_of(i + 1)),
                "bidi_control",
                sev,
                0.85,
                format!("bidi control U+{:04X}", c as u32),
            ));
        }
        i += 1;
    }
}

fn hidden(span: (usize, usize), rule: &'static str, severity: Severity, confidence: f64, evidence: String) -> Finding {
    Finding { check: Check::HiddenText, rule, severity, confidence, span, evidence, via: None }
}

/// Evidence for a hidden run: its decoded text, unless that holds a secret or PII (then only a count).
fn hidden_evidence(n: usize, decoded: &str, inner: &[Finding]) -> String {
    if inner.iter().any(|f| matches!(f.check, Check::SecretLeak | Check::PiiLeak)) {
        format!("{n} hidden characters (decoded text holds masked secrets/PII)")
    } else {
        format!("{n} hidden characters: \"{}\"", preview(decoded))
    }
}

fn encoded_runs(text: &str, depth: usize, budget: &mut usize, out: &mut Vec<Finding>) {
    for (start, end) in runs(text).take(MAX_ENCODED_RUNS) {
        if *budget == 0 {
            return;
        }
        let s = &text[start..end];
        let hex = s.len().is_multiple_of(2) && s.bytes().all(|b| b.is_ascii_hexdigit());
        let limit = MAX_RUN_DECODE_BYTES.min(*budget * 2);
        let decoded = if hex { decode_hex(&s[..s.len().min(limit) & !1]) } else { decode_b64(s, limit) };
        let Some(decoded) = decoded else { continue };
        *budget = budget.saturating_sub(decoded.len());
        let via = if hex { "hex" } else { "base64" };
        out.extend(rescan(&decoded, (start, end), via, depth, budget));
    }
}

fn printable(bytes: &[u8]) -> Option<String> {
    let s = std::str::from_utf8(bytes).ok()?;
    let total = s.chars().count();
    let good = s.chars().filter(|c| !c.is_control() || matches!(c, '\n' | '\r' | '\t')).count();
    let letters = s.chars().filter(|c| c.is_alphabetic()).count();
    (total >= 8 && good as f64 >= PRINTABLE_SHARE * total as f64 && letters * 2 >= total).then(|| s.to_string())
}

fn decode_hex(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len() / 2);
    for pair in b.chunks_exact(2) {
        let hi = (pair[0] as char).to_digit(16)?;
        let lo = (pair[1] as char).to_digit(16)?;
        out.push((hi * 16 + lo) as u8);
        // Cheap early exit: binary (digests, keys) shows in the first bytes.
        if out.len() == 16 && printable(&out).is_none() {
            return None;
        }
    }
    printable(&out)
}

fn decode_b64(s: &str, limit: usize) -> Option<String> {
    use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
    let body = s.trim_end_matches('=');
    let url = body.contains('-') || body.contains('_');
    if url && (body.contains('+') || body.contains('/')) {
        return None;
    }
    let engine = if url { &URL_SAFE_NO_PAD } else { &STANDARD_NO_PAD };
    // Probe the first 32 characters (24 bytes) before decoding more.
    let probe = &body[..body.len().min(32) & !3];
    printable(&engine.decode(probe).ok()?)?;
    let mut take = body.len().min(limit);
    take -= take % 4;
    if body.len() <= limit {
        take = body.len();
    }
    printable(&engine.decode(&body[..take]).ok()?)
}
