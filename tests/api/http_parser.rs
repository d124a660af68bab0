//! What clients get for requests the HTTP parser refuses before any handler runs, and `Allow` on 405s.
//!
//! actix-http answers an oversized head (over its fixed 128 KiB read buffer), more than 96 headers and broken
//! framing itself, with an empty body, and offers no hook to shape those answers; these tests pin down exactly
//! what it sends (documented in docs/api.md), and that heads below that bound reach gavel and get the contract's
//! JSON.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use reqwest::Method;
use serde_json::Value;

use crate::support::{assert_error, spawn_app};

/// Sends `raw` and reads the answer until the server closes or goes quiet; (status, headers, body).
fn exchange(port: u16, raw: &[u8]) -> (u16, String, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let _ = s.write_all(raw);
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    while let Ok(n) = s.read(&mut chunk) {
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf);
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let len = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse().unwrap_or(0))
                })
                .unwrap_or(0usize);
            if body.len() >= len {
                break;
            }
        }
    }
    let text = String::from_utf8_lossy(&buf).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, head.to_ascii_lowercase(), body.to_owned())
}

#[tokio::test]
async fn parser_level_refusals() {
    let app = spawn_app().await;
    let port: u16 = app.base.rsplit(':').next().unwrap().parse().unwrap();
    let result = tokio::task::spawn_blocking(move || {
        // A 70 KiB header is under actix's read buffer: it reaches gavel, which answers in the contract's shape.
        let big = format!(
            "GET /v1/projects HTTP/1.1\r\nhost: x\r\nx-filler: {}\r\nconnection: close\r\n\r\n",
            "a".repeat(70 * 1024)
        );
        let seventy = exchange(port, big.as_bytes());
        // Over 128 KiB: actix answers 431 itself, with no body.
        let huge = format!("GET /v1/projects HTTP/1.1\r\nhost: x\r\nx-filler: {}\r\n\r\n", "a".repeat(140 * 1024));
        let oversized = exchange(port, huge.as_bytes());
        // More than 96 headers: actix answers 431 itself; a contradictory framing (two lengths): 400; no bodies.
        let many: String = (0..120).map(|i| format!("x-h{i}: v\r\n")).collect();
        let too_many = exchange(port, format!("GET /healthz HTTP/1.1\r\nhost: x\r\n{many}\r\n").as_bytes());
        let framing = exchange(
            port,
            b"POST /v1/projects HTTP/1.1\r\nhost: x\r\ncontent-length: 5\r\ncontent-length: 7\r\n\r\nhello",
        );
        (seventy, oversized, too_many, framing)
    })
    .await
    .unwrap();
    let (seventy, oversized, too_many, framing) = result;
    assert_eq!(seventy.0, 401, "{seventy:?}");
    let v: Value = serde_json::from_str(&seventy.2).unwrap();
    assert_error(401, &v, 401, "UNAUTHENTICATED");
    assert_eq!((oversized.0, oversized.2.as_str()), (431, ""), "actix's own 431: {oversized:?}");
    assert_eq!((too_many.0, too_many.2.as_str()), (431, ""), "actix's own 431: {too_many:?}");
    assert_eq!((framing.0, framing.2.as_str()), (400, ""), "actix's own 400: {framing:?}");
}

#[tokio::test]
async fn method_not_allowed_names_the_allowed_methods() {
    let app = spawn_app().await;
    let (_, admin) = app.org("acme").await;
    for (method, path, allow) in [
        (Method::PUT, "/v1/projects", "GET, POST"),
        (Method::POST, "/v1/byok-keys/pk_x", "GET, PATCH, DELETE"),
        (Method::POST, "/healthz", "GET"),
    ] {
        let r = app
            .client
            .request(method.clone(), format!("{}{path}", app.base))
            .header("x-api-key", &admin)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 405, "{method} {path}");
        assert_eq!(r.headers().get("allow").and_then(|v| v.to_str().ok()), Some(allow), "{method} {path}");
        let v: Value = r.json().await.unwrap();
        assert_error(405, &v, 405, "METHOD_NOT_ALLOWED");
    }
}
