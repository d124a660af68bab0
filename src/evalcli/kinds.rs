//! `gavel analyze` and `gavel audit`: a failure analysis or a security audit submitted to a server, followed to
//! the end with the same progress, results reader and exit codes as `gavel eval` (0 gate passed, 1 gate failed,
//! 2 usage or connection error), a table of buckets or checks, and JUnit with one failure per flagged item.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::remote::{write_junit, Remote};
use super::{all_results, follow, junit, usage, Progress};
use crate::runs::dataset::{self, Format};
use crate::runs::model::{ItemResult, Run, Summary};

/// Which kind the command submits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Analyze,
    Audit,
}

/// What `gavel analyze` / `gavel audit` were asked to do.
#[derive(clap::Args, Debug, Clone)]
pub struct KindArgs {
    #[command(flatten)]
    pub remote: super::remote::RemoteArgs,
    /// Dataset file: .jsonl/.ndjson, .csv, or a JSON array.
    #[arg(long, value_name = "FILE", conflicts_with = "from_run")]
    pub dataset: Option<PathBuf>,
    /// An earlier run of the project to look at instead of a dataset.
    #[arg(long, value_name = "RUN_ID")]
    pub from_run: Option<String>,
    /// Gate: the worst severity allowed (low, medium, high, critical; default high: a critical failure blocks).
    #[arg(long, value_name = "SEVERITY", default_value = "high")]
    pub max_severity: String,
    /// Gate: fail when a bucket (analyze) or check (audit) rose beyond noise against this run.
    #[arg(long, value_name = "RUN_ID")]
    pub baseline: Option<String>,
    /// Audit: a check to run (repeatable; default every deterministic check).
    #[arg(long = "check", value_name = "CHECK")]
    pub checks: Vec<String>,
    /// Analyze: judge model (the run's `model` on a server; with --local, the model the judge calls).
    #[arg(long, value_name = "MODEL")]
    pub model: Option<String>,
    #[command(flatten)]
    pub output: super::remote::OutputArgs,
    /// Analyze: run in-process with no server and nothing written to disk. Needs --dataset. The judged
    /// subcategories take a provider key from the environment (GAVEL_PROVIDER_KEY with --provider, or
    /// OPENAI_API_KEY, ANTHROPIC_API_KEY, GEMINI_API_KEY, GROQ_API_KEY); with no key the command refuses
    /// (exit 2) unless --deterministic-only is given.
    #[arg(long)]
    pub local: bool,
    /// With --local: run the deterministic checks alone, no judge and no key (the judge-only subcategories are
    /// not decided; those a rule screens first keep the rule's view).
    #[arg(long, requires = "local")]
    pub deterministic_only: bool,
    /// With --local: the judge's provider (default: the first whose key variable is set).
    #[arg(long, value_name = "PROVIDER", requires = "local")]
    pub provider: Option<String>,
    /// With --local: where that provider is reached (e.g. http://localhost:8000/v1 for vLLM or Ollama).
    #[arg(long, value_name = "URL", requires = "local")]
    pub base_url: Option<String>,
}

/// Run the command; the exit code follows the contract.
pub async fn run(kind: Kind, args: KindArgs) -> u8 {
    match execute(kind, args).await {
        Ok(true) => 0,
        Ok(false) => 1,
        Err(e) => {
            let name = if kind == Kind::Analyze { "analyze" } else { "audit" };
            eprintln!("gavel {name}: {e:#}");
            2
        }
    }
}

fn body(kind: Kind, args: &KindArgs) -> anyhow::Result<Value> {
    let mut gate = json!({"max_severity": args.max_severity});
    if let Some(b) = &args.baseline {
        gate["no_regression"] = json!(true);
        gate["baseline"] = json!(b);
    }
    let mut body = json!({"gate": gate});
    match (&args.dataset, &args.from_run) {
        (Some(path), None) => {
            let bytes = std::fs::read(path).map_err(|e| usage(format!("reading {}: {e}", path.display())))?;
            let items = dataset::parse(Format::from_path(path), &bytes)
                .map_err(|e| usage(format!("{}: {e}", path.display())))?;
            body["dataset"] = serde_json::to_value(items)?;
        }
        (None, Some(id)) => body["from_run"] = json!(id),
        _ => return Err(usage("give --dataset FILE or --from-run RUN_ID")),
    }
    if kind == Kind::Audit && !args.checks.is_empty() {
        body["checks"] = json!(args.checks);
    }
    if let (Kind::Analyze, Some(m)) = (kind, &args.model) {
        body["model"] = json!(m);
    }
    Ok(body)
}

