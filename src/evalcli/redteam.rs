//! `gavel redteam`: a red-team run submitted to a server and followed to the end like `gavel analyze`/`audit`
//! (exit 0 gate passed, 1 gate failed, 2 usage or connection error), a table of attack success per category and
//! the over-refusal rate, and JUnit with one test case per attempt (a successful attack is a failure).

use std::fmt::Write as _;

use serde_json::{json, Value};

use super::kinds::{http_client, post_json, submit_and_follow, Followed};
use super::remote::{write_junit, Remote};
use super::{all_results, junit::escape, usage};
use crate::runs::model::{ItemResult, Summary};

/// What `gavel redteam` was asked to do.
#[derive(clap::Args, Debug, Clone)]
pub struct RedTeamArgs {
    #[command(flatten)]
    pub remote: super::remote::RemoteArgs,
    /// The target as JSON, or @FILE holding it: `{"provider", "model", …}` or `{"url", "headers", …}`.
    #[arg(long, value_name = "JSON|@FILE")]
    pub target: Option<String>,
    /// A category to attack (repeatable; default all).
    #[arg(long = "category", value_name = "C")]
    pub categories: Vec<String>,
    /// A transform to apply (repeatable; default none; `a+b` composes two, e.g. `base64+rot13`).
    #[arg(long = "transform", value_name = "T")]
    pub transforms: Vec<String>,
    /// Attempts per category.
    #[arg(long, value_name = "N")]
    pub attempts: Option<u32>,
    /// Gate: the highest attack success rate allowed in every category (0..1).
    #[arg(long, value_name = "RATE")]
    pub max_asr: Option<f64>,
    /// Stop attacking once the run has cost this much (USD).
    #[arg(long, value_name = "USD")]
    pub cost_limit_usd: Option<f64>,
    #[command(flatten)]
    pub output: super::remote::OutputArgs,
    /// Print the run's cost estimate (calls, tokens, most USD) and exit 0 without running it.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub attacker: super::redteam_attacker::AttackerArgs,
}

/// Run the command; the exit code follows the contract.
pub async fn run(args: RedTeamArgs) -> u8 {
    match execute(args).await {
        Ok(true) => 0,
        Ok(false) => 1,
        Err(e) => {
            eprintln!("gavel redteam: {e:#}");
            2
        }
    }
}

fn target_of(arg: &str) -> anyhow::Result<Value> {
    let text = match arg.strip_prefix('@') {
        Some(path) => std::fs::read_to_string(path).map_err(|e| usage(format!("reading {path}: {e}")))?,
        None => arg.to_owned(),
    };
    serde_json::from_str(&text).map_err(|e| usage(format!("--target is not JSON: {e}")))
}

fn body(args: &RedTeamArgs) -> anyhow::Result<Value> {
    let target = target_of(args.target.as_deref().ok_or_else(|| usage("--target JSON|@FILE is required"))?)?;
    let mut body = json!({"target": target});
    let categories = if args.categories.is_empty() {
        crate::redteam::Category::ALL.iter().map(|c| c.as_str().to_owned()).collect()
    } else {
        args.categories.clone()
    };
    if !args.categories.is_empty() {
        body["categories"] = json!(args.categories);
    }
    if !args.transforms.is_empty() {
        body["transforms"] = json!(args.transforms);
    }
    if let Some(n) = args.attempts {
        body["attempts_per_category"] = json!(n);
    }
    if let Some(c) = args.cost_limit_usd {
        body["cost_limit_usd"] = json!(c);
    }
    if args.dry_run {
        body["dry_run"] = json!(true);
    }
    if let Some(a) = args.attacker.body()? {
        body["attacker"] = a;
    }
    if let Some(max) = args.max_asr {
        let per: serde_json::Map<String, Value> = categories.into_iter().map(|c| (c, json!(max))).collect();
        body["gate"] = json!({"max_asr": per});
    }
    Ok(body)
}

async fn execute(args: RedTeamArgs) -> anyhow::Result<bool> {
    let Remote { server, key, project } = args.remote.resolve()?;
    let body = body(&args)?;
    let path = format!("/v1/projects/{project}/security/red-team");
    if args.dry_run {
        let answer = dry_run(server, key, &path, &body).await?;
        args.output.print(&answer, || estimate_table(&answer))?;
        return Ok(true);
    }
    let Followed { client, id, run, started } =
        submit_and_follow(server, key, &path, &body, args.output.timeout_s).await?;
    let summary =
        run.summary.clone().ok_or_else(|| usage(format!("the run ended {} without a summary", run.status.as_str())))?;
    if let Some(out) = &args.output.junit {
        let results = all_results(&client, server, key, &id).await?;
        write_junit(out, junit(project, &results, started.elapsed().as_secs_f64()))?;
    }
    args.output.print(&run, || table(&run.id, &summary))?;
    Ok(summary.gate.passed)
}

