//! Per-API-key gateway limits under a burst of parallel requests: requests per minute and budgets.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::gateway::{add_key, gw_app, header, send};
use crate::support::common::key_body;
use crate::support::fake_provider::{FakeProvider, Knobs};
use crate::support::TestApp;

async fn burst(app: &TestApp, key: &str, body: &Value, n: usize) -> Vec<(u16, String, f64, Value)> {
    let calls = (0..n).map(|_| async {
        let r = send(app, key, "/v1/chat/completions", body, &[("cache-control", "no-cache, no-store")]).await;
        let status = r.status().as_u16();
        let retry = header(&r, "retry-after");
        let cost = header(&r, "x-gavel-cost-usd").parse::<f64>().unwrap_or(0.0);
        (status, retry, cost, r.json::<Value>().await.unwrap())
    });
    futures_util::future::join_all(calls).await
}

#[tokio::test]
async fn limits_are_set_by_admins_and_validated() {
    let (app, admin) = gw_app(|_| {}).await;
    let (id, member) = app.api_key(&admin, "member").await;
    let (s, v) = app.patch(&format!("/v1/api-keys/{id}"), &member, json!({"limits": {"requests_per_min": 5}})).await;
    assert_eq!(s, 403, "{v}");
    let (s, v) = app.patch(&format!("/v1/api-keys/{id}"), &admin, json!({"limits": {"requests_per_min": 0}})).await;
    assert_eq!(s, 400, "{v}");
    let (s, v) = app.patch(&format!("/v1/api-keys/{id}"), &admin, json!({"limits": {"budget_period": "week"}})).await;
    assert_eq!(s, 400, "{v}");
    let limits = json!({"requests_per_min": 5, "tokens_per_min": 1000, "budget_usd": 2.5, "budget_period": "day"});
    let (s, v) = app.patch(&format!("/v1/api-keys/{id}"), &admin, json!({"limits": limits})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["limits"], limits);
    let (_, list) = app.get("/v1/api-keys", &admin).await;
    assert!(list["items"].as_array().unwrap().iter().any(|k| k["id"] == id.as_str() && k["limits"] == limits));
    let (s, _) = app.patch("/v1/api-keys/key_nope", &admin, json!({"limits": null})).await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn a_burst_over_requests_per_min_gets_429_with_retry_after() {
    let fake = FakeProvider::start(Knobs::default());
    let (app, admin) = gw_app(|_| {}).await;
    add_key(&app, &admin, key_body("openai", &fake, "sk-rate-123456")).await;
    let (id, member) = app.api_key(&admin, "member").await;
    let (s, _) = app.patch(&format!("/v1/api-keys/{id}"), &admin, json!({"limits": {"requests_per_min": 5}})).await;
    assert_eq!(s, 200);
    let body = json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x"}]});
    let out = burst(&app, &member, &body, 20).await;
    let ok = out.iter().filter(|o| o.0 == 200).count();
    assert_eq!(ok, 5, "{:?}", out.iter().map(|o| o.0).collect::<Vec<_>>());
    for (status, retry, _, v) in out.iter().filter(|o| o.0 != 200) {
        assert_eq!(*status, 429);
        assert_eq!(v["error"]["code"], "RATE_LIMITED", "{v}");
        assert!(retry.parse::<u64>().is_ok_and(|s| s >= 1), "Retry-After: {retry:?}");
    }
    assert_eq!(fake.calls(), 5);
    // Another key of the org is not limited by this one's bucket.
    let r = send(&app, &admin, "/v1/chat/completions", &body, &[]).await;
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn a_burst_overshoots_the_budget_by_at_most_one_request() {
    // ~1,000 output tokens of gpt-4o per answer: about $0.01 a call.
    let fake = FakeProvider::start(Knobs { reply: Arc::new(|_| "x".repeat(4000)), ..Knobs::default() });
    let (app, admin) = gw_app(|_| {}).await;
    add_key(&app, &admin, key_body("openai", &fake, "sk-budget-123456")).await;
    let (id, member) = app.api_key(&admin, "member").await;
    let budget = 0.05;
    let (s, _) = app
        .patch(
            &format!("/v1/api-keys/{id}"),
            &admin,
            json!({"limits": {"budget_usd": budget, "budget_period": "month"}}),
        )
        .await;
    assert_eq!(s, 200);
    let body = json!({"model": "gpt-4o", "max_tokens": 1100, "messages": [{"role": "user", "content": "write a lot"}]});
    let out = burst(&app, &member, &body, 20).await;
    let costs: Vec<f64> = out.iter().filter(|o| o.0 == 200).map(|o| o.2).collect();
    let refused: Vec<&(u16, String, f64, Value)> = out.iter().filter(|o| o.0 != 200).collect();
    let one = costs.iter().copied().fold(0.0, f64::max);
    let spent: f64 = costs.iter().sum();
    assert!(one > 0.005, "each call costs about a cent: {one}");
    assert!(spent <= budget + one + 1e-9, "spent {spent} of {budget}: more than one request over");
    assert!(!costs.is_empty() && refused.len() >= 14, "{} passed, {} refused", costs.len(), refused.len());
    for (status, _, _, v) in &refused {
        assert_eq!(*status, 429);
        assert_eq!(v["error"]["code"], "BUDGET_EXCEEDED", "{v}");
        assert_eq!(v["error"]["type"], "insufficient_quota", "{v}");
    }
    // Spent is spent: later calls are refused too.
    let r = send(&app, &member, "/v1/chat/completions", &body, &[]).await;
    if spent + one >= budget {
        assert_eq!(r.status(), 429);
    }
}

#[tokio::test]
async fn tokens_per_min_counts_the_tokens_calls_used() {
    let fake = FakeProvider::start(Knobs::default());
    let (app, admin) = gw_app(|_| {}).await;
    add_key(&app, &admin, key_body("openai", &fake, "sk-tpm-123456")).await;
    let (id, member) = app.api_key(&admin, "member").await;
    let (s, _) = app.patch(&format!("/v1/api-keys/{id}"), &admin, json!({"limits": {"tokens_per_min": 10}})).await;
    assert_eq!(s, 200);
    let body = json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "a question of some length"}]});
    let r = send(&app, &member, "/v1/chat/completions", &body, &[]).await;
    assert_eq!(r.status(), 200, "the bucket was full");
    let r = send(&app, &member, "/v1/chat/completions", &body, &[("cache-control", "no-cache")]).await;
    assert_eq!(r.status(), 429);
    assert!(header(&r, "retry-after").parse::<u64>().unwrap() >= 1);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "RATE_LIMITED");
    assert!(v["error"]["message"].as_str().unwrap().contains("tokens_per_min"), "{v}");
}

