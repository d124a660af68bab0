//! LLM judging end to end: the real server, its judge scheduler, and the fake provider on loopback.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::support::common::key_body;
use crate::support::fake_provider::{FakeProvider, Knobs};
use crate::support::{spawn_app_with, TestApp};

async fn app_with(tweak: impl FnOnce(&mut gavel::config::Config)) -> (TestApp, String) {
    let app = spawn_app_with(|c| {
        c.judge.backoff_base_ms = 5;
        c.judge.backoff_max_ms = 200;
        c.judge.request_timeout_s = 5;
        tweak(c);
    })
    .await;
    let (_, admin) = app.org("acme").await;
    let (s, _) = app.post("/v1/projects", &admin, json!({"name": "web"})).await;
    assert_eq!(s, 201);
    (app, admin)
}

fn items(n: usize, wrong_every: usize) -> Vec<Value> {
    (0..n)
        .map(|i| {
            let out = if wrong_every > 0 && i % wrong_every == 0 { format!("WRONG answer {i}") } else { format!("Paris {i}") };
            json!({"input": format!("capital of France? #{i}"), "output": out, "expected": "Paris", "context": ["Paris is the capital of France."]})
        })
        .collect()
}

async fn judged(app: &TestApp, key: &str, body: Value) -> Value {
    let mut body = body;
    body["wait_s"] = json!(120);
    let (s, run) = app.post("/v1/projects/web/runs", key, body).await;
    assert_eq!(s, 200, "{run}");
    assert_eq!(run["status"], "completed", "{run}");
    run
}

