//! The OpenAI-compatible gateway end to end: the real server, the org's BYOK keys, the fake provider speaking each
//! wire format, whole answers and streams, errors in OpenAI's shape, the cache, fallbacks, the request log.

use std::time::Duration;

use serde_json::{json, Value};

use crate::support::common::key_body;
use crate::support::fake_provider::{default_reply, FakeProvider, Knobs};
use crate::support::{spawn_app_with, TestApp};

pub const PROVIDERS: [&str; 6] = ["openai", "groq", "openai_compatible", "azure_openai", "anthropic", "google"];

pub async fn gw_app(tweak: impl FnOnce(&mut gavel::config::Config)) -> (TestApp, String) {
    let app = spawn_app_with(|c| {
        c.gateway.backoff_base_ms = 5;
        c.gateway.backoff_max_ms = 20;
        tweak(c);
    })
    .await;
    let (_, admin) = app.org("acme").await;
    (app, admin)
}

pub async fn add_key(app: &TestApp, admin: &str, body: Value) -> String {
    let (s, k) = app.post("/v1/byok-keys", admin, body).await;
    assert_eq!(s, 201, "{k}");
    k["id"].as_str().unwrap().to_owned()
}

pub async fn send(app: &TestApp, key: &str, path: &str, body: &Value, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut rb = app.client.post(format!("{}{path}", app.base)).bearer_auth(key).json(body);
    for (k, v) in headers {
        rb = rb.header(*k, *v);
    }
    rb.send().await.unwrap()
}

pub fn header(r: &reqwest::Response, name: &str) -> String {
    r.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned()
}

/// The `data:` payloads of an SSE body (without `[DONE]`) and whether it ended with `[DONE]`.
pub fn data_frames(text: &str) -> (Vec<Value>, bool) {
    let datas: Vec<&str> = text.lines().filter_map(|l| l.strip_prefix("data: ")).collect();
    let done = datas.last() == Some(&"[DONE]");
    (datas.iter().filter(|d| **d != "[DONE]").map(|d| serde_json::from_str(d).unwrap()).collect(), done)
}

fn model_for(provider: &str) -> String {
    match provider {
        "google" => "google/gemini-2.0-flash".into(),
        "anthropic" => "claude-3-5-haiku-latest".into(),
        p => format!("{p}/fake-model"),
    }
}

/// Waits until the background writer has logged `n` gateway requests of the org.
pub async fn logged(app: &TestApp, key: &str, n: usize) -> Vec<Value> {
    for _ in 0..200 {
        let (s, v) = app.get("/v1/gateway/requests?limit=1000", key).await;
        assert_eq!(s, 200, "{v}");
        let items = v["items"].as_array().unwrap().clone();
        if items.len() >= n {
            return items;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the request log never reached {n} rows");
}

#[tokio::test]
async fn chat_on_every_wire_format_whole_and_streamed() {
    let fake = FakeProvider::start(Knobs::default());
    let (app, admin) = gw_app(|_| {}).await;
    let reply = default_reply("hello");
    for provider in PROVIDERS {
        add_key(&app, &admin, key_body(provider, &fake, &format!("secret-{provider}-123456"))).await;
        let model = model_for(provider);
        let openai_wire = !matches!(provider, "anthropic" | "google");
        let mut body = json!({"model": model, "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hello"}], "max_tokens": 50});
        if openai_wire {
            body["x_custom_field"] = json!({"kept": true});
        }
        fake.reset_counters();
        let r = send(&app, &admin, "/v1/chat/completions", &body, &[]).await;
        assert_eq!(r.status(), 200, "{provider}");
        assert_eq!(header(&r, "x-gavel-provider"), provider);
        assert_eq!(header(&r, "x-gavel-cache"), "miss");
        assert_eq!(header(&r, "x-gavel-key-source"), "byok");
        assert_eq!(header(&r, "x-gavel-attempts"), "1");
        assert_eq!(header(&r, "x-request-id").len(), 32);
        assert!(header(&r, "x-gavel-cost-usd").parse::<f64>().is_ok(), "{provider}");
        assert!(header(&r, "x-gavel-overhead-ms").parse::<u64>().is_ok());
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["object"], "chat.completion", "{provider}: {v}");
        assert_eq!(v["choices"][0]["message"]["content"], reply.as_str(), "{provider}: {v}");
        assert_eq!(v["choices"][0]["finish_reason"], "stop", "{provider}");
        assert!(v["usage"]["prompt_tokens"].as_u64().unwrap() > 0, "{provider}: {v}");
        let seen = fake.requests();
        assert_eq!(seen.len(), 1, "{provider}");
        if openai_wire {
            assert_eq!(
                seen[0].body["x_custom_field"],
                json!({"kept": true}),
                "{provider}: unknown fields pass through"
            );
        }
        if provider == "azure_openai" {
            assert!(seen[0].path.starts_with("/openai/deployments/fake-dep/chat/completions"), "{}", seen[0].path);
        }
        // Streamed, with and without the usage chunk.
        for include_usage in [true, false] {
            let mut sbody = body.clone();
            sbody["stream"] = json!(true);
            sbody["stream_options"] = json!({"include_usage": include_usage});
            let r = send(&app, &admin, "/v1/chat/completions", &sbody, &[]).await;
            assert_eq!(r.status(), 200, "{provider}");
            assert!(header(&r, "content-type").starts_with("text/event-stream"));
            assert_eq!(header(&r, "x-gavel-provider"), provider);
            let (chunks, done) = data_frames(&r.text().await.unwrap());
            assert!(done, "{provider}: ends with [DONE]");
            let text: String = chunks.iter().filter_map(|c| c["choices"][0]["delta"]["content"].as_str()).collect();
            assert_eq!(text, reply, "{provider}");
            assert!(chunks.iter().any(|c| c["choices"][0]["finish_reason"] == "stop"), "{provider}");
            let usage: Vec<&Value> =
                chunks.iter().filter(|c| c["choices"].as_array().is_some_and(Vec::is_empty)).collect();
            assert_eq!(usage.len(), usize::from(include_usage), "{provider}: the usage chunk only when asked");
            if include_usage {
                assert!(usage[0]["usage"]["completion_tokens"].as_u64().unwrap() > 0, "{provider}");
            }
        }
    }
}

