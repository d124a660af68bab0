//! Reading a judge's reply into a verdict, the way a careful person would, and never by guessing.
//!
//! Rules (documented for users in docs/scorers.md):
//! - reasoning blocks (`<thinking>…</thinking>`, `<think>…</think>`, `<reasoning>…</reasoning>`, fences tagged
//!   `thinking`/`reasoning`) are ignored, and so is everything before a lone closing `</think>`;
//! - the verdict is a JSON object with a `score`, bare, fenced or in prose; when there are several, the LAST one
//!   is the final verdict; one whose text was cut off (truncated reply) counts when its `score` is complete;
//! - the score is normalised from its scale: the configured or rubric-stated scale when known (a score outside it
//!   is unparseable), else 0..1, unless the reply states its own ("4/5", "8 out of 10", "(1-5)", `max_score`);
//! - `pass` is a boolean, "yes"/"no"/"true"/"false"/"pass"/"fail", or 0/1;
//! - no verdict (a refusal, an empty reply, prose only) is unparseable: the caller reports JUDGE_UNPARSEABLE.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::{Map, Value};

/// A parsed verdict, score normalised to 0..1.
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    pub score: f64,
    pub pass: Option<bool>,
    pub reason: String,
    /// The whole object, for callers that read more fields (failure analysis).
    pub object: Map<String, Value>,
}

/// Tolerance for scores on a scale's edge written with rounding (`5.0000000001`).
const EPS: f64 = 1e-9;
/// Largest scale maximum read from prose; bigger numbers in prose are not scales.
const MAX_STATED_SCALE: f64 = 1000.0;
/// Keys that hold the score, in order of preference (compared without case).
const SCORE_KEYS: &[&str] = &["score", "final_score", "overall_score", "rating"];
/// Keys under which some models nest the verdict object.
const WRAPPER_KEYS: &[&str] = &["verdict", "final_verdict", "evaluation", "result", "assessment"];

/// Reads a judge reply. `scale` is the rubric's scale (`(0.0, 1.0)` when neither config nor rubric states one; then
/// a scale the reply itself states is honoured).
pub fn parse_reply(text: &str, scale: (f64, f64)) -> Result<Verdict, String> {
    let visible = strip_reasoning(text);
    let Some((object, truncated)) = final_object(&visible) else {
        let shown = clip(text.trim(), 200);
        if text.trim().is_empty() {
            return Err("the judge's reply is empty".into());
        }
        if is_refusal(&visible) {
            return Err(format!("the judge declined to give a verdict: {shown}"));
        }
        return Err(format!("no JSON verdict object with a score in the reply: {shown}"));
    };
    let raw = score_field(&object).ok_or("the verdict has no score")?;
    let score = read_score(raw, scale, &object, &visible)?;
    let pass = object.iter().find(|(key, _)| key.eq_ignore_ascii_case("pass")).and_then(|(_, value)| pass_of(value));
    let mut reason =
        match object.get("reason").or_else(|| object.get("reasoning")).or_else(|| object.get("explanation")) {
            Some(Value::String(text)) => text.trim().to_string(),
            Some(Value::Null) | None => String::new(),
            Some(other) => other.to_string(),
        };
    if truncated {
        reason.push_str(if reason.is_empty() { "(reply cut off after the score)" } else { "… (reply cut off)" });
    }
    Ok(Verdict { score, pass, reason, object })
}

/// The scale a rubric states ("on a scale of 1 to 10", "Score 1-5", "(0–10)", "out of 5"), when it states
/// exactly one; `None` when it states none or several different ones.
pub fn infer_scale(rubric: &str) -> Option<(f64, f64)> {
    let mut found: Vec<(f64, f64)> = Vec::new();
    for captures in RANGE_NEAR_KEYWORD.captures_iter(rubric) {
        let lo = captures.name("lo").or(captures.name("lo2")).and_then(|m| m.as_str().parse::<f64>().ok());
        let hi = captures.name("hi").or(captures.name("hi2")).and_then(|m| m.as_str().parse::<f64>().ok());
        if let (Some(lo), Some(hi)) = (lo, hi) {
            if lo < hi && hi <= MAX_STATED_SCALE {
                found.push((lo, hi));
            }
        }
    }
    for captures in OUT_OF_NEAR_KEYWORD.captures_iter(rubric) {
        if let Some(hi) = captures.name("hi").and_then(|m| m.as_str().parse::<f64>().ok()) {
            if hi > 1.0 && hi <= MAX_STATED_SCALE && !found.iter().any(|(_, known)| *known == hi) {
                found.push((0.0, hi));
            }
        }
    }
    found.dedup();
    match found.as_slice() {
        [only] if *only != (0.0, 1.0) => Some(*only),
        _ => None,
    }
}

