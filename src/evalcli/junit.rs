//! JUnit XML for CI systems (`gavel eval`, `analyze` and `audit` with `--junit`): one `<testcase>` per item, named
//! by the item's id (its index when it has none), `time` its scoring and judging time, `<system-out>` its input,
//! output and expected answer (each cut at [`MAX_FIELD_CHARS`]), a `<failure>` naming each failed scorer and its
//! reason and, when a scorer also errored, an `<error>` beside it. Suite totals count those elements and sum those
//! times, so a JUnit reader that recomputes them finds the same figures.

use std::fmt::Write;

use crate::domain::text_of;
use crate::runs::model::{ItemResult, Summary};

/// Characters of each of input, output and expected kept in a testcase's `<system-out>`; the rest is replaced by
/// a visible `…[truncated N chars]`, so a CI page stays readable and a report stays small.
pub const MAX_FIELD_CHARS: usize = 4096;

/// Escape text for XML content. Characters XML 1.0 cannot carry at all (control characters other than tab, line
/// feed and carriage return; U+FFFE, U+FFFF) are written as a visible `\u{…}` instead of being lost silently.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {
                write!(out, "\\u{{{:x}}}", c as u32).ok();
            }
            c => out.push(c),
        }
    }
    out
}

/// [`escape`] for attribute values: tabs and line breaks as character references, which parsers keep (a literal
/// one would be normalised to a space).
pub fn escape_attr(s: &str) -> String {
    escape(s).replace('\t', "&#9;").replace('\n', "&#10;").replace('\r', "&#13;")
}

/// `s` cut at `max` characters with a visible marker saying how much was left out.
pub fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…[truncated {} chars]", &s[..i], s[i..].chars().count()),
        None => s.to_owned(),
    }
}

/// One `<failure>` or `<error>` element.
pub struct Outcome {
    pub message: String,
    pub kind: String,
    pub body: String,
}

/// One testcase.
pub struct Case {
    pub name: String,
    pub classname: String,
    pub elapsed_ms: u64,
    pub failure: Option<Outcome>,
    pub error: Option<Outcome>,
    pub system_out: String,
}

/// The testcase name of an item: its id, else its position.
pub fn case_name(r: &ItemResult) -> String {
    match &r.item.id {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(serde_json::Value::Null) | None => r.index.to_string(),
        Some(other) => other.to_string(),
    }
}

/// Input, output and expected of an item, each cut at [`MAX_FIELD_CHARS`].
pub fn system_out(r: &ItemResult) -> String {
    let expected = r.item.expected.as_ref().map(|e| text_of(e).into_owned()).unwrap_or_default();
    format!(
        "input:\n{}\n\noutput:\n{}\n\nexpected:\n{}\n",
        truncate(&text_of(&r.item.input), MAX_FIELD_CHARS),
        truncate(&text_of(&r.item.output), MAX_FIELD_CHARS),
        truncate(&expected, MAX_FIELD_CHARS)
    )
}

/// The errored scores of an item as an `<error>` (none when no scorer errored).
pub fn error_of(r: &ItemResult) -> Option<Outcome> {
    let bad: Vec<_> = r.scores.iter().filter_map(|s| s.error.as_ref().map(|e| (s, e))).collect();
    let (_, first) = bad.first()?;
    let lines: Vec<String> =
        bad.iter().map(|(s, e)| format!("{} errored: {} {}", s.scorer, e.code, e.message)).collect();
    Some(Outcome { message: lines.join("; "), kind: first.code.as_str().to_owned(), body: lines.join("\n") })
}