#[tokio::test]
async fn messages_ingress_in_and_out_in_anthropic_shape() {
    let fake = FakeProvider::start(Knobs::default());
    let (app, admin) = gw_app(|_| {}).await;
    let reply = default_reply("hi there");
    for provider in ["openai", "anthropic", "google"] {
        add_key(&app, &admin, key_body(provider, &fake, "sk-msg-123456789")).await;
        let body = json!({"model": model_for(provider), "max_tokens": 64, "system": "terse", "messages": [{"role": "user", "content": "hi there"}]});
        let r = send(&app, &admin, "/v1/messages", &body, &[]).await;
        assert_eq!(r.status(), 200, "{provider}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["type"], "message", "{provider}: {v}");
        assert_eq!(v["role"], "assistant");
        assert_eq!(v["content"][0]["text"], reply.as_str(), "{provider}: {v}");
        assert_eq!(v["stop_reason"], "end_turn");
        assert!(v["usage"]["output_tokens"].as_u64().unwrap() > 0);
        let mut sbody = body.clone();
        sbody["stream"] = json!(true);
        let r = send(&app, &admin, "/v1/messages", &sbody, &[]).await;
        assert_eq!(r.status(), 200);
        let text = r.text().await.unwrap();
        let events: Vec<&str> = text.lines().filter_map(|l| l.strip_prefix("event: ")).collect();
        assert_eq!(events.first(), Some(&"message_start"), "{provider}: {text}");
        assert_eq!(events.last(), Some(&"message_stop"), "{provider}: {text}");
        let deltas: String = text
            .lines()
            .filter_map(|l| l.strip_prefix("data: "))
            .map(|d| serde_json::from_str::<Value>(d).unwrap())
            .filter(|e| e["type"] == "content_block_delta")
            .map(|e| e["delta"]["text"].as_str().unwrap_or("").to_owned())
            .collect();
        assert_eq!(deltas, reply, "{provider}");
        assert!(text.contains("\"output_tokens\""), "message_delta carries usage: {text}");
    }
    let r =
        send(&app, &admin, "/v1/messages", &json!({"model": "nope-model", "max_tokens": 5, "messages": []}), &[]).await;
    assert_eq!(r.status(), 404);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["type"], "error");
    assert_eq!(v["error"]["type"], "not_found_error");
    assert!(v["error"]["message"].as_str().unwrap().starts_with("BYOK_MODEL_NOT_FOUND"), "{v}");
}

