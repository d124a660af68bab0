use serde_json::Value;

use crate::support::spawn_app;

#[tokio::test]
async fn health_readiness_metrics_openapi_and_page() {
    let app = spawn_app().await;
    let (s, v) = app.json(reqwest::Method::GET, "/healthz", None, None).await;
    assert_eq!((s, v["status"].as_str()), (200, Some("ok")));
    let (s, v) = app.json(reqwest::Method::GET, "/readyz", None, None).await;
    assert_eq!((s, v["status"].as_str()), (200, Some("ready")));
    let (_, admin) = app.org("acme").await;
    let _ = app.get("/v1/byok-keys", &admin).await;
    let r = app.client.get(format!("{}/metrics", app.base)).send().await.unwrap();
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    let text = r.text().await.unwrap();
    assert!(text.contains(r#"gavel_http_requests_total{method="GET",route="/v1/byok-keys",status="200"} 1"#), "{text}");
    assert!(text.contains(r#"gavel_http_requests_total{method="POST",route="/v1/orgs",status="201"} 1"#), "{text}");
    assert!(text.contains("gavel_http_request_duration_seconds_bucket"));

    let doc: Value = app.client.get(format!("{}/openapi.json", app.base)).send().await.unwrap().json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/v1/orgs",
        "/v1/api-keys",
        "/v1/projects",
        "/v1/projects/{project}",
        "/v1/byok-keys",
        "/v1/byok-keys/{id}",
        "/healthz",
        "/readyz",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} missing from the OpenAPI document");
    }
    assert!(doc["paths"]["/v1/byok-keys/{id}"].get("patch").is_some());

    let r = app.client.get(format!("{}/", app.base)).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let etag = r.headers()["etag"].to_str().unwrap().to_string();
    let html = r.text().await.unwrap();
    assert!(html.contains("gavel") && html.contains(env!("CARGO_PKG_VERSION")));
    let r = app.client.get(format!("{}/", app.base)).header("if-none-match", &etag).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 304);
    let r = app.client.get(format!("{}/projects/web/runs/x", app.base)).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200, "deep links fall back to the page");
    let r = app.client.get(format!("{}/missing.js", app.base)).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 404);
    assert!(r.headers().get("x-request-id").is_some());
}

/// The served document generates working clients only if it is consistent: one operationId per operation, a
/// schema on every answer that has a body, every route the server serves documented, every contract code listed.
#[tokio::test]
async fn the_openapi_document_is_consistent_and_complete() {
    let app = spawn_app().await;
    let doc: Value = app.client.get(format!("{}/openapi.json", app.base)).send().await.unwrap().json().await.unwrap();
    let mut ids = std::collections::BTreeMap::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            let id = op["operationId"].as_str().unwrap_or_else(|| panic!("{method} {path} has no operationId"));
            if let Some(prev) = ids.insert(id.to_string(), format!("{method} {path}")) {
                panic!("operationId {id} is used by {prev} and {method} {path}");
            }
            for (status, resp) in op["responses"].as_object().unwrap() {
                if status != "204" {
                    assert!(resp.get("content").is_some(), "{method} {path} {status} documents no body");
                }
            }
        }
    }
    assert!(ids.len() >= 30, "{} operations documented", ids.len());
    let codes = doc["components"]["schemas"]["Code"].to_string();
    for c in gavel::domain::Code::ALL {
        assert!(codes.contains(c.as_str()), "{c} missing from the Code schema");
    }
    let item = &doc["components"]["schemas"]["Item"]["properties"];
    assert!(item["output"].get("type").is_none(), "an item's output is any JSON value (usually a string): {item}");
}
