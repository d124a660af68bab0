//! Issue benchmark (failure analysis, "Speed"): 10,000 items with deterministic decisions only, posted inline to
//! `POST /v1/projects/{project}/failure-analysis` with `wait_s`, to the completed summary. The org has no provider
//! key, so no item is judged; every item carries constraints or tool calls so the deterministic checks really run,
//! and a known share of them fails: broken JSON, JSON against a schema, `max_chars` and `must_include`, tool calls
//! against their tools' JSON schemas (one in five items of each kind is clean).
//!
//! Starts the real release binary on loopback; reports the wall time from sending the request to the completed
//! summary (p50 of the rounds), items/s, and the server's peak RSS (VmHWM). Goal: ≤ 2 s for 10,000 items.
//!
//! Run: `cargo bench --bench analysis` (env ITEMS=N for the size, ROUNDS=R for the repetitions, default 3;
//! BENCH_LOG=gavel=debug to see where the time goes).
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::disallowed_methods,
    clippy::let_underscore_must_use,
    unreachable_pub
)] // A benchmark may stop hard and read its knobs from the environment.

#[path = "support/server.rs"]
mod server;

use std::time::Instant;

use server::{cpu_seconds, proc_mb, Served};

use serde_json::{json, Value};

/// Kinds of item, one after the other; each kind's every fifth item is clean, the others fail its check.
const KINDS: usize = 4;

fn schema() -> Value {
    json!({"type": "object", "required": ["name", "age"], "properties": {
        "name": {"type": "string", "minLength": 1}, "age": {"type": "integer", "minimum": 0}}})
}

fn tools() -> Value {
    json!([
        {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "required": ["city"],
            "properties": {"city": {"type": "string"}, "days": {"type": "integer", "minimum": 1, "maximum": 14}}}}},
        {"type": "function", "function": {"name": "search_flights", "parameters": {"type": "object",
            "required": ["from", "to"], "properties": {"from": {"type": "string"}, "to": {"type": "string"}}}}}
    ])
}

/// Item `i`: which check it exercises (`i % KINDS`) and whether it passes (every fifth of its kind).
fn item(i: usize) -> (Value, bool) {
    let clean = (i / KINDS).is_multiple_of(5);
    let input = format!("Request #{i}: answer as the instructions say.");
    let (output, metadata) = match i % KINDS {
        0 => {
            let out = if clean { format!("{{\"id\": {i}, \"ok\": true}}") } else { format!("{{\"id\": {i}, \"ok\": ") };
            (out, json!({"constraints": {"format": "json"}}))
        }
        1 => {
            let out = if clean {
                format!("{{\"name\": \"Ann {i}\", \"age\": 41}}")
            } else {
                format!("{{\"name\": \"Ann {i}\", \"age\": \"forty\"}}")
            };
            (out, json!({"constraints": {"format": "json_schema", "schema": schema()}}))
        }
        2 => {
            let out = if clean {
                format!("Paris, item {i}.")
            } else {
                format!("The capital of France is a city called Lyon, or so item {i} claims at length.")
            };
            (out, json!({"constraints": {"max_chars": 40, "must_include": ["Paris"]}}))
        }
        _ => {
            let days = if clean { json!(3) } else { json!("three") };
            let calls = json!([{"name": "get_weather", "arguments": {"city": "Paris", "days": days}}]);
            (format!("Here is the forecast for request {i}."), json!({"tools": tools(), "tool_calls": calls}))
        }
    };
    (json!({"id": i.to_string(), "input": input, "output": output, "metadata": metadata}), clean)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = std::env::var("ITEMS").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000);
    let rounds: usize = std::env::var("ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(3).max(1);
    let dir = tempfile::tempdir()?;
    let log = std::env::var("BENCH_LOG").unwrap_or_else(|_| "warn".into());
    let served = Served::start(&dir.path().join("data"), &log, &[])?;
    let (pid, base) = (served.pid, served.base.clone());
    let client = reqwest::blocking::Client::builder().timeout(std::time::Duration::from_secs(300)).build()?;
    let key = served.org_with_project(&client)?;

    let (items, clean): (Vec<Value>, Vec<bool>) = (0..n).map(item).unzip();
    let expect_failed = clean.iter().filter(|c| !**c).count() as u64;
    let body = serde_json::to_vec(&json!({"dataset": items, "wait_s": 600}))?;
    println!("analysis: {n} items, deterministic checks only, body {:.1} MB", body.len() as f64 / 1e6);
    let mut times = Vec::new();
    for round in 0..rounds {
        let cpu0 = cpu_seconds(pid);
        let started = Instant::now();
        let r = client
            .post(format!("{base}/v1/projects/bench/failure-analysis"))
            .header("X-API-Key", &key)
            .header("content-type", "application/json")
            .body(body.clone())
            .send()?;
        let status = r.status().as_u16();
        let run: Value = r.json()?;
        let elapsed = started.elapsed().as_secs_f64();
        let cpu = cpu_seconds(pid) - cpu0;
        if status != 200 || run["status"] != "completed" {
            let head: String = run.to_string().chars().take(400).collect();
            return Err(format!("round {round}: the analysis did not complete in time: {status} {head}").into());
        }
        let s = &run["summary"];
        if s["items"].as_u64() != Some(n as u64) || s["analysis"]["judged"] != false {
            return Err(format!("round {round}: unexpected summary {s}").into());
        }
        // Every failing item fails the one check it was built for; the clean ones fail nothing.
        let failed = s["failed"].as_u64().unwrap_or(0);
        if failed != expect_failed {
            let buckets = &s["buckets"];
            return Err(format!("round {round}: {failed} items failed, {expect_failed} expected; {buckets}").into());
        }
        let ic = &s["buckets"]["instruction_compliance"]["subcategories"];
        let tu = &s["buckets"]["tool_use"]["subcategories"];
        println!(
            "round {round}: {elapsed:.3} s to the completed summary = {:.0} items/s, server CPU {cpu:.2} s, \
             {failed} failed (format_violation {}, constraint_violation {}, invalid_arguments {}), peak RSS {:.0} MB",
            n as f64 / elapsed,
            ic["format_violation"],
            ic["constraint_violation"],
            tu["invalid_arguments"],
            proc_mb(pid, "VmHWM:")
        );
        times.push(elapsed);
    }
    times.sort_by(|a, b| a.total_cmp(b));
    let p50 = times[times.len() / 2];
    println!(
        "analysis: p50 {p50:.3} s over {rounds} rounds ({:.0} items/s), best {:.3} s, server peak RSS {:.0} MB",
        n as f64 / p50,
        times[0],
        proc_mb(pid, "VmHWM:")
    );
    served.stop();
    Ok(())
}
