//! Failure analysis runs over HTTP: deterministic checks, the judged part against the fake provider, `from_run`,
//! stored buckets, gates, validation errors and resumption after a restart.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::support::common::app_with_project;
use crate::support::fake_provider::{FakeProvider, Knobs};
use crate::support::{assert_error, spawn_app_with, start, TestApp};

const FA: &str = "/v1/projects/web/failure-analysis";

/// A key pointing at the fake, whose judge answers analysis prompts with the scripted judge.
async fn judge_key(app: &TestApp, admin: &str, fake: &FakeProvider) {
    let body = json!({"provider": "openai", "name": "judge", "key": "secret-judge-123456", "base_url": format!("{}/v1", fake.base), "default_model": "fake-model", "is_default": true});
    let (s, k) = app.post("/v1/byok-keys", admin, body).await;
    assert_eq!(s, 201, "{k}");
}

fn scripted() -> Knobs {
    Knobs { reply: std::sync::Arc::new(gavel::analysis::judge::scripted_reply), ..Knobs::default() }
}

async fn finished(app: &TestApp, key: &str, body: Value) -> Value {
    let mut body = body;
    body["wait_s"] = json!(120);
    let (s, run) = app.post(FA, key, body).await;
    assert_eq!(s, 200, "{run}");
    assert_eq!(run["status"], "completed", "{run}");
    assert_eq!(run["kind"], "failure_analysis");
    run
}

async fn results_of(app: &TestApp, key: &str, id: &str) -> Vec<Value> {
    let (s, v) = app.get(&format!("/v1/runs/{id}/results?limit=1000"), key).await;
    assert_eq!(s, 200, "{v}");
    v["items"].as_array().unwrap().clone()
}

fn deterministic_items() -> Vec<Value> {
    let key = ["gsk_", "oV6vGTFN4g3AfCK9eVGViflxutnrYecpJbsNaUXkFVi3CzOkvgsO"].concat();
    vec![
        json!({"id": "json", "input": "Give me the user as JSON", "output": "{\"name\": \"Ann\",", "metadata": {"constraints": {"format": "json"}}}),
        json!({"id": "secret", "input": "How do I call the API?", "output": format!("Use the token {key} in the header.")}),
        json!({"id": "clean", "input": "Reply in JSON", "output": "{\"ok\": true}", "metadata": {"constraints": {"format": "json"}}}),
    ]
}

fn check<'a>(row: &'a Value, sub: &str) -> &'a Value {
    row["analysis"]["checks"].as_array().unwrap().iter().find(|c| c["subcategory"] == sub).unwrap_or(&Value::Null)
}

#[tokio::test]
async fn deterministic_analysis_classifies_items_and_gates_on_severity() {
    let (app, admin) = app_with_project().await;
    let run = finished(&app, &admin, json!({"dataset": deterministic_items(), "gate": {"max_severity": "high"}})).await;
    let sum = &run["summary"];
    assert_eq!(sum["items"], 3, "{sum}");
    assert_eq!(sum["failed"], 2, "{sum}");
    assert_eq!(sum["buckets"]["instruction_compliance"]["subcategories"]["format_violation"], 1, "{sum}");
    assert_eq!(sum["buckets"]["safety"]["severity"]["critical"], 1, "{sum}");
    assert!(sum["systemic"].is_array());
    assert_eq!(sum["analysis"]["judged"], false, "no key in the org: rules only");
    assert_eq!(sum["should_gate_ci"], true);
    let reasons = sum["gate"]["reasons"].as_array().unwrap();
    assert!(reasons.iter().any(|r| r.as_str().unwrap().contains("max_severity high")), "{reasons:?}");

    let rows = results_of(&app, &admin, run["id"].as_str().unwrap()).await;
    assert_eq!(rows.len(), 3);
    let a = &rows[0]["analysis"];
    assert_eq!((a["failed"].as_bool(), a["bucket"].as_str()), (Some(true), Some("instruction_compliance")), "{a}");
    assert_eq!(check(&rows[0], "format_violation")["decision"], "fail");
    assert_eq!(rows[1]["analysis"]["subcategory"], "secret_leak");
    assert_eq!(rows[1]["analysis"]["severity"], "critical");
    let shown = serde_json::to_string(&rows[1]["analysis"]).unwrap();
    assert!(!shown.contains("oV6vGTFN4g3AfCK9eVGViflxutnrYecpJbsNaUXkFVi3CzOkvgsO"), "the secret is masked: {shown}");
    assert_eq!(rows[2]["analysis"]["failed"], false);
    assert_eq!(check(&rows[2], "format_violation")["decision"], "pass");
    // A check whose inputs are missing is not_applicable, never pass.
    assert_eq!(check(&rows[1], "format_violation")["decision"], "not_applicable");
    assert_eq!(rows[0]["scores"][0]["scorer"], "failure_analysis");

    // Without a gate rule that trips, the gate passes.
    let run = finished(&app, &admin, json!({"dataset": [deterministic_items()[2].clone()]})).await;
    assert_eq!(run["summary"]["should_gate_ci"], false, "{}", run["summary"]);
}