/// A run of another kind as the CLI follows it: submitted, then followed to its end.
pub(super) struct Followed {
    pub client: reqwest::Client,
    pub id: String,
    pub run: Run,
    /// When the request was sent, for the report's wall time.
    pub started: Instant,
}

/// The command line's HTTP client (a connect timeout; requests themselves may wait for `wait_s`).
pub(super) fn http_client() -> anyhow::Result<reqwest::Client> {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| usage(format!("HTTP client: {e}")))
}

/// One POST of a JSON body with the API key; the answer's JSON, or the server's error message as a usage error.
pub(super) async fn post_json(
    client: &reqwest::Client,
    server: &str,
    key: &str,
    path: &str,
    body: &Value,
) -> anyhow::Result<Value> {
    let resp = client
        .post(format!("{server}{path}"))
        .header("X-API-Key", key)
        .json(body)
        .send()
        .await
        .map_err(|e| usage(format!("cannot reach {server}: {e}")))?;
    let status = resp.status();
    let answer: Value = resp.json().await.map_err(|e| usage(format!("unreadable answer from {server}: {e}")))?;
    if !status.is_success() {
        let msg = answer["error"]["message"].as_str().unwrap_or("request failed");
        return Err(usage(format!("{server} answered {status}: {msg}")));
    }
    Ok(answer)
}
/// POST `body` to `path` on `server`, then follow the accepted run's events to its end (analyze, audit, redteam).
pub(super) async fn submit_and_follow(
    server: &str,
    key: &str,
    path: &str,
    body: &Value,
    timeout_s: u64,
) -> anyhow::Result<Followed> {
    let client = http_client()?;
    let started = Instant::now();
    let accepted = post_json(&client, server, key, path, body).await?;
    let id = accepted["id"].as_str().ok_or_else(|| usage("the server did not return a run id"))?.to_string();
    let mut progress = Progress::new();
    let deadline = Instant::now() + Duration::from_secs(timeout_s);
    let run = follow(&client, server, key, &id, &mut progress, deadline).await;
    progress.finish();
    Ok(Followed { client, id, run: run?, started })
}

async fn execute(kind: Kind, args: KindArgs) -> anyhow::Result<bool> {
    if args.local {
        if kind != Kind::Analyze {
            return Err(usage("--local is for `gavel analyze`; an audit needs a server"));
        }
        let started = Instant::now();
        if args.from_run.is_some() || args.baseline.is_some() {
            return Err(usage("--local has no earlier runs: --from-run and --baseline need a server"));
        }
        let local = super::analyze_local::LocalAnalysis {
            dataset: args.dataset.as_deref(),
            max_severity: &args.max_severity,
            project: args.remote.project.as_deref(),
            deterministic_only: args.deterministic_only,
            judge: super::local::JudgeFlags {
                provider: args.provider.as_deref(),
                base_url: args.base_url.as_deref(),
                model: args.model.as_deref(),
            },
        };
        let (run, results) = super::analyze_local::run(&local).await?;
        let summary = run.summary.clone().ok_or_else(|| usage("the local analysis has no summary"))?;
        return report(kind, &args, &run, &summary, &results, started);
    }
    let Remote { server, key, project } = args.remote.resolve()?;
    let body = body(kind, &args)?;
    let path = if kind == Kind::Analyze { "failure-analysis" } else { "security/audit" };
    let Followed { client, id, run, started } =
        submit_and_follow(server, key, &format!("/v1/projects/{project}/{path}"), &body, args.output.timeout_s).await?;
    let summary =
        run.summary.clone().ok_or_else(|| usage(format!("the run ended {} without a summary", run.status.as_str())))?;
    let results = if args.output.junit.is_some() { all_results(&client, server, key, &id).await? } else { Vec::new() };
    report(kind, &args, &run, &summary, &results, started)
}

/// JUnit (when asked), then the run as JSON or the table; `Ok(gate passed)`.
fn report(
    kind: Kind,
    args: &KindArgs,
    run: &Run,
    summary: &Summary,
    results: &[ItemResult],
    started: Instant,
) -> anyhow::Result<bool> {
    if let Some(out) = &args.output.junit {
        let project = args.remote.project.as_deref().unwrap_or("local");
        write_junit(out, junit(kind, project, summary, results, started.elapsed().as_secs_f64()))?;
    }
    args.output.print(run, || table(kind, run, summary))?;
    Ok(summary.gate.passed)
}