/// A testcase of an `eval` item: failed scorers (not errored ones) in `<failure>`, errored ones in `<error>`.
pub fn eval_case(r: &ItemResult, classname: &str) -> Case {
    let failed: Vec<_> = r.scores.iter().filter(|s| s.error.is_none() && !s.pass).collect();
    let failure = (!failed.is_empty()).then(|| {
        let lines: Vec<String> = failed
            .iter()
            .map(|s| {
                let verdict = if s.unsure { "unsure" } else { "failed" };
                format!("{} {verdict} ({:.3}): {}", s.scorer, s.score, s.reason)
            })
            .collect();
        Outcome { message: lines.join("; "), kind: "gavel.score".into(), body: lines.join("\n") }
    });
    Case {
        name: case_name(r),
        classname: classname.to_owned(),
        elapsed_ms: r.elapsed_ms.unwrap_or(0),
        failure,
        error: error_of(r),
        system_out: system_out(r),
    }
}

fn seconds(ms: u64) -> String {
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

/// The document: `<testsuites>` with one `<testsuite>`, the gate as properties, the cases.
pub fn write(suite: &str, summary: &Summary, cases: &[Case], wall_seconds: f64) -> String {
    let mut x = String::new();
    let failures = cases.iter().filter(|c| c.failure.is_some()).count();
    let errors = cases.iter().filter(|c| c.error.is_some()).count();
    let total_ms: u64 = cases.iter().map(|c| c.elapsed_ms).sum();
    let (n, time) = (cases.len(), seconds(total_ms));
    writeln!(x, r#"<?xml version="1.0" encoding="UTF-8"?>"#).ok();
    writeln!(
        x,
        r#"<testsuites name="gavel" tests="{n}" failures="{failures}" errors="{errors}" skipped="0" time="{time}">"#
    )
    .ok();
    writeln!(
        x,
        r#"  <testsuite name="{}" tests="{n}" failures="{failures}" errors="{errors}" skipped="0" time="{time}">"#,
        escape_attr(suite)
    )
    .ok();
    writeln!(x, "    <properties>").ok();
    let prop = |x: &mut String, k: &str, v: &str| {
        writeln!(x, r#"      <property name="{k}" value="{}"/>"#, escape_attr(v)).ok();
    };
    prop(&mut x, "pass_rate", &summary.pass_rate.to_string());
    prop(&mut x, "gate_passed", &summary.gate.passed.to_string());
    prop(&mut x, "wall_time_s", &format!("{wall_seconds:.3}"));
    for reason in &summary.gate.reasons {
        prop(&mut x, "gate_reason", reason);
    }
    if let Some(b) = &summary.baseline {
        prop(&mut x, "baseline_run", &b.run_id);
    }
    writeln!(x, "    </properties>").ok();
    for c in cases {
        writeln!(
            x,
            r#"    <testcase classname="{}" name="{}" time="{}">"#,
            escape_attr(&c.classname),
            escape_attr(&c.name),
            seconds(c.elapsed_ms)
        )
        .ok();
        for (tag, o) in [("failure", &c.failure), ("error", &c.error)] {
            if let Some(o) = o {
                writeln!(
                    x,
                    r#"      <{tag} message="{}" type="{}">{}</{tag}>"#,
                    escape_attr(&truncate(&o.message, MAX_FIELD_CHARS)),
                    escape_attr(&o.kind),
                    escape(&o.body)
                )
                .ok();
            }
        }
        writeln!(x, "      <system-out>{}</system-out>", escape(&c.system_out)).ok();
        writeln!(x, "    </testcase>").ok();
    }
    writeln!(x, "  </testsuite>").ok();
    writeln!(x, "</testsuites>").ok();
    x
}

/// The report of an `eval` run: classname the run's name, else the suite (`gavel.PROJECT`).
pub fn render(suite: &str, name: Option<&str>, summary: &Summary, results: &[ItemResult], seconds: f64) -> String {
    let classname = name.unwrap_or(suite);
    let cases: Vec<Case> = results.iter().map(|r| eval_case(r, classname)).collect();
    write(suite, summary, &cases, seconds)
}

#[cfg(test)]
#[path = "junit_tests.rs"]
mod tests;
