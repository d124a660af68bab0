//! `gavel compare`: two runs of one project side by side from the command line — pass rates with their 95 %
//! intervals, per-scorer deltas with the two-proportion test's verdict (beyond noise or not), and optionally a
//! pairwise judgement of the two outputs (`--pairwise`). Exit 0, 1 with `--fail-on-regression` when a scorer
//! regressed beyond noise, 2 on a usage or connection error.

use serde_json::{json, Value};

use super::usage;

/// What `gavel compare` was asked to do.
#[derive(clap::Args, Debug, Clone)]
pub struct CompareArgs {
    /// The gavel server.
    #[arg(long, env = "GAVEL_URL", value_name = "URL")]
    pub server: String,
    /// An API key of the project's org.
    #[arg(long, env = "GAVEL_API_KEY", value_name = "KEY", hide_env_values = true)]
    pub api_key: String,
    /// Project name or id.
    #[arg(long, value_name = "P")]
    pub project: String,
    /// The earlier run (the reference).
    #[arg(long, value_name = "RUN_ID")]
    pub base: String,
    /// The later run (the change under test).
    #[arg(long, value_name = "RUN_ID")]
    pub head: String,
    /// Also ask a judge, item by item and in both orders, which run's output is better.
    #[arg(long)]
    pub pairwise: bool,
    /// The pairwise judge's rubric (with --pairwise).
    #[arg(long, value_name = "TEXT")]
    pub rubric: Option<String>,
    /// Exit 1 when any scorer's pass rate fell beyond noise (two failure analyses: a bucket grew beyond noise).
    #[arg(long)]
    pub fail_on_regression: bool,
    /// Print the server's answers as JSON instead of the table.
    #[arg(long)]
    pub json: bool,
}

pub async fn run(args: CompareArgs) -> u8 {
    match execute(&args).await {
        Ok(regressed) => u8::from(regressed && args.fail_on_regression),
        Err(e) => {
            eprintln!("gavel compare: {e:#}");
            2
        }
    }
}

async fn execute(args: &CompareArgs) -> anyhow::Result<bool> {
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(600))
        .build()
        .map_err(|e| usage(format!("cannot build an HTTP client: {e}")))?;
    let server = args.server.trim_end_matches('/');
    let url = format!(
        "{server}/v1/projects/{}/compare?base={}&head={}&limit=1",
        enc(&args.project),
        enc(&args.base),
        enc(&args.head)
    );
    let cmp = send(client.get(&url).header("X-API-Key", &args.api_key), &url).await?;
    let pairwise = if args.pairwise {
        let mut config = json!({});
        if let Some(r) = &args.rubric {
            config["rubric"] = json!(r);
        }
        let url = format!("{server}/v1/runs/{}/pairwise", enc(&args.head));
        let body = json!({"against": args.base, "scorer": {"type": "pairwise", "config": config}});
        Some(send(client.post(&url).header("X-API-Key", &args.api_key).json(&body), &url).await?)
    } else {
        None
    };
    let regressed = regressions(&cmp);
    if args.json {
        println!("{}", json!({"compare": cmp, "pairwise": pairwise}));
    } else {
        for line in table(&cmp, pairwise.as_ref()) {
            println!("{line}");
        }
    }
    Ok(!regressed.is_empty())
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Send and read a JSON answer; an error answer becomes a usage error carrying the server's message.
async fn send(rb: reqwest::RequestBuilder, url: &str) -> anyhow::Result<Value> {
    let r = rb.send().await.map_err(|e| usage(format!("cannot reach {url}: {e}")))?;
    let status = r.status();
    let v: Value = r.json().await.map_err(|e| usage(format!("unreadable answer from {url}: {e}")))?;
    if !status.is_success() {
        let msg = v["error"]["message"].as_str().unwrap_or("no message");
        return Err(usage(format!("{url} answered {status}: {msg}")));
    }
    Ok(v)
}

