//! Scores a user can trust: exact numbers in `equals`, repeated judge verdicts, intervals, pairwise judging.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

use crate::support::fake_provider::{FakeProvider, Knobs};
use crate::support::{assert_error, spawn_app, spawn_app_with, TestApp};

async fn setup(app: &TestApp) -> String {
    let (_, admin) = app.org("acme").await;
    let (s, _) = app.post("/v1/projects", &admin, json!({"name": "web"})).await;
    assert_eq!(s, 201);
    admin
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
    let (s, run) = app.raw_post("/v1/projects/web/runs", &admin, "application/json", &body).await;
    assert_eq!((s, &run["status"]), (200, &json!("completed")), "{run}");
    let id = run["id"].as_str().unwrap();
    let (_, results) = app.get(&format!("/v1/runs/{id}/results"), &admin).await;
    assert_eq!(passes_by_id(&results), want, "{results}");
    // The stored item keeps every digit.
    let text = raw_get(&app, &format!("/v1/runs/{id}/results"), &admin).await;
    assert!(text.contains("0.1000000000000000000001"), "{text}");
    // From a stored JSON dataset.
    let (s, ds) = app.raw_post("/v1/projects/web/datasets?name=big", &admin, "application/json", BIG_ITEMS).await;
    assert_eq!(s, 201, "{ds}");
    let (s, run) = app
        .post("/v1/projects/web/runs", &admin, json!({"dataset_id": ds["id"], "scorers": ["equals"], "wait_s": 30}))
        .await;
    assert_eq!((s, &run["status"]), (200, &json!("completed")), "{run}");
    let (_, results) = app.get(&format!("/v1/runs/{}/results", run["id"].as_str().unwrap()), &admin).await;
    assert_eq!(passes_by_id(&results), want, "{results}");
}

/// A server whose org "acme" (project "web") has an OpenAI key pointing at `fake`.
async fn judged_app(fake: &FakeProvider) -> (TestApp, String) {
    let app = spawn_app_with(|c| {
        c.judge.backoff_base_ms = 5;
        c.judge.backoff_max_ms = 200;
        c.judge.request_timeout_s = 5;
    })
    .await;
    let admin = setup(&app).await;
    let key = json!({"provider": "openai", "name": "fake", "key": "sk-trust-test-000001",
                     "base_url": format!("{}/v1", fake.base), "default_model": "fake-model"});
    let (s, v) = app.post("/v1/byok-keys", &admin, key).await;
    assert_eq!(s, 201, "{v}");
    (app, admin)
}