#[tokio::test]
async fn errors_come_in_openai_shape_with_the_contract_code() {
    let fake = FakeProvider::start(Knobs { valid_keys: vec!["sk-good-key-123456".into()], ..Knobs::default() });
    let (app, admin) = gw_app(|_| {}).await;
    let msgs = json!([{"role": "user", "content": "x"}]);
    let check = |v: &Value, code: &str, kind: &str| {
        assert_eq!(v["error"]["code"], code, "{v}");
        assert_eq!(v["error"]["type"], kind, "{v}");
        assert!(v["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{v}");
        assert!(v["error"].as_object().unwrap().contains_key("param"), "{v}");
    };
    let r = send(&app, &admin, "/v1/chat/completions", &json!({"model": "mystery-9000", "messages": msgs}), &[]).await;
    assert_eq!(r.status(), 404);
    assert_eq!(header(&r, "x-request-id").len(), 32, "headers on errors too");
    let v: Value = r.json().await.unwrap();
    check(&v, "BYOK_MODEL_NOT_FOUND", "not_found_error");
    assert_eq!(v["error"]["param"], "model");
    let r =
        send(&app, &admin, "/v1/chat/completions", &json!({"model": "claude-3-5-haiku-latest", "messages": msgs}), &[])
            .await;
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    check(&v, "BYOK_NO_KEY", "invalid_request_error");
    let m = v["error"]["message"].as_str().unwrap();
    assert!(m.contains("claude-3-5-haiku-latest") && m.contains("anthropic"), "names model and provider: {m}");
    let r = send(&app, "gv_unknownkeyunknownkeyunknownkey12", "/v1/chat/completions", &json!({"model": "gpt-4o"}), &[])
        .await;
    assert_eq!(r.status(), 401);
    assert_eq!(header(&r, "x-request-id").len(), 32);
    check(&r.json().await.unwrap(), "UNAUTHENTICATED", "authentication_error");
    let r = send(&app, &admin, "/v1/chat/completions", &json!({"model": 5}), &[]).await;
    assert_eq!(r.status(), 400);
    check(&r.json().await.unwrap(), "VALIDATION_FAILED", "invalid_request_error");
    // The provider rejects the key: summarised, scrubbed, and the key is marked failing.
    let id = add_key(&app, &admin, key_body("openai", &fake, "sk-bad-key-9876543210")).await;
    let r = send(&app, &admin, "/v1/chat/completions", &json!({"model": "gpt-4o-mini", "messages": msgs}), &[]).await;
    assert_eq!(r.status(), 502);
    let text = r.text().await.unwrap();
    assert!(!text.contains("9876543210"), "no secret in the error: {text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    check(&v, "BYOK_AUTH_FAILED", "api_error");
    assert!(v["error"]["message"].as_str().unwrap().contains("401 (invalid_api_key)"), "status and provider code: {v}");
    let (_, k) = app.get(&format!("/v1/byok-keys/{id}"), &admin).await;
    assert_eq!(k["status"], "failing", "{k}");
    fake.reset_counters();
    let r = send(&app, &admin, "/v1/chat/completions", &json!({"model": "gpt-4o-mini", "messages": msgs}), &[]).await;
    assert_eq!(r.status(), 502);
    assert_eq!(fake.calls(), 0, "a failing key is not used again");
    let (_, audit) = app.get("/v1/audit-log", &admin).await;
    assert!(audit.to_string().contains("byok_key.failing"), "{audit}");
    assert!(!audit.to_string().contains("9876543210"));
}

#[tokio::test]
async fn identical_requests_are_cached_per_org_only() {
    let fake = FakeProvider::start(Knobs::default());
    let (app, admin_a) = gw_app(|_| {}).await;
    let (_, admin_b) = app.org("other").await;
    add_key(&app, &admin_a, key_body("openai", &fake, "sk-org-a-123456")).await;
    add_key(&app, &admin_b, key_body("openai", &fake, "sk-org-b-123456")).await;
    let body = json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "cache me"}], "temperature": 0});
    let first = send(&app, &admin_a, "/v1/chat/completions", &body, &[]).await;
    assert_eq!(header(&first, "x-gavel-cache"), "miss");
    let first: Value = first.json().await.unwrap();
    logged(&app, &admin_a, 1).await;
    let hit = send(&app, &admin_a, "/v1/chat/completions", &body, &[]).await;
    assert_eq!(header(&hit, "x-gavel-cache"), "hit");
    assert_eq!(header(&hit, "x-gavel-cost-usd"), "0.000000");
    assert_eq!(hit.json::<Value>().await.unwrap(), first, "the same answer");
    assert_eq!(fake.calls(), 1);
    let skipped = send(&app, &admin_a, "/v1/chat/completions", &body, &[("cache-control", "no-cache")]).await;
    assert_eq!(header(&skipped, "x-gavel-cache"), "miss", "no-cache skips the read");
    assert_eq!(fake.calls(), 2);
    let other_org = send(&app, &admin_b, "/v1/chat/completions", &body, &[]).await;
    assert_eq!(header(&other_org, "x-gavel-cache"), "miss", "never across orgs");
    assert_eq!(fake.calls(), 3);
    let fresh = json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "do not keep"}]});
    send(&app, &admin_a, "/v1/chat/completions", &fresh, &[("cache-control", "no-store")]).await;
    logged(&app, &admin_a, 4).await;
    let again = send(&app, &admin_a, "/v1/chat/completions", &fresh, &[]).await;
    assert_eq!(header(&again, "x-gavel-cache"), "miss", "no-store skipped the write");
    // A streamed request is never answered from cache.
    let mut streamed = body.clone();
    streamed["stream"] = json!(true);
    let s = send(&app, &admin_a, "/v1/chat/completions", &streamed, &[]).await;
    assert_eq!(header(&s, "x-gavel-cache"), "miss");
    let _ = s.text().await;
}

