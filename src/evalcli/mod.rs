//! `gavel eval`: submit a dataset to a server (or score it in-process with `--local`), show progress, print the
//! summary, write JUnit, and exit 0 (gate passed), 1 (gate failed) or 2 (usage or connection error).

mod analyze_local;
pub mod baseline;
pub mod ci_env;
pub mod compare;
pub mod evalfile;
pub mod junit;
pub mod kinds;
mod local;
pub mod markdown;
pub mod matrix;
pub mod promptfoo;
mod promptfoo_map;
pub mod redteam;
pub mod redteam_attacker;
pub mod remote;
mod source;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::Value;

use crate::runs::model::{ItemResult, Run, Summary};
use crate::scoring::ScorerRef;
use evalfile::Plan;
use source::Dataset;

/// What `gavel eval` was asked to do. Flags override the evaluation file (`-c`, default ./gavel.eval.toml).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct EvalArgs {
    /// Evaluation file (default: ./gavel.eval.toml when it exists). See docs/eval-file.md.
    #[arg(short = 'c', long = "config", value_name = "gavel.eval.toml")]
    pub eval_file: Option<PathBuf>,
    /// Map a promptfoo config (promptfooconfig.yaml) onto an evaluation instead of reading an evaluation file.
    #[arg(long, value_name = "promptfooconfig.yaml", conflicts_with = "eval_file")]
    pub from_promptfoo: Option<PathBuf>,
    /// With --from-promptfoo: run without the assertions gavel cannot map (they are listed on stderr).
    #[arg(long, requires = "from_promptfoo")]
    pub skip_unmapped: bool,
    /// With --from-promptfoo: print the equivalent gavel.eval.toml to stdout and exit, running nothing.
    #[arg(long, requires = "from_promptfoo")]
    pub print_eval_file: bool,
    /// Server, API key and project (each overrides the evaluation file's).
    #[command(flatten)]
    pub remote: remote::RemoteArgs,
    /// Dataset file: .jsonl/.ndjson, .csv, or a JSON array. Repeatable (items are concatenated).
    #[arg(long = "dataset", value_name = "FILE")]
    pub datasets: Vec<PathBuf>,
    /// A dataset stored on the server, by id.
    #[arg(long, value_name = "ID", conflicts_with = "datasets")]
    pub dataset_id: Option<String>,
    /// A scorer: stored scorer name or id, a scorer type, or inline JSON {"type", "config"}. Repeatable.
    #[arg(long = "scorer", value_name = "S")]
    pub scorers: Vec<String>,
    /// A built-in metric. Repeatable.
    #[arg(long = "metric", value_name = "M")]
    pub metrics: Vec<String>,
    /// Gate: lowest acceptable pass rate (0..1).
    #[arg(long, value_name = "X")]
    pub min_pass_rate: Option<f64>,
    /// Gate: most items allowed to fail.
    #[arg(long, value_name = "N")]
    pub max_failed: Option<u64>,
    /// Gate: lowest acceptable pass rate of one scorer, NAME=X (0..1). Repeatable.
    #[arg(long = "gate-scorer", value_name = "NAME=X")]
    pub gate_scorers: Vec<String>,
    /// Gate: fail when a scorer's pass rate fell beyond noise against the baseline (needs --baseline).
    #[arg(long)]
    pub no_regression: bool,
    /// The run's name.
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// A run label KEY=VALUE. Repeatable; wins over the file's labels and those detected from CI.
    #[arg(long = "label", value_name = "KEY=VALUE")]
    pub labels: Vec<String>,
    /// The run to compare against: `label=KEY:VALUE` (newest completed run with that label) or a run id.
    #[arg(long, value_name = "REF")]
    pub baseline: Option<String>,
    /// Do not add the commit/branch/ci_url labels detected from CI variables.
    #[arg(long)]
    pub no_ci_labels: bool,
    /// Write a JUnit XML report here.
    #[arg(long, value_name = "OUT.xml")]
    pub junit: Option<PathBuf>,
    /// How to print the finished run: a table, the run as JSON, or a Markdown summary for PR comments.
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Option<OutputFormat>,
    /// Print the finished run as JSON (the same as --format json).
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
    /// Score in-process with no server and no data directory.
    #[arg(long)]
    pub local: bool,
    /// Judge model (the run's model on a server; with --local, the model judge scorers use).
    #[arg(long, value_name = "MODEL")]
    pub model: Option<String>,
    /// With --local: the provider judge scorers use (default: the first whose key variable is set).
    #[arg(long, value_name = "PROVIDER")]
    pub provider: Option<String>,
    /// With --local: where that provider is reached (e.g. http://localhost:8000/v1 for vLLM or Ollama).
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,
    /// Give up waiting for the run after this many seconds.
    #[arg(long, default_value_t = 3600, value_name = "S")]
    pub timeout_s: u64,
}