/// A judge whose n-th reply to the same prompt follows a script per output: "steady" always passes, "split"
/// alternates pass and fail, "mostly" fails one time in four.
fn scripted_judge() -> Arc<dyn Fn(&str) -> String + Send + Sync> {
    let seen: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
    Arc::new(move |prompt: &str| {
        let n = {
            let mut seen = seen.lock().unwrap();
            let n = seen.entry(prompt.to_string()).or_insert(0);
            *n += 1;
            *n
        };
        let pass = if prompt.contains("split") {
            n % 2 == 1
        } else if prompt.contains("mostly") {
            n % 4 != 0
        } else {
            true
        };
        let score = if pass { 0.9 } else { 0.1 };
        format!(r#"{{"score": {score}, "pass": {pass}, "reason": "call {n}"}}"#)
    })
}

async fn run_waiting(app: &TestApp, key: &str, body: Value) -> Value {
    let mut body = body;
    body["wait_s"] = json!(60);
    let (s, run) = app.post("/v1/projects/web/runs", key, body).await;
    assert_eq!((s, &run["status"]), (200, &json!("completed")), "{run}");
    run
}

fn scores_by_output(results: &Value) -> HashMap<String, Value> {
    results["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["item"]["output"].as_str().unwrap().to_string(), r["scores"][0].clone()))
        .collect()
}

#[tokio::test]
async fn sampled_judges_report_agreement_and_a_split_is_unsure_never_a_pass() {
    let fake = FakeProvider::start(Knobs { reply: scripted_judge(), ..Knobs::default() });
    let (app, admin) = judged_app(&fake).await;
    let dataset = json!([
        {"input": "q", "output": "steady answer"},
        {"input": "q", "output": "split answer"},
        {"input": "q", "output": "mostly answer"},
    ]);
    let scorer = json!({"name": "judge4", "type": "llm_judge", "config": {"rubric": "Is it right?", "samples": 4}});
    let body = json!({"dataset": dataset, "scorers": [scorer], "gate": {"max_failed": 0}});
    let run = run_waiting(&app, &admin, body.clone()).await;
    let sum = &run["summary"];
    assert_eq!(fake.calls(), 12, "k separate calls per item");
    assert_eq!(sum["usage"]["calls"], 12, "usage counts every sample: {sum}");
    assert_eq!((sum["passed"].as_u64(), sum["failed"].as_u64(), sum["unsure"].as_u64()), (Some(2), Some(1), Some(1)));
    assert_eq!(sum["per_scorer"]["judge4"]["unsure"], 1);
    assert_eq!(sum["gate"]["passed"], false, "an unsure item is not passed: {sum}");
    let (_, results) = app.get(&format!("/v1/runs/{}/results", run["id"].as_str().unwrap()), &admin).await;
    let scores = scores_by_output(&results);
    let steady = &scores["steady answer"];
    assert_eq!((&steady["pass"], &steady["samples"]), (&json!(true), &json!({"k": 4, "passes": 4, "agreement": 1.0})));
    let split = &scores["split answer"];
    assert_eq!((&split["pass"], &split["unsure"]), (&Value::Null, &json!(true)), "{split}");
    assert_eq!(split["samples"], json!({"k": 4, "passes": 2, "agreement": 0.5}));
    assert!((split["score"].as_f64().unwrap() - 0.5).abs() < 1e-9, "the mean of 0.9, 0.1, 0.9, 0.1");
    let mostly = &scores["mostly answer"];
    assert_eq!((&mostly["pass"], &mostly["samples"]["agreement"]), (&json!(true), &json!(0.75)), "{mostly}");
    assert!(mostly["reason"].as_str().unwrap().starts_with("3 of 4 samples pass (agreement 0.75): pass"));
    // "Items this scorer did not pass" include the unsure one (its `pass` is null).
    let path = format!("/v1/runs/{}/results?scorer=judge4", run["id"].as_str().unwrap());
    let (_, not_passed) = app.get(&path, &admin).await;
    assert_eq!(scores_by_output(&not_passed).keys().collect::<Vec<_>>(), vec!["split answer"], "{not_passed}");
    // Every sample has its own cached verdict: a re-run is served from the cache and still splits.
    let again = run_waiting(&app, &admin, body).await;
    assert_eq!((again["summary"]["usage"]["cache_hits"].as_u64(), fake.calls()), (Some(12), 12));
    assert_eq!(again["summary"]["unsure"], 1, "{}", again["summary"]);
    // The bound on samples is named in the error.
    let over = json!({"type": "relevance", "config": {"samples": 11}});
    let (s, v) = app.post("/v1/projects/web/runs", &admin, json!({"dataset": dataset, "scorers": [over]})).await;
    assert_error(s, &v, 400, "VALIDATION_FAILED");
    assert!(v["error"]["message"].as_str().unwrap().contains("MAX_JUDGE_SAMPLES"), "{v}");
}

#[tokio::test]
async fn the_openapi_document_describes_unsure_scores_and_samples() {
    let app = spawn_app().await;
    let doc: Value = app.client.get(format!("{}/openapi.json", app.base)).send().await.unwrap().json().await.unwrap();
    let schemas = &doc["components"]["schemas"];
    let score = &schemas["Score"]["properties"];
    for field in ["pass", "unsure", "samples", "score", "reason"] {
        assert!(score.get(field).is_some(), "Score.{field}: {}", schemas["Score"]);
    }
    assert!(score["pass"].to_string().contains("null"), "pass may be null: {}", score["pass"]);
    for field in ["k", "passes", "agreement"] {
        assert!(schemas["Samples"]["properties"].get(field).is_some(), "Samples.{field}: {}", schemas["Samples"]);
    }
    // The summary is composed (`allOf`: what every run has, plus what other kinds add): look in its parts.
    let summary = &schemas["Summary"];
    let parts: Vec<&Value> = match summary["allOf"].as_array() {
        Some(all) => all.iter().collect(),
        None => vec![summary],
    };
    assert!(parts.iter().any(|p| p["properties"].get("unsure").is_some()), "Summary.unsure: {summary}");
    assert!(schemas["ScorerSummary"]["properties"].get("unsure").is_some());
}

/// The text between `<TAG>\n` and `\n</TAG>` in a prompt.
fn section<'a>(prompt: &'a str, tag: &str) -> &'a str {
    let open = format!("<{tag}>\n");
    let start = prompt.find(&open).map(|i| i + open.len()).unwrap_or(0);
    let end = prompt[start..].find(&format!("\n</{tag}>")).map(|i| start + i).unwrap_or(prompt.len());
    &prompt[start..end]
}

