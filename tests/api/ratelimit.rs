//! API rate limits end to end: per-key buckets answer 429 RATE_LIMITED with Retry-After in the contract's shape,
//! failed authentication is throttled per client address, and the health endpoints are never limited.

use futures_util::future::join_all;
use serde_json::Value;

use crate::support::{assert_error, spawn_app_with};

#[tokio::test]
async fn a_key_over_its_burst_gets_429_with_retry_after() {
    let app = spawn_app_with(|c| {
        c.limits.requests_per_s_per_key = 1.0;
        c.limits.burst_per_key = 5;
    })
    .await;
    let (_, admin) = app.org("acme").await;
    let (_, other) = app.api_key(&admin, "member").await;
    let calls = (0..8).map(|_| app.client.get(format!("{}/v1/projects", app.base)).header("x-api-key", &admin).send());
    let answers = join_all(calls).await;
    let statuses: Vec<u16> = answers.iter().map(|r| r.as_ref().unwrap().status().as_u16()).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        4,
        "a burst of 5, one spent creating the key: {statuses:?}"
    );
    let limited = answers.into_iter().map(|r| r.unwrap()).find(|r| r.status() == 429).unwrap();
    let retry: u64 = limited.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=2).contains(&retry), "{retry}");
    let body: Value = limited.json().await.unwrap();
    assert_error(429, &body, 429, "RATE_LIMITED");
    assert!(body["error"]["message"].as_str().unwrap().contains("limits.requests_per_s_per_key"), "{body}");
    let (s, _) = app.get("/v1/projects", &other).await;
    assert_eq!(s, 200, "another key of the org has its own bucket");
    let r = app
        .client
        .post(format!("{}/v1/chat/completions", app.base))
        .bearer_auth(&admin)
        .json(&serde_json::json!({"model": "gpt-4o-mini", "messages": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429, "the gateway passes the same bucket");
    assert!(r.headers().get("retry-after").is_some());
    for path in ["/healthz", "/readyz", "/metrics"] {
        for _ in 0..10 {
            let s = app.client.get(format!("{}{path}", app.base)).send().await.unwrap().status();
            assert_eq!(s, 200, "{path} is not limited");
        }
    }
}

#[tokio::test]
async fn failed_authentication_is_throttled_per_client_address() {
    let app = spawn_app_with(|c| c.limits.auth_failures_per_min_per_ip = 10).await;
    let (_, admin) = app.org("acme").await;
    let wrong = format!("gv_{}", "A".repeat(40));
    for i in 0..10 {
        let (s, v) = app.get("/v1/projects", &wrong).await;
        assert_error(s, &v, 401, "UNAUTHENTICATED");
        let _ = i;
    }
    let r = app.client.get(format!("{}/v1/projects", app.base)).header("x-api-key", &wrong).send().await.unwrap();
    assert_eq!(r.status(), 429);
    let retry: u64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=6).contains(&retry), "one failure more every 6 s: {retry}");
    let body: Value = r.json().await.unwrap();
    assert_error(429, &body, 429, "RATE_LIMITED");
    assert!(body["error"]["message"].as_str().unwrap().contains("limits.auth_failures_per_min_per_ip"));
    let (s, _) = app.get("/v1/projects", &admin).await;
    assert_eq!(s, 429, "the throttled address waits, even with a good key");
    // Another client address is not affected: the server also listens on the IPv4 loopback only, so reach it from
    // another loopback address.
    let other =
        reqwest::Client::builder().local_address("127.0.0.2".parse::<std::net::IpAddr>().unwrap()).build().unwrap();
    let r = other.get(format!("{}/v1/projects", app.base)).header("x-api-key", &admin).send().await.unwrap();
    assert_eq!(r.status(), 200, "a good key from another address still works");
}
