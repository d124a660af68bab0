//! System-prompt leaks: planted canaries found in an output (verbatim, after normalisation, or inside a
//! decoded payload), and overlap of the output with the hidden system prompt measured two ways: the longest
//! common substring (verbatim copying) and ROUGE-L, the longest common subsequence of words as an
//! F-measure (copying with small edits). Evidence carries figures, never the prompt's text.

use std::collections::HashMap;

use base64::Engine as _;

use super::mask::mask;
use super::text::rot13;
use super::{Check, Finding, Severity};

/// Longest common substring (characters, after normalisation) at which an output is reported as copying
/// the system prompt. Short prompts use [`LCS_MIN_SHARE`] of their length instead, when that is smaller.
pub const LCS_MIN_CHARS: usize = 60;
/// Share of a short system prompt that, copied verbatim, is a leak.
pub const LCS_MIN_SHARE: f64 = 0.6;
/// Below this many characters a common substring is never a leak (greetings, boilerplate).
pub const LCS_FLOOR_CHARS: usize = 24;
/// ROUGE-L F1 at or above which the output is reported as reproducing the prompt, when its recall reaches
/// this value too (a short polite reply shares a few words in order with any prompt: high precision,
/// low recall, no leak).
pub const ROUGE_L_MIN_F: f64 = 0.5;
/// ROUGE-L recall (share of the prompt's words reproduced in order) at or above which an output that is
/// much longer than the prompt is still reported.
pub const ROUGE_L_MIN_RECALL: f64 = 0.6;
/// Prompts with fewer words are not ROUGE-scored (overlap of a few words means nothing).
pub const ROUGE_MIN_PROMPT_WORDS: usize = 8;
/// Words of the prompt and of the output considered for ROUGE-L (bounds the O(n·m) table).
pub const MAX_ROUGE_WORDS: usize = 4000;
/// Characters of the prompt and of the output considered for the longest common substring.
pub const MAX_LCS_CHARS: usize = 64 * 1024;
/// Canaries shorter than this are ignored: they would match by chance.
pub const MIN_CANARY_CHARS: usize = 6;

/// Leak findings of `output` against the hidden `system_prompt` and the planted `canaries`.
pub fn scan(output: &str, system_prompt: Option<&str>, canaries: &[&str]) -> Vec<Finding> {
    let output = super::scanned_prefix(output);
    let mut out = Vec::new();
    for canary in canaries.iter().filter(|c| c.chars().count() >= MIN_CANARY_CHARS) {
        if let Some(f) = canary_finding(output, canary) {
            out.push(f);
        }
    }
    if let Some(prompt) = system_prompt.filter(|p| !p.trim().is_empty()) {
        out.extend(overlap(output, prompt));
    }
    out
}

/// Lower-cased alphanumerics of `s` with the byte offset each came from.
fn squash(s: &str) -> (Vec<char>, Vec<usize>) {
    let mut chars = Vec::new();
    let mut offs = Vec::new();
    for (i, c) in s.char_indices() {
        if c.is_alphanumeric() {
            for l in c.to_lowercase() {
                chars.push(l);
                offs.push(i);
            }
        }
    }
    (chars, offs)
}