#[tokio::test]
async fn retryable_failures_fall_back_to_the_next_alias_target() {
    let broken = FakeProvider::start(Knobs { p_429: 1.0, ..Knobs::default() });
    let good = FakeProvider::start(Knobs::default());
    let (app, admin) = gw_app(|c| c.gateway.max_retries = 2).await;
    let k1 = add_key(&app, &admin, key_body("openai_compatible", &broken, "sk-broken-123456")).await;
    let k2 = add_key(&app, &admin, key_body("openai_compatible", &good, "sk-good-1234567")).await;
    let alias = json!({"model_aliases": {"smart": [
        {"provider": "openai_compatible", "model": "m1", "key_id": k1},
        {"provider": "openai_compatible", "model": "m2", "key_id": k2}]}});
    let (s, v) = app.patch("/v1/org/settings", &admin, alias).await;
    assert_eq!(s, 200, "{v}");
    let body = json!({"model": "smart", "messages": [{"role": "user", "content": "x"}]});
    for knobs in [Knobs { p_429: 1.0, ..Knobs::default() }, Knobs { p_500: 1.0, ..Knobs::default() }] {
        broken.set_knobs(knobs);
        broken.reset_counters();
        let r = send(&app, &admin, "/v1/chat/completions", &body, &[("cache-control", "no-cache")]).await;
        assert_eq!(r.status(), 200);
        assert_eq!(header(&r, "x-gavel-attempts"), "4", "3 tries of the first target, then the second");
        assert_eq!(header(&r, "x-gavel-model"), "m2");
        assert_eq!(broken.calls(), 3);
    }
    // Every target failing: the last failure, summarised.
    good.set_knobs(Knobs { p_500: 1.0, ..Knobs::default() });
    let r = send(&app, &admin, "/v1/chat/completions", &body, &[("cache-control", "no-cache")]).await;
    assert_eq!(r.status(), 502);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "BYOK_PROVIDER_ERROR", "{v}");
    // A Retry-After longer than gateway.max_retry_wait_s moves on at once.
    good.set_knobs(Knobs::default());
    broken.set_knobs(Knobs { p_429: 1.0, retry_after_s: Some(3600), ..Knobs::default() });
    broken.reset_counters();
    let r = send(&app, &admin, "/v1/chat/completions", &body, &[("cache-control", "no-cache")]).await;
    assert_eq!(r.status(), 200);
    assert_eq!(broken.calls(), 1);
}