const NUMBER: &str = r"\d+(?:\.\d+)?";

static RANGE_NEAR_KEYWORD: LazyLock<Regex> = LazyLock::new(|| {
    let pattern = format!(
        r"(?i)\b(?:scale|scores?|scored|rate|rating|grade|points?)\b[^.\n\d]{{0,30}}?(?P<lo>{NUMBER})\s*(?:-|–|—|to|and)\s*(?P<hi>{NUMBER})|(?P<lo2>{NUMBER})\s*(?:-|–|—|to)\s*(?P<hi2>{NUMBER})[- ](?:point\s+)?scale\b"
    );
    Regex::new(&pattern).unwrap_or_else(|_| unreachable_regex())
});

static OUT_OF_NEAR_KEYWORD: LazyLock<Regex> = LazyLock::new(|| {
    let pattern =
        format!(r"(?i)\b(?:scale|score|rate|rating|grade|points?)\b[^.\n]{{0,30}}?(?:out\s+of|/)\s*(?P<hi>{NUMBER})\b");
    Regex::new(&pattern).unwrap_or_else(|_| unreachable_regex())
});

/// Fallback for a pattern that failed to compile (a bug caught by the tests): a regex that matches nothing.
fn unreachable_regex() -> Regex {
    #[allow(clippy::unwrap_used)]
    Regex::new(r"[^\s\S]").unwrap()
}

/// "4/5", "8 out of 10", "3 (1-5)" in the reply's prose, next to a score.
static STATED_IN_REPLY: LazyLock<Regex> = LazyLock::new(|| {
    let pattern = format!(
        r"(?i)(?P<n>{NUMBER})\s*(?:/|out\s+of)\s*(?P<max>{NUMBER})|(?P<n2>{NUMBER})\s*\(\s*(?P<lo>{NUMBER})\s*(?:-|–|to)\s*(?P<hi>{NUMBER})\s*\)|scale\s+of\s+(?P<lo3>{NUMBER})\s*(?:-|–|to)\s*(?P<hi3>{NUMBER})"
    );
    Regex::new(&pattern).unwrap_or_else(|_| unreachable_regex())
});

static REASONING_BLOCKS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?is)<(think|thinking|reasoning|reflection|scratchpad)>.*?(?:</(?:think|thinking|reasoning|reflection|scratchpad)>|\z)|```(?:thinking|reasoning|thoughts?)\b.*?(?:```|\z)")
        .unwrap_or_else(|_| unreachable_regex())
});

/// The reply without reasoning blocks. A model served without its opening `<think>` tag leaves only the closing
/// one, so everything before a lone `</think>` is reasoning too.
fn strip_reasoning(text: &str) -> String {
    let text = match text.rfind("</think>") {
        Some(at) if !text[..at].contains("<think>") => &text[at + "</think>".len()..],
        _ => text,
    };
    REASONING_BLOCKS.replace_all(text, " ").into_owned()
}

fn is_refusal(text: &str) -> bool {
    let lower = text.to_lowercase().replace('’', "'");
    [
        "i cannot evaluate",
        "i can't evaluate",
        "i cannot assess",
        "i can't assess",
        "i'm unable to",
        "i am unable to",
        "i cannot provide",
        "i can't provide",
        "i can't help",
        "i cannot help",
        "i won't",
        "i must decline",
        "i'm not able to",
        "i am not able to",
        "i'm sorry, but",
    ]
    .iter()
    .any(|phrase| lower.contains(phrase))
}