fn find_sub(hay: &[char], needle: &[char]) -> Option<usize> {
    if needle.is_empty() || needle.len() > hay.len() {
        return None;
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

fn canary_finding(output: &str, canary: &str) -> Option<Finding> {
    let mk = |span, rule, severity, confidence, via| Finding {
        check: Check::SystemPromptLeak,
        rule,
        severity,
        confidence,
        span,
        evidence: mask(canary),
        via,
    };
    if let Some(i) = output.find(canary) {
        return Some(mk((i, i + canary.len()), "canary", Severity::Critical, 1.0, None));
    }
    let (hay, offs) = squash(output);
    let (needle, _) = squash(canary);
    let end_of =
        |k: usize| offs.get(k).map_or(output.len(), |&o| o + output[o..].chars().next().map_or(1, char::len_utf8));
    if let Some(k) = find_sub(&hay, &needle) {
        return Some(mk((offs[k], end_of(k + needle.len() - 1)), "canary_normalised", Severity::Critical, 0.95, None));
    }
    let reversed: Vec<char> = needle.iter().rev().copied().collect();
    if let Some(k) = find_sub(&hay, &reversed) {
        return Some(mk(
            (offs[k], end_of(k + needle.len() - 1)),
            "canary_normalised",
            Severity::High,
            0.85,
            Some("reversed"),
        ));
    }
    let (rot, _) = squash(&rot13(output));
    if let Some(k) = find_sub(&rot, &needle) {
        return Some(mk((offs[k], end_of(k + needle.len() - 1)), "canary_decoded", Severity::High, 0.9, Some("rot13")));
    }
    decoded_canary(output, &needle).map(|(span, via)| mk(span, "canary_decoded", Severity::High, 0.9, Some(via)))
}

/// Looks for the canary inside base64 and hex runs of the output.
fn decoded_canary(output: &str, needle: &[char]) -> Option<((usize, usize), &'static str)> {
    use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
    let is_run = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'_' | b'-' | b'=');
    let b = output.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if !is_run(b[i]) {
            i += 1;
            continue;
        }
        let s = i;
        while i < b.len() && is_run(b[i]) {
            i += 1;
        }
        let run = &output[s..i];
        if run.len() < 8 || run.len() > super::smuggling::MAX_RUN_DECODE_BYTES {
            continue;
        }
        let body = run.trim_end_matches('=');
        let hex = body.len().is_multiple_of(2) && body.bytes().all(|c| c.is_ascii_hexdigit());
        let bytes = if hex {
            (0..body.len() / 2)
                .map(|k| u8::from_str_radix(&body[2 * k..2 * k + 2], 16).ok())
                .collect::<Option<Vec<u8>>>()
        } else {
            STANDARD_NO_PAD.decode(body).or_else(|_| URL_SAFE_NO_PAD.decode(body)).ok()
        };
        let Some(bytes) = bytes else { continue };
        let (dec, _) = squash(&String::from_utf8_lossy(&bytes));
        if find_sub(&dec, needle).is_some() {
            return Some(((s, i), if hex { "hex" } else { "base64" }));
        }
    }
    None
}

/// Normalised text for overlap: lower case, whitespace runs collapsed; with byte offsets.
fn normalise(s: &str, max: usize) -> (Vec<char>, Vec<usize>) {
    let mut chars = Vec::new();
    let mut offs = Vec::new();
    let mut space = true;
    for (i, c) in s.char_indices() {
        if chars.len() >= max {
            break;
        }
        if c.is_whitespace() {
            if !space {
                chars.push(' ');
                offs.push(i);
            }
            space = true;
        } else {
            for l in c.to_lowercase() {
                chars.push(l);
                offs.push(i);
            }
            space = false;
        }
    }
    (chars, offs)
}

/// Longest common substring of `a` and `b` via a suffix automaton of `b`: (length, end index in `a`).
pub(crate) fn longest_common_substring(a: &[char], b: &[char]) -> (usize, usize) {
    struct State {
        len: usize,
        link: Option<usize>,
        next: HashMap<char, usize>,
    }
    let mut st = vec![State { len: 0, link: None, next: HashMap::new() }];
    let mut last = 0;
    for &c in b {
        let cur = st.len();
        st.push(State { len: st[last].len + 1, link: None, next: HashMap::new() });
        let mut p = Some(last);
        while let Some(pi) = p {
            if st[pi].next.contains_key(&c) {
                break;
            }
            st[pi].next.insert(c, cur);
            p = st[pi].link;
        }
        match p {
            None => st[cur].link = Some(0),
            Some(pi) => {
                let q = st[pi].next[&c];
                if st[pi].len + 1 == st[q].len {
                    st[cur].link = Some(q);
                } else {
                    let clone = st.len();
                    let (len, link, next) = (st[pi].len + 1, st[q].link, st[q].next.clone());
                    st.push(State { len, link, next });
                    let mut p2 = Some(pi);
                    while let Some(x) = p2 {
                        if st[x].next.get(&c) != Some(&q) {
                            break;
                        }
                        st[x].next.insert(c, clone);
                        p2 = st[x].link;
                    }
                    st[q].link = Some(clone);
                    st[cur].link = Some(clone);
                }
            }
        }
        last = cur;
    }
    let (mut v, mut l, mut best, mut best_end) = (0usize, 0usize, 0usize, 0usize);
    for (i, &c) in a.iter().enumerate() {
        while v != 0 && !st[v].next.contains_key(&c) {
            v = st[v].link.unwrap_or(0);
            l = st[v].len;
        }
        if let Some(&n) = st[v].next.get(&c) {
            v = n;
            l += 1;
        }
        if l > best {
            best = l;
            best_end = i + 1;
        }
    }
    (best, best_end)
}

