//! The in-process caches of verified API keys and org views: a change made through the API (a revoked key, a new
//! limit, a setting, a deleted provider key) holds from the very next request, however warm the caches are.

use serde_json::{json, Value};

use crate::gateway::{add_key, gw_app, header, send};
use crate::support::common::key_body;
use crate::support::fake_provider::{FakeProvider, Knobs};

const NO_CACHE: [(&str, &str); 1] = [("cache-control", "no-cache, no-store")];

fn chat(model: &str) -> Value {
    json!({"model": model, "messages": [{"role": "user", "content": "x"}]})
}

#[tokio::test]
async fn a_revoked_key_is_refused_on_the_next_request() {
    let fake = FakeProvider::start(Knobs::default());
    let (app, admin) = gw_app(|_| {}).await;
    add_key(&app, &admin, key_body("openai", &fake, "sk-revoke-123456")).await;
    let (id, member) = app.api_key(&admin, "member").await;
    for _ in 0..3 {
        let r = send(&app, &member, "/v1/chat/completions", &chat("gpt-4o-mini"), &NO_CACHE).await;
        assert_eq!(r.status(), 200, "warming the caches");
    }
    let (s, _) = app.get("/v1/me", &member).await;
    assert_eq!(s, 200);
    let (s, v) = app.delete(&format!("/v1/api-keys/{id}"), &admin).await;
    assert_eq!(s, 204, "{v}");
    let r = send(&app, &member, "/v1/chat/completions", &chat("gpt-4o-mini"), &NO_CACHE).await;
    assert_eq!(r.status(), 401, "the revoked key's next gateway call");
    let (s, v) = app.get("/v1/me", &member).await;
    assert_eq!(s, 401, "{v}");
    assert_eq!(fake.calls(), 3);
    // The admin's own key, cached as well, is untouched by the other key's revocation.
    let (s, _) = app.get("/v1/me", &admin).await;
    assert_eq!(s, 200);
}

#[tokio::test]
async fn limit_and_setting_changes_hold_from_the_next_call() {
    let fake = FakeProvider::start(Knobs::default());
    let (app, admin) = gw_app(|_| {}).await;
    let pk = add_key(&app, &admin, key_body("openai", &fake, "sk-memo-1234567")).await;
    let (id, member) = app.api_key(&admin, "member").await;
    let call = |model: &'static str| {
        let (app, member) = (&app, &member);
        async move { send(app, member, "/v1/chat/completions", &chat(model), &NO_CACHE).await }
    };
    for _ in 0..3 {
        assert_eq!(call("gpt-4o-mini").await.status(), 200);
    }
    // A new limit: the next call is the one it allows, the one after is refused.
    let (s, _) = app.patch(&format!("/v1/api-keys/{id}"), &admin, json!({"limits": {"requests_per_min": 1}})).await;
    assert_eq!(s, 200);
    assert_eq!(call("gpt-4o-mini").await.status(), 200);
    assert_eq!(call("gpt-4o-mini").await.status(), 429, "the new requests_per_min holds at once");
    let (s, _) = app.patch(&format!("/v1/api-keys/{id}"), &admin, json!({"limits": null})).await;
    assert_eq!(s, 200);
    assert_eq!(call("gpt-4o-mini").await.status(), 200, "and so does its removal");
    // An org setting: a new alias routes the next call.
    let r = call("fast").await;
    assert_ne!(r.status(), 200, "no alias yet");
    let aliases = json!({"model_aliases": {"fast": [{"provider": "openai", "model": "gpt-4o"}]}});
    let (s, v) = app.patch("/v1/org/settings", &admin, aliases).await;
    assert_eq!(s, 200, "{v}");
    let r = call("fast").await;
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "x-gavel-model"), "gpt-4o");
    // The provider key gone: the next call has no key.
    let (s, v) = app.delete(&format!("/v1/byok-keys/{pk}"), &admin).await;
    assert_eq!(s, 204, "{v}");
    let r = call("gpt-4o-mini").await;
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "BYOK_NO_KEY", "{v}");
}

#[tokio::test]
async fn answers_are_served_from_memory_or_from_the_store() {
    for memory in [true, false] {
        let fake = FakeProvider::start(Knobs::default());
        let (app, admin) = gw_app(|c| {
            if !memory {
                c.gateway.cache_memory_bytes = 0;
            }
        })
        .await;
        add_key(&app, &admin, key_body("openai", &fake, "sk-answers-123456")).await;
        let body = json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "keep me"}]});
        let first = send(&app, &admin, "/v1/chat/completions", &body, &[]).await;
        assert_eq!(header(&first, "x-gavel-cache"), "miss");
        let first: Value = first.json().await.unwrap();
        if memory {
            // Held from the moment it was produced: no wait for the writer.
            let hit = send(&app, &admin, "/v1/chat/completions", &body, &[]).await;
            assert_eq!(header(&hit, "x-gavel-cache"), "hit");
            assert_eq!(hit.json::<Value>().await.unwrap(), first);
        } else {
            crate::gateway::logged(&app, &admin, 1).await;
            let hit = send(&app, &admin, "/v1/chat/completions", &body, &[]).await;
            assert_eq!(header(&hit, "x-gavel-cache"), "hit", "the store's cache answers");
            assert_eq!(hit.json::<Value>().await.unwrap(), first);
        }
        assert_eq!(fake.calls(), 1, "memory {memory}");
    }
}

/// The gateway answers misses from its set of stored cache keys (`present.rs`); the answers stored before a restart
/// are in that set, so they still hit afterwards, and a new prompt still misses.
#[tokio::test]
async fn answers_stored_before_a_restart_still_hit() {
    let fake = FakeProvider::start(Knobs::default());
    let (mut app, admin) = gw_app(|c| c.gateway.cache_memory_bytes = 0).await;
    add_key(&app, &admin, key_body("openai", &fake, "sk-restart-123456")).await;
    let body = json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "survive"}]});
    let first = send(&app, &admin, "/v1/chat/completions", &body, &[]).await;
    assert_eq!(header(&first, "x-gavel-cache"), "miss");
    let first: Value = first.json().await.unwrap();
    crate::gateway::logged(&app, &admin, 1).await;
    let dir = app.stop().await;
    let app = crate::support::start(app.config.clone(), Some(app.admin_key.clone())).await;
    for _ in 0..2 {
        let hit = send(&app, &admin, "/v1/chat/completions", &body, &[]).await;
        assert_eq!(header(&hit, "x-gavel-cache"), "hit", "the answer stored before the restart");
        assert_eq!(hit.json::<Value>().await.unwrap(), first);
    }
    let other = json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "new"}]});
    let miss = send(&app, &admin, "/v1/chat/completions", &other, &[]).await;
    assert_eq!(header(&miss, "x-gavel-cache"), "miss");
    assert_eq!(fake.calls(), 2, "one call for each distinct prompt");
    drop(dir);
}
