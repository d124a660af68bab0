use reqwest::Method;
use serde_json::{json, Value};

use crate::support::{assert_error, spawn_app, spawn_app_with};

async fn raw(
    app: &crate::support::TestApp,
    method: Method,
    path: &str,
    key: Option<&str>,
    ct: Option<&str>,
    body: Vec<u8>,
) -> (u16, Value) {
    let mut rb = app.client.request(method, format!("{}{}", app.base, path)).body(body);
    if let Some(k) = key {
        rb = rb.header("X-API-Key", k);
    }
    if let Some(c) = ct {
        rb = rb.header("content-type", c);
    }
    let r = rb.send().await.unwrap();
    let s = r.status().as_u16();
    let t = r.text().await.unwrap();
    (s, serde_json::from_str(&t).unwrap_or_else(|_| panic!("not JSON ({s}): {t:?}")))
}

#[tokio::test]
async fn malformed_bodies_get_the_error_shape() {
    let app = spawn_app().await;
    let (_, admin) = app.org("acme").await;
    let json_ct = Some("application/json");
    let (s, v) = raw(&app, Method::POST, "/v1/projects", Some(&admin), json_ct, b"{\"name\":".to_vec()).await;
    assert_error(s, &v, 400, "VALIDATION_FAILED");
    let (s, v) = raw(&app, Method::POST, "/v1/projects", Some(&admin), json_ct, b"[1,2]".to_vec()).await;
    assert_error(s, &v, 400, "VALIDATION_FAILED");
    let (s, v) =
        raw(&app, Method::POST, "/v1/projects", Some(&admin), json_ct, b"{\"name\":\"x\",\"extra\":1}".to_vec()).await;
    assert_error(s, &v, 400, "VALIDATION_FAILED");
    assert!(v["error"]["message"].as_str().unwrap().contains("extra"), "{v}");
    let (s, v) =
        raw(&app, Method::POST, "/v1/projects", Some(&admin), Some("text/plain"), b"{\"name\":\"x\"}".to_vec()).await;
    assert_error(s, &v, 415, "UNSUPPORTED_MEDIA_TYPE");
    let (s, v) = raw(&app, Method::POST, "/v1/projects", Some(&admin), None, b"{\"name\":\"x\"}".to_vec()).await;
    assert_error(s, &v, 415, "UNSUPPORTED_MEDIA_TYPE");
    let (s, v) = raw(&app, Method::POST, "/v1/projects", Some(&admin), json_ct, vec![0xff, 0xfe, 0x00]).await;
    assert_error(s, &v, 400, "VALIDATION_FAILED");
    let (s, v) = app.post("/v1/api-keys", &admin, json!({"name": "x", "role": "owner"})).await;
    assert_error(s, &v, 400, "VALIDATION_FAILED");
}

#[tokio::test]
async fn oversized_bodies_are_413() {
    let app = spawn_app_with(|c| c.server.max_body_bytes = 4096).await;
    let (_, admin) = app.org("acme").await;
    let big = format!("{{\"name\":\"{}\"}}", "a".repeat(10_000));
    let (s, v) =
        raw(&app, Method::POST, "/v1/projects", Some(&admin), Some("application/json"), big.into_bytes()).await;
    assert_error(s, &v, 413, "PAYLOAD_TOO_LARGE");
    // Chunked, with no Content-Length.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = (0..20).map(|_| Ok(vec![b' '; 1024])).collect();
    let body = reqwest::Body::wrap_stream(futures_util::stream::iter(chunks));
    let r = app
        .client
        .post(format!("{}/v1/projects", app.base))
        .header("X-API-Key", &admin)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 413);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "PAYLOAD_TOO_LARGE");
}

#[tokio::test]
async fn unknown_routes_and_wrong_methods() {
    let app = spawn_app().await;
    let (_, admin) = app.org("acme").await;
    let (s, v) = app.get("/v1/nothing-here", &admin).await;
    assert_error(s, &v, 404, "NOT_FOUND");
    let (s, v) = app.json(Method::POST, "/nothing", None, Some(json!({}))).await;
    assert_error(s, &v, 404, "NOT_FOUND");
    let (s, v) = app.json(Method::PUT, "/v1/projects", Some(&admin), Some(json!({}))).await;
    assert_error(s, &v, 405, "METHOD_NOT_ALLOWED");
    let (s, v) = app.json(Method::DELETE, "/v1/orgs", Some(&admin), None).await;
    assert_error(s, &v, 405, "METHOD_NOT_ALLOWED");
    let (s, v) = app.json(Method::POST, "/healthz", None, None).await;
    assert_error(s, &v, 405, "METHOD_NOT_ALLOWED");
}

/// A schema over `runs.max_schema_bytes` or `runs.max_schema_patterns` is refused before it is compiled, as a stored
/// scorer and inline in a run, with the key named; one within them is stored and scores.
#[tokio::test]
async fn oversized_schemas_are_refused_naming_the_limit() {
    let app = spawn_app_with(|c| {
        c.runs.max_schema_bytes = 4096;
        c.runs.max_schema_patterns = 10;
    })
    .await;
    let admin = app.org_with_project("acme", "web").await;
    let big = json!({"type": "object", "description": "x".repeat(5000)});
    let patterns: serde_json::Map<String, Value> =
        (0..11).map(|i| (format!("p{i}"), json!({"type": "string", "pattern": format!("^a{i}")}))).collect();
    let many = json!({"type": "object", "properties": patterns});
    for (schema, key) in [(&big, "runs.max_schema_bytes"), (&many, "runs.max_schema_patterns")] {
        let body = json!({"name": "shape", "type": "json_schema", "config": {"schema": schema}});
        let (s, v) = app.post("/v1/projects/web/scorers", &admin, body).await;
        assert_error(s, &v, 400, "VALIDATION_FAILED");
        assert!(v["error"]["message"].as_str().unwrap().contains(key), "{v}");
        let run = json!({"dataset": [{"input": "q", "output": "{}"}],
                         "scorers": [{"type": "json_schema", "config": {"schema": schema}}]});
        let (s, v) = app.post("/v1/projects/web/runs", &admin, run).await;
        assert_error(s, &v, 400, "VALIDATION_FAILED");
        assert!(v["error"]["message"].as_str().unwrap().contains(key), "{v}");
    }
    let ok = json!({"name": "shape", "type": "json_schema", "config": {"schema": {"type": "object"}}});
    let (s, v) = app.post("/v1/projects/web/scorers", &admin, ok).await;
    assert_eq!(s, 201, "{v}");
    let run = json!({"dataset": [{"input": "q", "output": "{}"}, {"input": "q", "output": "[]"}], "scorers": ["shape", "shape"], "wait_s": 10});
    let (s, v) = app.post("/v1/projects/web/runs", &admin, run).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["summary"]["passed"], 1, "{v}");
}