/// `--format`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum OutputFormat {
    #[default]
    Table,
    Json,
    Markdown,
}

impl EvalArgs {
    fn output_format(&self) -> OutputFormat {
        if self.json {
            OutputFormat::Json
        } else {
            self.format.unwrap_or_default()
        }
    }
}

/// A failure that is the user's or the network's, not the gate's: exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

pub(crate) fn usage(msg: impl Into<String>) -> anyhow::Error {
    UsageError(msg.into()).into()
}

/// Failing items the table shows, with their scorers' reasons.
const SHOWN_FAILURES: usize = 10;

/// Run the command; the exit code follows the contract.
pub async fn run(args: EvalArgs) -> u8 {
    match execute(args).await {
        Ok(true) => 0,
        Ok(false) => 1,
        Err(e) => {
            eprintln!("gavel eval: {e:#}");
            2
        }
    }
}

async fn execute(args: EvalArgs) -> anyhow::Result<bool> {
    let Some(plan) = source::plan(&args)? else { return Ok(true) };
    let dataset = source::load_dataset(&plan)?;
    let started = Instant::now();
    let (runs, comparison) = if args.local {
        (vec![local(&args, &plan, dataset).await?], None)
    } else {
        remote(&args, &plan, dataset).await?
    };
    let format = args.output_format();
    if let (OutputFormat::Json, Some(c)) = (format, &comparison) {
        // A matrix in JSON is one document: every run, then the comparison.
        let all: Vec<&Run> = runs.iter().map(|(r, _)| r).collect();
        println!("{}", serde_json::to_string_pretty(&serde_json::json!({"runs": all, "comparison": c}))?);
    }
    let mut all_passed = true;
    for (i, (run, results)) in runs.iter().enumerate() {
        let summary = run
            .summary
            .clone()
            .ok_or_else(|| usage(format!("run {} ended {} without a summary", run.id, run.status.as_str())))?;
        if let Some(path) = &args.junit {
            let xml = junit::render(
                &format!("gavel.{}", plan.project.as_deref().unwrap_or("local")),
                run.name.as_deref(),
                &summary,
                results,
                started.elapsed().as_secs_f64(),
            );
            // A matrix writes one report per run: OUT.xml, OUT.2.xml, …
            let path = if i == 0 { path.clone() } else { path.with_extension(format!("{}.xml", i + 1)) };
            std::fs::write(&path, xml).map_err(|e| usage(format!("writing {}: {e}", path.display())))?;
        }
        if i > 0 {
            println!();
        }
        match format {
            OutputFormat::Json if comparison.is_some() => {}
            OutputFormat::Json => println!("{}", serde_json::to_string_pretty(run)?),
            OutputFormat::Markdown => print!("{}", markdown::render(run, results, markdown::SHOWN_FAILED_ITEMS)),
            OutputFormat::Table => print_table(run, &summary, results),
        }
        all_passed &= summary.gate.passed;
    }
    match (format, &comparison) {
        (OutputFormat::Table, Some(c)) => matrix::table(c).iter().for_each(|l| println!("{l}")),
        (OutputFormat::Markdown, Some(c)) => print!("{}", matrix::markdown(c)),
        _ => {}
    }
    Ok(all_passed)
}

