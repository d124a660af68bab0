//! Human review end to end: reviews of result rows (create, replace, list, export, validation), the review queue's
//! order, and a judge scorer's agreement with people, on the real server with the fake provider as the judge.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use reqwest::Method;
use serde_json::{json, Value};

use crate::support::fake_provider::{FakeProvider, Knobs};
use crate::support::{assert_error, spawn_app_with, TestApp};

/// A server whose org "acme" (project "web") has an OpenAI key pointing at `fake`; returns the org admin key.
async fn judged_app(fake: &FakeProvider) -> (TestApp, String) {
    let app = spawn_app_with(|c| {
        c.judge.backoff_base_ms = 5;
        c.judge.backoff_max_ms = 200;
        c.judge.request_timeout_s = 5;
    })
    .await;
    let (_, admin) = app.org("acme").await;
    let (s, _) = app.post("/v1/projects", &admin, json!({"name": "web"})).await;
    assert_eq!(s, 201);
    let key = json!({"provider": "openai", "name": "fake", "key": "sk-review-test-000001",
                     "base_url": format!("{}/v1", fake.base), "default_model": "fake-model"});
    let (s, v) = app.post("/v1/byok-keys", &admin, key).await;
    assert_eq!(s, 201, "{v}");
    (app, admin)
}

async fn finished_run(app: &TestApp, key: &str, body: Value) -> String {
    let mut body = body;
    body["wait_s"] = json!(60);
    let (s, run) = app.post("/v1/projects/web/runs", key, body).await;
    assert_eq!((s, &run["status"]), (200, &json!("completed")), "{run}");
    run["id"].as_str().unwrap().to_string()
}

async fn review(app: &TestApp, key: &str, run: &str, idx: u64, scorer: &str, pass: bool) -> (u16, Value) {
    app.post(&format!("/v1/runs/{run}/results/{idx}/reviews"), key, json!({"scorer": scorer, "pass": pass})).await
}

fn heuristic_run() -> Value {
    json!({"dataset": [
        {"input": "capital of France?", "output": "Paris", "expected": "Paris"},
        {"input": "capital of Spain?", "output": "Lisbon", "expected": "Madrid"},
    ], "scorers": ["contains"]})
}

#[tokio::test]
async fn reviews_are_created_replaced_listed_exported_and_audited() {
    let fake = FakeProvider::start(Knobs::default());
    let (app, admin) = judged_app(&fake).await;
    let (member_id, member) = app.api_key(&admin, "member").await;
    let run = finished_run(&app, &admin, heuristic_run()).await;

    let path = format!("/v1/runs/{run}/results/1/reviews");
    let (s, first) =
        app.post(&path, &admin, json!({"scorer": "contains", "pass": true, "comment": "close enough"})).await;
    assert_eq!(s, 201, "{first}");
    assert_eq!(
        (first["idx"].as_u64(), &first["pass"], &first["comment"]),
        (Some(1), &json!(true), &json!("close enough"))
    );
    assert!(first["reviewer_name"].is_string(), "{first}");
    // The same reviewer, item and scorer again: the review is replaced, not added.
    let (s, again) = app.post(&path, &admin, json!({"scorer": "contains", "pass": false})).await;
    assert_eq!(s, 200, "{again}");
    assert_eq!((&again["id"], &again["pass"], &again["comment"]), (&first["id"], &json!(false), &Value::Null));
    // A member may review too; theirs is a review of its own.
    let (s, theirs) = review(&app, &member, &run, 1, "contains", true).await;
    assert_eq!(s, 201, "{theirs}");
    assert_eq!(theirs["reviewer"], member_id);
    let (s, other_item) = review(&app, &member, &run, 0, "contains", true).await;
    assert_eq!(s, 201, "{other_item}");

    let (s, all) = app.get(&format!("/v1/runs/{run}/reviews"), &member).await;
    assert_eq!(s, 200);
    assert_eq!(all["items"].as_array().unwrap().len(), 3, "{all}");
    let (_, item1) = app.get(&format!("/v1/runs/{run}/reviews?idx=1"), &admin).await;
    let passes: Vec<&Value> = item1["items"].as_array().unwrap().iter().map(|r| &r["pass"]).collect();
    assert_eq!(passes, vec![&json!(false), &json!(true)], "{item1}");
    let (_, paged) = app.get(&format!("/v1/runs/{run}/reviews?limit=2"), &admin).await;
    assert_eq!(paged["items"].as_array().unwrap().len(), 2);
    let cursor = paged["next_cursor"].as_str().unwrap();
    let (_, rest) = app.get(&format!("/v1/runs/{run}/reviews?limit=2&cursor={cursor}"), &admin).await;
    assert_eq!((rest["items"].as_array().unwrap().len(), &rest["next_cursor"]), (1, &Value::Null));
    let (_, none) = app.get(&format!("/v1/runs/{run}/reviews?scorer=nope"), &admin).await;
    assert_eq!(none["items"], json!([]));

    // The export: every review as one JSON line.
    let r = app.call(Method::GET, &format!("/v1/runs/{run}/reviews?format=jsonl"), Some(&admin), None).await;
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.headers()["content-type"], "application/x-ndjson");
    let text = r.text().await.unwrap();
    let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(lines.iter().all(|l| l["run_id"] == run.as_str()));

    let (_, log) = app.get("/v1/audit-log", &admin).await;
    let actions: Vec<&str> = log["items"].as_array().unwrap().iter().filter_map(|e| e["action"].as_str()).collect();
    assert_eq!(actions.iter().filter(|a| **a == "review.create").count(), 3, "{actions:?}");
    assert_eq!(actions.iter().filter(|a| **a == "review.replace").count(), 1, "{actions:?}");
    let entry = log["items"].as_array().unwrap().iter().find(|e| e["action"] == "review.replace").unwrap();
    assert_eq!((&entry["target_id"], &entry["details"]["scorer"]), (&first["id"], &json!("contains")), "{entry}");
}