/// Scorers whose pass rate fell beyond noise, and (two failure analyses) buckets whose share grew beyond noise.
fn regressions(cmp: &Value) -> Vec<String> {
    let mut out: Vec<String> = cmp["per_scorer"]
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(_, d)| d["beyond_noise"] == true && d["delta"].as_f64().is_some_and(|x| x < 0.0))
        .map(|(n, _)| n.clone())
        .collect();
    out.extend(
        cmp["buckets"]["grew"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|n| n.as_str())
            .map(|n| format!("bucket {n}")),
    );
    out
}

/// Two failure analyses: a line per bucket (and per subcategory under it) with both counts and shares.
fn bucket_lines(b: &Value, out: &mut Vec<String>) {
    let Some(buckets) = b["buckets"].as_object() else { return };
    out.push(format!(
        "{:<34} {:>14} {:>14} {:>9} {:>8}  verdict",
        format!("bucket (items {} → {})", b["base_items"], b["head_items"]),
        "base",
        "head",
        "Δ pts",
        "p"
    ));
    let line = |name: String, d: &Value| {
        let side = |f: &str, s: &str| format!("{} ({})", d[f], pct(&d[s]));
        let delta = d["delta"].as_f64().map(|x| format!("{:+.1}", x * 100.0)).unwrap_or_else(|| "—".into());
        let p = d["p_value"].as_f64().map(|x| format!("{x:.3}")).unwrap_or_else(|| "—".into());
        let verdict = match (d["beyond_noise"].as_bool(), d["change"].as_str()) {
            (Some(true), Some("grew")) => "GREW beyond noise",
            (Some(true), Some("shrank")) => "shrank beyond noise",
            (_, Some("same")) => "same",
            _ => "within noise",
        };
        format!(
            "{:<34} {:>14} {:>14} {:>9} {:>8}  {verdict}",
            name,
            side("base_failed", "base_share"),
            side("head_failed", "head_share"),
            delta,
            p
        )
    };
    for (name, d) in buckets {
        out.push(line(name.clone(), d));
        for (sub, sd) in d["subcategories"].as_object().into_iter().flatten() {
            out.push(line(format!("  {sub}"), sd));
        }
    }
}

fn pct(v: &Value) -> String {
    v.as_f64().map(|x| format!("{:.2}%", x * 100.0)).unwrap_or_else(|| "—".into())
}

fn ci(v: &Value) -> String {
    match (v[0].as_f64(), v[1].as_f64()) {
        (Some(lo), Some(hi)) => format!(" [{:.2}–{:.2}]", lo * 100.0, hi * 100.0),
        _ => String::new(),
    }
}