#[tokio::test]
async fn judged_analysis_makes_one_call_per_item_and_merges_the_judge() {
    let fake = FakeProvider::start(scripted());
    let (app, admin) = app_with_project().await;
    judge_key(&app, &admin, &fake).await;
    let items: Vec<Value> = (0..6)
        .map(|i| {
            let out = if i % 3 == 0 {
                format!("Paris has 90 million people. FAKE-FAIL:hallucination_grounding.unsupported_claim #{i}")
            } else {
                format!("Paris is the capital of France #{i}")
            };
            json!({"input": format!("What is the capital of France? #{i}"), "output": out, "context": ["Paris is the capital of France."]})
        })
        .collect();
    fake.reset_counters();
    let run =
        finished(&app, &admin, json!({"dataset": items, "gate": {"max_share": {"hallucination_grounding": 0.1}}}))
            .await;
    assert_eq!(fake.calls(), 6, "one judge call per item");
    let sum = &run["summary"];
    assert_eq!(sum["analysis"]["judged"], true);
    assert_eq!(sum["buckets"]["hallucination_grounding"]["failed"], 2, "{sum}");
    assert_eq!(sum["usage"]["calls"], 6, "{sum}");
    let reasons = sum["gate"]["reasons"].as_array().unwrap();
    assert!(
        reasons.iter().any(|r| r.as_str().unwrap().contains("hallucination_grounding fails on 33.3%")),
        "{reasons:?}"
    );
    let rows = results_of(&app, &admin, run["id"].as_str().unwrap()).await;
    let c = check(&rows[0], "unsupported_claim");
    assert_eq!((c["decision"].as_str(), c["decided_by"].as_str()), (Some("fail"), Some("judge")), "{c}");
    assert_eq!(check(&rows[1], "unsupported_claim")["decision"], "pass");

    // The same analysis again: every reply comes from the verdict cache.
    fake.reset_counters();
    let again =
        finished(&app, &admin, json!({"dataset": rows.iter().map(|r| r["item"].clone()).collect::<Vec<_>>()})).await;
    assert_eq!(fake.calls(), 0);
    assert_eq!(again["summary"]["usage"]["cache_hits"], 6);

    // An unparseable reply: the item is errored with JUDGE_UNPARSEABLE and its open checks are unsure.
    fake.set_knobs(Knobs {
        reply: std::sync::Arc::new(|_: &str| "I cannot help with that.".to_owned()),
        ..Knobs::default()
    });
    let run =
        finished(&app, &admin, json!({"dataset": [{"input": "q", "output": "a different answer"}], "cache": false}))
            .await;
    assert_eq!(run["summary"]["errored"], 1, "{}", run["summary"]);
    let rows = results_of(&app, &admin, run["id"].as_str().unwrap()).await;
    assert_eq!(rows[0]["scores"][0]["error"]["code"], "JUDGE_UNPARSEABLE");
    assert_eq!(check(&rows[0], "task_not_followed")["decision"], "unsure");
}

