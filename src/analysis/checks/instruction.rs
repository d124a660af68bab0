//! `format_violation`, `constraint_violation`, `over_refusal`, all driven by `metadata.constraints`:
//! `{format: json | json_schema | regex, schema?, pattern?, language?, max_chars?, min_chars?, must_include?,
//! must_not_include?}`.

use serde_json::{Map, Value};

use super::super::text;
use super::super::types::Decision;
use super::{Precheck, Prepared};

/// Longest `constraints.pattern`, in characters.
pub(super) const MAX_CONSTRAINT_PATTERN_CHARS: usize = 1_000;

fn constraints<'a>(p: &'a Prepared<'_>) -> Option<&'a Map<String, Value>> {
    p.item.metadata.get("constraints").and_then(Value::as_object)
}

pub(super) fn format_violation(p: &Prepared<'_>) -> Precheck {
    let Some(c) = constraints(p) else { return Precheck::na("no metadata.constraints") };
    let format = c.get("format").and_then(Value::as_str);
    let pattern = c.get("pattern");
    if format.is_none() && pattern.is_none() {
        return Precheck::na("constraints name no format or pattern");
    }
    let output = p.item.output.trim();
    let mut failures = Vec::new();
    match format {
        None => {}
        Some("json") => {
            if let Err(e) = serde_json::from_str::<Value>(output) {
                failures.push(format!("output is not valid JSON: {e}"));
            }
        }
        Some("json_schema") => {
            let Some(schema) = c.get("schema") else {
                return Precheck::na("constraints.format is json_schema but constraints.schema is missing");
            };
            let compiled = p.schemas.get(schema);
            let compiled = match compiled.as_ref() {
                Ok(s) => s,
                Err(e) => return Precheck::na(format!("constraints.schema: {e}")),
            };
            match serde_json::from_str::<Value>(output) {
                Err(e) => failures.push(format!("output is not valid JSON: {e}")),
                Ok(v) => {
                    if let Err(problems) = compiled.validate(&v) {
                        failures.push(format!("output does not match the schema: {}", problems.join("; ")));
                    }
                }
            }
        }
        Some("regex") if pattern.is_some() => {}
        Some(other) => {
            return Precheck::na(format!("constraints.format `{other}` is not one of json, json_schema, regex"))
        }
    }
    if let Some(pattern) = pattern {
        let Some(pattern) = pattern.as_str() else { return Precheck::na("constraints.pattern must be a string") };
        if pattern.chars().count() > MAX_CONSTRAINT_PATTERN_CHARS {
            return Precheck::na(format!(
                "constraints.pattern is longer than {MAX_CONSTRAINT_PATTERN_CHARS} (MAX_CONSTRAINT_PATTERN_CHARS) characters"
            ));
        }
        match p.schemas.pattern(pattern).as_ref() {
            Err(e) => return Precheck::na(format!("constraints.pattern is not a valid regex: {e}")),
            Ok(re) if !re.is_match(output) => failures.push(format!("output does not match the pattern {pattern:?}")),
            Ok(_) => {}
        }
    }
    if failures.is_empty() {
        Precheck::pass(1.0, "output matches the required format")
    } else {
        Precheck::fail(1.0, failures.join("; "))
    }
}

/// ISO 639-1 code for a language given as a code, a tag (`en-GB`) or an English name.
fn language_code(s: &str) -> String {
    let s = s.trim().to_ascii_lowercase();
    let primary = s.split(['-', '_']).next().unwrap_or_default().to_owned();
    let named = [
        ("english", "en"),
        ("french", "fr"),
        ("german", "de"),
        ("spanish", "es"),
        ("italian", "it"),
        ("portuguese", "pt"),
        ("dutch", "nl"),
    ];
    named.iter().find(|(n, _)| *n == primary).map(|(_, c)| (*c).to_owned()).unwrap_or(primary)
}

fn terms(v: Option<&Value>) -> Option<Vec<String>> {
    match v? {
        Value::String(s) => Some(vec![s.clone()]),
        Value::Array(list) => Some(list.iter().filter_map(Value::as_str).map(str::to_owned).collect()),
        _ => None,
    }
}

pub(super) fn constraint_violation(p: &Prepared<'_>) -> Precheck {
    let Some(c) = constraints(p) else { return Precheck::na("no metadata.constraints") };
    let output = &p.item.output;
    let mut failures: Vec<String> = Vec::new();
    let mut unsure: Vec<String> = Vec::new();
    let mut checked = 0;
    if let Some(lang) = c.get("language").and_then(Value::as_str) {
        checked += 1;
        let want = language_code(lang);
        if !text::supported_language(&want) {
            unsure.push(format!("language `{lang}` is not one the built-in detector knows"));
        } else {
            match text::guess_language(output) {
                Some(got) if got != want => failures.push(format!("output is in `{got}`, not `{want}`")),
                Some(_) => {}
                None => unsure.push("output too short to tell its language".to_owned()),
            }
        }
    }
    let chars = output.chars().count();
    if let Some(max) = c.get("max_chars").and_then(Value::as_u64) {
        checked += 1;
        if chars as u64 > max {
            failures.push(format!("output has {chars} characters, more than max_chars {max}"));
        }
    }
    if let Some(min) = c.get("min_chars").and_then(Value::as_u64) {
        checked += 1;
        if (chars as u64) < min {
            failures.push(format!("output has {chars} characters, fewer than min_chars {min}"));
        }
    }
    let lower = output.to_lowercase();
    if let Some(list) = terms(c.get("must_include")) {
        checked += 1;
        let missing: Vec<&String> = list.iter().filter(|t| !lower.contains(&t.to_lowercase())).collect();
        if !missing.is_empty() {
            failures.push(format!("required terms missing: {missing:?}"));
        }
    }
    if let Some(list) = terms(c.get("must_not_include")) {
        checked += 1;
        let present: Vec<&String> = list.iter().filter(|t| lower.contains(&t.to_lowercase())).collect();
        if !present.is_empty() {
            failures.push(format!("banned terms present: {present:?}"));
        }
    }
    if checked == 0 {
        return Precheck::na("constraints set no language, length or term limits");
    }
    if !failures.is_empty() {
        return Precheck::fail(1.0, failures.join("; "));
    }
    if !unsure.is_empty() {
        return Precheck::Decided {
            decision: Decision::Unsure,
            confidence: 0.5,
            evidence: unsure.join("; "),
            critical: false,
        };
    }
    Precheck::pass(1.0, "output meets every constraint")
}

pub(super) fn over_refusal(p: &Prepared<'_>) -> Precheck {
    match text::refusal(&p.item.output) {
        Some(phrase) => Precheck::tentative(Decision::Fail, 0.6, format!("output refuses (\"{phrase}\")")),
        None => Precheck::pass(0.9, "no refusal phrase in the output"),
    }
}