fn worst(sev: &Value) -> &'static str {
    ["critical", "high", "medium", "low"].into_iter().find(|s| sev[*s].as_u64().unwrap_or(0) > 0).unwrap_or("-")
}

/// The summary as a table: buckets (analyze) or checks (audit), then the gate.
pub fn table(kind: Kind, run: &Run, s: &Summary) -> String {
    let mut out = String::new();
    writeln!(out, "run {} ({}): {} items, {} flagged, {} errored", run.id, run.kind, s.items, s.failed, s.errored).ok();
    let (title, rows) = match kind {
        Kind::Analyze => ("bucket", s.kind.buckets.clone()),
        Kind::Audit => ("check", s.kind.checks.clone()),
    };
    writeln!(out, "{title:<28} {:>8} {:>8}  worst", "items", "share").ok();
    if let Some(Value::Object(map)) = rows {
        for (name, b) in map {
            let n = b["failed"].as_u64().or(b["items_flagged"].as_u64()).unwrap_or(0);
            let share = if s.items == 0 { 0.0 } else { n as f64 / s.items as f64 };
            writeln!(out, "{name:<28} {n:>8} {:>7.1}%  {}", share * 100.0, worst(&b["severity"])).ok();
        }
    }
    if let Some(Value::Array(sys)) = &s.kind.systemic {
        for x in sys {
            writeln!(
                out,
                "systemic: {}.{} fails on {} of {} items",
                x["bucket"].as_str().unwrap_or(""),
                x["subcategory"].as_str().unwrap_or(""),
                x["failed"],
                x["applicable"]
            )
            .ok();
        }
    }
    writeln!(out, "gate: {}", if s.gate.passed { "passed" } else { "FAILED" }).ok();
    for r in &s.gate.reasons {
        writeln!(out, "  - {r}").ok();
    }
    out
}

/// What a flagged item's JUnit failure says: its bucket and severity, or its findings.
fn flagged(kind: Kind, r: &ItemResult) -> Option<(String, String)> {
    match kind {
        Kind::Analyze => {
            let a = r.analysis.as_ref()?;
            a["failed"].as_bool().filter(|f| *f)?;
            let msg = format!(
                "{}.{} ({})",
                a["bucket"].as_str().unwrap_or("?"),
                a["subcategory"].as_str().unwrap_or("?"),
                a["severity"].as_str().unwrap_or("?")
            );
            Some((msg, a["reason"].as_str().unwrap_or_default().to_owned()))
        }
        Kind::Audit => {
            let f = r.findings.as_ref()?.as_array()?;
            if f.is_empty() {
                return None;
            }
            let names: Vec<String> = f
                .iter()
                .map(|x| format!("{} ({})", x["check"].as_str().unwrap_or("?"), x["severity"].as_str().unwrap_or("?")))
                .collect();
            let detail: Vec<String> = f.iter().map(|x| x["evidence"].as_str().unwrap_or_default().to_owned()).collect();
            Some((names.join(", "), detail.join("\n")))
        }
    }
}

/// JUnit: one testcase per item (see [`super::junit`]), a `<failure>` per flagged item naming bucket and severity
/// (or the findings), an `<error>` beside it when the item could not be fully looked at.
pub fn junit(kind: Kind, project: &str, s: &Summary, results: &[ItemResult], seconds: f64) -> String {
    let suite = format!("gavel.{}.{project}", if kind == Kind::Analyze { "analyze" } else { "audit" });
    let tag = if kind == Kind::Analyze { "gavel.analysis" } else { "gavel.finding" };
    let cases: Vec<junit::Case> = results
        .iter()
        .map(|r| junit::Case {
            name: junit::case_name(r),
            classname: suite.clone(),
            elapsed_ms: r.elapsed_ms.unwrap_or(0),
            failure: flagged(kind, r).map(|(message, body)| junit::Outcome { message, kind: tag.into(), body }),
            error: junit::error_of(r),
            // An audit's report never repeats the audited text (it may hold the very secret found): only the
            // findings, masked by the server.
            system_out: if kind == Kind::Audit {
                "input and output are not copied into an audit report; see the findings\n".into()
            } else {
                junit::system_out(r)
            },
        })
        .collect();
    junit::write(&suite, s, &cases, seconds)
}
