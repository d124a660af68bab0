//! `gavel eval --format markdown`: a summary to paste into a pull-request comment (GitHub-flavoured Markdown).
//!
//! It is rendered from the run's JSON, not only from the typed summary, so fields a newer server adds (the run's
//! `name` and `labels`, the summary's `baseline` comparison) show without this file knowing every version.

use serde_json::Value;

use crate::runs::model::{ItemResult, Run};

/// Failed items listed by default; the rest are counted, not shown, to keep a PR comment readable.
pub const SHOWN_FAILED_ITEMS: usize = 10;
/// Longest reason (and input/output excerpt) in a cell, in characters.
pub const CELL_CHARS: usize = 160;

/// A table cell: one line, pipes escaped, at most `n` characters.
fn cell(s: &str, n: usize) -> String {
    let one_line = s.replace(['\r', '\n'], " ").replace('|', "\\|");
    match one_line.char_indices().nth(n) {
        Some((i, _)) => format!("{}…", &one_line[..i]),
        None => one_line,
    }
}

fn pct(x: f64) -> String {
    format!("{:.2}%", x * 100.0)
}

fn interval(v: &Value) -> String {
    match (v[0].as_f64(), v[1].as_f64()) {
        (Some(lo), Some(hi)) => format!("{:.2}–{:.2}%", lo * 100.0, hi * 100.0),
        _ => "–".into(),
    }
}

/// The Markdown summary of a finished run and its first failed items (`results` may hold passing ones too).
pub fn render(run: &Run, results: &[ItemResult], max_items: usize) -> String {
    let v = serde_json::to_value(run).unwrap_or(Value::Null);
    let s = &v["summary"];
    let mut out = String::new();
    let passed = s["gate"]["passed"].as_bool().unwrap_or(false);
    let verdict = if passed { "✅ gate passed" } else { "❌ gate failed" };
    let title = v["name"].as_str().map(|n| format!("{} ", cell(n, 80))).unwrap_or_default();
    out.push_str(&format!("### gavel eval {title}— {verdict}\n\n"));
    let mut facts = vec![format!("run `{}` {}", run.id, run.status.as_str())];
    for key in ["branch", "commit"] {
        if let Some(val) = v["labels"][key].as_str() {
            let val = if key == "commit" { val.chars().take(12).collect() } else { cell(val, 60) };
            facts.push(format!("{key} `{val}`"));
        }
    }
    out.push_str(&facts.join(" · "));
    out.push_str("\n\n");
    let n = |k: &str| s[k].as_u64().unwrap_or(0);
    let unsure = if n("unsure") > 0 { format!(" ({} unsure)", n("unsure")) } else { String::new() };
    out.push_str(&format!(
        "**{}** pass rate (95% interval {}) · {} items · {} passed · {} failed{unsure} · {} errored\n\n",
        pct(s["pass_rate"].as_f64().unwrap_or(0.0)),
        interval(&s["pass_rate_ci"]),
        n("items"),
        n("passed"),
        n("failed"),
        n("errored"),
    ));
    if let Some(per) = s["per_scorer"].as_object().filter(|m| !m.is_empty()) {
        out.push_str("| scorer | pass rate | 95% interval | mean | unsure | errors |\n|---|---:|---|---:|---:|---:|\n");
        for (name, p) in per {
            out.push_str(&format!(
                "| {} | {} | {} | {:.4} | {} | {} |\n",
                cell(name, 80),
                pct(p["pass_rate"].as_f64().unwrap_or(0.0)),
                interval(&p["pass_rate_ci"]),
                p["mean"].as_f64().unwrap_or(0.0),
                p["unsure"].as_u64().unwrap_or(0),
                p["errors"].as_u64().unwrap_or(0)
            ));
        }
        out.push('\n');
    }
    out.push_str("**Gate**\n\n");
    for r in s["gate"]["reasons"].as_array().into_iter().flatten() {
        out.push_str(&format!("- {}\n", cell(r.as_str().unwrap_or(""), 400)));
    }
    out.push('\n');
    baseline(&s["baseline"], &mut out);
    failed_items(results, n("failed") + n("errored"), max_items, &mut out);
    out
}

/// The baseline comparison the server puts in the summary when the run has a baseline.
fn baseline(b: &Value, out: &mut String) {
    let Some(per) = b["per_scorer"].as_object() else { return };
    out.push_str(&format!(
        "**Against baseline** `{}`\n\n| scorer | base | head | change | p-value | |\n|---|---:|---:|---:|---:|---|\n",
        b["run_id"].as_str().unwrap_or("?")
    ));
    for (name, c) in per {
        let f = |k: &str| c[k].as_f64();
        let regression = c["regression"].as_bool().unwrap_or(false);
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            cell(name, 80),
            f("base_pass_rate").map(pct).unwrap_or_default(),
            f("head_pass_rate").map(pct).unwrap_or_default(),
            f("delta").map(|d| format!("{:+.2} pts", d * 100.0)).unwrap_or_default(),
            f("p_value").map(|p| format!("{p:.3}")).unwrap_or_default(),
            if regression { "⚠️ regression beyond noise" } else { "" }
        ));
    }
    out.push('\n');
}

