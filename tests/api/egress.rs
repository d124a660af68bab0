//! The destination policy (`providers.allowed_hosts`): loopback and private destinations only when listed,
//! metadata addresses and gavel's own address never, checked when a key is saved and again at connection time.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};

use crate::support::fake_provider::{FakeProvider, Knobs};
use crate::support::{assert_error, spawn_app_with, start};
use gavel::providers::DestinationPolicy;

fn compat(base_url: &str) -> Value {
    json!({"provider": "openai_compatible", "name": "local", "key": "sk-local-abcdefgh", "base_url": base_url, "default_model": "fake-model"})
}

fn refused_naming(s: u16, v: &Value, field: &str, says: &str) {
    assert_error(s, v, 400, "VALIDATION_FAILED");
    assert_eq!(v["error"]["details"]["field"], field, "{v}");
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(msg.contains(says), "{msg}");
}

#[tokio::test]
async fn loopback_is_refused_at_creation_unless_listed() {
    let fake = FakeProvider::start(Knobs::default());
    let port = fake.base.rsplit(':').next().unwrap().to_owned();
    let app = spawn_app_with(|c| c.providers.allowed_hosts.clear()).await;
    let (_, admin) = app.org("acme").await;
    for base in [format!("{}/v1", fake.base), format!("http://localhost:{port}/v1"), "http://[::1]:8000/v1".into()] {
        let (s, v) = app.post("/v1/byok-keys", &admin, compat(&base)).await;
        refused_naming(s, &v, "base_url", "providers.allowed_hosts");
    }
    let azure = json!({"provider": "azure_openai", "name": "az", "key": "k1234567", "endpoint": "http://10.1.2.3",
        "deployment": "d", "api_version": "2024-10-21"});
    let (s, v) = app.post("/v1/byok-keys", &admin, azure).await;
    refused_naming(s, &v, "endpoint", "private address");
    let (s, v) = app
        .post(
            "/v1/byok-keys",
            &admin,
            json!({"provider": "openai", "name": "pub", "key": "sk-abcdefgh",
        "base_url": "https://203.0.113.7/v1"}),
        )
        .await;
    assert_eq!(s, 201, "a public address is allowed by default: {v}");
    let id = v["id"].as_str().unwrap();
    let (s, v) =
        app.patch(&format!("/v1/byok-keys/{id}"), &admin, json!({"base_url": "http://192.168.0.10:8000/v1"})).await;
    refused_naming(s, &v, "base_url", "providers.allowed_hosts");
    let run = json!({"dataset": [{"input": "q", "output": "a"}], "scorers": ["relevance"],
        "provider_key": {"provider": "openai_compatible", "key": "sk-local-abcdefgh", "base_url": format!("{}/v1", fake.base)}});
    let (s, v) = app.post("/v1/projects/p/runs", &admin, run).await;
    refused_naming(s, &v, "provider_key.base_url", "providers.allowed_hosts");
}

#[tokio::test]
async fn metadata_and_own_address_are_refused_even_when_listed() {
    let app = spawn_app_with(|c| {
        c.providers.allowed_hosts.extend(["169.254.0.0/16".to_string(), "fd00::/8".into(), "100.64.0.0/10".into()]);
    })
    .await;
    let (_, admin) = app.org("acme").await;
    for base in [
        "http://169.254.169.254/latest",
        "http://[fd00:ec2::254]/v1",
        "http://100.100.100.200/v1",
        "http://0.0.0.0:8000/v1",
    ] {
        let (s, v) = app.post("/v1/byok-keys", &admin, compat(base)).await;
        refused_naming(s, &v, "base_url", "never allowed");
    }
    let own = format!("{}/v1", app.base);
    let (s, v) = app.post("/v1/byok-keys", &admin, compat(&own)).await;
    refused_naming(s, &v, "base_url", "gavel's own listen address");
    let own_by_name = own.replace("127.0.0.1", "localhost");
    let (s, v) = app.post("/v1/byok-keys", &admin, compat(&own_by_name)).await;
    refused_naming(s, &v, "base_url", "gavel's own listen address");
}