#[tokio::test]
async fn managed_keys_serve_as_provider_mode_allows() {
    let fake = FakeProvider::start(Knobs::default());
    let dir = tempfile::tempdir().unwrap();
    let key_file = crate::support::common::fallback_key_file(dir.path(), "sk-managed-123456");
    let base = format!("{}/v1", fake.base);
    let (app, admin) = gw_app(|c| {
        c.judge.fallback_provider = "openai".into();
        c.judge.fallback_key_file = key_file.clone();
        c.judge.fallback_base_url = base;
    })
    .await;
    let body = json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x"}]});
    let nocache = [("cache-control", "no-cache")];
    let r = send(&app, &admin, "/v1/chat/completions", &body, &nocache).await;
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "x-gavel-key-source"), "managed");
    assert_eq!(fake.requests().last().unwrap().header("authorization"), Some("Bearer sk-managed-123456"));
    add_key(&app, &admin, key_body("openai", &fake, "sk-own-1234567")).await;
    let r = send(&app, &admin, "/v1/chat/completions", &body, &nocache).await;
    assert_eq!(header(&r, "x-gavel-key-source"), "byok", "the org's own key first");
    let (s, _) = app.patch("/v1/org/settings", &admin, json!({"provider_mode": "managed"})).await;
    assert_eq!(s, 200);
    let r = send(&app, &admin, "/v1/chat/completions", &body, &nocache).await;
    assert_eq!(header(&r, "x-gavel-key-source"), "managed");
    let (s, _) = app.patch("/v1/org/settings", &admin, json!({"provider_mode": "byok"})).await;
    assert_eq!(s, 200);
    let r = send(
        &app,
        &admin,
        "/v1/chat/completions",
        &json!({"model": "claude-3-5-haiku-latest", "messages": [{"role": "user", "content": "x"}]}),
        &[],
    )
    .await;
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "BYOK_NO_KEY");
}

