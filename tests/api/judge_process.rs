//! Judging across a real process: kill -9 mid-run, and a request-scoped key that must leave no trace.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::support::fake_provider::{FakeProvider, Knobs};
use crate::support::{admin_key_from, spawn_binary, Binary};

fn setup(bin: &Binary) -> (reqwest::blocking::Client, String) {
    let admin = admin_key_from(&bin.stdout_lines);
    let c = reqwest::blocking::Client::builder().timeout(Duration::from_secs(120)).build().unwrap();
    let org: Value = c
        .post(format!("{}/v1/orgs", bin.base))
        .header("X-API-Key", &admin)
        .json(&json!({"name": "acme"}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let key = org["admin_api_key"].as_str().unwrap().to_string();
    c.post(format!("{}/v1/projects", bin.base)).header("X-API-Key", &key).json(&json!({"name": "web"})).send().unwrap();
    (c, key)
}

fn wait_completed(c: &reqwest::blocking::Client, bin: &Binary, key: &str, id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let run: Value =
            c.get(format!("{}/v1/runs/{id}", bin.base)).header("X-API-Key", key).send().unwrap().json().unwrap();
        if run["status"].as_str().is_some_and(|s| s != "queued" && s != "running") {
            return run;
        }
        assert!(Instant::now() < deadline, "run did not finish: {run}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn judged_run_killed_mid_way_finishes_after_restart_with_one_result_per_item() {
    let fake = FakeProvider::start(Knobs { latency: Duration::from_millis(30), ..Knobs::default() });
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("d");
    let args = ["--data-dir", data.to_str().unwrap(), "--bind", "127.0.0.1:0"];
    let mut bin =
        spawn_binary(tmp.path(), &args, &[("GAVEL_JUDGE__BACKOFF_BASE_MS", "5")], &tmp.path().join("log1")).unwrap();
    let (c, key) = setup(&bin);
    let r = c
        .post(format!("{}/v1/byok-keys", bin.base))
        .header("X-API-Key", &key)
        .json(&json!({"provider": "openai", "name": "k", "key": "sk-durable-0001", "base_url": format!("{}/v1", fake.base), "default_model": "fake-model"}))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    let n = 400;
    let items: Vec<Value> = (0..n)
        .map(|i| json!({"input": format!("q{i}"), "output": if i % 4 == 0 { "WRONG" } else { "fine" }}))
        .collect();
    let acc: Value = c
        .post(format!("{}/v1/projects/web/runs", bin.base))
        .header("X-API-Key", &key)
        .json(&json!({"dataset": items, "scorers": ["relevance", {"type": "not_contains", "config": {"value": "zzz"}}], "cache": false}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let id = acc["id"].as_str().unwrap().to_string();
    bin.kill_mid_run(&c, &key, &id, n);
    let bin =
        spawn_binary(tmp.path(), &args, &[("GAVEL_JUDGE__BACKOFF_BASE_MS", "5")], &tmp.path().join("log2")).unwrap();
    let run = wait_completed(&c, &bin, &key, &id);
    assert_eq!(run["status"], "completed", "{run}");
    let sum = &run["summary"];
    assert_eq!(sum["items"], n);
    assert_eq!(sum["errored"], 0, "{sum}");
    assert_eq!(sum["per_scorer"]["relevance"]["pass_rate"], 0.75);
    assert!(sum["usage"]["calls"].as_u64().unwrap() >= n, "usage survives the restart: {}", sum["usage"]);
    assert_eq!(bin.terminate(), 0);
    crate::support::common::assert_one_result_per_item(&data, &id, n);
}

#[test]
fn a_request_scoped_key_is_found_nowhere_afterwards() {
    let fake = FakeProvider::start(Knobs::default());
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("d");
    let log = tmp.path().join("debug.log");
    let bin = spawn_binary(
        tmp.path(),
        &["--data-dir", data.to_str().unwrap(), "--bind", "127.0.0.1:0", "--log-level", "trace"],
        &[],
        &log,
    )
    .unwrap();
    let (c, key) = setup(&bin);
    let secret = "sk-REQUEST-only-7f3a9c2e51d04b88";
    let body = json!({
        "dataset": [{"input": "q", "output": "fine"}, {"input": "q", "output": "WRONG"}],
        "scorers": ["relevance"],
        "provider_key": {"provider": "openai", "key": secret, "base_url": format!("{}/v1", fake.base), "default_model": "fake-model"},
        "wait_s": 60
    });
    let run: Value = c
        .post(format!("{}/v1/projects/web/runs", bin.base))
        .header("X-API-Key", &key)
        .json(&body)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(run["summary"]["passed"], 1, "{run}");
    assert!(fake
        .requests()
        .iter()
        .all(|r| r.headers.get("authorization").map(String::as_str) == Some(&format!("Bearer {secret}"))));
    // A request whose provider_key is invalid must not echo it either.
    let bad = json!({"dataset": [{"input": "q", "output": "a"}], "scorers": ["relevance"], "provider_key": {"provider": "openai_compatible", "key": secret}});
    let r = c.post(format!("{}/v1/projects/web/runs", bin.base)).header("X-API-Key", &key).json(&bad).send().unwrap();
    assert_eq!(r.status().as_u16(), 400);
    assert!(!r.text().unwrap().contains(secret));
    let res: Value = c
        .get(format!("{}/v1/runs/{}/results", bin.base, run["id"].as_str().unwrap()))
        .header("X-API-Key", &key)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert!(!res.to_string().contains(secret));
    assert_eq!(bin.terminate(), 0);
    let mut files = vec![log];
    for e in std::fs::read_dir(&data).unwrap() {
        files.push(e.unwrap().path());
    }
    for f in files {
        let bytes = std::fs::read(&f).unwrap();
        for needle in [secret, &secret[10..26]] {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
                "the request key was found in {}",
                f.display()
            );
        }
    }
}

#[test]
fn a_run_with_its_own_key_fails_its_remaining_items_clearly_after_a_restart() {
    let fake = FakeProvider::start(Knobs { latency: Duration::from_millis(50), ..Knobs::default() });
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("d");
    let args = ["--data-dir", data.to_str().unwrap(), "--bind", "127.0.0.1:0"];
    let mut bin = spawn_binary(tmp.path(), &args, &[], &tmp.path().join("log1")).unwrap();
    let (c, key) = setup(&bin);
    let n = 300u64;
    let items: Vec<Value> = (0..n).map(|i| json!({"input": format!("q{i}"), "output": "fine"})).collect();
    let acc: Value = c
        .post(format!("{}/v1/projects/web/runs", bin.base))
        .header("X-API-Key", &key)
        .json(&json!({"dataset": items, "scorers": ["relevance"],
            "provider_key": {"provider": "openai", "key": "sk-request-lost-0001", "base_url": format!("{}/v1", fake.base), "default_model": "fake-model"}}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let id = acc["id"].as_str().unwrap().to_string();
    bin.kill_mid_run(&c, &key, &id, n);
    let calls_before = fake.calls();
    let bin = spawn_binary(tmp.path(), &args, &[], &tmp.path().join("log2")).unwrap();
    let run = wait_completed(&c, &bin, &key, &id);
    let sum = &run["summary"];
    assert_eq!(sum["items"], n);
    let errored = sum["errored"].as_u64().unwrap();
    assert!(errored > 0 && sum["passed"].as_u64().unwrap() + errored == n, "{sum}");
    assert_eq!(fake.calls(), calls_before, "the lost key is not replaced by anything");
    let res: Value = c
        .get(format!("{}/v1/runs/{id}/results?status=errored&limit=1", bin.base))
        .header("X-API-Key", &key)
        .send()
        .unwrap()
        .json()
        .unwrap();
    let err = &res["items"][0]["scores"][0]["error"];
    assert_eq!(err["code"], "BYOK_NO_KEY");
    assert!(err["message"].as_str().unwrap().contains("restarted"), "{err}");
    assert_eq!(bin.terminate(), 0);
}
