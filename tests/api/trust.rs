//! Scores a user can trust: exact numbers in `equals`, repeated judge verdicts, intervals, pairwise judging.

use serde_json::{json, Value};

use crate::support::{spawn_app, TestApp};

async fn setup(app: &TestApp) -> String {
    let (_, admin) = app.org("acme").await;
    let (s, _) = app.post("/v1/projects", &admin, json!({"name": "web"})).await;
    assert_eq!(s, 201);
    admin
}

/// POST a body given as text, so no JSON library on the test's side rounds its numbers.
async fn raw_post(app: &TestApp, path: &str, key: &str, ct: &str, body: &str) -> (u16, Value) {
    let r = app
        .client
        .post(format!("{}{}", app.base, path))
        .header("X-API-Key", key)
        .header("content-type", ct)
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap())
}

/// Raw text of a GET, for checking digits a JSON reader would round.
async fn raw_get(app: &TestApp, path: &str, key: &str) -> String {
    let r = app.client.get(format!("{}{}", app.base, path)).header("X-API-Key", key).send().await.unwrap();
    r.text().await.unwrap()
}

const BIG_ITEMS: &str = r#"[
  {"id": "same", "input": "q", "output": "12345678901234567890123", "expected": 12345678901234567890123},
  {"id": "next", "input": "q", "output": "12345678901234567890124", "expected": 12345678901234567890123},
  {"id": "sci", "input": "q", "output": "1e2", "expected": 100},
  {"id": "frac", "input": "q", "output": "{\"p\": 0.1}", "expected": {"p": 0.1000000000000000000001}}
]"#;

fn passes_by_id(results: &Value) -> Vec<(String, bool)> {
    let mut out: Vec<(String, bool)> = results["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["item"]["id"].as_str().unwrap().to_string(), r["scores"][0]["pass"].as_bool().unwrap()))
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn equals_compares_big_numbers_exactly_inline_and_from_a_stored_dataset() {
    let app = spawn_app().await;
    let admin = setup(&app).await;
    let want = vec![
        ("frac".to_string(), false),
        ("next".to_string(), false),
        ("same".to_string(), true),
        ("sci".to_string(), true),
    ];
    // Inline in the run body.
    let body = format!(r#"{{"dataset": {BIG_ITEMS}, "scorers": ["equals"], "wait_s": 30}}"#);
    let (s, run) = raw_post(&app, "/v1/projects/web/runs", &admin, "application/json", &body).await;
    assert_eq!((s, &run["status"]), (200, &json!("completed")), "{run}");
    let id = run["id"].as_str().unwrap();
    let (_, results) = app.get(&format!("/v1/runs/{id}/results"), &admin).await;
    assert_eq!(passes_by_id(&results), want, "{results}");
    // The stored item keeps every digit.
    let text = raw_get(&app, &format!("/v1/runs/{id}/results"), &admin).await;
    assert!(text.contains("0.1000000000000000000001"), "{text}");
    // From a stored JSON dataset.
    let (s, ds) = raw_post(&app, "/v1/projects/web/datasets?name=big", &admin, "application/json", BIG_ITEMS).await;
    assert_eq!(s, 201, "{ds}");
    let (s, run) = app
        .post("/v1/projects/web/runs", &admin, json!({"dataset_id": ds["id"], "scorers": ["equals"], "wait_s": 30}))
        .await;
    assert_eq!((s, &run["status"]), (200, &json!("completed")), "{run}");
    let (_, results) = app.get(&format!("/v1/runs/{}/results", run["id"].as_str().unwrap()), &admin).await;
    assert_eq!(passes_by_id(&results), want, "{results}");
}