#[tokio::test]
async fn org_default_limits_apply_to_keys_without_their_own() {
    let fake = FakeProvider::start(Knobs::default());
    let (app, admin) = gw_app(|_| {}).await;
    add_key(&app, &admin, key_body("openai", &fake, "sk-orgdefault-123456")).await;
    let (s, v) = app.patch("/v1/org/settings", &admin, json!({"default_key_limits": {"requests_per_min": 2}})).await;
    assert_eq!(s, 200, "{v}");
    let (_, member) = app.api_key(&admin, "member").await;
    let body = json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x"}]});
    let out = burst(&app, &member, &body, 5).await;
    assert_eq!(out.iter().filter(|o| o.0 == 200).count(), 2);
    let (s, v) = app.patch("/v1/org/settings", &admin, json!({"default_key_limits": {"tokens_per_min": 0}})).await;
    assert_eq!(s, 400, "{v}");
}

#[tokio::test]
async fn gateway_calls_have_their_own_concurrency_limit() {
    let fake = FakeProvider::start(Knobs { latency: Duration::from_millis(150), ..Knobs::default() });
    let (app, admin) = gw_app(|c| c.gateway.max_concurrency_per_org_provider = 2).await;
    add_key(&app, &admin, key_body("openai", &fake, "sk-lanes-123456")).await;
    let body = json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x"}]});
    let out = burst(&app, &admin, &body, 6).await;
    assert!(out.iter().all(|o| o.0 == 200));
    assert_eq!(fake.max_in_flight(), 2, "never more than gateway.max_concurrency_per_org_provider");
}

#[tokio::test]
async fn gateway_calls_never_wait_behind_judge_runs() {
    // The judge's lane for (org, openai) is full with calls to a slow endpoint; the gateway's is not.
    let slow = FakeProvider::start(Knobs { latency: Duration::from_secs(2), ..Knobs::default() });
    let fast = FakeProvider::start(Knobs::default());
    let (app, admin) = gw_app(|c| c.judge.max_concurrency_per_org_provider = 1).await;
    let (s, _) = app.post("/v1/projects", &admin, json!({"name": "web"})).await;
    assert_eq!(s, 201);
    let slow_key = add_key(&app, &admin, key_body("openai", &slow, "sk-slow-123456")).await;
    let fast_key = add_key(&app, &admin, key_body("openai", &fast, "sk-fast-123456")).await;
    let items: Vec<Value> = (0..3).map(|i| json!({"input": format!("q{i}"), "output": "a"})).collect();
    let scorer = json!({"type": "relevance", "config": {"provider": "openai", "key_id": slow_key}});
    let (s, v) = app.post("/v1/projects/web/runs", &admin, json!({"dataset": items, "scorers": [scorer]})).await;
    assert_eq!(s, 202, "{v}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while slow.in_flight() == 0 {
        assert!(Instant::now() < deadline, "the judge never called");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let alias =
        json!({"model_aliases": {"quick": [{"provider": "openai", "model": "gpt-4o-mini", "key_id": fast_key}]}});
    let (s, v) = app.patch("/v1/org/settings", &admin, alias).await;
    assert_eq!(s, 200, "{v}");
    let started = Instant::now();
    let body = json!({"model": "quick", "messages": [{"role": "user", "content": "x"}]});
    let r = send(&app, &admin, "/v1/chat/completions", &body, &[]).await;
    assert_eq!(r.status(), 200);
    assert!(started.elapsed() < Duration::from_millis(1500), "waited {:?} behind the judge", started.elapsed());
    assert_eq!(slow.in_flight(), 1, "the judge's call is still running");
}
