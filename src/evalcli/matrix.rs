//! How `gavel eval` prints a matrix (`targets`: one run per target): the server's comparison table of pass rate,
//! cost and latency per target, after the runs themselves. It reads the answer of
//! `GET /v1/projects/{project}/matrix` as JSON, so a newer server's extra columns do not break an older client.

use serde_json::Value;

fn pct(v: &Value) -> String {
    v.as_f64().map_or_else(|| "-".to_owned(), |x| format!("{:.2}%", x * 100.0))
}

fn ms(v: &Value) -> String {
    v.as_f64().map_or_else(|| "-".to_owned(), |x| format!("{x:.0}"))
}

/// One row per target: (target, pass rate, passed, failed, errored, cost, p50 ms, p95 ms).
fn rows(c: &Value) -> Vec<[String; 8]> {
    c["rows"]
        .as_array()
        .map(|rows| {
            rows.iter()
                .map(|r| {
                    [
                        r["target"].as_str().unwrap_or("?").to_owned(),
                        pct(&r["pass_rate"]),
                        r["passed"].to_string(),
                        r["failed"].to_string(),
                        r["errored"].to_string(),
                        r["cost_usd"].as_f64().map_or_else(|| "-".to_owned(), |x| format!("${x:.4}")),
                        ms(&r["latency_ms"]["p50"]),
                        ms(&r["latency_ms"]["p95"]),
                    ]
                })
                .collect()
        })
        .unwrap_or_default()
}

const HEAD: [&str; 8] = ["target", "pass rate", "passed", "failed", "errored", "cost", "p50 ms", "p95 ms"];

/// The comparison as aligned text lines.
pub fn table(c: &Value) -> Vec<String> {
    let rows = rows(c);
    let mut width = HEAD.map(|h| h.chars().count());
    for r in &rows {
        for (w, cell) in width.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: [&str; 8]| {
        let mut s = format!("  {:<w$}", cells[0], w = width[0]);
        for (cell, w) in cells.iter().zip(width).skip(1) {
            s.push_str(&format!("  {cell:>w$}"));
        }
        s
    };
    let mut out = vec![String::new(), format!("  matrix: {} targets", rows.len()), line(HEAD)];
    out.extend(rows.iter().map(|r| line(std::array::from_fn(|i| r[i].as_str()))));
    out
}

/// The comparison as a Markdown table, for a PR comment.
pub fn markdown(c: &Value) -> String {
    let mut s = String::from("\n#### Targets compared\n\n| ");
    s.push_str(&HEAD.join(" | "));
    s.push_str(" |\n|");
    s.push_str(&"---|".repeat(HEAD.len()));
    s.push('\n');
    for r in rows(c) {
        let cells: Vec<String> = r.iter().map(|c| c.replace('|', "\\|")).collect();
        s.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    s
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn one_row_per_target_with_rates_cost_and_latency() {
        let c = json!({"rows": [
            {"run_id": "r1", "target": "openai/m-a", "pass_rate": 1.0, "passed": 3, "failed": 0, "errored": 0,
             "cost_usd": 0.0012, "latency_ms": {"p50": 12.4, "p95": 30.0, "mean": 15.0}},
            {"run_id": "r2", "target": "prompt|v2", "pass_rate": 0.0, "passed": 0, "failed": 3, "errored": 0,
             "cost_usd": 0.0, "latency_ms": {"p50": 9.0, "p95": 11.0, "mean": 10.0}}]});
        let t = table(&c);
        assert!(t[3].contains("openai/m-a") && t[3].contains("100.00%") && t[3].contains("$0.0012"), "{t:?}");
        assert!(t[4].contains("0.00%") && t[4].trim_end().ends_with("11"), "{t:?}");
        let m = markdown(&c);
        assert!(m.contains("| prompt\\|v2 | 0.00% | 0 | 3 | 0 | $0.0000 | 9 | 11 |"), "{m}");
    }
}
