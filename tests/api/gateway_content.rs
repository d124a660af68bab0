//! Per-project content logging of gateway calls: a project's opt-in (`PATCH /v1/projects/{project}`), the request
//! log keeping prompt and completion (whole, streamed, translated, embeddings) only for that project of that org,
//! cut to `gateway.log_content_max_bytes`.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{json, Value};

use crate::gateway::{add_key, gw_app, header, logged, send};
use crate::support::common::key_body;
use crate::support::fake_provider::{FakeProvider, Knobs};
use crate::support::{assert_error, TestApp};

/// Bytes of prompt and of completion kept, small enough that a long prompt is cut.
const MAX_BYTES: usize = 300;

fn echo_knobs() -> Knobs {
    Knobs { reply: Arc::new(|p: &str| format!("ANSWER-TO {p}")), ..Knobs::default() }
}

/// One call; returns its `x-request-id`.
async fn call(app: &TestApp, key: &str, path: &str, body: Value, project: Option<&str>) -> String {
    let mut headers = vec![("cache-control", "no-cache, no-store")];
    if let Some(p) = project {
        headers.push(("x-gavel-project", p));
    }
    let r = send(app, key, path, &body, &headers).await;
    assert_eq!(r.status(), 200, "{path} {body}");
    let id = header(&r, "x-request-id");
    r.text().await.unwrap();
    id
}

fn chat(model: &str, text: &str) -> Value {
    json!({"model": model, "max_tokens": 64, "messages": [{"role": "user", "content": text}]})
}

fn by_request(rows: &[Value]) -> HashMap<String, Value> {
    rows.iter().map(|r| (r["request_id"].as_str().unwrap().to_owned(), r.clone())).collect()
}

#[tokio::test]
async fn org_admins_opt_a_project_in_to_content_logging() {
    let (app, admin) = gw_app(|_| {}).await;
    let (s, p) = app.post("/v1/projects", &admin, json!({"name": "web"})).await;
    assert_eq!(s, 201, "{p}");
    assert_eq!(p["gateway_log_content"], false, "off by default: {p}");
    let (_, member) = app.api_key(&admin, "member").await;
    let (s, v) = app.patch("/v1/projects/web", &member, json!({"gateway_log_content": true})).await;
    assert_error(s, &v, 403, "FORBIDDEN");
    let (s, v) = app.patch("/v1/projects/web", &admin, json!({"gateway_log_content": "yes"})).await;
    assert_error(s, &v, 400, "VALIDATION_FAILED");
    let (s, v) = app.patch("/v1/projects/web", &admin, json!({"log_everything": true})).await;
    assert_error(s, &v, 400, "VALIDATION_FAILED");
    let (s, v) = app.patch("/v1/projects/nope", &admin, json!({"gateway_log_content": true})).await;
    assert_error(s, &v, 404, "NOT_FOUND");
    let (s, v) = app.patch("/v1/projects/web", &admin, json!({"gateway_log_content": true})).await;
    assert_eq!((s, &v["gateway_log_content"]), (200, &json!(true)), "{v}");
    let (s, v) = app.patch(&format!("/v1/projects/{}", p["id"].as_str().unwrap()), &admin, json!({})).await;
    assert_eq!((s, &v["gateway_log_content"]), (200, &json!(true)), "an empty patch changes nothing: {v}");
    let (_, v) = app.get("/v1/projects/web", &admin).await;
    assert_eq!(v["gateway_log_content"], true, "{v}");
    let (_, list) = app.get("/v1/projects", &admin).await;
    assert_eq!(list["items"][0]["gateway_log_content"], true, "{list}");
    let (_, audit) = app.get("/v1/audit-log", &admin).await;
    assert!(audit.to_string().contains("project.settings"), "the change is audited: {audit}");
    // Another org cannot see or change it.
    let (_, other) = app.org("other").await;
    let (s, v) = app.patch("/v1/projects/web", &other, json!({"gateway_log_content": false})).await;
    assert_error(s, &v, 404, "NOT_FOUND");
}