#[tokio::test]
async fn from_run_analyses_the_failed_items_of_an_eval_run() {
    let (app, admin) = app_with_project().await;
    let items: Vec<Value> = (0..5)
        .map(|i| {
            let out = if i < 2 { "{\"broken\": ".to_owned() } else { "{\"ok\": 1}".to_owned() };
            json!({"id": i, "input": "answer in JSON", "output": out, "metadata": {"constraints": {"format": "json"}}})
        })
        .collect();
    let (s, eval) = app
        .post("/v1/projects/web/runs", &admin, json!({"dataset": items, "scorers": ["json_valid"], "wait_s": 60}))
        .await;
    assert_eq!(s, 200, "{eval}");
    assert_eq!(eval["summary"]["failed"], 2);
    let run = finished(&app, &admin, json!({"from_run": eval["id"]})).await;
    assert_eq!(run["progress"]["total"], 2);
    assert_eq!(run["summary"]["buckets"]["instruction_compliance"]["failed"], 2, "{}", run["summary"]);
    let rows = results_of(&app, &admin, run["id"].as_str().unwrap()).await;
    let from = &rows[0]["item"]["metadata"]["from_run"];
    assert_eq!(from["run"], eval["id"]);
    assert_eq!(from["scores"][0]["scorer"], "json_valid");

    // Another org cannot name the run.
    let (_, other) = app.org("other").await;
    app.post("/v1/projects", &other, json!({"name": "web"})).await;
    let (s, e) = app.post(FA, &other, json!({"from_run": eval["id"]})).await;
    assert_error(s, &e, 400, "VALIDATION_FAILED");
    assert_eq!(e["error"]["details"]["field"], "from_run");

    // A baseline: the same failures again do not regress; twice as many beyond noise would.
    let gate = json!({"no_regression": true, "baseline": run["id"]});
    let again = finished(&app, &admin, json!({"from_run": eval["id"], "gate": gate})).await;
    assert_eq!(again["summary"]["should_gate_ci"], false, "{}", again["summary"]);
}

#[tokio::test]
async fn custom_buckets_are_stored_validated_and_used() {
    let (app, admin) = app_with_project().await;
    let path = "/v1/projects/web/buckets";
    let (s, e) = app.post(path, &admin, json!({"name": "pricing", "definition": "d", "severity": "high", "rules": [{"type": "regex", "pattern": "("}]})).await;
    assert_error(s, &e, 400, "VALIDATION_FAILED");
    assert_eq!(e["error"]["details"]["field"], "rules[0].pattern", "{e}");
    let (s, e) = app.post(path, &admin, json!({"name": "safety", "definition": "d", "severity": "high"})).await;
    assert_error(s, &e, 400, "VALIDATION_FAILED");
    assert_eq!(e["error"]["details"]["field"], "name");
    let bucket = json!({"name": "pricing", "definition": "Quotes a price", "severity": "high", "rules": [{"type": "keywords", "keywords": ["$"]}]});
    let (s, b) = app.post(path, &admin, bucket.clone()).await;
    assert_eq!(s, 201, "{b}");
    let (s, e) = app.post(path, &admin, bucket).await;
    assert_error(s, &e, 409, "CONFLICT");
    let (s, list) = app.get(path, &admin).await;
    assert_eq!(s, 200);
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert!(list["builtin"]["buckets"].as_array().unwrap().len() >= 6);

    let run = finished(
        &app,
        &admin,
        json!({"dataset": [{"input": "how much?", "output": "It costs $40."}, {"input": "hi", "output": "hello"}]}),
    )
    .await;
    assert_eq!(run["summary"]["buckets"]["pricing"]["failed"], 1, "{}", run["summary"]);
    // builtin: false with the stored bucket only.
    let run = finished(&app, &admin, json!({"dataset": [{"input": "q", "output": "$1"}], "builtin": false})).await;
    let buckets = run["summary"]["buckets"].as_object().unwrap();
    assert_eq!(buckets.keys().collect::<Vec<_>>(), vec!["pricing"]);

    let (s, _) = app.delete(&format!("{path}/{}", b["id"].as_str().unwrap()), &admin).await;
    assert_eq!(s, 204);
    let (s, e) = app.delete(&format!("{path}/{}", b["id"].as_str().unwrap()), &admin).await;
    assert_error(s, &e, 404, "NOT_FOUND");
}