async fn local(args: &EvalArgs, plan: &Plan, dataset: Dataset) -> anyhow::Result<(Run, Vec<ItemResult>)> {
    if plan.target.is_some() || plan.targets.is_some() {
        return Err(usage("--local scores the outputs the dataset has; a `target` needs a server"));
    }
    if plan.baseline.is_some() {
        return Err(usage("--local has no earlier runs: `baseline` needs a server"));
    }
    let items = dataset.into_items()?;
    crate::runs::dataset::require_outputs(&items).map_err(|e| usage(e.to_string()))?;
    let refs: Vec<ScorerRef> = plan
        .scorers
        .iter()
        .map(|v| serde_json::from_value(v.clone()).map_err(|e| usage(format!("scorer {v}: {e}"))))
        .collect::<anyhow::Result<_>>()?;
    let resolved =
        crate::scoring::resolve(&refs, &plan.metrics, &(&crate::config::RunsConfig::default()).into(), |_| None)
            .map_err(|e| usage(e.to_string()))?;
    let names: Vec<String> = resolved.iter().map(|(s, _)| s.name.clone()).collect();
    let compiled: Vec<_> = resolved.into_iter().map(|(_, c)| c).collect();
    let total = items.len() as u64;
    let mut args = args.clone();
    args.model = plan.model.clone();
    let (summary, results) = local::run(&args, compiled, items, &plan.gate.spec()).await?;
    let now = crate::store::now();
    let run = Run {
        id: "local".into(),
        project_id: plan.project.clone().unwrap_or_else(|| "local".into()),
        kind: "eval".into(),
        name: None,
        labels: Default::default(),
        baseline_id: None,
        status: crate::runs::model::RunStatus::Completed,
        progress: crate::runs::model::Progress { done: total, total },
        summary: Some(summary),
        error: None,
        scorers: names,
        target: None,
        dataset_id: None,
        created_at: now.clone(),
        started_at: Some(now.clone()),
        finished_at: Some(now),
    };
    Ok((run, results))
}

pub(crate) struct Progress {
    bar: Option<indicatif::ProgressBar>,
    last_plain: Instant,
}

impl Progress {
    pub(crate) fn new() -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let b = indicatif::ProgressBar::new(0);
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} items ({per_sec}, eta {eta})",
            ) {
                b.set_style(style);
            }
            b
        });
        Self { bar, last_plain: Instant::now() - Duration::from_secs(60) }
    }

    pub(crate) fn update(&mut self, done: u64, total: u64) {
        match &self.bar {
            Some(b) => {
                b.set_length(total);
                b.set_position(done);
            }
            None => {
                if self.last_plain.elapsed() >= Duration::from_secs(2) || done == total {
                    eprintln!("progress: {done}/{total} items");
                    self.last_plain = Instant::now();
                }
            }
        }
    }

    pub(crate) fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

/// The runs, each with the items it shows; for a matrix also the comparison of its targets.
type Finished = (Vec<(Run, Vec<ItemResult>)>, Option<Value>);

