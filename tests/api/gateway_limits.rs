//! Per-API-key gateway limits under a burst of parallel requests: requests per minute and budgets.

use std::sync::Arc;

use serde_json::{json, Value};

use crate::gateway::{add_key, gw_app, header, key_body, send};
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