/// The human-readable comparison.
fn table(cmp: &Value, pairwise: Option<&Value>) -> Vec<String> {
    let side = |s: &Value| {
        format!(
            "{} (pass {}{})",
            s["id"].as_str().unwrap_or("?"),
            pct(&s["summary"]["pass_rate"]),
            ci(&s["summary"]["pass_rate_ci"])
        )
    };
    let c = &cmp["counts"];
    let mut out = vec![
        format!("base {}  →  head {}", side(&cmp["base"]), side(&cmp["head"])),
        format!(
            "items: {} regressed, {} fixed, {} changed otherwise, {} unchanged",
            c["regressed"], c["fixed"], c["changed"], c["unchanged"]
        ),
        format!("{:<24} {:>9} {:>9} {:>9} {:>8}  verdict", "scorer", "base", "head", "Δ pts", "p"),
    ];
    if let Some(ps) = cmp["per_scorer"].as_object() {
        for (name, d) in ps {
            let delta = d["delta"].as_f64().map(|x| format!("{:+.1}", x * 100.0)).unwrap_or_else(|| "—".into());
            let p = d["p_value"].as_f64().map(|x| format!("{x:.3}")).unwrap_or_else(|| "—".into());
            let verdict = match (d["beyond_noise"].as_bool(), d["delta"].as_f64()) {
                (Some(true), Some(x)) if x < 0.0 => "REGRESSION beyond noise",
                (Some(true), _) => "improvement beyond noise",
                (Some(false), _) => "within noise",
                _ => "—",
            };
            out.push(format!(
                "{:<24} {:>9} {:>9} {:>9} {:>8}  {verdict}",
                name,
                pct(&d["base_pass_rate"]),
                pct(&d["head_pass_rate"]),
                delta,
                p
            ));
        }
    }
    if cmp.get("buckets").is_some() {
        bucket_lines(&cmp["buckets"], &mut out);
    }
    if let Some(pw) = pairwise {
        out.push(format!(
            "pairwise: head wins {}, base wins {}, ties {} ({} followed the position) of {} pairs; head win rate {}{}",
            pw["wins"],
            pw["losses"],
            pw["ties"],
            pw["inconsistent"],
            pw["pairs"],
            pct(&pw["win_rate"]),
            ci(&pw["win_rate_ci"])
        ));
        if pw["errors"].as_u64().is_some_and(|e| e > 0) {
            out.push(format!(
                "pairwise: {} pairs not judged: {}",
                pw["errors"],
                pw["first_error"].as_str().unwrap_or("")
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_says_which_changes_are_beyond_noise_and_shows_the_pairwise_rate() {
        let cmp = json!({
            "base": {"id": "run_a", "summary": {"pass_rate": 0.8, "pass_rate_ci": [0.7, 0.87]}},
            "head": {"id": "run_b", "summary": {"pass_rate": 0.6, "pass_rate_ci": [0.5, 0.69]}},
            "counts": {"regressed": 20, "fixed": 0, "changed": 0, "unchanged": 80},
            "per_scorer": {
                "equals": {"base_pass_rate": 0.8, "head_pass_rate": 0.6, "delta": -0.2, "p_value": 0.002, "beyond_noise": true},
                "contains": {"base_pass_rate": 0.9, "head_pass_rate": 0.88, "delta": -0.02, "p_value": 0.65, "beyond_noise": false}
            }
        });
        let pw = json!({"wins": 3, "losses": 1, "ties": 2, "inconsistent": 1, "pairs": 6, "win_rate": 0.5, "win_rate_ci": [0.19, 0.81], "errors": 0});
        let lines = table(&cmp, Some(&pw)).join("\n");
        assert!(lines.contains("run_a (pass 80.00% [70.00–87.00])"), "{lines}");
        assert!(lines.contains("REGRESSION beyond noise"), "{lines}");
        assert!(lines.contains("within noise"), "{lines}");
        assert!(lines.contains("head win rate 50.00% [19.00–81.00]"), "{lines}");
        assert_eq!(regressions(&cmp), vec!["equals".to_string()]);
    }

    #[test]
    fn two_analyses_show_a_bucket_table_and_a_grown_bucket_is_a_regression() {
        let d = |bf: u64, hf: u64, bs: f64, hs: f64, noise: bool, change: &str| {
            json!({"base_failed": bf, "head_failed": hf, "base_share": bs, "head_share": hs, "delta": hs - bs,
                "p_value": if noise { 0.001 } else { 0.5 }, "beyond_noise": noise, "change": change})
        };
        let mut retrieval = d(20, 45, 0.1, 0.225, true, "grew");
        retrieval["subcategories"] = json!({"missing_context": d(20, 40, 0.1, 0.2, true, "grew")});
        let cmp = json!({
            "base": {"id": "fa_a", "summary": {"pass_rate": 0.8}}, "head": {"id": "fa_b", "summary": {"pass_rate": 0.7}},
            "counts": {"regressed": 0, "fixed": 0, "changed": 0, "unchanged": 0}, "per_scorer": {},
            "buckets": {"base_items": 200, "head_items": 200, "grew": ["retrieval"], "shrank": [],
                "buckets": {"retrieval": retrieval, "tool_use": {"subcategories": {}, "base_failed": 3, "head_failed": 3,
                    "base_share": 0.015, "head_share": 0.015, "delta": 0.0, "p_value": 1.0, "beyond_noise": false, "change": "same"}}}
        });
        let lines = table(&cmp, None).join("\n");
        assert!(lines.contains("bucket (items 200 → 200)"), "{lines}");
        assert!(
            lines.contains("20 (10.00%)") && lines.contains("45 (22.50%)") && lines.contains("GREW beyond noise"),
            "{lines}"
        );
        assert!(lines.contains("  missing_context"), "{lines}");
        assert_eq!(regressions(&cmp), vec!["bucket retrieval".to_string()]);
    }
}
