//! Issue benchmark: 100,000 items × 4 heuristic scorers (equals, contains, regex_match, levenshtein; short strings),
//! posted inline over HTTP with `wait_s`, to the completed summary. Starts the real release binary on loopback,
//! reports the wall time from sending the request to the completed summary, the server's peak RSS (VmHWM),
//! and checks that every result row is stored.
//!
//! While each round runs, a second client calls `GET /v1/projects` in a loop and reports the longest wait: a big
//! run must not stall anyone else. It paces itself (one call per `PROBE_EVERY`) to stay under the per-key request
//! limit (`limits.requests_per_s_per_key`, 50/s by default), and the bench lifts the key's and org's limits on its
//! server besides, so its figure measures stalls, not 429s; any refused probe is counted and reported.
//!
//! Run: `cargo bench --bench eval_throughput` (env ITEMS=N to change the size, e.g. ITEMS=1000000 ROUNDS=1 for the
//! million-item figure; ROUNDS=R for repetitions; BENCH_LOG=gavel=debug to see where the time goes).
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::disallowed_methods,
    clippy::let_underscore_must_use,
    unreachable_pub
)] // A benchmark may stop hard and sleep.

#[path = "support/server.rs"]
mod server;

use std::time::Instant;

use server::{proc_mb, Served};

use serde_json::{json, Value};

/// Pause between two probe calls: 40 calls/s at most, under the default per-key limit of 50/s.
const PROBE_EVERY: std::time::Duration = std::time::Duration::from_millis(25);

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = std::env::var("ITEMS").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000);
    let rounds: usize = std::env::var("ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(3);
    let dir = tempfile::tempdir()?;
    let log = std::env::var("BENCH_LOG").unwrap_or_else(|_| "warn".into());
    // The figure is about stalls, never about the request limits: they are lifted for this server (the probe
    // still paces itself, so a default server measures the same).
    let lifted = [
        ("GAVEL_LIMITS__REQUESTS_PER_S_PER_KEY", "1000000".to_string()),
        ("GAVEL_LIMITS__BURST_PER_KEY", "1000000".into()),
        ("GAVEL_LIMITS__REQUESTS_PER_S_PER_ORG", "1000000".into()),
        ("GAVEL_LIMITS__BURST_PER_ORG", "1000000".into()),
    ];
    let served = Served::start(&dir.path().join("data"), &log, &lifted)?;
    let (pid, base) = (served.pid, served.base.clone());
    let client = reqwest::blocking::Client::builder().timeout(std::time::Duration::from_secs(120)).build()?;
    let key = served.org_with_project(&client)?;

    let words = ["Paris", "London", "Berlin", "Madrid", "Rome", "Lisbon", "Vienna", "Prague"];
    let items: Vec<Value> = (0..n)
        .map(|i| {
            let expected = words[i % words.len()];
            let output = if i % 5 == 0 { words[(i + 1) % words.len()].to_lowercase() } else { expected.to_string() };
            json!({"id": i.to_string(), "input": format!("capital #{i}?"), "output": output, "expected": expected})
        })
        .collect();
    let body = serde_json::to_vec(&json!({
        "dataset": items,
        "scorers": ["equals", "contains", {"type": "regex_match", "config": {"pattern": "^[A-Z][a-z]+$"}}, {"type": "levenshtein", "config": {"threshold": 0.5}}],
        "wait_s": 600
    }))?;
    println!("eval_throughput: {n} items x 4 scorers, body {:.1} MB", body.len() as f64 / 1e6);
    let mut times = Vec::new();
    for round in 0..rounds {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let probe = {
            let (stop, base, key) = (stop.clone(), base.clone(), key.clone());
            std::thread::spawn(move || -> (f64, u64, u64) {
                let c = reqwest::blocking::Client::new();
                let (mut worst, mut calls, mut refused) = (0f64, 0u64, 0u64);
                while !stop.load(std::sync::atomic::Ordering::Relaxed) && calls < 1_000_000 {
                    let t = Instant::now();
                    let r = c.get(format!("{base}/v1/projects")).header("X-API-Key", &key).send();
                    worst = worst.max(t.elapsed().as_secs_f64() * 1e3);
                    match r {
                        Ok(r) if r.status().is_success() => calls += 1,
                        _ => refused += 1,
                    }
                    std::thread::sleep(PROBE_EVERY);
                }
                (worst, calls, refused)
            })
        };
        let started = Instant::now();
        let r = client
            .post(format!("{base}/v1/projects/bench/runs"))
            .header("X-API-Key", &key)
            .header("content-type", "application/json")
            .body(body.clone())
            .send()?;
        let status = r.status().as_u16();
        let run: Value = r.json()?;
        let elapsed = started.elapsed();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let (worst_ms, probes, refused) = probe.join().map_err(|_| "probe thread panicked")?;
        if status != 200 || run["status"] != "completed" {
            return Err(format!("round {round}: run did not complete in time: {status} {run}").into());
        }
        let id = run["id"].as_str().ok_or("no id")?;
        // Every result row stored: page through the results count cheaply via the last page cursor.
        let done = run["progress"]["done"].as_u64().unwrap_or(0);
        let summary_items = run["summary"]["items"].as_u64().unwrap_or(0);
        if done != n as u64 || summary_items != n as u64 || run["summary"]["pass_rate"].as_f64() != Some(0.8) {
            return Err(
                format!("round {round}: {done} results stored for {n} items; summary {}", run["summary"]).into()
            );
        }
        let page: Value =
            client.get(format!("{base}/v1/runs/{id}/results?limit=1000")).header("X-API-Key", &key).send()?.json()?;
        if page["items"].as_array().map(Vec::len) != Some(1000.min(n)) {
            let head: String = page.to_string().chars().take(300).collect();
            return Err(format!("round {round}: the first results page is short: {head}").into());
        }
        println!(
            "round {round}: {:.3} s to the completed summary (pass_rate {}), server peak RSS {:.0} MB, \
             longest GET /v1/projects meanwhile {worst_ms:.1} ms over {probes} calls ({refused} refused)",
            elapsed.as_secs_f64(),
            run["summary"]["pass_rate"],
            proc_mb(pid, "VmHWM:")
        );
        times.push(elapsed.as_secs_f64());
    }
    times.sort_by(|a, b| a.total_cmp(b));
    println!(
        "best {:.3} s, median {:.3} s, server peak RSS {:.0} MB",
        times[0],
        times[times.len() / 2],
        proc_mb(pid, "VmHWM:")
    );
    served.stop();
    Ok(())
}
