//! JUnit XML for CI systems: one testcase per item, a `<failure>` naming the failed scorers and their reasons,
//! an `<error>` for items a scorer could not score.

use std::fmt::Write;

use crate::runs::model::{ItemResult, Summary};

/// Escape text for XML attributes and content, dropping characters XML 1.0 does not allow.
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
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

fn item_name(r: &ItemResult) -> String {
    match &r.item.id {
        Some(serde_json::Value::String(s)) => format!("item {s}"),
        Some(other) => format!("item {other}"),
        None => format!("item #{}", r.index),
    }
}

/// The whole report.
pub fn render(suite: &str, summary: &Summary, results: &[ItemResult], seconds: f64) -> String {
    let mut x = String::new();
    let failures = results.iter().filter(|r| !r.passed && !r.errored).count();
    let errors = results.iter().filter(|r| r.errored).count();
    writeln!(x, r#"<?xml version="1.0" encoding="UTF-8"?>"#).ok();
    writeln!(
        x,
        r#"<testsuites name="gavel" tests="{}" failures="{failures}" errors="{errors}" time="{seconds:.3}">"#,
        results.len()
    )
    .ok();
    writeln!(
        x,
        r#"  <testsuite name="{}" tests="{}" failures="{failures}" errors="{errors}" skipped="0" time="{seconds:.3}">"#,
        escape(suite),
        results.len()
    )
    .ok();
    writeln!(x, "    <properties>").ok();
    writeln!(x, r#"      <property name="pass_rate" value="{}"/>"#, summary.pass_rate).ok();
    writeln!(x, r#"      <property name="gate_passed" value="{}"/>"#, summary.gate.passed).ok();
    for reason in &summary.gate.reasons {
        writeln!(x, r#"      <property name="gate_reason" value="{}"/>"#, escape(reason)).ok();
    }
    writeln!(x, "    </properties>").ok();
    for r in results {
        write!(x, r#"    <testcase classname="{}" name="{}" time="0">"#, escape(suite), escape(&item_name(r))).ok();
        if r.errored {
            let bad: Vec<_> = r.scores.iter().filter(|s| s.error.is_some()).collect();
            let names: Vec<&str> = bad.iter().map(|s| s.scorer.as_str()).collect();
            let code = bad.first().and_then(|s| s.error.as_ref()).map(|e| e.code.as_str()).unwrap_or("ERROR");
            let body: Vec<String> = bad
                .iter()
                .map(|s| format!("{}: {}", s.scorer, s.error.as_ref().map(|e| e.message.as_str()).unwrap_or("")))
                .collect();
            write!(
                x,
                "\n      <error message=\"{}\" type=\"{}\">{}</error>\n    ",
                escape(&format!("could not score: {}", names.join(", "))),
                escape(code),
                escape(&body.join("\n"))
            )
            .ok();
        } else if !r.passed {
            let failed: Vec<_> = r.scores.iter().filter(|s| !s.pass).collect();
            let names: Vec<&str> = failed.iter().map(|s| s.scorer.as_str()).collect();
            let body: Vec<String> =
                failed.iter().map(|s| format!("{} ({:.3}): {}", s.scorer, s.score, s.reason)).collect();
            write!(
                x,
                "\n      <failure message=\"{}\" type=\"gavel.score\">{}</failure>\n    ",
                escape(&format!("failed: {}", names.join(", "))),
                escape(&body.join("\n"))
            )
            .ok();
        }
        writeln!(x, "</testcase>").ok();
    }
    writeln!(x, "  </testsuite>").ok();
    writeln!(x, "</testsuites>").ok();
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_drops_control_characters() {
        assert_eq!(escape("a<b>&\"c'\u{1}d\n"), "a&lt;b&gt;&amp;&quot;c&apos;d\n");
    }
}