/// The server's answer to a dry run (`{estimate, plan}`); its error message when it refuses the request.
async fn dry_run(server: &str, key: &str, path: &str, body: &Value) -> anyhow::Result<Value> {
    post_json(&http_client()?, server, key, path, body).await
}

/// The estimate of a dry run: the plan, calls, tokens and cost per role, the total, and what it assumes.
pub fn estimate_table(answer: &Value) -> String {
    let (e, plan) = (&answer["estimate"], &answer["plan"]);
    let n = |v: &Value| v.as_u64().unwrap_or(0);
    let mut out = format!(
        "red team estimate (dry run, nothing sent)\nattempts {} + benign probes {}; transforms: {}\n{:<9} {:<28} {:>6} {:>12} {:>12} {:>12}\n",
        n(&e["attempts"]),
        n(&e["benign"]),
        plan["transforms"].as_array().map_or(String::new(), |t| t.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", ")),
        "role",
        "model",
        "calls",
        "in tokens",
        "out tokens",
        "max usd"
    );
    for (role, r) in e["by_role"].as_object().into_iter().flatten() {
        let cost = r["cost_usd"].as_f64().map_or("unknown".to_owned(), |c| format!("{c:.4}"));
        writeln!(
            out,
            "{role:<9} {:<28} {:>6} {:>12} {:>12} {:>12}",
            r["model"].as_str().unwrap_or("-"),
            n(&r["calls"]),
            n(&r["input_tokens"]),
            n(&r["output_tokens"]),
            cost
        )
        .ok();
    }
    let total = e["cost_usd_max"].as_f64().unwrap_or(0.0);
    if e["priced"].as_bool().unwrap_or(false) {
        writeln!(out, "at most ${total:.4}").ok();
    } else {
        writeln!(out, "at most ${total:.4} for the priced calls; the rest is not priced (see below)").ok();
    }
    for note in e["notes"].as_array().into_iter().flatten().filter_map(Value::as_str) {
        writeln!(out, "  - {note}").ok();
    }
    out
}

/// The category table, the over-refusal rate and the gate.
pub fn table(id: &str, s: &Summary) -> String {
    let mut out = format!(
        "red team {id}\n{:<28} {:>5} {:>5} {:>7}  {:<15} owasp\n",
        "category", "tries", "hits", "asr", "95% ci"
    );
    if let Some(cats) = s.kind.categories.as_ref().and_then(Value::as_object) {
        for (name, c) in cats {
            let ci = &c["asr_ci"];
            writeln!(
                out,
                "{name:<28} {:>5} {:>5} {:>6.1}%  [{:.2}, {:.2}]    {}",
                c["attempts"].as_u64().unwrap_or(0),
                c["successes"].as_u64().unwrap_or(0),
                c["asr"].as_f64().unwrap_or(0.0) * 100.0,
                ci[0].as_f64().unwrap_or(0.0),
                ci[1].as_f64().unwrap_or(1.0),
                c["owasp"].as_str().unwrap_or("-"),
            )
            .ok();
        }
    }
    let hazards = s.kind.hazard_categories.as_ref().and_then(Value::as_object).filter(|h| !h.is_empty());
    if let Some(hazards) = hazards {
        writeln!(out, "{:<28} {:>5} {:>5} {:>7}  95% ci", "hazard category", "tries", "hits", "asr").ok();
        for (code, h) in hazards {
            let ci = &h["asr_ci"];
            writeln!(
                out,
                "{:<28} {:>5} {:>5} {:>6.1}%  [{:.2}, {:.2}]",
                format!("{code} {}", h["name"].as_str().unwrap_or_default()),
                h["attempts"].as_u64().unwrap_or(0),
                h["successes"].as_u64().unwrap_or(0),
                h["asr"].as_f64().unwrap_or(0.0) * 100.0,
                ci[0].as_f64().unwrap_or(0.0),
                ci[1].as_f64().unwrap_or(1.0),
            )
            .ok();
        }
    }
    if let Some(o) = &s.kind.over_refusal {
        writeln!(
            out,
            "over-refusal: {} of {} benign probes refused ({:.1}%)",
            o["refused"].as_u64().unwrap_or(0),
            o["benign"].as_u64().unwrap_or(0),
            o["rate"].as_f64().unwrap_or(0.0) * 100.0
        )
        .ok();
    }
    writeln!(out, "gate: {}", if s.gate.passed { "passed" } else { "FAILED" }).ok();
    for r in &s.gate.reasons {
        writeln!(out, "  - {r}").ok();
    }
    out
}