/// A key saved while loopback was listed, then the listing removed: the call is refused at connection time with
/// `BYOK_ENDPOINT_UNREACHABLE` and the policy's reason, and the fake provider never sees a request.
#[tokio::test]
async fn a_stored_key_is_refused_at_connect_time_after_the_listing_goes() {
    let fake = FakeProvider::start(Knobs::default());
    let port = fake.base.rsplit(':').next().unwrap().to_owned();
    let mut app = spawn_app_with(|_| {}).await;
    let (_, admin) = app.org("acme").await;
    let (s, k) = app.post("/v1/byok-keys", &admin, compat(&format!("http://localhost:{port}/v1"))).await;
    assert_eq!(s, 201, "{k}");
    let id = k["id"].as_str().unwrap().to_owned();
    let (s, t) = app.post(&format!("/v1/byok-keys/{id}/test"), &admin, json!({})).await;
    assert_eq!((s, &t["ok"]), (200, &json!(true)), "listed: reachable by name: {t}");
    let calls = fake.calls();
    let dir = app.stop().await;
    let mut cfg = app.config.clone();
    cfg.providers.allowed_hosts.clear();
    let app = start(cfg, Some(app.admin_key.clone())).await;
    let (s, t) = app.post(&format!("/v1/byok-keys/{id}/test"), &admin, json!({})).await;
    assert_eq!((s, &t["ok"]), (200, &json!(false)), "{t}");
    assert_eq!(t["error"]["code"], "BYOK_ENDPOINT_UNREACHABLE", "{t}");
    let msg = t["error"]["message"].as_str().unwrap();
    assert!(msg.contains("destination policy") && msg.contains("providers.allowed_hosts"), "{msg}");
    let r = app
        .client
        .post(format!("{}/v1/chat/completions", app.base))
        .bearer_auth(&admin)
        .json(&json!({"model": "openai_compatible/fake-model", "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "BYOK_ENDPOINT_UNREACHABLE", "the gateway is covered too: {body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("destination policy"), "{body}");
    assert_eq!(fake.calls(), calls, "no request reached the refused destination");
    drop(dir);
}

/// Both client factories resolve names through the policy: a request that skips gavel's URL check (straight on the
/// client) still cannot connect to a name that resolves to a refused address.
#[tokio::test]
async fn the_clients_resolver_refuses_names_resolving_to_refused_addresses() {
    let fake = FakeProvider::start(Knobs::default());
    let port = fake.base.rsplit(':').next().unwrap().to_owned();
    let policy = Arc::new(DestinationPolicy::new(&[]).unwrap());
    let judge = gavel::providers::http_client(Duration::from_secs(2), Duration::from_secs(5), policy.clone()).unwrap();
    let gateway =
        gavel::providers::gateway::streaming_client(Duration::from_secs(2), Duration::from_secs(5), policy).unwrap();
    for client in [judge.http(), gateway.http()] {
        let e = client.get(format!("http://localhost:{port}/v1/models")).send().await.unwrap_err();
        let chain = std::iter::successors(std::error::Error::source(&e), |s| s.source())
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
            .join(": ");
        assert!(e.is_connect(), "{e}: {chain}");
        assert!(chain.contains("destination policy"), "{chain}");
    }
    assert_eq!(fake.calls(), 0);
    let listed = Arc::new(DestinationPolicy::new(&["localhost".into()]).unwrap());
    let client = gavel::providers::http_client(Duration::from_secs(2), Duration::from_secs(5), listed).unwrap();
    let r = client.http().post(format!("http://localhost:{port}/v1/chat/completions")).json(&json!({})).send().await;
    assert!(r.is_ok(), "a listed name connects: {r:?}");
}

/// An upstream that answers every request with `status` and `body` (then closes), for error-body tests.
fn canned_upstream(status: u16, content_type: &'static str, body: String) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for conn in listener.incoming().take(64) {
            let Ok(mut conn) = conn else { continue };
            let mut seen = Vec::new();
            let mut buf = [0u8; 4096];
            while let Ok(n) = conn.read(&mut buf) {
                if n == 0 {
                    break;
                }
                seen.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&seen).to_lowercase();
                if let Some(end) = text.find("\r\n\r\n") {
                    let len = text
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:").map(|v| v.trim().parse::<usize>().unwrap_or(0)))
                        .unwrap_or(0);
                    if seen.len() >= end + 4 + len {
                        break;
                    }
                }
            }
            let head = format!(
                "HTTP/1.1 {status} Oops\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            );
            let _ = conn.write_all(head.as_bytes()).and_then(|_| conn.write_all(body.as_bytes()));
        }
    });
    base
}

/// An upstream's error page (an internal service behind a `base_url`, say) comes back as status, provider code and
/// a bounded, scrubbed summary: never the page, never a secret it holds, in a key test, a score or a gateway error.
#[tokio::test]
async fn upstream_error_bodies_are_summarised_never_reflected() {
    let planted = "AKIAZXCVBNMASDFGHJKL";
    let internal = "internal-only-row-marker";
    let html = format!(
        "<html><head><title>Jenkins admin</title></head><body>{}<pre>AWS_ACCESS_KEY_ID={planted}</pre>{}</body></html>",
        format!("<tr><td>{internal}</td></tr>").repeat(500),
        "more page text ".repeat(1000)
    );
    let json_body = json!({"error": {"code": "upstream_exploded", "message":
        format!("token ghp_abcdefghij0123456789ABCDEFGHIJ012345 then {} {planted}", "filler ".repeat(400))}})
    .to_string();
    let app = spawn_app_with(|_| {}).await;
    for (i, (ct, body, code)) in
        [("text/html", html, None), ("application/json", json_body, Some("(upstream_exploded)"))]
            .into_iter()
            .enumerate()
    {
        let base = canned_upstream(502, ct, body);
        let (_, admin) = app.org(&format!("org{i}")).await;
        let (s, k) = app.post("/v1/byok-keys", &admin, compat(&format!("{base}/v1"))).await;
        assert_eq!(s, 201, "{k}");
        let id = k["id"].as_str().unwrap().to_owned();
        let (_, t) = app.post(&format!("/v1/byok-keys/{id}/test"), &admin, json!({})).await;
        let msg = t["error"]["message"].as_str().unwrap().to_owned();
        let r = app
            .client
            .post(format!("{}/v1/chat/completions", app.base))
            .bearer_auth(&admin)
            .json(&json!({"model": "openai_compatible/fake-model", "messages": [{"role": "user", "content": "hi"}]}))
            .send()
            .await
            .unwrap();
        let gw: Value = r.json().await.unwrap();
        let gw_msg = gw["error"]["message"].as_str().unwrap().to_owned();
        for m in [&msg, &gw_msg] {
            assert!(m.contains("answered 502"), "{m}");
            for leaked in [planted, "ghp_abcdefghij", "<", "Jenkins admin</title>"] {
                assert!(!m.contains(leaked), "{leaked} reflected: {m}");
            }
            assert!(m.matches(internal).count() <= 10, "bounded: {m}");
            assert!(m.chars().count() <= 300, "{} chars: {m}", m.chars().count());
            if let Some(code) = code {
                assert!(m.contains(code), "{m}");
            }
        }
    }
}