#[tokio::test]
async fn bad_reviews_are_refused_in_the_contracts_shape() {
    let fake = FakeProvider::start(Knobs::default());
    let (app, admin) = judged_app(&fake).await;
    let run = finished_run(&app, &admin, heuristic_run()).await;

    let (s, v) = review(&app, &admin, &run, 0, "no_such_scorer", true).await;
    assert_error(s, &v, 400, "VALIDATION_FAILED");
    assert_eq!(v["error"]["details"]["field"], "scorer", "{v}");
    let (s, v) = review(&app, &admin, &run, 2, "contains", true).await;
    assert_error(s, &v, 404, "NOT_FOUND");
    let (s, v) = app
        .post(&format!("/v1/runs/{run}/results/x/reviews"), &admin, json!({"scorer": "contains", "pass": true}))
        .await;
    assert_error(s, &v, 404, "NOT_FOUND");
    let long = "a".repeat(gavel::reviews::MAX_COMMENT_CHARS + 1);
    let (s, v) = app
        .post(
            &format!("/v1/runs/{run}/results/0/reviews"),
            &admin,
            json!({"scorer": "contains", "pass": true, "comment": long}),
        )
        .await;
    assert_error(s, &v, 400, "VALIDATION_FAILED");
    assert!(v["error"]["message"].as_str().unwrap().contains("MAX_COMMENT_CHARS"), "{v}");
    let (s, v) = app.post(&format!("/v1/runs/{run}/results/0/reviews"), &admin, json!({"scorer": "contains"})).await;
    assert_error(s, &v, 400, "VALIDATION_FAILED");
    let (s, v) = app.get(&format!("/v1/runs/{run}/reviews?format=csv"), &admin).await;
    assert_error(s, &v, 400, "VALIDATION_FAILED");

    // Another org's run is answered exactly as a missing one.
    let (_, other) = app.org("globex").await;
    let (s, v) = review(&app, &other, &run, 0, "contains", true).await;
    assert_error(s, &v, 404, "NOT_FOUND");
    for path in [format!("/v1/runs/{run}/reviews"), format!("/v1/runs/{run}/review-queue")] {
        let (s, v) = app.get(&path, &other).await;
        assert_error(s, &v, 404, "NOT_FOUND");
    }
    let (s, v) = app.get("/v1/projects/web/scorers/contains/agreement", &other).await;
    assert_error(s, &v, 404, "NOT_FOUND");
    let (s, v) = app.get("/v1/projects/web/scorers/no_such_scorer/agreement", &admin).await;
    assert_error(s, &v, 404, "NOT_FOUND");
    let (s, v) = app
        .json(
            Method::POST,
            &format!("/v1/runs/{run}/results/0/reviews"),
            None,
            Some(json!({"scorer": "contains", "pass": true})),
        )
        .await;
    assert_error(s, &v, 401, "UNAUTHENTICATED");
}

