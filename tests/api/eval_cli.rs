//! `gavel eval` against the real server binary, and durability across `kill -9`.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::support::{admin_key_from, run_gavel, spawn_binary, Binary};

pub(crate) fn org_and_project(bin: &Binary) -> String {
    let admin = admin_key_from(&bin.stdout_lines);
    let c = reqwest::blocking::Client::new();
    let org: Value = c
        .post(format!("{}/v1/orgs", bin.base))
        .header("X-API-Key", &admin)
        .json(&json!({"name": "acme"}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let key = org["admin_api_key"].as_str().unwrap().to_string();
    let r = c
        .post(format!("{}/v1/projects", bin.base))
        .header("X-API-Key", &key)
        .json(&json!({"name": "web"}))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    key
}

#[test]
fn eval_exit_codes_json_and_junit() {
    let tmp = tempfile::tempdir().unwrap();
    let bin =
        spawn_binary(tmp.path(), &["--data-dir", "d", "--bind", "127.0.0.1:0"], &[], &tmp.path().join("log")).unwrap();
    let key = org_and_project(&bin);
    let ds = tmp.path().join("ds.jsonl");
    std::fs::write(
        &ds,
        "{\"id\":\"ok-1\",\"input\":\"q\",\"output\":\"Paris\",\"expected\":\"Paris\"}\n\
         {\"id\":\"bad <&>\",\"input\":\"q\",\"output\":\"Lyon\",\"expected\":\"Paris\"}\n\
         {\"id\":\"ok-2\",\"input\":\"q\",\"output\":\"Paris\",\"expected\":\"Paris\"}\n",
    )
    .unwrap();
    let junit = tmp.path().join("report.xml");
    let base = [
        "eval",
        "--server",
        bin.base.as_str(),
        "--api-key",
        key.as_str(),
        "--project",
        "web",
        "--dataset",
        ds.to_str().unwrap(),
        "--scorer",
        "equals",
    ];

    let mut args = base.to_vec();
    args.extend(["--min-pass-rate", "0.5", "--junit", junit.to_str().unwrap()]);
    let (code, out, err) = run_gavel(tmp.path(), &args, &[]);
    assert_eq!(code, 0, "gate passed → 0: {out} {err}");
    assert!(out.contains("gate: PASSED") && out.contains("equals"), "{out}");
    let xml = std::fs::read_to_string(&junit).unwrap();
    let (testcases, failures) = parse_junit(&xml);
    assert_eq!(testcases, 3);
    assert_eq!(failures.len(), 1);
    assert!(failures[0].starts_with("equals failed"), "the message names the scorer and why: {failures:?}");

    let mut args = base.to_vec();
    args.extend(["--min-pass-rate", "0.9", "--json"]);
    let (code, out, _) = run_gavel(tmp.path(), &args, &[]);
    assert_eq!(code, 1, "gate failed → 1");
    let run: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(run["summary"]["should_gate_ci"], true);
    assert_eq!(run["summary"]["passed"], 2);

    // API key from the environment, a bad dataset line, an unknown project, an unreachable server → 2.
    let (code, _, err) = run_gavel(
        tmp.path(),
        &["eval", "--server", &bin.base, "--project", "web", "--dataset", ds.to_str().unwrap(), "--scorer", "equals"],
        &[("GAVEL_API_KEY", key.as_str())],
    );
    assert_eq!(code, 1, "with no gate flag the gate is 'no item failed or errored': {err}");
    let (code, out, err) = run_gavel(
        tmp.path(),
        &[
            "eval",
            "--server",
            &bin.base,
            "--project",
            "web",
            "--dataset",
            ds.to_str().unwrap(),
            "--scorer",
            "equals",
            "--min-pass-rate",
            "0.5",
        ],
        &[("GAVEL_API_KEY", key.as_str())],
    );
    assert_eq!(code, 0, "--min-pass-rate relaxes the default gate: {err}");
    assert!(out.contains("first failing items"), "the table says which items failed and why: {out}");
    let bad = tmp.path().join("bad.jsonl");
    std::fs::write(&bad, "{\"input\":\"q\",\"output\":\"a\"}\nnot json\n").unwrap();
    let (code, _, err) =
        run_gavel(tmp.path(), &["eval", "--local", "--dataset", bad.to_str().unwrap(), "--scorer", "equals"], &[]);
    assert_eq!(code, 2);
    assert!(err.contains("line 2"), "{err}");
    let (code, _, err) = run_gavel(
        tmp.path(),
        &[
            "eval",
            "--server",
            &bin.base,
            "--api-key",
            &key,
            "--project",
            "nope",
            "--dataset",
            ds.to_str().unwrap(),
            "--scorer",
            "equals",
        ],
        &[],
    );
    assert_eq!(code, 2);
    assert!(err.contains("404"), "{err}");
    let (code, _, _) = run_gavel(
        tmp.path(),
        &[
            "eval",
            "--server",
            "http://127.0.0.1:1",
            "--api-key",
            &key,
            "--project",
            "web",
            "--dataset",
            ds.to_str().unwrap(),
            "--scorer",
            "equals",
        ],
        &[],
    );
    assert_eq!(code, 2);
    let (code, _, _) = run_gavel(tmp.path(), &["eval", "--local", "--dataset", ds.to_str().unwrap()], &[]);
    assert_eq!(code, 2, "no scorer is a usage error");
    // --local gives the same verdicts as the server.
    let (code, out, _) = run_gavel(
        tmp.path(),
        &["eval", "--local", "--dataset", ds.to_str().unwrap(), "--scorer", "equals", "--json", "--max-failed", "0"],
        &[],
    );
    assert_eq!(code, 1);
    let local: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(local["summary"]["pass_rate"], run["summary"]["pass_rate"]);
    assert_eq!(bin.terminate(), 0);
}

/// (number of testcases, failure messages); panics if the XML is not well-formed.
fn parse_junit(xml: &str) -> (usize, Vec<String>) {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(xml);
    let (mut cases, mut failures, mut depth) = (0, Vec::new(), 0i32);
    loop {
        match reader.read_event().expect("well-formed JUnit XML") {
            Event::Start(e) | Event::Empty(e) if e.name().as_ref() == b"testcase" => {
                cases += 1;
                assert!(e.try_get_attribute("name").unwrap().is_some());
            }
            Event::Start(e) if e.name().as_ref() == b"failure" => {
                let msg = e.try_get_attribute("message").unwrap().unwrap().unescape_value().unwrap().to_string();
                failures.push(msg);
            }
            Event::Eof => break,
            _ => {}
        }
        depth += 1;
    }
    assert!(depth > 0);
    (cases, failures)
}

#[test]
fn a_run_killed_mid_way_completes_after_restart_with_one_result_per_item() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("d");
    let args = ["--data-dir", data.to_str().unwrap(), "--bind", "127.0.0.1:0"];
    let mut bin = spawn_binary(tmp.path(), &args, &[], &tmp.path().join("log1")).unwrap();
    let key = org_and_project(&bin);
    let n = 200_000usize;
    let items: Vec<Value> =
        (0..n).map(|i| json!({"input": "q", "output": if i % 3 == 0 { "b" } else { "a" }, "expected": "a"})).collect();
    let c = reqwest::blocking::Client::builder().timeout(Duration::from_secs(120)).build().unwrap();
    let acc: Value = c
        .post(format!("{}/v1/projects/web/runs", bin.base))
        .header("X-API-Key", &key)
        .json(&json!({"dataset": items, "scorers": ["equals", "levenshtein", "contains"]}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let id = acc["id"].as_str().unwrap().to_string();
    bin.kill_mid_run(&c, &key, &id, n as u64);

    let bin = spawn_binary(tmp.path(), &args, &[], &tmp.path().join("log2")).unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    let run = loop {
        let run: Value =
            c.get(format!("{}/v1/runs/{id}", bin.base)).header("X-API-Key", &key).send().unwrap().json().unwrap();
        if run["status"] == "completed" {
            break run;
        }
        assert!(Instant::now() < deadline, "the resumed run did not complete: {run}");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(run["summary"]["items"], n);
    assert_eq!(run["summary"]["passed"].as_u64().unwrap() + run["summary"]["failed"].as_u64().unwrap(), n as u64);
    assert_eq!(run["summary"]["failed"].as_u64().unwrap(), n.div_ceil(3) as u64, "verdicts are counted once each");
    assert_eq!(bin.terminate(), 0);
    crate::support::common::assert_one_result_per_item(&data, &id, n as u64);
}

#[test]
fn eval_local_runs_judge_scorers_with_a_key_from_the_environment() {
    use crate::support::fake_provider::{FakeProvider, Knobs};
    let fake = FakeProvider::start(Knobs::default());
    let tmp = tempfile::tempdir().unwrap();
    let ds = tmp.path().join("ds.jsonl");
    std::fs::write(
        &ds,
        (0..4)
            .map(|i| format!("{{\"input\":\"q{i}\",\"output\":\"{}\"}}\n", if i == 0 { "WRONG" } else { "fine" }))
            .collect::<String>(),
    )
    .unwrap();
    let base_url = format!("{}/v1", fake.base);
    let args = [
        "eval",
        "--local",
        "--dataset",
        ds.to_str().unwrap(),
        "--metric",
        "relevance",
        "--scorer",
        "json_valid",
        "--provider",
        "openai_compatible",
        "--base-url",
        base_url.as_str(),
        "--model",
        "fake-model",
        "--min-pass-rate",
        "0",
        "--json",
    ];
    let (code, out, err) = run_gavel(tmp.path(), &args, &[("GAVEL_PROVIDER_KEY", "sk-local-env-0001")]);
    assert_eq!(code, 0, "{err}");
    let run: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(run["summary"]["per_scorer"]["relevance"]["pass_rate"], 0.75, "{run}");
    assert_eq!(run["summary"]["usage"]["calls"], 4);
    assert_eq!(fake.calls(), 4);
    assert!(fake
        .requests()
        .iter()
        .all(|r| r.headers.get("authorization").map(String::as_str) == Some("Bearer sk-local-env-0001")));
    let (code, _, err) = run_gavel(
        tmp.path(),
        &["eval", "--local", "--dataset", ds.to_str().unwrap(), "--metric", "relevance", "--provider", "anthropic"],
        &[("ANTHROPIC_API_KEY", "")],
    );
    assert_eq!(code, 2);
    assert!(err.contains("no key for anthropic"), "{err}");
}

/// `gavel compare` says which change is beyond noise and exits 1 on a regression with `--fail-on-regression`.
#[test]
fn compare_reports_regressions_beyond_noise() {
    let tmp = tempfile::tempdir().unwrap();
    let bin =
        spawn_binary(tmp.path(), &["--data-dir", "d", "--bind", "127.0.0.1:0"], &[], &tmp.path().join("log")).unwrap();
    let key = org_and_project(&bin);
    let c = reqwest::blocking::Client::new();
    let run = |wrong: usize| -> String {
        let items: Vec<Value> = (0..60)
            .map(|i| json!({"id": format!("k{i}"), "input": "q", "output": if i < wrong { "Lyon" } else { "Paris" }, "expected": "Paris"}))
            .collect();
        let v: Value = c
            .post(format!("{}/v1/projects/web/runs", bin.base))
            .header("X-API-Key", &key)
            .json(&json!({"dataset": items, "scorers": ["equals", "contains"], "wait_s": 30}))
            .send()
            .unwrap()
            .json()
            .unwrap();
        assert_eq!(v["status"], "completed", "{v}");
        v["id"].as_str().unwrap().to_string()
    };
    let (good, bad) = (run(0), run(30));
    let args = |base: &str, head: &str, extra: &[&str]| -> Vec<String> {
        let mut a: Vec<String> =
            ["compare", "--server", &bin.base, "--api-key", &key, "--project", "web", "--base", base, "--head", head]
                .iter()
                .map(|s| s.to_string())
                .collect();
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    };
    let call = |a: Vec<String>| {
        let refs: Vec<&str> = a.iter().map(String::as_str).collect();
        run_gavel(tmp.path(), &refs, &[])
    };
    let (code, out, err) = call(args(&good, &bad, &[]));
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("REGRESSION beyond noise"), "{out}");
    assert!(out.contains("30 regressed"), "{out}");
    let (code, out, _) = call(args(&good, &bad, &["--fail-on-regression"]));
    assert_eq!(code, 1, "{out}");
    let (code, out, _) = call(args(&bad, &good, &["--fail-on-regression"]));
    assert_eq!(code, 0, "an improvement is no regression: {out}");
    assert!(out.contains("improvement beyond noise"), "{out}");
    let (code, _, err) = call(args(&good, "run_missing", &[]));
    assert_eq!(code, 2, "{err}");
    assert_eq!(bin.terminate(), 0);
}
