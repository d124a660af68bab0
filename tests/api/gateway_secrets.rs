//! Decrypted provider keys held in memory by the gateway (`gateway.key_cache_*`): a rotated key is the one sent from
//! the very next call, and a deleted key is no longer usable, however warm the cache is.

use serde_json::{json, Value};

use crate::gateway::{add_key, gw_app, send};
use crate::support::common::key_body;
use crate::support::fake_provider::{FakeProvider, Knobs};

const NO_CACHE: [(&str, &str); 1] = [("cache-control", "no-cache, no-store")];

fn chat() -> Value {
    json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x"}]})
}

/// The bearer token of the fake's last request.
fn last_key(fake: &FakeProvider) -> String {
    let seen = fake.requests();
    let last = seen.last().unwrap();
    last.header("authorization").unwrap().trim_start_matches("Bearer ").to_owned()
}

#[tokio::test]
async fn a_rotated_provider_key_is_sent_from_the_next_call() {
    let fake = FakeProvider::start(Knobs::default());
    let (app, admin) = gw_app(|_| {}).await;
    let pk = add_key(&app, &admin, key_body("openai", &fake, "sk-first-1234567")).await;
    let (_, member) = app.api_key(&admin, "member").await;
    for _ in 0..3 {
        let r = send(&app, &member, "/v1/chat/completions", &chat(), &NO_CACHE).await;
        assert_eq!(r.status(), 200, "warming the key cache");
        assert_eq!(last_key(&fake), "sk-first-1234567");
    }
    let (s, v) = app.patch(&format!("/v1/byok-keys/{pk}"), &admin, json!({"key": "sk-second-7654321"})).await;
    assert_eq!(s, 200, "{v}");
    let r = send(&app, &member, "/v1/chat/completions", &chat(), &NO_CACHE).await;
    assert_eq!(r.status(), 200);
    assert_eq!(last_key(&fake), "sk-second-7654321", "the rotated secret, not the held one");
    assert_eq!(fake.calls(), 4);
}

#[tokio::test]
async fn a_deleted_provider_key_is_not_used_again() {
    let fake = FakeProvider::start(Knobs::default());
    let (app, admin) = gw_app(|_| {}).await;
    let pk = add_key(&app, &admin, key_body("openai", &fake, "sk-gone-12345678")).await;
    let (_, member) = app.api_key(&admin, "member").await;
    for _ in 0..3 {
        let r = send(&app, &member, "/v1/chat/completions", &chat(), &NO_CACHE).await;
        assert_eq!(r.status(), 200, "warming the key cache");
    }
    let (s, v) = app.delete(&format!("/v1/byok-keys/{pk}"), &admin).await;
    assert_eq!(s, 204, "{v}");
    let r = send(&app, &member, "/v1/chat/completions", &chat(), &NO_CACHE).await;
    let status = r.status();
    let body: Value = r.json().await.unwrap();
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "BYOK_NO_KEY", "{body}");
    assert_eq!(fake.calls(), 3, "the deleted key reached no provider");
}