fn failed_items(results: &[ItemResult], not_passed: u64, max_items: usize, out: &mut String) {
    let failing: Vec<&ItemResult> = results.iter().filter(|r| !r.passed).take(max_items).collect();
    if failing.is_empty() {
        return;
    }
    out.push_str(&format!(
        "<details><summary>First {} failed items (of {not_passed})</summary>\n\n| item | scorer | reason |\n|---|---|---|\n",
        failing.len()
    ));
    for r in failing {
        let id = r.item.id.as_ref().map(|v| crate::domain::text_of(v).into_owned()).unwrap_or_default();
        let label = if id.is_empty() { format!("#{}", r.index) } else { format!("#{} {}", r.index, cell(&id, 60)) };
        for sc in r.scores.iter().filter(|sc| !sc.pass || sc.error.is_some()) {
            let why = match &sc.error {
                Some(e) => format!("error {}: {}", e.code, e.message),
                None => sc.reason.clone(),
            };
            out.push_str(&format!("| {label} | {} | {} |\n", cell(&sc.scorer, 60), cell(&why, CELL_CHARS)));
        }
    }
    out.push_str("\n</details>\n");
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(summary: Value) -> Run {
        serde_json::from_value(json!({
            "id": "run_1", "project_id": "p", "kind": "eval", "status": "completed",
            "progress": {"done": 4, "total": 4}, "scorers": ["equals"], "created_at": "now", "summary": summary
        }))
        .unwrap()
    }

    fn summary(passed: bool) -> Value {
        json!({
            "items": 4, "passed": 3, "failed": 1, "errored": 0, "pass_rate": 0.75, "pass_rate_ci": [0.3, 0.95],
            "per_scorer": {"equals": {"mean": 0.75, "pass_rate": 0.75, "pass_rate_ci": [0.3, 0.95], "errors": 0}},
            "usage": {"calls": 0, "input_tokens": 0, "output_tokens": 0, "cost_usd": 0.0, "cache_hits": 0}, "gate": {"passed": passed, "reasons": ["1 items did not pass | more than the 0 allowed"]},
            "should_gate_ci": !passed
        })
    }

    #[test]
    fn the_summary_has_verdict_rates_intervals_reasons_and_failed_items() {
        let failed: ItemResult = serde_json::from_value(json!({
            "index": 2, "passed": false, "errored": false,
            "item": {"id": "q-3", "input": "q", "output": "Lyon\nsecond line"},
            "scores": [{"scorer": "equals", "score": 0.0, "pass": false, "reason": "output differs | see"}]
        }))
        .unwrap();
        let md = render(&run(summary(false)), &[failed], SHOWN_FAILED_ITEMS);
        assert!(md.starts_with("### gavel eval — ❌ gate failed\n"), "{md}");
        assert!(
            md.contains("**75.00%** pass rate (95% interval 30.00–95.00%) · 4 items · 3 passed · 1 failed"),
            "{md}"
        );
        assert!(md.contains("| equals | 75.00% | 30.00–95.00% | 0.7500 | 0 | 0 |"), "{md}");
        assert!(md.contains("- 1 items did not pass \\| more than the 0 allowed"), "pipes escaped: {md}");
        assert!(md.contains("First 1 failed items (of 1)"), "{md}");
        assert!(md.contains("| #2 q-3 | equals | output differs \\| see |"), "{md}");
        assert!(!md.contains("Against baseline"));
    }

    #[test]
    fn a_baseline_comparison_and_labels_show_when_the_server_sends_them() {
        let mut v = serde_json::to_value(run(summary(true))).unwrap();
        v["summary"]["baseline"] = json!({"run_id": "run_0", "regressions": ["equals"], "per_scorer": {"equals":
            {"base_pass_rate": 0.9, "head_pass_rate": 0.75, "delta": -0.15, "p_value": 0.012, "regression": true}}});
        let r: Run = serde_json::from_value(v).unwrap();
        let md = render(&r, &[], 3);
        if md.contains("Against baseline") {
            // The summary type of this build carries `baseline`.
            assert!(
                md.contains("| equals | 90.00% | 75.00% | -15.00 pts | 0.012 | ⚠️ regression beyond noise |"),
                "{md}"
            );
        }
        let mut out = String::new();
        baseline(
            &json!({"run_id": "run_0", "per_scorer": {"equals": {"base_pass_rate": 0.9, "head_pass_rate": 0.75,
                "delta": -0.15, "p_value": 0.012, "regression": true}}}),
            &mut out,
        );
        assert!(out.starts_with("**Against baseline** `run_0`"), "{out}");
        assert!(
            out.contains("| equals | 90.00% | 75.00% | -15.00 pts | 0.012 | ⚠️ regression beyond noise |"),
            "{out}"
        );
        assert!(md.contains("✅ gate passed") && !md.contains("<details>"), "{md}");
        let long = cell(&"x".repeat(500), CELL_CHARS);
        assert_eq!(long.chars().count(), CELL_CHARS + 1);
    }
}
