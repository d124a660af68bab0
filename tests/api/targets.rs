//! Runs that produce their own outputs: a provider target through the judge scheduler, an HTTP target with its
//! own headers, body template and response path, matrices of targets and their comparison, and a restart.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::support::fake_provider::{FakeProvider, Knobs};
use crate::support::{assert_error, spawn_app, spawn_app_with, start, TestApp};

const RUNS: &str = "/v1/projects/web/runs";

async fn setup(app: &TestApp, fake: &FakeProvider) -> String {
    let (_, admin) = app.org("acme").await;
    let (s, _) = app.post("/v1/projects", &admin, json!({"name": "web"})).await;
    assert_eq!(s, 201);
    let body = json!({"provider": "openai", "name": "main", "key": "sk-target-key-123456", "base_url": format!("{}/v1", fake.base), "default_model": "fake-model", "is_default": true});
    let (s, k) = app.post("/v1/byok-keys", &admin, body).await;
    assert_eq!(s, 201, "{k}");
    admin
}

/// A fake whose answers name the model and echo the prompt, so every target answers differently.
fn echo() -> Knobs {
    Knobs {
        reply_with_model: Some(Arc::new(|model: &str, user: &str| format!("[{model}] {user}"))),
        ..Knobs::default()
    }
}

async fn results(app: &TestApp, key: &str, id: &str) -> Vec<Value> {
    let (s, page) = app.get(&format!("/v1/runs/{id}/results?limit=1000"), key).await;
    assert_eq!(s, 200, "{page}");
    page["items"].as_array().unwrap().clone()
}

/// Requests the fake got for this model (target calls; the judge is not used in these tests).
fn sent_for(fake: &FakeProvider, model: &str) -> Vec<Value> {
    fake.requests().into_iter().filter(|r| r.body["model"] == model).map(|r| r.body).collect()
}

#[tokio::test]
async fn a_target_produces_the_missing_outputs_renders_its_template_and_sends_its_params() {
    let fake = FakeProvider::start(echo());
    let app = spawn_app().await;
    let admin = setup(&app, &fake).await;
    let body = json!({
        "dataset": [
            {"id": "a", "input": "What is 2+2?", "context": ["math", "basics"], "expected": "4", "metadata": {"lang": "en"}},
            {"id": "b", "input": "Capital of \"France\"?", "context": "geo", "metadata": {"lang": "fr"}},
            {"id": "c", "input": "given", "output": "already answered: no model"},
        ],
        "scorers": [{"type": "contains", "config": {"value": "m-a"}}],
        "target": {"provider": "openai", "model": "m-a", "name": "prompt-v1",
                   "prompt": "Q: {{input}} | C: {{context}} | E: {{expected}} | L: {{metadata.lang}}",
                   "system_prompt": "Answer in {{metadata.lang}}.",
                   "params": {"temperature": 0.3, "max_tokens": 77, "top_p": 0.5, "stop": ["END"], "seed": 7}},
        "wait_s": 60
    });
    let (s, run) = app.post(RUNS, &admin, body).await;
    assert_eq!(s, 200, "{run}");
    assert_eq!(run["status"], "completed");
    assert_eq!(run["target"]["model"], "m-a", "the run carries its target: {run}");
    assert_eq!(run["summary"]["passed"], 2, "{run}");
    assert_eq!(run["summary"]["failed"], 1, "the given output was scored as given: {run}");

    let sent = sent_for(&fake, "m-a");
    assert_eq!(sent.len(), 2, "the item with an output is not sent: {sent:#?}");
    let by_user = |needle: &str| {
        sent.iter().find(|b| b["messages"][1]["content"].as_str().unwrap().contains(needle)).unwrap().clone()
    };
    let a = by_user("2+2");
    assert_eq!(a["messages"][0], json!({"role": "system", "content": "Answer in en."}));
    assert_eq!(a["messages"][1]["content"], "Q: What is 2+2? | C: math\n\nbasics | E: 4 | L: en");
    assert_eq!(by_user("France")["messages"][1]["content"], "Q: Capital of \"France\"? | C: geo | E:  | L: fr");
    assert_eq!((a["temperature"].clone(), a["max_completion_tokens"].clone()), (json!(0.3), json!(77)));
    assert_eq!((a["top_p"].clone(), a["stop"].clone(), a["seed"].clone()), (json!(0.5), json!(["END"]), json!(7)));
    assert!(a.get("response_format").is_none(), "a target call asks for no verdict schema: {a}");

    let rows = results(&app, &admin, run["id"].as_str().unwrap()).await;
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0]["item"]["output"], "[m-a] Q: What is 2+2? | C: math\n\nbasics | E: 4 | L: en");
    assert!(
        rows[0]["target"]["latency_ms"].is_u64() && rows[0]["target"]["input_tokens"].as_u64().unwrap() > 0,
        "{}",
        rows[0]
    );
    assert!(rows[0]["target"]["cost_usd"].is_number() && rows[0]["target"].get("error").is_none());
    assert_eq!(rows[2]["item"]["output"], "already answered: no model");
    assert!(rows[2].get("target").is_none(), "{}", rows[2]);
    // The produced output is searchable like a given one.
    let (_, found) = app.get(&format!("/v1/runs/{}/results?q=capital", run["id"].as_str().unwrap()), &admin).await;
    assert_eq!(found["items"].as_array().unwrap().len(), 1, "{found}");

    let (s, usage) = app.get("/v1/usage", &admin).await;
    assert_eq!(s, 200);
    assert_eq!(usage["by_source"]["target"]["calls"], 2, "{usage}");
    assert_eq!(usage["by_source"]["judge"]["calls"], 0, "{usage}");
    assert!(
        usage["items"].as_array().unwrap().iter().any(|r| r["source"] == "target" && r["model"] == "m-a"),
        "{usage}"
    );
}