#[tokio::test]
async fn only_calls_of_an_opted_in_project_keep_their_text_cut_to_the_limit() {
    let fake = FakeProvider::start(echo_knobs());
    let (app, admin) = gw_app(|c| c.gateway.log_content_max_bytes = MAX_BYTES).await;
    add_key(&app, &admin, key_body("openai", &fake, "sk-content-123456")).await;
    add_key(&app, &admin, key_body("anthropic", &fake, "sk-ant-content-123456")).await;
    for name in ["logged", "quiet"] {
        let (s, v) = app.post("/v1/projects", &admin, json!({"name": name})).await;
        assert_eq!(s, 201, "{v}");
    }
    let (s, v) = app.patch("/v1/projects/logged", &admin, json!({"gateway_log_content": true})).await;
    assert_eq!(s, 200, "{v}");
    // Another org with a project of the same name that did not opt in.
    let (_, other) = app.org("other").await;
    add_key(&app, &other, key_body("openai", &fake, "sk-other-123456")).await;
    app.post("/v1/projects", &other, json!({"name": "logged"})).await;

    let whole = call(&app, &admin, "/v1/chat/completions", chat("gpt-4o-mini", "PROMPT-WHOLE"), Some("logged")).await;
    let mut streamed = chat("claude-3-5-haiku-latest", "PROMPT-STREAM");
    streamed["stream"] = json!(true);
    let streamed = call(&app, &admin, "/v1/chat/completions", streamed, Some("logged")).await;
    let messages =
        json!({"model": "gpt-4o-mini", "max_tokens": 32, "messages": [{"role": "user", "content": "PROMPT-MSG"}]});
    let messages = call(&app, &admin, "/v1/messages", messages, Some("logged")).await;
    let emb = json!({"model": "text-embedding-3-small", "input": ["PROMPT-EMB"]});
    let emb = call(&app, &admin, "/v1/embeddings", emb, Some("logged")).await;
    let long_text = "L".repeat(2 * MAX_BYTES);
    let long = call(&app, &admin, "/v1/chat/completions", chat("gpt-4o-mini", &long_text), Some("logged")).await;
    let quiet = call(&app, &admin, "/v1/chat/completions", chat("gpt-4o-mini", "PROMPT-QUIET"), Some("quiet")).await;
    let none = call(&app, &admin, "/v1/chat/completions", chat("gpt-4o-mini", "PROMPT-NONE"), None).await;
    let unknown = call(&app, &admin, "/v1/chat/completions", chat("gpt-4o-mini", "PROMPT-UNK"), Some("ghost")).await;
    let foreign = call(&app, &other, "/v1/chat/completions", chat("gpt-4o-mini", "PROMPT-OTHER"), Some("logged")).await;

    let rows = by_request(&logged(&app, &admin, 8).await);
    let content = |id: &str| rows[id]["content"].clone();
    let c = content(&whole);
    assert!(c["prompt"].as_str().unwrap().contains("PROMPT-WHOLE"), "{c}");
    assert_eq!(c["completion"], "ANSWER-TO PROMPT-WHOLE", "{c}");
    assert_eq!(c["truncated"], false);
    let c = content(&streamed);
    assert!(c["prompt"].as_str().unwrap().contains("PROMPT-STREAM"), "{c}");
    assert_eq!(c["completion"], "ANSWER-TO PROMPT-STREAM", "a stream logs what it sent, through Anthropic: {c}");
    let c = content(&messages);
    assert!(c["prompt"].as_str().unwrap().contains("PROMPT-MSG"), "{c}");
    assert_eq!(c["completion"], "ANSWER-TO PROMPT-MSG", "{c}");
    let c = content(&emb);
    assert_eq!((c["prompt"].as_str().unwrap(), c["completion"].as_str().unwrap()), (r#"["PROMPT-EMB"]"#, ""));
    let c = content(&long);
    assert_eq!(c["truncated"], true, "{c}");
    assert_eq!(c["prompt"].as_str().unwrap().len(), MAX_BYTES, "{c}");
    assert_eq!(c["completion"].as_str().unwrap().len(), MAX_BYTES, "{c}");
    for id in [&quiet, &none, &unknown] {
        assert!(rows[id].get("content").is_none(), "{}", rows[id]);
    }
    let text = serde_json::to_string(&rows).unwrap();
    for secret_text in ["PROMPT-QUIET", "PROMPT-NONE", "PROMPT-UNK", "PROMPT-OTHER"] {
        assert!(!text.contains(secret_text), "{secret_text} in {text}");
    }
    let other_rows = logged(&app, &other, 1).await;
    assert_eq!(other_rows[0]["request_id"], foreign.as_str());
    assert!(other_rows[0].get("content").is_none(), "the other org's project did not opt in: {}", other_rows[0]);

    // Turned off again, the next call keeps nothing.
    app.patch("/v1/projects/logged", &admin, json!({"gateway_log_content": false})).await;
    let after = call(&app, &admin, "/v1/chat/completions", chat("gpt-4o-mini", "PROMPT-AFTER"), Some("logged")).await;
    let rows = by_request(&logged(&app, &admin, 9).await);
    assert!(rows[&after].get("content").is_none(), "{}", rows[&after]);
}