#[tokio::test]
async fn a_client_hanging_up_mid_stream_cancels_the_upstream_request() {
    let fake = FakeProvider::start(Knobs {
        stream_delay: Duration::from_millis(300),
        reply: std::sync::Arc::new(|_| "a long answer that is streamed slowly in pieces".into()),
        ..Knobs::default()
    });
    let (app, admin) = gw_app(|_| {}).await;
    add_key(&app, &admin, key_body("anthropic", &fake, "sk-ant-stream-123456")).await;
    let body =
        json!({"model": "claude-3-5-haiku-latest", "stream": true, "messages": [{"role": "user", "content": "x"}]});
    let mut r = send(&app, &admin, "/v1/chat/completions", &body, &[]).await;
    assert_eq!(r.status(), 200);
    let first = r.chunk().await.unwrap().unwrap();
    assert!(String::from_utf8_lossy(&first).starts_with("data: "), "chunks arrive as they come");
    drop(r);
    for _ in 0..100 {
        if fake.cancelled_streams() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(fake.cancelled_streams(), 1, "the upstream request was dropped");
    let rows = logged(&app, &admin, 1).await;
    assert_eq!(rows[0]["status"], 499, "{}", rows[0]);
}

#[tokio::test]
async fn a_stream_cut_short_ends_with_an_error_frame() {
    let fake = FakeProvider::start(Knobs { stream_cut_after: Some(3), ..Knobs::default() });
    let (app, admin) = gw_app(|_| {}).await;
    for provider in ["openai", "anthropic"] {
        add_key(&app, &admin, key_body(provider, &fake, "sk-cut-123456789")).await;
    }
    // Pass-through (no finish_reason, no [DONE]) and translated (no message_stop) streams.
    for (i, model) in ["gpt-4o-mini", "claude-3-5-haiku-latest"].into_iter().enumerate() {
        let body = json!({"model": model, "stream": true, "messages": [{"role": "user", "content": "x"}]});
        let r = send(&app, &admin, "/v1/chat/completions", &body, &[]).await;
        assert_eq!(r.status(), 200, "the stream had started");
        let (frames, done) = data_frames(&r.text().await.unwrap());
        assert!(!done, "{model}: no [DONE] after a failure");
        let last = frames.last().unwrap();
        assert_eq!(last["error"]["code"], "BYOK_PROVIDER_ERROR", "{model}: {last}");
        let rows = logged(&app, &admin, i + 1).await;
        assert_eq!(rows[0]["error_code"], "BYOK_PROVIDER_ERROR", "{}", rows[0]);
        assert_eq!(rows[0]["status"], 502);
    }
}

#[tokio::test]
async fn the_request_log_and_usage_record_calls_without_text_or_secrets() {
    let fake = FakeProvider::start(Knobs::default());
    let (app, admin) = gw_app(|_| {}).await;
    add_key(&app, &admin, key_body("openai", &fake, "sk-logsecret-123456789")).await;
    let (_, project) = app.post("/v1/projects", &admin, json!({"name": "web"})).await;
    assert!(project["id"].is_string());
    let body = json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "PROMPT-TEXT-42"}]});
    for _ in 0..3 {
        let r = send(
            &app,
            &admin,
            "/v1/chat/completions",
            &body,
            &[("x-gavel-project", "web"), ("cache-control", "no-cache")],
        )
        .await;
        assert_eq!(r.status(), 200);
    }
    let rows = logged(&app, &admin, 3).await;
    let last = send(&app, &admin, "/v1/chat/completions", &body, &[]).await;
    let rid = header(&last, "x-request-id");
    let rows_now = logged(&app, &admin, 4).await;
    assert_eq!(rows_now[0]["request_id"], rid.as_str(), "the log names the answer's x-request-id");
    assert_eq!(rows_now[0]["cache"], "hit");
    let text = serde_json::to_string(&rows).unwrap();
    assert!(!text.contains("PROMPT-TEXT-42") && !text.contains("looks right"), "no prompt or completion: {text}");
    assert!(!text.contains("logsecret"), "no secret: {text}");
    let row = &rows[0];
    for field in [
        "provider",
        "model",
        "status",
        "input_tokens",
        "output_tokens",
        "cost_usd",
        "latency_ms",
        "overhead_ms",
        "cache",
        "attempts",
        "api_key_id",
    ] {
        assert!(!row[field].is_null(), "{field} in {row}");
    }
    assert_eq!(row["project"], "web");
    assert_eq!(row["provider"], "openai");
    assert!(row["cost_usd"].as_f64().unwrap() > 0.0, "gpt-4o-mini has a price");
    let (s, page) = app.get("/v1/gateway/requests?limit=3", &admin).await;
    assert_eq!(s, 200);
    let cursor = page["next_cursor"].as_str().unwrap().to_owned();
    let (_, rest) = app.get(&format!("/v1/gateway/requests?limit=3&cursor={cursor}"), &admin).await;
    assert_eq!(rest["items"].as_array().unwrap().len(), 1);
    assert!(rest["next_cursor"].is_null());
    let (s, usage) = app.get("/v1/usage", &admin).await;
    assert_eq!(s, 200, "{usage}");
    assert_eq!(usage["by_source"]["gateway"]["calls"], 3, "{usage}");
    assert_eq!(usage["by_source"]["gateway"]["cache_hits"], 1, "{usage}");
    assert_eq!(usage["by_source"]["judge"]["calls"], 0, "{usage}");
    assert!(usage["items"].as_array().unwrap().iter().any(|r| r["source"] == "gateway"));
    let metrics = app.client.get(format!("{}/metrics", app.base)).send().await.unwrap().text().await.unwrap();
    let line = |name: &str| metrics.lines().find(|l| l.starts_with(name) && l.contains("openai")).map(str::to_owned);
    assert!(
        line("gavel_gateway_upstream_calls_total{").is_some_and(|l| l.contains("ok") && l.ends_with(" 3")),
        "{metrics}"
    );
    assert!(metrics.contains("gavel_gateway_overhead_seconds_count 4"), "{metrics}");
    assert!(metrics
        .lines()
        .any(|l| l.starts_with("gavel_gateway_requests_total{") && l.contains("hit") && l.ends_with(" 1")));
}

