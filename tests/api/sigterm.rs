//! SIGTERM during a judged run, across a real process: no provider call starts after the signal, the calls in
//! flight finish and their verdicts are kept, and after a restart the run completes with one result per item and
//! no call paid twice.

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::crash_loop::{create_key, org_with_project};
use crate::support::fake_provider::{FakeProvider, Knobs};
use crate::support::spawn_binary;

/// The fake's answer time: long enough that a signal always lands with calls in flight, and that a server still
/// starting calls during its drain would start several well after the signal.
const LATENCY: Duration = Duration::from_millis(300);
/// How long after `kill -TERM` returns the process may still be starting a call it had already begun to make
/// (the signal is delivered and handled asynchronously). Calls start every ~15 ms while the lane is busy
/// (20 slots / 300 ms), so a server ignoring the signal breaks this within its first few answers.
const SIGNAL_SLACK: Duration = Duration::from_millis(40);

#[test]
fn sigterm_starts_no_call_keeps_the_verdicts_in_flight_and_pays_nothing_twice() {
    let fake = FakeProvider::start(Knobs { latency: LATENCY, ..Knobs::default() });
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("d");
    let args = ["--data-dir", data.to_str().unwrap(), "--bind", "127.0.0.1:0"];
    let bin = spawn_binary(tmp.path(), &args, &[], &tmp.path().join("log1")).unwrap();
    let c = reqwest::blocking::Client::builder().timeout(Duration::from_secs(60)).build().unwrap();
    let key = org_with_project(&c, &bin);
    create_key(&c, &bin.base, &key, &fake.base, 1).unwrap();
    let n: u64 = 300;
    let items: Vec<Value> = (0..n).map(|i| json!({"input": format!("q{i}"), "output": "fine"})).collect();
    let acc: Value = c
        .post(format!("{}/v1/projects/web/runs", bin.base))
        .header("X-API-Key", &key)
        .json(&json!({"dataset": items, "scorers": ["relevance"], "cache": false}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let id = acc["id"].as_str().unwrap().to_string();
    // Signal once the lane is full and some verdicts are stored.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let run: Value =
            c.get(format!("{}/v1/runs/{id}", bin.base)).header("X-API-Key", &key).send().unwrap().json().unwrap();
        let done = run["progress"]["done"].as_u64().unwrap_or(0);
        if done > 0 && fake.in_flight() > 0 {
            assert!(done < n / 2, "the run is too far along to be signalled mid-way: {done}");
            break;
        }
        assert!(Instant::now() < deadline, "no progress within 60 s: {run}");
        std::thread::sleep(Duration::from_millis(10));
    }
    let pid = bin.child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let signalled = Instant::now();
    let in_flight_at_signal = fake.call_log().iter().filter(|c| c.started < signalled && c.answered.is_none()).count();
    assert!(in_flight_at_signal > 0, "the signal must land with calls in flight");
    assert_eq!(bin.terminate(), 0, "a SIGTERM is a clean stop");

    let log = fake.call_log();
    let late: Vec<Duration> =
        log.iter().filter(|c| c.started > signalled + SIGNAL_SLACK).map(|c| c.started - signalled).collect();
    assert!(late.is_empty(), "{} provider calls started after SIGTERM (at {late:?} after it)", late.len());
    let cut = log.iter().filter(|c| c.started < signalled && c.answered.is_none()).count();
    assert_eq!(cut, 0, "every call in flight at the signal is answered before the process exits");
    let asked_before = log.len();

    let bin = spawn_binary(tmp.path(), &args, &[], &tmp.path().join("log2")).unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    let run = loop {
        let run: Value =
            c.get(format!("{}/v1/runs/{id}", bin.base)).header("X-API-Key", &key).send().unwrap().json().unwrap();
        if run["status"].as_str().is_some_and(|s| s != "queued" && s != "running") {
            break run;
        }
        assert!(Instant::now() < deadline, "the resumed run did not finish: {run}");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(run["status"], "completed", "{run}");
    assert_eq!(run["summary"]["items"], n, "{run}");
    assert_eq!(run["summary"]["errored"], 0, "{}", run["summary"]);
    assert_eq!(bin.terminate(), 0);
    crate::support::common::assert_one_result_per_item(&data, &id, n);
    assert_eq!(fake.paid_twice(), 0, "a verdict answered before the stop is never asked again");
    assert_eq!(fake.calls(), n, "one call per item across both lives ({asked_before} before the stop)");
}
