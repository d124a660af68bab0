//! Judge calls honour the org's `provider_mode` (API.md "BYOK"), as gateway calls do: `byok_then_managed` uses the
//! org's key first, `managed` only the server's key, `byok` never the server's key.

use serde_json::{json, Value};

use crate::support::fake_provider::{FakeProvider, Knobs};
use crate::support::{spawn_app_with, TestApp};

async fn run(app: &TestApp, key: &str, tag: &str) -> Vec<Value> {
    // Distinct items per run, so no verdict comes from the judge's cache.
    let items: Vec<Value> =
        (0..2).map(|i| json!({"input": format!("capital of France? {tag} {i}"), "output": "Paris"})).collect();
    let scorer = json!({"type": "llm_judge", "config": {"rubric": "Is it Paris?", "provider": "openai", "model": "gpt-4o-mini"}});
    let (s, run) =
        app.post("/v1/projects/web/runs", key, json!({"dataset": items, "scorers": [scorer], "wait_s": 120})).await;
    assert_eq!(s, 200, "{run}");
    assert_eq!(run["status"], "completed", "{run}");
    let (s, v) = app.get(&format!("/v1/runs/{}/results?limit=100", run["id"].as_str().unwrap()), key).await;
    assert_eq!(s, 200, "{v}");
    v["items"].as_array().unwrap().iter().map(|r| r["scores"][0].clone()).collect()
}

fn keys_seen(fake: &FakeProvider) -> Vec<String> {
    let seen: Vec<String> =
        fake.requests().iter().filter_map(|r| r.header("authorization").map(str::to_owned)).collect();
    fake.reset_counters();
    seen
}

#[tokio::test]
async fn judge_calls_use_the_keys_the_provider_mode_allows() {
    let fake = FakeProvider::start(Knobs::default());
    let dir = tempfile::tempdir().unwrap();
    let key_file = crate::support::common::fallback_key_file(dir.path(), "sk-managed-123456");
    let base = format!("{}/v1", fake.base);
    let app = spawn_app_with(|c| {
        c.judge.backoff_base_ms = 5;
        c.judge.backoff_max_ms = 20;
        c.judge.fallback_provider = "openai".into();
        c.judge.fallback_key_file = key_file.clone();
        c.judge.fallback_base_url = base.clone();
    })
    .await;
    let (_, admin) = app.org("acme").await;
    app.post("/v1/projects", &admin, json!({"name": "web"})).await;
    let own = json!({"provider": "openai", "name": "own", "key": "sk-own-1234567", "base_url": base});
    let (s, k) = app.post("/v1/byok-keys", &admin, own).await;
    assert_eq!(s, 201, "{k}");

    let scores = run(&app, &admin, "default").await;
    assert!(scores.iter().all(|s| s["pass"] == true), "{scores:?}");
    let seen = keys_seen(&fake);
    assert!(!seen.is_empty() && seen.iter().all(|k| k == "Bearer sk-own-1234567"), "the org's key first: {seen:?}");

    let (s, v) = app.patch("/v1/org/settings", &admin, json!({"provider_mode": "managed"})).await;
    assert_eq!(s, 200, "{v}");
    let scores = run(&app, &admin, "managed").await;
    assert!(scores.iter().all(|s| s["pass"] == true), "{scores:?}");
    let seen = keys_seen(&fake);
    assert!(!seen.is_empty() && seen.iter().all(|k| k == "Bearer sk-managed-123456"), "the server's key: {seen:?}");

    let (s, v) = app.patch("/v1/org/settings", &admin, json!({"provider_mode": "byok"})).await;
    assert_eq!(s, 200, "{v}");
    let (s, _) = app.delete(&format!("/v1/byok-keys/{}", k["id"].as_str().unwrap()), &admin).await;
    assert_eq!(s, 204);
    let scores = run(&app, &admin, "byok").await;
    for s in &scores {
        assert_eq!(s["error"]["code"], "BYOK_NO_KEY", "{s}");
        assert!(s["error"]["message"].as_str().unwrap().contains("provider_mode byok"), "{s}");
    }
    assert!(keys_seen(&fake).is_empty(), "byok never falls back to the server's key");
}