async fn remote(args: &EvalArgs, plan: &Plan, dataset: Dataset) -> anyhow::Result<Finished> {
    let server = plan
        .server
        .as_deref()
        .ok_or_else(|| usage("--server URL is required (or --local, or `server` in the evaluation file)"))?
        .trim_end_matches('/')
        .to_string();
    let key = plan.api_key.as_deref().ok_or_else(|| match &plan.api_key_env {
        Some(var) => usage(format!("no API key: {var} (the file's api_key_env) is not set; or pass --api-key")),
        None => usage("--api-key is required (or GAVEL_API_KEY)"),
    })?;
    let project = plan.project.as_deref().ok_or_else(|| usage("--project is required"))?;
    let client = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| usage(format!("HTTP client: {e}")))?;
    let body = evalfile::run_body(plan, dataset.into_json()?);
    let resp = client
        .post(format!("{server}/v1/projects/{project}/runs"))
        .header("X-API-Key", key)
        .json(&body)
        .send()
        .await
        .map_err(|e| usage(format!("cannot reach {server}: {e}")))?;
    drop(body);
    let status = resp.status();
    let accepted: Value = resp.json().await.map_err(|e| usage(format!("unreadable answer from {server}: {e}")))?;
    if !status.is_success() {
        let msg = accepted["error"]["message"].as_str().unwrap_or("request failed");
        return Err(usage(format!("{server} answered {status}: {msg}")));
    }
    // A matrix (`targets`) is answered with one run per target.
    let ids: Vec<String> = match accepted["runs"].as_array() {
        Some(runs) => runs.iter().filter_map(|r| r["id"].as_str().map(str::to_string)).collect(),
        None => accepted["id"].as_str().map(|s| vec![s.to_string()]).unwrap_or_default(),
    };
    if ids.is_empty() {
        return Err(usage("the server did not return a run id"));
    }
    let deadline = Instant::now() + Duration::from_secs(args.timeout_s);
    let mut out = Vec::new();
    for id in ids {
        let mut progress = Progress::new();
        let run = follow(&client, &server, key, &id, &mut progress, deadline).await;
        progress.finish();
        let run = run?;
        let results = if args.junit.is_some() {
            all_results(&client, &server, key, &id).await?
        } else if run.summary.as_ref().is_some_and(|s| s.failed + s.errored > 0) {
            // Only the first failing items, for the table and the Markdown summary.
            let mut v = first_results(&client, &server, key, &id, "failed").await?;
            v.extend(first_results(&client, &server, key, &id, "errored").await?);
            v.sort_by_key(|r| r.index);
            v.dedup_by_key(|r| r.index);
            v.truncate(SHOWN_FAILURES);
            v
        } else {
            Vec::new()
        };
        out.push((run, results));
    }
    let comparison = match accepted["comparison_url"].as_str() {
        Some(path) => {
            let r = client
                .get(format!("{server}{path}"))
                .header("X-API-Key", key)
                .send()
                .await
                .map_err(|e| usage(format!("cannot reach {server}: {e}")))?;
            let status = r.status();
            let v: Value = r.json().await.map_err(|e| usage(format!("unreadable comparison from {server}: {e}")))?;
            if !status.is_success() {
                return Err(usage(format!("{server} answered {status} for the comparison: {v}")));
            }
            Some(v)
        }
        None => accepted.get("comparison").cloned(),
    };
    Ok((out, comparison))
}