fn score_field(object: &Map<String, Value>) -> Option<&Value> {
    SCORE_KEYS
        .iter()
        .find_map(|want| object.iter().find(|(key, _)| key.eq_ignore_ascii_case(want)).map(|(_, value)| value))
}

/// An object that holds a verdict: itself, or one nested under a wrapper key.
fn verdict_of(object: Map<String, Value>) -> Option<Map<String, Value>> {
    if score_field(&object).is_some() {
        return Some(object);
    }
    WRAPPER_KEYS.iter().find_map(|key| match object.get(*key) {
        Some(Value::Object(inner)) if score_field(inner).is_some() => Some(inner.clone()),
        _ => None,
    })
}

/// The last verdict object in the text (outermost objects only), and whether it had to be recovered from a cut-off
/// end.
fn final_object(text: &str) -> Option<(Map<String, Value>, bool)> {
    let mut last = None;
    let mut at = 0;
    let bytes = text.as_bytes();
    let mut unclosed = None;
    while at < bytes.len() {
        if bytes[at] != b'{' {
            at += 1;
            continue;
        }
        match balanced_end(&text[at..]) {
            Some(length) => {
                if let Ok(Value::Object(object)) = serde_json::from_str::<Value>(&text[at..at + length]) {
                    if let Some(verdict) = verdict_of(object) {
                        last = Some(verdict);
                        // Only an object cut off after the final complete verdict can replace it.
                        unclosed = None;
                    }
                    at += length;
                    continue;
                }
                at += 1;
            }
            None => {
                unclosed.get_or_insert(at);
                at += 1;
            }
        }
    }
    // A verdict cut off at the end of the reply, after the last complete one.
    if let Some(start) = unclosed {
        if let Some(object) = repair(&text[start..]) {
            return Some((object, true));
        }
    }
    last.map(|object| (object, false))
}

/// Closes a cut-off object after its last complete member and reads it, if that leaves a verdict.
fn repair(tail: &str) -> Option<Map<String, Value>> {
    let cuts: Vec<usize> = tail.char_indices().filter(|(_, c)| *c == ',').map(|(at, _)| at).collect();
    for cut in cuts.into_iter().rev() {
        let attempt = format!("{}}}", &tail[..cut]);
        if let Ok(Value::Object(object)) = serde_json::from_str::<Value>(&attempt) {
            return verdict_of(object);
        }
    }
    None
}