async fn two_runs(app: &TestApp, admin: &str) -> (String, String) {
    let run = |outputs: [&str; 4]| {
        let dataset: Vec<Value> = outputs
            .iter()
            .enumerate()
            .map(|(i, o)| json!({"id": format!("k{i}"), "input": format!("question {i}"), "output": o}))
            .collect();
        json!({"dataset": dataset, "scorers": ["json_valid"]})
    };
    let a = run_waiting(app, admin, run(["GOOD a0", "GOOD a1", "GOOD a2", "SAME"])).await;
    let b = run_waiting(app, admin, run(["bad b0", "bad b1", "GOOD b2", "SAME"])).await;
    (a["id"].as_str().unwrap().to_string(), b["id"].as_str().unwrap().to_string())
}

#[tokio::test]
async fn pairwise_counts_a_win_only_when_both_orders_agree() {
    // A fair judge: prefers the answer saying GOOD, calls it a tie when both or neither do.
    let fair = Arc::new(|prompt: &str| {
        let (first, second) =
            (section(prompt, "ANSWER_1").contains("GOOD"), section(prompt, "ANSWER_2").contains("GOOD"));
        let winner = match (first, second) {
            (true, false) => "1",
            (false, true) => "2",
            _ => "tie",
        };
        format!(r#"{{"winner": "{winner}", "reason": "fake"}}"#)
    });
    let fake = FakeProvider::start(Knobs { reply: fair, ..Knobs::default() });
    let (app, admin) = judged_app(&fake).await;
    let (a, b) = two_runs(&app, &admin).await;
    let body = json!({"against": b, "scorer": {"type": "pairwise", "config": {"rubric": "Which answer is better?"}}});
    let (s, report) = app.post(&format!("/v1/runs/{a}/pairwise"), &admin, body.clone()).await;
    assert_eq!(s, 200, "{report}");
    assert_eq!(
        (report["matched"].as_u64(), report["pairs"].as_u64(), report["wins"].as_u64(), report["losses"].as_u64()),
        (Some(4), Some(4), Some(2), Some(0)),
        "{report}"
    );
    assert_eq!((report["ties"].as_u64(), report["inconsistent"].as_u64()), (Some(2), Some(0)));
    assert_eq!((&report["win_rate"], &report["decided_win_rate"]), (&json!(0.5), &json!(1.0)));
    let ci = report["win_rate_ci"].as_array().unwrap();
    assert!(ci[0].as_f64().unwrap() < 0.5 && ci[1].as_f64().unwrap() > 0.5, "{report}");
    assert_eq!((report["usage"]["calls"].as_u64(), fake.calls()), (Some(8), 8), "two calls per pair");
    // Seen from B, the same pairs are losses.
    let (_, reverse) =
        app.post(&format!("/v1/runs/{b}/pairwise"), &admin, json!({"against": a, "scorer": body["scorer"]})).await;
    assert_eq!((reverse["wins"].as_u64(), reverse["losses"].as_u64()), (Some(0), Some(2)), "{reverse}");

    // A judge that always prefers the first answer it is shown: every pair is an (inconsistent) tie.
    fake.set_knobs(Knobs { reply: Arc::new(|_: &str| r#"{"winner": "1"}"#.to_string()), ..Knobs::default() });
    let biased = json!({"against": b, "scorer": {"rubric": "Which answer is better, really?"}, "cache": false});
    let (s, report) = app.post(&format!("/v1/runs/{a}/pairwise"), &admin, biased).await;
    assert_eq!(s, 200, "{report}");
    assert_eq!(
        (report["wins"].as_u64(), report["losses"].as_u64(), report["ties"].as_u64(), report["inconsistent"].as_u64()),
        (Some(0), Some(0), Some(4), Some(4)),
        "{report}"
    );
    assert_eq!((&report["win_rate"], &report["decided_win_rate"]), (&json!(0.0), &Value::Null));

    // Bad requests name the field.
    let (s, v) = app.post(&format!("/v1/runs/{a}/pairwise"), &admin, json!({"against": b, "scorer": {}})).await;
    assert_error(s, &v, 400, "VALIDATION_FAILED");
    assert_eq!(v["error"]["details"]["field"], "scorer.config.rubric", "{v}");
    let (s, v) = app
        .post(
            &format!("/v1/runs/{a}/pairwise"),
            &admin,
            json!({"against": b, "scorer": {"rubric": "r"}, "max_pairs": 501}),
        )
        .await;
    assert_error(s, &v, 400, "VALIDATION_FAILED");
    assert!(v["error"]["message"].as_str().unwrap().contains("MAX_PAIRWISE_PAIRS"), "{v}");
    let (s, v) = app
        .post(&format!("/v1/runs/{a}/pairwise"), &admin, json!({"against": "run_nope", "scorer": {"rubric": "r"}}))
        .await;
    assert_error(s, &v, 404, "NOT_FOUND");
}