/// Follow the run's events to the end; fall back to polling if the stream breaks.
async fn follow(
    client: &reqwest::Client,
    server: &str,
    key: &str,
    id: &str,
    progress: &mut Progress,
    deadline: Instant,
) -> anyhow::Result<Run> {
    if let Ok(resp) = client.get(format!("{server}/v1/runs/{id}/events")).header("X-API-Key", key).send().await {
        if resp.status().is_success() {
            let mut stream = resp.bytes_stream();
            let mut buf = String::new();
            while let Ok(Some(chunk)) = tokio::time::timeout_at(deadline.into(), stream.next()).await {
                let Ok(chunk) = chunk else { break };
                buf.push_str(&String::from_utf8_lossy(&chunk));
                while let Some(end) = buf.find("\n\n") {
                    let frame: String = buf.drain(..end + 2).collect();
                    let event = frame.lines().find_map(|l| l.strip_prefix("event: ")).unwrap_or("");
                    let data = frame.lines().filter_map(|l| l.strip_prefix("data: ")).collect::<Vec<_>>().join("\n");
                    let Ok(v) = serde_json::from_str::<Value>(&data) else { continue };
                    match event {
                        "progress" => progress.update(
                            v["progress"]["done"].as_u64().unwrap_or(0),
                            v["progress"]["total"].as_u64().unwrap_or(0),
                        ),
                        "summary" => {
                            progress.update(
                                v["progress"]["done"].as_u64().unwrap_or(0),
                                v["progress"]["total"].as_u64().unwrap_or(0),
                            );
                            return serde_json::from_value(v).map_err(|e| usage(format!("unreadable run: {e}")));
                        }
                        _ => {}
                    }
                }
            }
        }
    }
    loop {
        if Instant::now() > deadline {
            return Err(usage(format!("gave up waiting for run {id}")));
        }
        let run: Run = get_json(client, &format!("{server}/v1/runs/{id}"), key, "run").await?;
        progress.update(run.progress.done, run.progress.total);
        if run.status.is_final() {
            return Ok(run);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// GET a JSON answer from the server, with the error a user of the CLI can act on.
async fn get_json<T: serde::de::DeserializeOwned>(
    client: &reqwest::Client,
    url: &str,
    key: &str,
    what: &str,
) -> anyhow::Result<T> {
    client
        .get(url)
        .header("X-API-Key", key)
        .send()
        .await
        .map_err(|e| usage(format!("cannot reach {url}: {e}")))?
        .json()
        .await
        .map_err(|e| usage(format!("unreadable {what}: {e}")))
}

/// One page of results: its items and the cursor of the next page.
async fn results_page(
    client: &reqwest::Client,
    url: &str,
    key: &str,
) -> anyhow::Result<(Vec<ItemResult>, Option<String>)> {
    let page: Value = get_json(client, url, key, "results").await?;
    let items = serde_json::from_value(page["items"].clone()).map_err(|e| usage(format!("unreadable results: {e}")))?;
    Ok((items, page["next_cursor"].as_str().map(str::to_string)))
}

async fn first_results(
    client: &reqwest::Client,
    server: &str,
    key: &str,
    id: &str,
    status: &str,
) -> anyhow::Result<Vec<ItemResult>> {
    let url = format!("{server}/v1/runs/{id}/results?status={status}&limit={SHOWN_FAILURES}");
    Ok(results_page(client, &url, key).await?.0)
}

async fn all_results(client: &reqwest::Client, server: &str, key: &str, id: &str) -> anyhow::Result<Vec<ItemResult>> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = format!("{server}/v1/runs/{id}/results?limit=1000");
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let (items, next) = results_page(client, &url, key).await?;
        out.extend(items);
        match next {
            Some(c) => cursor = Some(c),
            None => return Ok(out),
        }
    }
}

fn print_table(run: &Run, s: &Summary, results: &[ItemResult]) {
    for line in summary_lines(run, s) {
        println!("{line}");
    }
    s.baseline.iter().flat_map(baseline::lines).for_each(|l| println!("{l}"));
    if s.usage.calls > 0 || s.usage.cache_hits > 0 {
        println!();
        println!(
            "  judge calls {}, cache hits {}, tokens {} in / {} out, cost ${:.4}",
            s.usage.calls, s.usage.cache_hits, s.usage.input_tokens, s.usage.output_tokens, s.usage.cost_usd
        );
    }
    let failing: Vec<&ItemResult> = results.iter().filter(|r| !r.passed).take(SHOWN_FAILURES).collect();
    if !failing.is_empty() {
        println!();
        println!("  first failing items (of {}):", s.failed + s.errored);
        for r in failing {
            let id = r.item.id.as_ref().map(|v| crate::domain::text_of(v).into_owned()).unwrap_or_default();
            let label = if id.is_empty() { format!("#{}", r.index) } else { format!("#{} {id}", r.index) };
            for sc in r.scores.iter().filter(|sc| !sc.pass || sc.error.is_some()) {
                let why = match &sc.error {
                    Some(e) => format!("error {}: {}", e.code, e.message),
                    None => sc.reason.clone(),
                };
                println!("  - {label} {}: {}", sc.scorer, truncate_chars(&why, 160));
            }
        }
    }
    println!();
    println!("gate: {}", if s.gate.passed { "PASSED" } else { "FAILED" });
    for r in &s.gate.reasons {
        println!("  - {r}");
    }
}

/// A pass rate with its Wilson 95 % interval, in percent: "75.00% [53.13–88.82]".
fn rate_with_interval(rate: f64, ci: [f64; 2]) -> String {
    format!("{:.2}% [{:.2}–{:.2}]", rate * 100.0, ci[0] * 100.0, ci[1] * 100.0)
}

/// The head line and the per-scorer table of a summary: each pass rate with its 95 % interval, and what was unsure.
fn summary_lines(run: &Run, s: &Summary) -> Vec<String> {
    let unsure = if s.unsure > 0 { format!(" ({} unsure)", s.unsure) } else { String::new() };
    let mut lines = vec![format!(
        "run {} {}: {} items, {} passed, {} failed{unsure}, {} errored, pass rate {} (95% interval)",
        run.id,
        run.status.as_str(),
        s.items,
        s.passed,
        s.failed,
        s.errored,
        rate_with_interval(s.pass_rate, s.pass_rate_ci)
    )];
    let width = s.per_scorer.keys().map(|k| k.chars().count()).max().unwrap_or(6).max(6);
    lines.push(String::new());
    lines.push(format!(
        "  {:<width$}  {:>8}  {:>27}  {:>6}  {:>6}",
        "scorer", "mean", "pass rate [95% interval]", "unsure", "errors"
    ));
    for (name, p) in &s.per_scorer {
        lines.push(format!(
            "  {:<width$}  {:>8.4}  {:>27}  {:>6}  {:>6}",
            name,
            p.mean,
            rate_with_interval(p.pass_rate, p.pass_rate_ci),
            p.unsure,
            p.errors
        ));
    }
    lines
}

fn truncate_chars(s: &str, n: usize) -> String {
    let one_line = s.replace(['\n', '\r'], " ");
    match one_line.char_indices().nth(n) {
        Some((i, _)) => format!("{}…", &one_line[..i]),
        None => one_line,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::domain::Score;
    use crate::runs::model::{GateSpec, RunStatus};
    use crate::runs::summary::Aggregator;

    #[test]
    fn the_table_shows_each_pass_rate_with_its_interval_and_the_unsure_items() {
        let mut agg = Aggregator::new(vec!["judge".into()]);
        let score = |pass: bool, unsure: bool| Score { unsure, ..Score::new("judge", 0.5, pass, "r") };
        for _ in 0..6 {
            agg.add(&[score(true, false)]);
        }
        agg.add(&[score(false, true)]);
        agg.add(&[score(false, false)]);
        let summary = agg.finish(8, &GateSpec::default(), RunStatus::Completed);
        let run: Run = serde_json::from_value(serde_json::json!({
            "id": "run_1", "project_id": "p", "kind": "eval", "status": "completed",
            "progress": {"done": 8, "total": 8}, "scorers": ["judge"], "created_at": "now"
        }))
        .unwrap();
        let lines = summary_lines(&run, &summary);
        assert_eq!(
            lines[0],
            "run run_1 completed: 8 items, 6 passed, 2 failed (1 unsure), 0 errored, pass rate 75.00% [40.93–92.85] (95% interval)"
        );
        assert!(lines[2].contains("pass rate [95% interval]") && lines[2].contains("unsure"), "{}", lines[2]);
        assert!(lines[3].contains("75.00% [40.93–92.85]") && lines[3].ends_with("     1       0"), "{}", lines[3]);
    }
}