#[tokio::test]
async fn models_lists_what_the_org_can_reach() {
    let fake = FakeProvider::start(Knobs::default());
    let (app, admin) = gw_app(|c| {
        c.gateway.models.insert(
            "house-fast".into(),
            vec![gavel::domain::ModelTarget {
                provider: gavel::domain::Provider::Openai,
                model: "gpt-4o-mini".into(),
                key_id: None,
            }],
        );
        c.gateway.models.insert(
            "house-gemini".into(),
            vec![gavel::domain::ModelTarget {
                provider: gavel::domain::Provider::Google,
                model: "gemini-2.0-flash".into(),
                key_id: None,
            }],
        );
    })
    .await;
    add_key(&app, &admin, key_body("openai", &fake, "sk-models-123456")).await;
    let (s, v) = app.get("/v1/models", &admin).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["object"], "list");
    let ids: Vec<&str> = v["data"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap()).collect();
    for m in v["data"].as_array().unwrap() {
        assert_eq!(m["object"], "model");
        assert!(m["created"].is_i64() && m["owned_by"].is_string(), "{m}");
    }
    assert!(
        ids.contains(&"gpt-4o-mini") && ids.contains(&"openai/fake-model") && ids.contains(&"house-fast"),
        "{ids:?}"
    );
    assert!(!ids.iter().any(|i| i.starts_with("gemini") || i.starts_with("claude")), "no key, no model: {ids:?}");
    assert!(!ids.contains(&"house-gemini"), "{ids:?}");
    let r = send(
        &app,
        &admin,
        "/v1/chat/completions",
        &json!({"model": "house-fast", "messages": [{"role": "user", "content": "x"}]}),
        &[],
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "x-gavel-model"), "gpt-4o-mini");
}

#[tokio::test]
async fn embeddings_pass_through_and_through_gemini() {
    let fake = FakeProvider::start(Knobs::default());
    let (app, admin) = gw_app(|_| {}).await;
    add_key(&app, &admin, key_body("openai", &fake, "sk-emb-123456")).await;
    add_key(&app, &admin, key_body("google", &fake, "goog-emb-123456")).await;
    for model in ["text-embedding-3-small", "text-embedding-004"] {
        let r = send(&app, &admin, "/v1/embeddings", &json!({"model": model, "input": ["a", "b"]}), &[]).await;
        assert_eq!(r.status(), 200, "{model}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["object"], "list", "{v}");
        assert_eq!(v["data"].as_array().unwrap().len(), 2, "{v}");
        assert_eq!(v["data"][1]["index"], 1);
        assert!(v["data"][0]["embedding"].as_array().unwrap().len() == 3, "{v}");
    }
    let paths: Vec<String> = fake.requests().iter().map(|r| r.path.clone()).collect();
    assert!(paths[0].ends_with("/v1/embeddings"), "{paths:?}");
    assert!(paths[1].contains(":batchEmbedContents"), "{paths:?}");
}
