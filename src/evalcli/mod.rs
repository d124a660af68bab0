//! `gavel eval`: submit a dataset to a server (or score it in-process with `--local`), show progress, print the
//! summary, write JUnit, and exit 0 (gate passed), 1 (gate failed) or 2 (usage or connection error).

pub mod compare;
pub mod junit;
pub mod kinds;
mod local;
pub mod redteam;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::{json, Value};

use crate::runs::dataset::{self, Format};
use crate::runs::model::{GateSpec, ItemResult, Run, Summary};
use crate::scoring::ScorerRef;

/// What `gavel eval` was asked to do.
#[derive(clap::Args, Debug, Clone)]
pub struct EvalArgs {
    /// Server URL, e.g. http://127.0.0.1:8080 (env GAVEL_URL).
    #[arg(long, env = "GAVEL_URL", value_name = "URL")]
    pub server: Option<String>,
    /// Org API key (env GAVEL_API_KEY).
    #[arg(long, env = "GAVEL_API_KEY", value_name = "KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    /// Project name or id.
    #[arg(long, value_name = "P")]
    pub project: Option<String>,
    /// Dataset file: .jsonl/.ndjson, .csv, or a JSON array.
    #[arg(long, value_name = "FILE")]
    pub dataset: PathBuf,
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
    /// Write a JUnit XML report here.
    #[arg(long, value_name = "OUT.xml")]
    pub junit: Option<PathBuf>,
    /// Print the finished run as JSON instead of a table.
    #[arg(long)]
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

/// A failure that is the user's or the network's, not the gate's: exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

pub(crate) fn usage(msg: impl Into<String>) -> anyhow::Error {
    UsageError(msg.into()).into()
}

fn scorer_refs(args: &EvalArgs) -> anyhow::Result<Vec<ScorerRef>> {
    args.scorers
        .iter()
        .map(|s| {
            if s.trim_start().starts_with('{') {
                serde_json::from_str::<ScorerRef>(s)
                    .map_err(|e| usage(format!("--scorer {s}: not a scorer object: {e}")))
            } else {
                Ok(ScorerRef::Name(s.clone()))
            }
        })
        .collect()
}

/// The gate the flags ask for. With no gate flag at all the gate is "no item failed or errored", what a CI user
/// expects from an exit code; `--min-pass-rate` or `--max-failed` relaxes it.
fn gate(args: &EvalArgs) -> GateSpec {
    let max_failed = match (args.min_pass_rate, args.max_failed) {
        (None, None) => Some(0),
        (_, m) => m,
    };
    GateSpec { min_pass_rate: args.min_pass_rate, max_failed, per_scorer: Default::default() }
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
    if args.scorers.is_empty() && args.metrics.is_empty() {
        return Err(usage("name at least one --scorer or --metric"));
    }
    if args.min_pass_rate.is_some_and(|r| !(0.0..=1.0).contains(&r)) {
        return Err(usage("--min-pass-rate must be between 0 and 1"));
    }
    let bytes = std::fs::read(&args.dataset).map_err(|e| usage(format!("reading {}: {e}", args.dataset.display())))?;
    let items = dataset::parse(Format::from_path(&args.dataset), &bytes)
        .map_err(|e| usage(format!("{}: {e}", args.dataset.display())))?;
    drop(bytes);
    let started = Instant::now();
    let (run, results) = if args.local { local(&args, items).await? } else { remote(&args, items).await? };
    let summary =
        run.summary.clone().ok_or_else(|| usage(format!("the run ended {} without a summary", run.status.as_str())))?;
    if let Some(path) = &args.junit {
        let xml = junit::render(
            &format!("gavel.{}", args.project.as_deref().unwrap_or("local")),
            &summary,
            &results,
            started.elapsed().as_secs_f64(),
        );
        std::fs::write(path, xml).map_err(|e| usage(format!("writing {}: {e}", path.display())))?;
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&run)?);
    } else {
        print_table(&run, &summary, &results);
    }
    Ok(summary.gate.passed)
}

async fn local(args: &EvalArgs, items: Vec<crate::runs::model::Item>) -> anyhow::Result<(Run, Vec<ItemResult>)> {
    let refs = scorer_refs(args)?;
    let resolved =
        crate::scoring::resolve(&refs, &args.metrics, crate::config::RunsConfig::default().max_scorers_per_run, |_| {
            None
        })
        .map_err(|e| usage(e.to_string()))?;
    let names: Vec<String> = resolved.iter().map(|(s, _)| s.name.clone()).collect();
    let compiled: Vec<_> = resolved.into_iter().map(|(_, c)| c).collect();
    let total = items.len() as u64;
    let (summary, results) = local::run(args, compiled, items, &gate(args)).await?;
    let now = crate::store::now();
    let run = Run {
        id: "local".into(),
        project_id: args.project.clone().unwrap_or_else(|| "local".into()),
        kind: "eval".into(),
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

async fn remote(args: &EvalArgs, items: Vec<crate::runs::model::Item>) -> anyhow::Result<(Run, Vec<ItemResult>)> {
    let server = args
        .server
        .as_deref()
        .ok_or_else(|| usage("--server URL is required (or --local)"))?
        .trim_end_matches('/')
        .to_string();
    let key = args.api_key.as_deref().ok_or_else(|| usage("--api-key is required (or GAVEL_API_KEY)"))?;
    let project = args.project.as_deref().ok_or_else(|| usage("--project is required"))?;
    let refs: Vec<Value> = args
        .scorers
        .iter()
        .map(|s| {
            if s.trim_start().starts_with('{') {
                serde_json::from_str(s).map_err(|e| usage(format!("--scorer {s}: {e}")))
            } else {
                Ok(Value::String(s.clone()))
            }
        })
        .collect::<anyhow::Result<_>>()?;
    let client = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| usage(format!("HTTP client: {e}")))?;
    let mut body = json!({"dataset": items, "scorers": refs, "metrics": args.metrics, "gate": gate(args)});
    if let Some(m) = &args.model {
        body["model"] = json!(m);
    }
    let resp = client
        .post(format!("{server}/v1/projects/{project}/runs"))
        .header("X-API-Key", key)
        .json(&body)
        .send()
        .await
        .map_err(|e| usage(format!("cannot reach {server}: {e}")))?;
    let status = resp.status();
    let accepted: Value = resp.json().await.map_err(|e| usage(format!("unreadable answer from {server}: {e}")))?;
    if !status.is_success() {
        let msg = accepted["error"]["message"].as_str().unwrap_or("request failed");
        return Err(usage(format!("{server} answered {status}: {msg}")));
    }
    let id = accepted["id"].as_str().ok_or_else(|| usage("the server did not return a run id"))?.to_string();
    let mut progress = Progress::new();
    let deadline = Instant::now() + Duration::from_secs(args.timeout_s);
    let run = follow(&client, &server, key, &id, &mut progress, deadline).await;
    progress.finish();
    let run = run?;
    let results = if args.junit.is_some() {
        all_results(&client, &server, key, &id).await?
    } else if run.summary.as_ref().is_some_and(|s| s.failed + s.errored > 0) {
        // Only the first failing items, for the table.
        let mut v = first_results(&client, &server, key, &id, "failed").await?;
        v.extend(first_results(&client, &server, key, &id, "errored").await?);
        v.sort_by_key(|r| r.index);
        v.dedup_by_key(|r| r.index);
        v.truncate(SHOWN_FAILURES);
        v
    } else {
        Vec::new()
    };
    Ok((run, results))
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
    use crate::runs::model::RunStatus;
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