#[tokio::test]
async fn bad_analysis_requests_name_the_field() {
    let (app, admin) = app_with_project().await;
    let item = json!([{"input": "q", "output": "a"}]);
    let cases = [
        (json!({}), "dataset"),
        (json!({"dataset": item, "dataset_id": "x"}), "dataset"),
        (json!({"dataset": []}), "dataset"),
        (json!({"dataset": item, "gate": {"max_severity": "huge"}}), "gate.max_severity"),
        (json!({"dataset": item, "gate": {"max_share": {"nope": 0.1}}}), "gate.max_share.nope"),
        (json!({"dataset": item, "gate": {"max_share": {"safety": 2}}}), "gate.max_share.safety"),
        (json!({"dataset": item, "gate": {"min_pass_rate": 0.5}}), "gate.min_pass_rate"),
        (json!({"dataset": item, "gate": {"no_regression": true, "baseline": "run_missing"}}), "gate.baseline"),
        (json!({"dataset": item, "buckets": [{"name": "x", "severity": "high"}]}), "buckets[0].definition"),
        (json!({"dataset": item, "builtin": false}), "buckets"),
        (json!({"dataset": item, "severity_overrides": {"nope": "high"}}), "severity_overrides.nope"),
        (json!({"dataset": item, "wait_s": -1}), "wait_s"),
        (json!({"from_run": "run_missing"}), "from_run"),
    ];
    for (body, field) in cases {
        let (s, e) = app.post(FA, &admin, body.clone()).await;
        assert_error(s, &e, 400, "VALIDATION_FAILED");
        assert_eq!(e["error"]["details"]["field"], field, "{body} → {e}");
    }
    let (s, e) = app.post("/v1/projects/nope/failure-analysis", &admin, json!({"dataset": item})).await;
    assert_error(s, &e, 404, "NOT_FOUND");
}

#[tokio::test]
async fn a_judged_analysis_resumes_after_a_restart_with_one_result_per_item() {
    let fake = FakeProvider::start(Knobs { latency: Duration::from_millis(150), ..scripted() });
    let app = spawn_app_with(|c| {
        c.judge.max_concurrency_per_org_provider = 2;
        c.judge.backoff_base_ms = 5;
    })
    .await;
    let (_, admin) = app.org("acme").await;
    app.post("/v1/projects", &admin, json!({"name": "web"})).await;
    judge_key(&app, &admin, &fake).await;
    let n = 40;
    let items: Vec<Value> = (0..n).map(|i| json!({"input": format!("q{i}"), "output": format!("a{i}")})).collect();
    let (s, acc) = app.post(FA, &admin, json!({"dataset": items})).await;
    assert_eq!(s, 202, "{acc}");
    let id = acc["id"].as_str().unwrap().to_string();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, r) = app.get(&format!("/v1/runs/{id}"), &admin).await;
        if r["progress"]["done"].as_u64().unwrap() >= 4 {
            break;
        }
        assert!(Instant::now() < deadline, "no progress: {r}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (cfg, admin_key) = (app.config.clone(), app.admin_key.clone());
    let mut app = app;
    let dir = app.stop().await;
    let (s, r) = {
        let app = start(cfg, Some(admin_key)).await;
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let (s, r) = app.get(&format!("/v1/runs/{id}"), &admin).await;
            if r["status"] == "completed" {
                let rows = results_of(&app, &admin, &id).await;
                assert_eq!(rows.len(), n);
                let idx: std::collections::BTreeSet<u64> = rows.iter().map(|r| r["index"].as_u64().unwrap()).collect();
                assert_eq!(idx.len(), n, "exactly one result per item");
                assert!(rows.iter().all(|r| r["analysis"]["checks"].is_array()));
                break (s, r);
            }
            assert!(Instant::now() < deadline, "the resumed analysis did not complete: {r}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    drop(dir);
    assert_eq!(s, 200);
    assert_eq!(r["kind"], "failure_analysis");
    assert_eq!(r["summary"]["items"], n as u64);
    assert!(r["summary"]["buckets"].is_object(), "{r}");
}

/// The speed figure: 10,000 items with deterministic decisions only, submitted and finished over HTTP.
#[tokio::test]
async fn ten_thousand_deterministic_items_over_http() {
    let (app, admin) = app_with_project().await;
    let items: Vec<Value> = (0..10_000)
        .map(|i| {
            let out = if i % 10 == 0 { format!("{{\"n\": {i},") } else { format!("{{\"n\": {i}}}") };
            json!({"input": format!("number {i} as JSON"), "output": out, "context": [format!("The number is {i}.")], "metadata": {"constraints": {"format": "json", "max_chars": 200}}})
        })
        .collect();
    let t = Instant::now();
    let run = finished(&app, &admin, json!({"dataset": items})).await;
    let took = t.elapsed();
    eprintln!("failure analysis of 10000 deterministic items over HTTP: {:.2} s", took.as_secs_f64());
    let sum = &run["summary"];
    assert_eq!(sum["items"], 10_000);
    assert_eq!(sum["buckets"]["instruction_compliance"]["subcategories"]["format_violation"], 1_000, "{sum}");
    assert!(sum["systemic"].as_array().unwrap().is_empty(), "10 % is under the systemic share: {sum}");
}