/// Length of the balanced `{...}` at the start of `s`, minding strings and escapes.
fn balanced_end(s: &str) -> Option<usize> {
    let (mut depth, mut in_str, mut escaped) = (0usize, false, false);
    for (i, c) in s.char_indices() {
        if in_str {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_str = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_str = true,
            '{' => depth += 1,
            '}' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
    }
    None
}

fn pass_of(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(flag) => Some(*flag),
        Value::Number(number) => match number.as_f64() {
            Some(1.0) => Some(true),
            Some(0.0) => Some(false),
            _ => None,
        },
        Value::String(text) => match text.trim().trim_matches('*').trim().to_ascii_lowercase().as_str() {
            "true" | "yes" | "pass" | "passed" | "1" | "y" => Some(true),
            "false" | "no" | "fail" | "failed" | "0" | "n" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// A score value: a number, or a string holding a number, "85%", "4/5" or "8 out of 10". The second element is the
/// scale maximum the value itself states.
fn score_parts(value: &Value) -> Option<(f64, Option<f64>, bool)> {
    let parsed = match value {
        Value::Number(number) => number.as_f64().map(|x| (x, None, false)),
        Value::String(text) => {
            let text = text.trim().trim_matches('*').trim().trim_end_matches('.');
            if let Some(percent) = text.strip_suffix('%') {
                percent.trim().parse::<f64>().ok().map(|x| (x / 100.0, None, true))
            } else if let Some((n, max)) = text.split_once('/').or_else(|| text.split_once(" out of ")) {
                let (n, max) = (n.trim().parse::<f64>().ok()?, max.trim().parse::<f64>().ok()?);
                (max > 0.0).then_some((n, Some(max), false))
            } else {
                text.parse::<f64>().ok().map(|x| (x, None, false))
            }
        }
        _ => None,
    };
    parsed.filter(|(x, max, _)| x.is_finite() && max.is_none_or(f64::is_finite))
}

fn read_score(raw: &Value, (lo, hi): (f64, f64), object: &Map<String, Value>, visible: &str) -> Result<f64, String> {
    let (score, stated_max, percent) = score_parts(raw).ok_or_else(|| format!("score {raw} is not a number"))?;
    let unit = (lo, hi) == (0.0, 1.0);
    if percent {
        return in_range(score, 0.0, 1.0).ok_or_else(|| format!("score {raw} is not a percentage from 0 to 100"));
    }
    let outside = |lo: f64, hi: f64| format!("score {raw} is outside the scale {lo}..{hi}");
    if let Some(max) = stated_max {
        // "4/5": on a known scale its maximum must agree; otherwise the fraction states the scale (from 0).
        return if unit {
            in_range(score, 0.0, max).map(|_| score / max).ok_or_else(|| outside(0.0, max))
        } else if (max - hi).abs() < EPS {
            in_range(score, lo, hi).ok_or_else(|| outside(lo, hi))
        } else {
            Err(format!("score {raw} is on another scale than the rubric's {lo}..{hi}"))
        };
    }
    if !unit {
        return in_range(score, lo, hi).ok_or_else(|| outside(lo, hi));
    }
    if let Some(unit_score) = in_range(score, 0.0, 1.0) {
        return Ok(unit_score);
    }
    // The judge used a scale of its own and said so: in the object, or next to this score in its prose.
    let stated =
        ["max_score", "scale_max", "out_of", "max"].iter().find_map(|key| object.get(*key).and_then(score_parts));
    if let Some((max, None, false)) = stated {
        return in_range(score, 0.0, max).ok_or_else(|| outside(0.0, max));
    }
    match stated_in_reply(visible, score) {
        Some((lo, hi)) => in_range(score, lo, hi).ok_or_else(|| outside(lo, hi)),
        None => Err(format!("score {raw} is outside 0..1 and neither the rubric nor the reply states a scale")),
    }
}

/// `score` placed on `lo..hi`, normalised to 0..1; `None` outside the scale.
fn in_range(score: f64, lo: f64, hi: f64) -> Option<f64> {
    (score >= lo - EPS && score <= hi + EPS && hi > lo).then(|| ((score - lo) / (hi - lo)).clamp(0.0, 1.0))
}

/// The scale the reply's prose states for this score: "4/5" or "4 out of 5" with the same number, "4 (1-5)", or
/// "on a scale of 1 to 5".
fn stated_in_reply(visible: &str, score: f64) -> Option<(f64, f64)> {
    let number = |m: Option<regex::Match<'_>>| m.and_then(|m| m.as_str().parse::<f64>().ok());
    let mut scales = Vec::new();
    for captures in STATED_IN_REPLY.captures_iter(visible) {
        if let (Some(n), Some(max)) = (number(captures.name("n")), number(captures.name("max"))) {
            if (n - score).abs() < EPS && max > 1.0 && max <= MAX_STATED_SCALE {
                scales.push((0.0, max));
            }
        } else if let (Some(n), Some(lo), Some(hi)) =
            (number(captures.name("n2")), number(captures.name("lo")), number(captures.name("hi")))
        {
            if (n - score).abs() < EPS && lo < hi && hi <= MAX_STATED_SCALE {
                scales.push((lo, hi));
            }
        } else if let (Some(lo), Some(hi)) = (number(captures.name("lo3")), number(captures.name("hi3"))) {
            if lo < hi && hi <= MAX_STATED_SCALE {
                scales.push((lo, hi));
            }
        }
    }
    scales.dedup();
    match scales.as_slice() {
        [only] => Some(*only),
        _ => None,
    }
}

fn clip(s: &str, max: usize) -> std::borrow::Cow<'_, str> {
    if s.len() <= max {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    std::borrow::Cow::Owned(format!("{}… [truncated]", &s[..end]))
}

#[cfg(test)]
#[path = "tests_reply.rs"]
mod tests;