/// Two judges: `strict` fails "disputed" outputs that `lenient` passes; `strict` samples twice and splits on "split"
/// outputs (pass, then fail: unsure); both fail "WRONG" outputs.
fn two_judges() -> Arc<dyn Fn(&str) -> String + Send + Sync> {
    let seen: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
    Arc::new(move |prompt: &str| {
        let n = {
            let mut seen = seen.lock().unwrap();
            let n = seen.entry(prompt.to_string()).or_insert(0);
            *n += 1;
            *n
        };
        let strict = prompt.contains("STRICT");
        let pass = if prompt.contains("WRONG") {
            false
        } else if prompt.contains("split") {
            !strict || n % 2 == 1
        } else if prompt.contains("disputed") {
            !strict
        } else {
            true
        };
        format!(r#"{{"score": {}, "pass": {pass}, "reason": "call {n}"}}"#, if pass { 0.9 } else { 0.1 })
    })
}

#[tokio::test]
async fn the_queue_puts_unsure_and_split_judges_first_and_the_callers_reviewed_items_last() {
    let fake = FakeProvider::start(Knobs { reply: two_judges(), ..Knobs::default() });
    let (app, admin) = judged_app(&fake).await;
    let (_, member) = app.api_key(&admin, "member").await;
    let body = json!({"dataset": [
        {"input": "q0", "output": "fine answer"},
        {"input": "q1", "output": "WRONG answer"},
        {"input": "q2", "output": "split answer"},
        {"input": "q3", "output": "disputed answer"},
        {"input": "q4", "output": "another fine answer"},
    ], "scorers": [
        {"name": "strict", "type": "llm_judge", "config": {"rubric": "STRICT: is it right?", "samples": 2}},
        {"name": "lenient", "type": "llm_judge", "config": {"rubric": "Lenient: is it roughly right?"}},
        "json_valid",
    ]});
    let run = finished_run(&app, &admin, body).await;
    let queue = |key: String, query: &'static str| {
        let (app, run) = (&app, run.clone());
        async move {
            let (s, v) = app.get(&format!("/v1/runs/{run}/review-queue{query}"), &key).await;
            assert_eq!(s, 200, "{v}");
            v["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| (r["index"].as_u64().unwrap(), r["reason"].as_str().unwrap().to_string()))
                .collect::<Vec<_>>()
        }
    };
    let want = vec![
        (2, "unsure".to_string()),
        (3, "disagreement".to_string()),
        (1, "failed".to_string()),
        (0, "rest".to_string()),
        (4, "rest".to_string()),
    ];
    assert_eq!(
        queue(admin.clone(), "").await,
        want,
        "a heuristic's failure (json_valid fails every item) does not rank"
    );

    // Paging keeps the order across pages.
    let (_, p1) = app.get(&format!("/v1/runs/{run}/review-queue?limit=2"), &admin).await;
    let cursor = p1["next_cursor"].as_str().unwrap().to_string();
    let (_, p2) = app.get(&format!("/v1/runs/{run}/review-queue?limit=2&cursor={cursor}"), &admin).await;
    let idx: Vec<u64> = p1["items"]
        .as_array()
        .unwrap()
        .iter()
        .chain(p2["items"].as_array().unwrap())
        .map(|r| r["index"].as_u64().unwrap())
        .collect();
    assert_eq!(idx, vec![2, 3, 1, 0]);
    assert_eq!(p1["items"][0]["judge_scorers"], json!(["strict", "lenient"]));

    // Reviewing the unsure item sends it to the end of the reviewer's queue (or out of it), not of anyone else's.
    let (s, _) = review(&app, &admin, &run, 2, "strict", true).await;
    assert_eq!(s, 201);
    let mine = queue(admin.clone(), "").await;
    assert_eq!(mine.first().unwrap().0, 3);
    assert_eq!(mine.last().unwrap(), &(2, "reviewed".to_string()));
    let without = queue(admin.clone(), "?exclude_reviewed=true").await;
    assert_eq!(without.iter().map(|r| r.0).collect::<Vec<_>>(), vec![3, 1, 0, 4]);
    let theirs = queue(member.clone(), "").await;
    assert_eq!(theirs, want);
    let (_, rows) = app.get(&format!("/v1/runs/{run}/review-queue?limit=1"), &member).await;
    assert_eq!(rows["items"][0]["reviews"].as_array().unwrap().len(), 1, "a row carries the item's reviews: {rows}");
}

/// Agreement on constructed runs. Run A (scorer config model `judge-a`) on 10 items: the judge passes 6 and fails 4
/// (outputs marked WRONG); people pass 4 of the judge's passes and 1 of its fails, so tp 4, fp 2, tn 3, fn 1:
/// p_o = 7/10, judge pass rate 6/10, people's 5/10, p_e = 0.6·0.5 + 0.4·0.5 = 0.5, kappa = (0.7 − 0.5)/(1 − 0.5) = 0.4.
/// Run B (model `judge-b`) adds 2 items both sides pass: tp 6, fp 2, tn 3, fn 1 over 12, p_o = 9/12,
/// p_e = (8·7 + 4·5)/144 = 76/144, kappa = (108 − 76)/(144 − 76) = 32/68 = 8/17; for `judge-b` alone every verdict
/// is a pass on both sides, so its kappa is undefined (null, with a note). An unsure verdict is left out.
#[tokio::test]
async fn agreement_figures_match_the_hand_computed_kappa() {
    let fake = FakeProvider::start(Knobs { reply: two_judges(), ..Knobs::default() });
    let (app, admin) = judged_app(&fake).await;
    let (_, member) = app.api_key(&admin, "member").await;
    let scorer =
        json!({"name": "judge", "type": "llm_judge", "config": {"rubric": "Is it right?", "model": "judge-a"}});
    let (s, stored) = app.post("/v1/projects/web/scorers", &admin, scorer).await;
    assert_eq!(s, 201, "{stored}");
    let items: Vec<Value> = (0..10)
        .map(|i| json!({"input": format!("q{i}"), "output": if i < 6 { format!("good {i}") } else { format!("WRONG {i}") }}))
        .collect();
    let run_a = finished_run(&app, &admin, json!({"dataset": items, "scorers": ["judge"]})).await;
    // people: pass items 0-3 (judge passed), fail 4-5 (judge passed), fail 6-8 (judge failed), pass 9 (judge failed)
    for (i, pass) in [
        (0, true),
        (1, true),
        (2, true),
        (3, true),
        (4, false),
        (5, false),
        (6, false),
        (7, false),
        (8, false),
        (9, true),
    ] {
        let key = if i % 2 == 0 { &admin } else { &member };
        let (s, v) = review(&app, key, &run_a, i, "judge", pass).await;
        assert_eq!(s, 201, "{v}");
    }
    let (s, a) = app.get("/v1/projects/web/scorers/judge/agreement", &member).await;
    assert_eq!(s, 200, "{a}");
    assert_eq!(a["confusion"], json!({"tp": 4, "fp": 2, "tn": 3, "fn": 1}), "{a}");
    assert_eq!(a["reviews"], 10);
    assert!((a["agreement"].as_f64().unwrap() - 0.7).abs() < 1e-9, "{a}");
    assert!((a["cohen_kappa"].as_f64().unwrap() - 0.4).abs() < 1e-9, "{a}");
    assert_eq!(a["by_model"].as_object().unwrap().keys().collect::<Vec<_>>(), vec!["judge-a"], "{a}");

    let inline = json!({"name": "judge", "type": "llm_judge", "config": {"rubric": "STRICT: is it right?", "model": "judge-b", "samples": 2}});
    let items_b = json!([{"input": "x", "output": "good x"}, {"input": "y", "output": "good y"}, {"input": "z", "output": "split z"}]);
    let (s, run_b) =
        app.post("/v1/projects/web/runs", &admin, json!({"dataset": items_b, "scorers": [inline], "wait_s": 60})).await;
    assert_eq!((s, &run_b["status"]), (200, &json!("completed")), "{run_b}");
    let run_b = run_b["id"].as_str().unwrap().to_string();
    for i in 0..3 {
        let (s, v) = review(&app, &admin, &run_b, i, "judge", true).await;
        assert_eq!(s, 201, "{v}");
    }
    // By id as well as by name.
    let (_, a) =
        app.get(&format!("/v1/projects/web/scorers/{}/agreement", stored["id"].as_str().unwrap()), &admin).await;
    assert_eq!(a["confusion"], json!({"tp": 6, "fp": 2, "tn": 3, "fn": 1}), "{a}");
    assert_eq!(
        a["excluded"],
        json!({"unsure": 1, "errored": 0}),
        "the split item's review has no judge verdict to meet: {a}"
    );
    let kappa = a["cohen_kappa"].as_f64().unwrap();
    assert!((kappa - 8.0 / 17.0).abs() < 1e-9, "{a}");
    assert!((a["agreement"].as_f64().unwrap() - 0.75).abs() < 1e-9);
    let b = &a["by_model"]["judge-b"];
    assert_eq!((&b["reviews"], &b["cohen_kappa"]), (&json!(2), &Value::Null), "{a}");
    assert!(b["kappa_note"].as_str().unwrap().contains("undefined"), "{b}");
    assert!((a["by_model"]["judge-a"]["cohen_kappa"].as_f64().unwrap() - 0.4).abs() < 1e-9);
}