#[tokio::test]
async fn a_matrix_of_two_prompts_by_two_models_makes_four_runs_and_a_comparison() {
    let fake = FakeProvider::start(echo());
    let app = spawn_app().await;
    let admin = setup(&app, &fake).await;
    let items: Vec<Value> = (0..5).map(|i| json!({"id": i, "input": format!("question {i}")})).collect();
    let mut targets = Vec::new();
    for model in ["m-one", "m-two"] {
        for (p, prompt) in [("short", "Briefly: {{input}}"), ("long", "In detail: {{input}}")] {
            targets
                .push(json!({"provider": "openai", "model": model, "prompt": prompt, "name": format!("{model}-{p}")}));
        }
    }
    let body = json!({"dataset": items, "scorers": [{"type": "contains", "config": {"value": "m-one"}}],
                      "targets": targets, "wait_s": 60});
    let (s, answer) = app.post(RUNS, &admin, body.clone()).await;
    assert_eq!(s, 200, "{answer}");
    let runs = answer["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 4);
    let mut outputs = std::collections::BTreeSet::new();
    for r in runs {
        assert_eq!(r["status"], "completed", "{r}");
        for row in results(&app, &admin, r["id"].as_str().unwrap()).await {
            outputs.insert(row["item"]["output"].as_str().unwrap().to_string());
        }
    }
    assert_eq!(outputs.len(), 20, "every target answered every item differently: {outputs:#?}");
    assert!(outputs.contains("[m-two] In detail: question 3"));
    let rows = answer["comparison"]["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 4);
    for (row, run) in rows.iter().zip(runs) {
        assert_eq!(row["run_id"], run["id"]);
        let one = row["target"].as_str().unwrap().starts_with("m-one");
        assert_eq!(row["pass_rate"], if one { 1.0 } else { 0.0 }, "{row}");
        assert_eq!(
            (row["passed"].clone(), row["failed"].clone(), row["errored"].clone()),
            if one { (json!(5), json!(0), json!(0)) } else { (json!(0), json!(5), json!(0)) }
        );
        assert_eq!(row["per_scorer"]["contains"], row["pass_rate"]);
        let l = &row["latency_ms"];
        assert!(l["p50"].as_f64().unwrap() <= l["p95"].as_f64().unwrap() && l["mean"].as_f64().is_some(), "{row}");
        assert!(row["cost_usd"].is_number());
    }
    assert_eq!(
        rows.iter().map(|r| r["target"].as_str().unwrap()).collect::<Vec<_>>(),
        ["m-one-short", "m-one-long", "m-two-short", "m-two-long"]
    );

    // Without wait_s: 202 with each run and where the comparison is.
    let mut quick = body.clone();
    quick.as_object_mut().unwrap().remove("wait_s");
    let (s, acc) = app.post(RUNS, &admin, quick).await;
    assert_eq!(s, 202, "{acc}");
    assert_eq!(acc["runs"].as_array().unwrap().len(), 4);
    assert_eq!(acc["runs"][1]["target"]["name"], "m-one-long");
    let url = acc["comparison_url"].as_str().unwrap().to_string();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (s, cmp) = app.get(&url, &admin).await;
        assert_eq!(s, 200, "{cmp}");
        if cmp["rows"].as_array().unwrap().iter().all(|r| r["status"] == "completed") {
            assert_eq!(cmp["rows"][0]["pass_rate"], 1.0);
            break;
        }
        assert!(Instant::now() < deadline, "{cmp}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn an_http_target_gets_its_headers_body_template_and_response_path_and_its_headers_are_kept_nowhere() {
    let secret = "hdr-secret-7f3a9c1e55";
    let fake = FakeProvider::start(Knobs { valid_keys: vec![secret.into()], ..echo() });
    let app = spawn_app().await;
    let (_, admin) = app.org("acme").await;
    app.post("/v1/projects", &admin, json!({"name": "web"})).await;
    let target = |key: &str| {
        json!({
            "url": format!("{}/v1/chat/completions", fake.base),
            "headers": {"Authorization": format!("Bearer {key}"), "X-App": "eval"},
            "body_template": {"model": "my-app", "messages": [{"role": "user", "content": "ask: {{input}} ({{metadata.tone}})"}]},
            "response_path": "choices[0].message.content",
            "system_prompt": "You are the app; never say PINEAPPLE.",
            "name": "my-app"
        })
    };
    let items = json!([{"input": "hello \"world\"", "metadata": {"tone": "dry"}}, {"input": "bye"}]);
    let body = json!({"dataset": items, "scorers": [{"type": "contains", "config": {"value": "ask:"}}], "target": target(secret), "wait_s": 60});
    let (s, run) = app.post(RUNS, &admin, body).await;
    assert_eq!(s, 200, "{run}");
    assert_eq!(run["summary"]["passed"], 2, "{run}");
    let id = run["id"].as_str().unwrap().to_string();
    let sent = fake.requests();
    assert_eq!(sent.len(), 2);
    let first = sent.iter().find(|r| r.body["messages"][0]["content"].as_str().unwrap().contains("hello")).unwrap();
    assert_eq!(
        first.body,
        json!({"model": "my-app", "messages": [{"role": "user", "content": "ask: hello \"world\" (dry)"}]})
    );
    assert_eq!(first.header("authorization"), Some(format!("Bearer {secret}").as_str()));
    assert_eq!(first.header("x-app"), Some("eval"));
    let rows = results(&app, &admin, &id).await;
    assert_eq!(rows[0]["item"]["output"], "[my-app] ask: hello \"world\" (dry)");
    assert_eq!(run["target"]["url"], format!("{}/v1/chat/completions", fake.base));
    assert_eq!(run["target"]["headers_held"], 2);

    // A rejected header: the items are errored with the provider code, the run completes.
    let body = json!({"dataset": items, "scorers": [{"type": "contains", "config": {"value": "ask:"}}],
                      "target": target("wrong-key-000000"), "wait_s": 60});
    let (s, bad) = app.post(RUNS, &admin, body).await;
    assert_eq!(s, 200, "{bad}");
    assert_eq!(bad["status"], "completed");
    assert_eq!(bad["summary"]["errored"], 2, "{bad}");
    let bad_rows = results(&app, &admin, bad["id"].as_str().unwrap()).await;
    for row in &bad_rows {
        assert_eq!(row["scores"][0]["error"]["code"], "BYOK_AUTH_FAILED", "{row}");
        assert_eq!(row["target"]["error"]["code"], "BYOK_AUTH_FAILED", "{row}");
        assert!(row["item"]["output"].is_null(), "{row}");
    }

    // The header values are in no answer and nowhere in the data directory.
    let (_, listed) = app.get("/v1/projects/web/runs", &admin).await;
    let (_, audit) = app.get("/v1/audit-log", &admin).await;
    for text in [
        run.to_string(),
        bad.to_string(),
        json!(rows).to_string(),
        json!(bad_rows).to_string(),
        listed.to_string(),
        audit.to_string(),
    ] {
        assert!(!text.contains(secret) && !text.contains("wrong-key-000000"), "a header value leaked: {text}");
    }
    let mut app = app;
    let data_dir = app.data_dir.clone();
    let dir = app.stop().await;
    let files = crate::support::common::assert_no_file_holds(&data_dir, &[secret.as_bytes(), b"wrong-key-000000"]);
    assert!(files >= 2, "the store was searched");
    drop(dir);
}

#[tokio::test]
async fn a_provider_target_on_a_rejected_key_errors_its_items_with_byok_auth_failed() {
    let fake = FakeProvider::start(Knobs { valid_keys: vec!["some-other-key".into()], ..echo() });
    let app = spawn_app().await;
    let admin = setup(&app, &fake).await;
    let body = json!({"dataset": [{"input": "a"}, {"input": "b"}, {"input": "c", "output": "c!"}],
                      "scorers": [{"type": "contains", "config": {"value": "!"}}],
                      "target": {"provider": "openai", "model": "m-x"}, "wait_s": 60});
    let (s, run) = app.post(RUNS, &admin, body).await;
    assert_eq!(s, 200, "{run}");
    assert_eq!((run["summary"]["errored"].clone(), run["summary"]["passed"].clone()), (json!(2), json!(1)), "{run}");
    let rows = results(&app, &admin, run["id"].as_str().unwrap()).await;
    assert_eq!(rows[0]["scores"][0]["error"]["code"], "BYOK_AUTH_FAILED", "{}", rows[0]);
    assert!(!run.to_string().contains("sk-target-key-123456"));
}

#[tokio::test]
async fn targets_are_validated_naming_the_field() {
    let fake = FakeProvider::start(echo());
    let app = spawn_app_with(|c| c.runs.max_matrix_targets = 3).await;
    let admin = setup(&app, &fake).await;
    let t = json!({"provider": "openai", "model": "m"});
    let cases = [
        (
            json!({"dataset": [{"input": "q"}], "scorers": ["contains"], "target": {"provider": "openai", "model": "m", "prompt": "{{question}}"}}),
            "target.prompt",
        ),
        (json!({"dataset": [{"input": "q"}], "scorers": ["contains"], "target": t, "targets": [t, t]}), "targets"),
        (json!({"dataset": [{"input": "q"}], "scorers": ["contains"], "targets": [t]}), "targets"),
        (json!({"dataset": [{"input": "q"}], "scorers": ["contains"], "targets": [t, t, t, t]}), "targets"),
        (
            json!({"dataset": [{"input": "q"}], "scorers": ["contains"], "targets": [t, {"provider": "openai"}]}),
            "targets[1].model",
        ),
        (
            json!({"dataset": [{"input": "q"}], "scorers": ["contains"], "target": {"url": "http://10.1.2.3/chat"}}),
            "target.url",
        ),
        (
            json!({"dataset": [{"input": "q"}], "scorers": ["contains"], "target": {"provider": "openai", "model": "m", "key_id": "pk_nope"}}),
            "target.key_id",
        ),
    ];
    for (body, field) in cases {
        let (s, e) = app.post(RUNS, &admin, body.clone()).await;
        assert_error(s, &e, 400, "VALIDATION_FAILED");
        assert_eq!(e["error"]["details"]["field"], field, "{body} → {e}");
    }
    let (s, e) = app
        .post(RUNS, &admin, json!({"dataset": [{"input": "q"}], "scorers": ["contains"], "targets": [t, t, t, t]}))
        .await;
    assert_error(s, &e, 400, "VALIDATION_FAILED");
    assert!(e["error"]["message"].as_str().unwrap().contains("runs.max_matrix_targets"), "{e}");
    // Without a target an item still needs its output.
    let (s, e) = app.post(RUNS, &admin, json!({"dataset": [{"input": "q"}], "scorers": ["contains"]})).await;
    assert_error(s, &e, 400, "VALIDATION_FAILED");
    let (s, e) = app.get("/v1/projects/web/matrix?runs=run_nope", &admin).await;
    assert_error(s, &e, 404, "NOT_FOUND");
    let (s, e) = app.get("/v1/projects/web/matrix?runs=a,b,c,d", &admin).await;
    assert_error(s, &e, 400, "VALIDATION_FAILED");
}

#[tokio::test]
async fn a_restarted_target_run_keeps_one_result_per_item_and_never_asks_again_for_finished_items() {
    let fake = FakeProvider::start(Knobs { latency: Duration::from_millis(120), ..echo() });
    let app = spawn_app_with(|c| c.judge.max_concurrency_per_org_provider = 2).await;
    let admin = setup(&app, &fake).await;
    let n = 40;
    let items: Vec<Value> = (0..n).map(|i| json!({"id": i, "input": format!("item-{i}")})).collect();
    let body = json!({"dataset": items, "scorers": [{"type": "contains", "config": {"value": "m-r"}}],
                      "target": {"provider": "openai", "model": "m-r"}});
    let (s, acc) = app.post(RUNS, &admin, body).await;
    assert_eq!(s, 202, "{acc}");
    let id = acc["id"].as_str().unwrap().to_string();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, r) = app.get(&format!("/v1/runs/{id}"), &admin).await;
        if r["progress"]["done"].as_u64().unwrap() >= 4 {
            break;
        }
        assert!(Instant::now() < deadline, "no progress: {r}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (cfg, admin_key) = (app.config.clone(), app.admin_key.clone());
    let mut app = app;
    let dir = app.stop().await;
    // What was stored before the stop (read from the store file after the stop, so nothing is missed).
    let finished: std::collections::BTreeSet<String> = {
        let db = rusqlite::Connection::open(cfg.server.data_dir.join("gavel.db")).unwrap();
        let mut stmt = db
            .prepare("SELECT json_extract(i.item, '$.input') FROM run_results r JOIN run_items i ON i.run_id = r.run_id AND i.idx = r.idx WHERE r.run_id = ?1")
            .unwrap();
        stmt.query_map([&id], |r| r.get::<_, String>(0)).unwrap().map(Result::unwrap).collect()
    };
    assert!(!finished.is_empty() && finished.len() < n, "stopped mid-run: {}", finished.len());
    let app = start(cfg, Some(admin_key)).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, r) = app.get(&format!("/v1/runs/{id}"), &admin).await;
        if r["status"] == "completed" {
            assert_eq!(r["summary"]["items"], n as u64);
            assert_eq!(r["summary"]["passed"], n as u64, "{r}");
            break;
        }
        assert!(Instant::now() < deadline, "the resumed run did not complete: {r}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let rows = results(&app, &admin, &id).await;
    let idx: std::collections::BTreeSet<u64> = rows.iter().map(|r| r["index"].as_u64().unwrap()).collect();
    assert_eq!((rows.len(), idx.len()), (n, n), "exactly one result per item");
    let sent = sent_for(&fake, "m-r");
    for input in &finished {
        let times = sent.iter().filter(|b| b["messages"][0]["content"] == input.as_str()).count();
        assert_eq!(times, 1, "{input} had its result before the stop and was sent {times} times");
    }
    drop(dir);
}

/// An HTTP target is called through a lane of its own: at most `judge.max_concurrency_per_org_http_target` calls
/// in flight, 429s and 5xx retried with the judge's policy (Retry-After honoured), so every item gets its answer.
#[tokio::test]
async fn an_http_target_has_its_own_capped_lane_and_its_429s_are_retried() {
    let fake = FakeProvider::start(Knobs { latency: Duration::from_millis(60), ..echo() });
    let app = spawn_app_with(|c| {
        c.judge.max_concurrency_per_org_http_target = 2;
        c.judge.backoff_base_ms = 10;
        c.judge.backoff_max_ms = 50;
    })
    .await;
    let (_, admin) = app.org("acme").await;
    app.post("/v1/projects", &admin, json!({"name": "web"})).await;
    let target = json!({"url": format!("{}/v1/chat/completions", fake.base), "response_path": "choices[0].message.content",
                        "headers": {"Authorization": "Bearer app-key-123456"},
                        "body_template": {"model": "my-app", "messages": "{{messages}}"}});
    let items: Vec<Value> = (0..8).map(|i| json!({"input": format!("q{i}")})).collect();
    let scorers = json!([{"type": "contains", "config": {"value": "[my-app]"}}]);
    let body = json!({"dataset": items, "scorers": scorers, "target": target, "wait_s": 60});
    let (s, run) = app.post(RUNS, &admin, body).await;
    assert_eq!(s, 200, "{run}");
    let first = results(&app, &admin, run["id"].as_str().unwrap()).await;
    assert_eq!(run["summary"]["passed"], 8, "{run} {first:?}");
    assert_eq!(fake.max_in_flight(), 2, "the lane's cap is the config key, and it is reached");

    // A rate-limited endpoint: 3 calls a second, the others refused with 429 and Retry-After: 1. Every item still
    // gets its answer, paced by the lane rather than given up.
    fake.set_knobs(Knobs { rps_limit: Some(3), retry_after_s: Some(1), ..echo() });
    fake.reset_counters();
    let items: Vec<Value> = (0..9).map(|i| json!({"input": format!("r{i}")})).collect();
    let body = json!({"dataset": items, "scorers": scorers, "target": target, "wait_s": 60});
    let started = Instant::now();
    let (s, run) = app.post(RUNS, &admin, body).await;
    assert_eq!(s, 200, "{run}");
    assert_eq!(run["summary"]["passed"], 9, "every item answered after its 429s were retried: {run}");
    assert_eq!(run["summary"]["errored"], 0, "{run}");
    assert!(fake.calls() > 9, "some calls were refused and retried ({} calls)", fake.calls());
    assert!(started.elapsed() >= Duration::from_secs(2), "9 answers at 3 a second take at least two seconds");
    let rows = results(&app, &admin, run["id"].as_str().unwrap()).await;
    assert!(rows.iter().all(|r| r["item"]["output"].as_str().is_some_and(|o| o.contains("] r"))), "{rows:?}");

    // A rejected credential is not retried: one call per item.
    fake.set_knobs(Knobs { valid_keys: vec!["right-key-1234567".into()], ..echo() });
    fake.reset_counters();
    let items: Vec<Value> = (0..3).map(|i| json!({"input": format!("s{i}")})).collect();
    let body = json!({"dataset": items, "scorers": scorers, "target": target, "wait_s": 60});
    let (s, run) = app.post(RUNS, &admin, body).await;
    assert_eq!(s, 200, "{run}");
    assert_eq!(run["summary"]["errored"], 3, "{run}");
    assert_eq!(fake.calls(), 3, "a 401 is not retried");
}