async fn results(app: &TestApp, key: &str, id: &str) -> Vec<Value> {
    let (s, v) = app.get(&format!("/v1/runs/{id}/results?limit=1000"), key).await;
    assert_eq!(s, 200);
    v["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn verdicts_are_right_on_every_provider() {
    let fake = FakeProvider::start(Knobs::default());
    let (app, admin) = app_with(|_| {}).await;
    for provider in ["openai", "anthropic", "google", "azure_openai", "groq", "openai_compatible"] {
        let (s, k) =
            app.post("/v1/byok-keys", &admin, key_body(provider, &fake, &format!("secret-{provider}-123456"))).await;
        assert_eq!(s, 201, "{k}");
        fake.reset_counters();
        let run = judged(&app, &admin, json!({"dataset": items(4, 2), "scorers": [{"type": "relevance", "config": {"provider": provider}}, "contains"]})).await;
        let sum = &run["summary"];
        assert_eq!(
            (sum["passed"].as_u64(), sum["failed"].as_u64(), sum["errored"].as_u64()),
            (Some(2), Some(2), Some(0)),
            "{provider}: {sum}"
        );
        assert_eq!(sum["per_scorer"]["relevance"]["pass_rate"], 0.5, "{provider}");
        assert_eq!(sum["usage"]["calls"], 4, "{provider}");
        assert!(sum["usage"]["input_tokens"].as_u64().unwrap() > 0, "{provider}: token usage is read back");
        assert_eq!(fake.calls(), 4, "{provider}");
        for r in fake.requests() {
            assert!(
                !r.path.contains(&format!("secret-{provider}")),
                "the key travels in a header, never the URL: {}",
                r.path
            );
        }
        let res = results(&app, &admin, run["id"].as_str().unwrap()).await;
        let judged = &res[0]["scores"][0];
        assert_eq!(judged["scorer"], "relevance");
        assert_eq!(judged["pass"], false, "item 0 is WRONG");
        assert!(judged["reason"].as_str().unwrap().contains("WRONG"), "{judged}");
        assert_eq!(res[1]["scores"][0]["pass"], true);
        assert_eq!(res[1]["scores"][0]["score"], 0.9);
    }
}

#[tokio::test]
async fn never_above_the_cap_and_at_the_cap_under_load() {
    let fake = FakeProvider::start(Knobs { latency: Duration::from_millis(80), ..Knobs::default() });
    let (app, admin) = app_with(|c| c.judge.max_concurrency_per_org_provider = 6).await;
    app.post("/v1/byok-keys", &admin, key_body("openai", &fake, "sk-cap-test-0001")).await;
    let run = judged(&app, &admin, json!({"dataset": items(120, 0), "scorers": ["coherence"]})).await;
    assert_eq!(run["summary"]["errored"], 0);
    assert_eq!(fake.max_in_flight(), 6, "the lane reaches its cap and never goes over it");
}

#[tokio::test]
async fn a_storm_of_429s_and_500s_ends_with_zero_errored_items() {
    let fake = FakeProvider::start(Knobs {
        p_429: 0.10,
        p_500: 0.05,
        retry_after_s: Some(0),
        latency: Duration::from_millis(5),
        ..Knobs::default()
    });
    let (app, admin) = app_with(|c| c.judge.max_concurrency_per_org_provider = 10).await;
    app.post("/v1/byok-keys", &admin, key_body("anthropic", &fake, "sk-ant-storm-0001")).await;
    let run = judged(&app, &admin, json!({"dataset": items(300, 0), "scorers": ["relevance"]})).await;
    assert_eq!(run["summary"]["errored"], 0, "{}", run["summary"]);
    assert_eq!(run["summary"]["passed"], 300);
    assert!(fake.calls() > 300, "faults were injected and retried: {} calls", fake.calls());
    let metrics = app.client.get(format!("{}/metrics", app.base)).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains(r#"gavel_judge_calls_total{outcome="ok",provider="anthropic"} 300"#), "{metrics}");
    assert!(metrics.contains(r#"gavel_judge_retries_total{provider="anthropic",reason="rate_limited"}"#));
    assert!(metrics.contains("gavel_judge_call_duration_seconds_bucket"));
}

#[tokio::test]
async fn a_rate_limited_provider_is_met_without_errors() {
    let fake =
        FakeProvider::start(Knobs { rps_limit: Some(50), latency: Duration::from_millis(20), ..Knobs::default() });
    let (app, admin) = app_with(|c| c.judge.max_concurrency_per_org_provider = 20).await;
    app.post("/v1/byok-keys", &admin, key_body("openai", &fake, "sk-rps-test-0001")).await;
    let started = Instant::now();
    let run = judged(&app, &admin, json!({"dataset": items(150, 0), "scorers": ["relevance"]})).await;
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(run["summary"]["errored"], 0, "{}", run["summary"]);
    assert!(secs >= 2.0, "150 items cannot pass a 50 rps limit in {secs:.2} s");
}

#[tokio::test]
async fn a_bad_key_fails_fast_and_is_marked_failing_until_rotated() {
    let fake = FakeProvider::start(Knobs {
        valid_keys: vec!["sk-the-good-key-0001".into()],
        latency: Duration::from_millis(20),
        ..Knobs::default()
    });
    let (app, admin) = app_with(|_| {}).await;
    let (_, k) = app.post("/v1/byok-keys", &admin, key_body("openai", &fake, "sk-the-bad-key-0001")).await;
    let id = k["id"].as_str().unwrap().to_string();
    let run = judged(&app, &admin, json!({"dataset": items(200, 0), "scorers": ["relevance"]})).await;
    assert_eq!(run["summary"]["errored"], 200);
    assert!(fake.calls() <= 5, "200 items on a bad key made {} calls", fake.calls());
    let res = results(&app, &admin, run["id"].as_str().unwrap()).await;
    assert!(res.iter().all(|r| r["scores"][0]["error"]["code"] == "BYOK_AUTH_FAILED"));
    let (_, meta) = app.get(&format!("/v1/byok-keys/{id}"), &admin).await;
    assert_eq!(meta["status"], "failing");
    assert_eq!(meta["failure"]["code"], "BYOK_AUTH_FAILED");
    let (_, log) = app.get("/v1/audit-log", &admin).await;
    assert!(log["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["action"] == "byok_key.failing" && e["target_id"] == id.as_str()));
    // A later run fails at once, without calls.
    fake.reset_counters();
    let again = judged(&app, &admin, json!({"dataset": items(20, 0), "scorers": ["relevance"]})).await;
    assert_eq!(again["summary"]["errored"], 20);
    assert_eq!(fake.calls(), 0);
    // The test endpoint reports the failure; rotating to the good key clears it.
    let (s, t) = app.post(&format!("/v1/byok-keys/{id}/test"), &admin, json!({})).await;
    assert_eq!((s, &t["ok"]), (200, &json!(false)), "{t}");
    assert_eq!(t["error"]["code"], "BYOK_AUTH_FAILED");
    let (_, meta) = app.patch(&format!("/v1/byok-keys/{id}"), &admin, json!({"key": "sk-the-good-key-0001"})).await;
    assert_eq!(meta["status"], "active");
    let (s, t) = app.post(&format!("/v1/byok-keys/{id}/test"), &admin, json!({})).await;
    assert_eq!((s, &t["ok"]), (200, &json!(true)), "{t}");
    assert_eq!(t["model"], "fake-model");
    let (_, meta) = app.get(&format!("/v1/byok-keys/{id}"), &admin).await;
    assert_eq!(meta["last_test"]["ok"], true);
    let ok = judged(&app, &admin, json!({"dataset": items(10, 0), "scorers": ["relevance"]})).await;
    assert_eq!(ok["summary"]["passed"], 10);
}

#[tokio::test]
async fn a_rerun_hits_the_cache_and_cache_false_does_not() {
    let fake = FakeProvider::start(Knobs::default());
    let (app, admin) = app_with(|_| {}).await;
    app.post("/v1/byok-keys", &admin, key_body("google", &fake, "AIza-cache-test-0001")).await;
    let body = json!({"dataset": items(25, 5), "scorers": ["faithfulness"]});
    let first = judged(&app, &admin, body.clone()).await;
    assert_eq!(first["summary"]["usage"]["calls"], 25);
    let calls = fake.calls();
    let second = judged(&app, &admin, body.clone()).await;
    assert_eq!(fake.calls(), calls, "a re-run costs no provider call");
    assert_eq!(second["summary"]["usage"]["cache_hits"], 25);
    assert_eq!(second["summary"]["usage"]["calls"], 0);
    assert_eq!(second["summary"]["pass_rate"], first["summary"]["pass_rate"]);
    let mut nocache = body.clone();
    nocache["cache"] = json!(false);
    let third = judged(&app, &admin, nocache).await;
    assert_eq!(third["summary"]["usage"]["calls"], 25);
    // The cache is per org: another org pays for its own calls.
    let (_, other) = app.org("other").await;
    app.post("/v1/projects", &other, json!({"name": "web"})).await;
    app.post("/v1/byok-keys", &other, key_body("google", &fake, "AIza-other-org-0001")).await;
    let theirs = judged(&app, &other, body).await;
    assert_eq!(theirs["summary"]["usage"]["cache_hits"], 0);
    assert_eq!(theirs["summary"]["usage"]["calls"], 25);
}

#[tokio::test]
async fn cost_limit_stops_scheduling() {
    let fake = FakeProvider::start(Knobs::default());
    let (app, admin) = app_with(|c| {
        c.judge.max_concurrency_per_org_provider = 1;
        c.judge.prices.insert("fake-model".into(), gavel::config::Price { input: 100_000.0, output: 100_000.0 });
    })
    .await;
    app.post("/v1/byok-keys", &admin, key_body("openai", &fake, "sk-cost-test-0001")).await;
    let run =
        judged(&app, &admin, json!({"dataset": items(30, 0), "scorers": ["relevance"], "cost_limit_usd": 50.0})).await;
    let res = results(&app, &admin, run["id"].as_str().unwrap()).await;
    let limited = res.iter().filter(|r| r["scores"][0]["error"]["code"] == "COST_LIMIT_EXCEEDED").count();
    assert!(limited > 0 && limited < 30, "{limited} items were stopped by the cost limit: {}", run["summary"]);
    assert_eq!(fake.calls() as usize, 30 - limited);
    let cost = run["summary"]["usage"]["cost_usd"].as_f64().unwrap();
    assert!(cost >= 50.0, "spent {cost}");
    // Usage report by provider, model and key.
    let (s, usage) = app.get("/v1/usage", &admin).await;
    assert_eq!(s, 200, "{usage}");
    let row = &usage["items"][0];
    assert_eq!((row["provider"].as_str(), row["model"].as_str()), (Some("openai"), Some("fake-model")));
    assert!(row["key_id"].as_str().unwrap().starts_with("pk_"));
    assert_eq!(row["calls"].as_u64().unwrap() as usize, 30 - limited);
    assert_eq!(usage["totals"]["cost_usd"].as_f64().unwrap(), cost);
    // One audit row for the key's use in this run, not one per call.
    let (_, log) = app.get("/v1/audit-log", &admin).await;
    let uses: Vec<&Value> = log["items"].as_array().unwrap().iter().filter(|e| e["action"] == "byok_key.use").collect();
    assert_eq!(uses.len(), 1);
    assert_eq!(uses[0]["details"]["calls"].as_u64().unwrap() as usize, 30 - limited);
}

#[tokio::test]
async fn keys_resolve_in_order_and_missing_keys_say_so() {
    let fake = FakeProvider::start(Knobs::default());
    let (app, admin) = app_with(|_| {}).await;
    let run1 = judged(&app, &admin, json!({"dataset": items(3, 0), "scorers": ["relevance"]})).await;
    let res = results(&app, &admin, run1["id"].as_str().unwrap()).await;
    assert_eq!(res[0]["scores"][0]["error"]["code"], "BYOK_NO_KEY");
    assert_eq!(fake.calls(), 0);
    // Request key beats the org default; the org default key is then not used.
    let (_, k) = app.post("/v1/byok-keys", &admin, key_body("openai", &fake, "sk-org-default-0001")).await;
    let body = json!({"dataset": items(3, 0), "scorers": ["relevance"],
        "provider_key": {"provider": "openai", "key": "sk-request-scoped-0001", "base_url": format!("{}/v1", fake.base), "default_model": "fake-model"}});
    let r = judged(&app, &admin, body).await;
    assert_eq!(r["summary"]["passed"], 3);
    let auths: Vec<String> = fake.requests().iter().filter_map(|r| r.headers.get("authorization").cloned()).collect();
    assert!(auths.iter().all(|a| a == "Bearer sk-request-scoped-0001"), "{auths:?}");
    // Without a provider named, the org's precedence decides: anthropic before openai by default.
    fake.reset_counters();
    app.post("/v1/byok-keys", &admin, key_body("anthropic", &fake, "sk-ant-prec-0001")).await;
    judged(&app, &admin, json!({"dataset": items(2, 0), "scorers": ["coherence"]})).await;
    assert!(fake.requests().iter().all(|r| r.path.ends_with("/v1/messages")));
    let (s, _) = app.patch("/v1/org/settings", &admin, json!({"provider_precedence": ["openai", "anthropic"], "model_overrides": {"coherence": "fake-coherence-model"}})).await;
    assert_eq!(s, 200);
    fake.reset_counters();
    judged(&app, &admin, json!({"dataset": items(2, 0), "scorers": ["coherence"]})).await;
    let reqs = fake.requests();
    assert!(reqs.iter().all(|r| r.path.ends_with("/chat/completions")));
    assert!(reqs.iter().all(|r| r.body["model"] == "fake-coherence-model"), "org model override");
    // key_id picks a key explicitly.
    fake.reset_counters();
    let scorer = json!({"type": "llm_judge", "config": {"rubric": "Is it Paris?", "key_id": k["id"], "model": "explicit-model"}});
    judged(&app, &admin, json!({"dataset": items(2, 0), "scorers": [scorer]})).await;
    assert!(fake.requests().iter().all(|r| r.body["model"] == "explicit-model"
        && r.headers.get("authorization").map(String::as_str) == Some("Bearer sk-org-default-0001")));
}

#[tokio::test]
async fn unparseable_replies_and_missing_inputs_are_item_errors() {
    let fake =
        FakeProvider::start(Knobs { reply: Arc::new(|_| "I think it is fine.".to_string()), ..Knobs::default() });
    let (app, admin) = app_with(|_| {}).await;
    app.post("/v1/byok-keys", &admin, key_body("openai", &fake, "sk-unparse-0001")).await;
    let r = judged(&app, &admin, json!({"dataset": [{"input": "q", "output": "a"}], "scorers": ["relevance", "faithfulness", "answer_correctness", "equals"]})).await;
    let res = results(&app, &admin, r["id"].as_str().unwrap()).await;
    let codes: Vec<&str> =
        res[0]["scores"].as_array().unwrap().iter().map(|s| s["error"]["code"].as_str().unwrap_or("")).collect();
    assert_eq!(codes, vec!["JUDGE_UNPARSEABLE", "VALIDATION_FAILED", "VALIDATION_FAILED", "VALIDATION_FAILED"]);
    assert_eq!(r["summary"]["errored"], 1);
}

#[tokio::test]
async fn a_small_run_is_not_starved_by_a_big_one() {
    let fake = FakeProvider::start(Knobs { latency: Duration::from_millis(40), ..Knobs::default() });
    let (app, admin) = app_with(|c| c.judge.max_concurrency_per_org_provider = 4).await;
    app.post("/v1/byok-keys", &admin, key_body("openai", &fake, "sk-fair-0001")).await;
    let (s, big) =
        app.post("/v1/projects/web/runs", &admin, json!({"dataset": items(600, 0), "scorers": ["relevance"]})).await;
    assert_eq!(s, 202);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    let small = judged(&app, &admin, json!({"dataset": items(8, 0), "scorers": ["coherence"]})).await;
    let took = started.elapsed();
    assert_eq!(small["summary"]["passed"], 8);
    let (_, bigrun) = app.get(&format!("/v1/runs/{}", big["id"].as_str().unwrap()), &admin).await;
    assert_ne!(bigrun["status"], "completed", "the big run is still going");
    assert!(took < Duration::from_secs(3), "the small run waited {took:?} behind the big one");
}

#[tokio::test]
async fn an_unreachable_endpoint_stops_being_tried_for_the_rest_of_the_run() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let (app, admin) = app_with(|_| {}).await;
    let (s, _) = app
        .post("/v1/byok-keys", &admin, json!({"provider": "openai_compatible", "name": "down", "key": "none-0001", "base_url": format!("http://127.0.0.1:{port}/v1"), "default_model": "m"}))
        .await;
    assert_eq!(s, 201);
    let r = judged(&app, &admin, json!({"dataset": items(100, 0), "scorers": ["relevance"]})).await;
    assert_eq!(r["summary"]["errored"], 100);
    let res = results(&app, &admin, r["id"].as_str().unwrap()).await;
    let codes: Vec<&str> = res.iter().map(|x| x["scores"][0]["error"]["code"].as_str().unwrap()).collect();
    assert!(codes.iter().all(|c| *c == "BYOK_ENDPOINT_UNREACHABLE"));
    let skipped =
        res.iter().filter(|x| x["scores"][0]["error"]["message"].as_str().unwrap().contains("not attempted")).count();
    assert!(skipped >= 90, "only {skipped} items skipped the dead endpoint");
    assert!(r["summary"]["usage"]["calls"].as_u64().unwrap() <= 10, "{}", r["summary"]["usage"]);
    let (_, meta) = app.get("/v1/byok-keys", &admin).await;
    assert_eq!(meta["items"][0]["status"], "active", "an unreachable endpoint does not mark the key failing");
}
