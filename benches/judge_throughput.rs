//! Issue benchmark for the judge scheduler, against the fake provider on loopback and the real release binary:
//! 1. latency 100 ms, cap 20, 2,000 judged items: wall time vs the ideal N·L/C = 10 s (target ≤ 10.5 s);
//! 2. a provider limited to 50 requests/s: sustained items/s (target ≥ 45) with zero errored items;
//! 3. the server's CPU time (user + system, from /proc) per judge call (target ≤ 100 µs).
//!
//! Run: `cargo bench --bench judge_throughput`.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::disallowed_methods,
    clippy::let_underscore_must_use,
    unreachable_pub
)] // A benchmark may stop hard and sleep.

#[path = "../tests/support/fake_provider.rs"]
mod fake_provider;
#[path = "../tests/support/fake_stream.rs"]
mod fake_stream;

#[path = "support/server.rs"]
mod server;

use std::time::{Duration, Instant};

use fake_provider::{FakeProvider, Knobs};
use serde_json::{json, Value};
use server::{cpu_seconds, Served};

struct Server {
    served: Served,
    base: String,
    key: String,
    client: reqwest::blocking::Client,
}

fn start(dir: &std::path::Path, cap: u32) -> Result<Server, Box<dyn std::error::Error>> {
    let served = Served::start(
        dir,
        "warn",
        &[
            ("GAVEL_JUDGE__MAX_CONCURRENCY_PER_ORG_PROVIDER", cap.to_string()),
            ("GAVEL_JUDGE__BACKOFF_BASE_MS", "50".into()),
        ],
    )?;
    let client = reqwest::blocking::Client::builder().timeout(Duration::from_secs(600)).build()?;
    let key = served.org_with_project(&client)?;
    let base = served.base.clone();
    Ok(Server { served, base, key, client })
}

fn judged_run(
    s: &Server,
    fake: &FakeProvider,
    n: usize,
    tag: &str,
) -> Result<(f64, Value), Box<dyn std::error::Error>> {
    let name = format!("fake-{tag}");
    s.client
        .post(format!("{}/v1/byok-keys", s.base))
        .header("X-API-Key", &s.key)
        .json(&json!({"provider": "openai", "name": name, "key": format!("sk-bench-{tag}"), "base_url": format!("{}/v1", fake.base), "default_model": "gpt-4o-mini", "is_default": true}))
        .send()?;
    let items: Vec<Value> =
        (0..n).map(|i| json!({"input": format!("question {i} {tag}"), "output": format!("answer {i}")})).collect();
    let started = Instant::now();
    let run: Value = s
        .client
        .post(format!("{}/v1/projects/bench/runs", s.base))
        .header("X-API-Key", &s.key)
        .json(&json!({"dataset": items, "scorers": ["relevance"], "cache": false, "wait_s": 600}))
        .send()?
        .json()?;
    let secs = started.elapsed().as_secs_f64();
    if run["status"] != "completed" {
        return Err(format!("run did not complete: {run}").into());
    }
    Ok((secs, run))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = std::env::var("ITEMS").ok().and_then(|v| v.parse().ok()).unwrap_or(2000);
    let dir = tempfile::tempdir()?;
    let s = start(&dir.path().join("d"), 20)?;
    let pid = s.served.pid;

    let fake = FakeProvider::start(Knobs { latency: Duration::from_millis(100), ..Knobs::default() });
    let cpu0 = cpu_seconds(pid);
    let (secs, run) = judged_run(&s, &fake, n, "latency")?;
    let cpu = cpu_seconds(pid) - cpu0;
    let calls = run["summary"]["usage"]["calls"].as_u64().unwrap_or(0);
    let ideal = n as f64 * 0.1 / 20.0;
    println!(
        "latency 100 ms, cap 20: {n} items in {secs:.2} s (ideal {ideal:.2} s, efficiency {:.3}), errored {}, max in flight {}, calls {calls}",
        ideal / secs,
        run["summary"]["errored"],
        fake.max_in_flight()
    );
    println!("server CPU per judge call: {:.1} µs ({cpu:.2} s CPU over {calls} calls, whole process incl. HTTP, JSON, SQLite)", cpu * 1e6 / calls.max(1) as f64);
    fake.stop();

    let limited =
        FakeProvider::start(Knobs { latency: Duration::from_millis(50), rps_limit: Some(50), ..Knobs::default() });
    let m = n / 2;
    let (secs, run) = judged_run(&s, &limited, m, "rps")?;
    println!(
        "50 rps provider limit: {m} items in {secs:.2} s = {:.1} items/s, errored {}, provider calls {} ({} answered 429)",
        m as f64 / secs,
        run["summary"]["errored"],
        limited.calls(),
        limited.calls().saturating_sub(m as u64)
    );
    s.served.stop();
    Ok(())
}