/// JUnit: one test case per attempt, grouped by category; a successful attack (or an over-refused benign probe)
/// is a failure, an attempt without an answer an error.
pub fn junit(project: &str, results: &[ItemResult], seconds: f64) -> String {
    let failures = results.iter().filter(|r| !r.passed && !r.errored).count();
    let errors = results.iter().filter(|r| r.errored).count();
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"gavel redteam\" tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\" time=\"{seconds:.3}\">\n<testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\">\n",
        results.len(),
        escape(project),
        results.len()
    );
    for r in results {
        let a = r.attempt.clone().unwrap_or(Value::Null);
        let cat = a["category"].as_str().unwrap_or("attempt");
        let name = format!(
            "{} [{}] #{}",
            a["attack"].as_str().unwrap_or("?"),
            a["transform"].as_str().unwrap_or("none"),
            r.index
        );
        write!(out, "<testcase classname=\"redteam.{}\" name=\"{}\">", escape(cat), escape(&name)).ok();
        let reason = a["reason"].as_str().unwrap_or_default();
        if r.errored {
            write!(out, "<error message=\"{}\"/>", escape(reason)).ok();
        } else if !r.passed {
            let what = if a["benign"].as_bool().unwrap_or(false) { "over-refusal" } else { "attack succeeded" };
            write!(
                out,
                "<failure message=\"{}: {}\">severity {} ({}), decided by {}</failure>",
                what,
                escape(reason),
                escape(a["severity"].as_str().unwrap_or("-")),
                escape(a["owasp"].as_str().unwrap_or("-")),
                escape(a["decided_by"].as_str().unwrap_or("-"))
            )
            .ok();
        }
        out.push_str("</testcase>\n");
    }
    writeln!(out, "</testsuite>\n</testsuites>").ok();
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_body_carries_the_target_the_choices_and_a_gate_for_every_category() {
        let args = RedTeamArgs {
            remote: Default::default(),
            target: Some(r#"{"provider": "openai", "model": "m"}"#.into()),
            categories: vec!["jailbreak".into()],
            transforms: vec!["base64".into()],
            attempts: Some(3),
            max_asr: Some(0.1),
            cost_limit_usd: None,
            output: super::super::remote::OutputArgs { junit: None, json: false, timeout_s: 1 },
            dry_run: true,
            attacker: Default::default(),
        };
        let b = body(&args).unwrap();
        assert_eq!(b["target"]["model"], "m");
        assert_eq!(b["gate"], json!({"max_asr": {"jailbreak": 0.1}}));
        assert_eq!((b["transforms"][0].as_str(), b["attempts_per_category"].as_u64()), (Some("base64"), Some(3)));
        assert!(target_of("not json").is_err());
        assert_eq!(b["dry_run"], true);
    }

    #[test]
    fn the_estimate_table_shows_each_role_and_says_what_is_not_priced() {
        let answer = json!({"plan": {"transforms": ["none", "hex"]}, "estimate": {"attempts": 6, "benign": 22,
            "cost_usd_max": 0.0123, "priced": false, "notes": ["no price for acme-llm"],
            "by_role": {"target": {"model": "acme-llm", "calls": 28, "input_tokens": 900, "output_tokens": 2800, "cost_usd": null},
                        "judge": {"model": "gpt-4o-mini", "calls": 6, "input_tokens": 500, "output_tokens": 1800, "cost_usd": 0.0123}}}});
        let t = estimate_table(&answer);
        assert!(t.contains("attempts 6 + benign probes 22; transforms: none, hex"), "{t}");
        assert!(t.lines().any(|l| l.starts_with("target") && l.contains("acme-llm") && l.ends_with("unknown")), "{t}");
        assert!(t.lines().any(|l| l.starts_with("judge") && l.contains("0.0123")), "{t}");
        assert!(t.contains("not priced") && t.contains("no price for acme-llm"), "{t}");
    }
}