/// ROUGE-L of `cand` against `reference` (word sequences): (precision, recall, F1).
pub(crate) fn rouge_l(cand: &[&str], reference: &[&str]) -> (f64, f64, f64) {
    if cand.is_empty() || reference.is_empty() {
        return (0.0, 0.0, 0.0);
    }
    let mut prev = vec![0u32; reference.len() + 1];
    let mut cur = vec![0u32; reference.len() + 1];
    for w in cand {
        for (j, r) in reference.iter().enumerate() {
            cur[j + 1] = if w == r { prev[j] + 1 } else { cur[j].max(prev[j + 1]) };
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    let lcs = f64::from(prev[reference.len()]);
    let (p, r) = (lcs / cand.len() as f64, lcs / reference.len() as f64);
    let f = if p + r == 0.0 { 0.0 } else { 2.0 * p * r / (p + r) };
    (p, r, f)
}

fn words(s: &str) -> Vec<String> {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(MAX_ROUGE_WORDS)
        .map(str::to_lowercase)
        .collect()
}

fn overlap(output: &str, prompt: &str) -> Vec<Finding> {
    let mut out = Vec::new();
    let (oc, offs) = normalise(output, MAX_LCS_CHARS);
    let (pc, _) = normalise(prompt, MAX_LCS_CHARS);
    let (len, end) = longest_common_substring(&oc, &pc);
    let threshold = (LCS_MIN_CHARS.min((LCS_MIN_SHARE * pc.len() as f64).ceil() as usize)).max(LCS_FLOOR_CHARS);
    if len >= threshold && len > 0 {
        let start = offs[end - len];
        let stop = offs.get(end).copied().unwrap_or(output.len());
        let share = len as f64 / pc.len().max(1) as f64;
        let severity = if share >= 0.5 { Severity::Critical } else { Severity::High };
        out.push(Finding {
            check: Check::SystemPromptLeak,
            rule: "prompt_substring",
            severity,
            confidence: (0.7 + share).min(1.0),
            span: (start, stop),
            evidence: format!("{len} characters copied verbatim ({:.0}% of the system prompt)", share * 100.0),
            via: None,
        });
    }
    let (ow, pw) = (words(output), words(prompt));
    if pw.len() >= ROUGE_MIN_PROMPT_WORDS {
        let (o, p): (Vec<&str>, Vec<&str>) =
            (ow.iter().map(String::as_str).collect(), pw.iter().map(String::as_str).collect());
        let (_, r, f) = rouge_l(&o, &p);
        if r >= ROUGE_L_MIN_RECALL || (f >= ROUGE_L_MIN_F && r >= ROUGE_L_MIN_F) {
            out.push(Finding {
                check: Check::SystemPromptLeak,
                rule: "prompt_rouge_l",
                severity: if r >= 0.8 { Severity::Critical } else { Severity::High },
                confidence: r.max(f).min(1.0),
                span: (0, output.len()),
                evidence: format!("ROUGE-L F1 {f:.2}, recall {r:.2} against the system prompt"),
                via: None,
            });
        }
    }
    out
}
