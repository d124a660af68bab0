use serde_json::{json, Value};

use crate::support::{assert_error, spawn_app, spawn_app_with, TestApp};

async fn setup(app: &TestApp) -> String {
    let (_, admin) = app.org("acme").await;
    let (s, _) = app.post("/v1/projects", &admin, json!({"name": "web"})).await;
    assert_eq!(s, 201);
    admin
}

fn items(n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| {
            let out = if i % 4 == 0 { "Lyon" } else { "Paris" };
            json!({"id": format!("it-{i}"), "input": format!("q{i}"), "output": out, "expected": "Paris"})
        })
        .collect()
}

#[tokio::test]
async fn datasets_in_three_formats_and_line_numbered_errors() {
    let app = spawn_app().await;
    let admin = setup(&app).await;
    let (s, v) = app
        .raw_post("/v1/projects/web/datasets?name=j", &admin, "application/json", &json!(items(3)).to_string())
        .await;
    assert_eq!((s, v["items"].as_u64()), (201, Some(3)), "{v}");
    let jsonl = "{\"input\":\"q\",\"output\":\"a\"}\n{\"input\":\"q\",\"output\":\"b\",\"context\":[\"c\"]}\n";
    let (s, v) = app.raw_post("/v1/projects/web/datasets?name=l", &admin, "application/x-ndjson", jsonl).await;
    assert_eq!((s, v["items"].as_u64()), (201, Some(2)), "{v}");
    let csv = "input,output,expected,context\nq,Paris,Paris,\"[\"\"a\"\",\"\"b\"\"]\"\nq2,café,cafe,\n";
    let (s, v) = app.raw_post("/v1/projects/web/datasets?name=c", &admin, "text/csv", csv).await;
    assert_eq!((s, v["items"].as_u64()), (201, Some(2)), "{v}");

    let bad_jsonl = "{\"input\":\"q\",\"output\":\"a\"}\n{\"input\":\"q\",\"output\":\"b\"}\n{oops\n";
    let (s, v) = app.raw_post("/v1/projects/web/datasets?name=bad1", &admin, "application/x-ndjson", bad_jsonl).await;
    assert_error(s, &v, 400, "VALIDATION_FAILED");
    assert!(v["error"]["message"].as_str().unwrap().starts_with("line 3"), "{v}");
    assert_eq!(v["error"]["details"]["line"], 3);
    let (s, v) = app
        .raw_post("/v1/projects/web/datasets?name=bad2", &admin, "application/x-ndjson", "{\"output\":\"q\"}\n")
        .await;
    assert_error(s, &v, 400, "VALIDATION_FAILED");
    assert!(v["error"]["message"].as_str().unwrap().contains("input"), "{v}");
    // Items may wait for a target to produce their outputs; a run without a target refuses them.
    let (s, v) = app
        .raw_post("/v1/projects/web/datasets?name=inputs", &admin, "application/x-ndjson", "{\"input\":\"q\"}\n")
        .await;
    assert_eq!((s, v["items"].as_u64()), (201, Some(1)), "{v}");
    let (s, v) = app
        .post(
            "/v1/projects/web/runs",
            &admin,
            json!({"dataset": [{"input": "q", "output": "a"}, {"input": "q"}], "scorers": ["equals"]}),
        )
        .await;
    assert_error(s, &v, 400, "VALIDATION_FAILED");
    assert_eq!(v["error"]["details"]["field"], "dataset[1].output", "{v}");
    let (s, v) =
        app.raw_post("/v1/projects/web/datasets?name=bad3", &admin, "text/csv", "input,output\nq,a\nq,a,b\n").await;
    assert_error(s, &v, 400, "VALIDATION_FAILED");
    assert!(v["error"]["message"].as_str().unwrap().starts_with("line 3"), "{v}");
    let (s, v) = app
        .raw_post(
            "/v1/projects/web/datasets?name=bad4",
            &admin,
            "application/json",
            "[{\"input\":\"q\",\"output\":\"a\"},{\"output\":1}]",
        )
        .await;
    assert_error(s, &v, 400, "VALIDATION_FAILED");
    assert!(v["error"]["message"].as_str().unwrap().starts_with("item 1"), "{v}");
    let (s, v) = app.raw_post("/v1/projects/web/datasets", &admin, "text/plain", "x").await;
    assert_error(s, &v, 415, "UNSUPPORTED_MEDIA_TYPE");
    // Nothing of a refused dataset is stored.
    let (_, v) = app.get("/v1/projects/web/datasets", &admin).await;
    let names: Vec<&str> = v["items"].as_array().unwrap().iter().map(|d| d["name"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["j", "l", "c", "inputs"]);
}

#[tokio::test]
async fn datasets_have_their_own_size_limit() {
    let app = spawn_app_with(|c| {
        c.server.max_body_bytes = 2048;
        c.server.max_dataset_bytes = 64 * 1024;
    })
    .await;
    let admin = setup(&app).await;
    let medium = json!(items(100)).to_string();
    assert!(medium.len() > 2048 && medium.len() < 64 * 1024);
    let (s, v) = app.raw_post("/v1/projects/web/datasets", &admin, "application/json", &medium).await;
    assert_eq!(s, 201, "a dataset above max_body_bytes but below max_dataset_bytes is fine: {v}");
    let big = json!(items(2000)).to_string();
    let (s, v) = app.raw_post("/v1/projects/web/datasets", &admin, "application/json", &big).await;
    assert_error(s, &v, 413, "PAYLOAD_TOO_LARGE");
    let (s, v) = app
        .raw_post(
            "/v1/projects/web/runs",
            &admin,
            "application/json",
            &json!({"dataset": items(2000), "scorers": ["equals"]}).to_string(),
        )
        .await;
    assert_error(s, &v, 413, "PAYLOAD_TOO_LARGE");
}

#[tokio::test]
async fn run_with_wait_gives_summary_and_gate() {
    let app = spawn_app().await;
    let admin = setup(&app).await;
    let (s, run) = app
        .post(
            "/v1/projects/web/runs",
            &admin,
            json!({"dataset": items(40), "scorers": ["equals", {"name": "starts-p", "type": "regex_match", "config": {"pattern": "^P"}}],
                   "gate": {"min_pass_rate": 0.8, "per_scorer": {"equals": 0.7}}, "wait_s": 30}),
        )
        .await;
    assert_eq!(s, 200, "{run}");
    assert_eq!(run["status"], "completed");
    let sum = &run["summary"];
    assert_eq!(
        (sum["items"].as_u64(), sum["passed"].as_u64(), sum["failed"].as_u64(), sum["errored"].as_u64()),
        (Some(40), Some(30), Some(10), Some(0))
    );
    assert_eq!(sum["pass_rate"], 0.75);
    assert_eq!(sum["per_scorer"]["equals"]["pass_rate"], 0.75);
    assert_eq!(sum["per_scorer"]["starts-p"]["mean"], 0.75);
    assert_eq!(sum["gate"]["passed"], false);
    assert_eq!(sum["should_gate_ci"], true);
    let reasons = sum["gate"]["reasons"].as_array().unwrap();
    assert_eq!(reasons.len(), 1, "{reasons:?}");
    assert!(reasons[0].as_str().unwrap().contains("0.7500 is below the minimum 0.8000"));
    for k in ["calls", "input_tokens", "output_tokens", "cost_usd", "cache_hits"] {
        assert!(sum["usage"].get(k).is_some(), "usage.{k}");
    }
    // Without wait: 202 with a status URL, then it completes.
    let (s, acc) =
        app.post("/v1/projects/web/runs", &admin, json!({"dataset": items(5), "scorers": ["contains"]})).await;
    assert_eq!(s, 202, "{acc}");
    let url = acc["status_url"].as_str().unwrap().to_string();
    assert_eq!(url, format!("/v1/runs/{}", acc["id"].as_str().unwrap()));
    let mut done = Value::Null;
    for _ in 0..100 {
        let (_, v) = app.get(&url, &admin).await;
        if v["status"] == "completed" {
            done = v;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(done["summary"]["passed"], 3);
    assert_eq!(done["progress"], json!({"done": 5, "total": 5}));
    // Runs list, newest first.
    let (_, list) = app.get("/v1/projects/web/runs", &admin).await;
    let ids: Vec<&str> = list["items"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids, vec![acc["id"].as_str().unwrap(), run["id"].as_str().unwrap()]);
}

#[tokio::test]
async fn stored_scorers_validation_and_references() {
    let app = spawn_app().await;
    let admin = setup(&app).await;
    let (s, v) = app
        .post(
            "/v1/projects/web/scorers",
            &admin,
            json!({"name": "bad", "type": "regex_match", "config": {"pattern": "(unclosed"}}),
        )
        .await;
    assert_error(s, &v, 400, "VALIDATION_FAILED");
    assert_eq!(v["error"]["details"]["field"], "config.pattern");
    let (s, v) = app
        .post(
            "/v1/projects/web/scorers",
            &admin,
            json!({"name": "bad", "type": "json_schema", "config": {"schema": {"type": 12}}}),
        )
        .await;
    assert_error(s, &v, 400, "VALIDATION_FAILED");
    assert_eq!(v["error"]["details"]["field"], "config.schema");
    let (s, v) = app.post("/v1/projects/web/scorers", &admin, json!({"name": "x", "type": "telepathy"})).await;
    assert_error(s, &v, 400, "VALIDATION_FAILED");
    let (s, stored) = app
        .post(
            "/v1/projects/web/scorers",
            &admin,
            json!({"name": "close-enough", "type": "levenshtein", "config": {"threshold": 0.6}}),
        )
        .await;
    assert_eq!(s, 201, "{stored}");
    let (s, v) = app.post("/v1/projects/web/scorers", &admin, json!({"name": "close-enough", "type": "equals"})).await;
    assert_error(s, &v, 409, "CONFLICT");
    let (_, list) = app.get("/v1/projects/web/scorers", &admin).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);

    let ds = json!([{"input": "q", "output": "Pariss", "expected": "Paris"}]);
    let (s, run) = app
        .post(
            "/v1/projects/web/runs",
            &admin,
            json!({"dataset": ds, "scorers": ["close-enough", stored["id"], "icontains"], "wait_s": 10}),
        )
        .await;
    assert_eq!(s, 200, "{run}");
    assert_eq!(run["scorers"], json!(["close-enough", "close-enough#2", "icontains"]));
    assert_eq!(run["summary"]["per_scorer"]["close-enough"]["pass_rate"], 1.0);

    for (body, field) in [
        (
            json!({"dataset": ds, "scorers": [{"type": "regex_match", "config": {"pattern": "["}}]}),
            "scorers[0].config.pattern",
        ),
        (json!({"dataset": ds, "scorers": ["equals", "nonsense"]}), "scorers[1]"),
        (json!({"dataset": ds, "scorers": []}), "scorers"),
        (
            json!({"dataset": ds, "scorers": [{"type": "levenshtein", "config": {"threshold": 3}}]}),
            "scorers[0].config.threshold",
        ),
        (json!({"scorers": ["equals"]}), "dataset"),
        (json!({"dataset": ds, "scorers": ["equals"], "gate": {"min_pass_rate": 2}}), "gate.min_pass_rate"),
    ] {
        let (s, v) = app.post("/v1/projects/web/runs", &admin, body.clone()).await;
        assert_error(s, &v, 400, "VALIDATION_FAILED");
        assert_eq!(v["error"]["details"]["field"], field, "{body} -> {v}");
    }
    let (s, v) =
        app.post("/v1/projects/web/runs", &admin, json!({"dataset": [{"input": "q"}], "scorers": ["equals"]})).await;
    assert_error(s, &v, 400, "VALIDATION_FAILED");
    assert!(v["error"]["message"].as_str().unwrap().contains("item 0"), "{v}");
    let (s, _) = app.delete("/v1/projects/web/scorers/close-enough", &admin).await;
    assert_eq!(s, 204);
}

#[tokio::test]
async fn results_paginate_without_repeats_or_gaps_and_filter() {
    let app = spawn_app().await;
    let admin = setup(&app).await;
    let n = 2503;
    let (s, ds) = app
        .raw_post("/v1/projects/web/datasets?name=big", &admin, "application/json", &json!(items(n)).to_string())
        .await;
    assert_eq!(s, 201);
    let (s, run) = app
        .post("/v1/projects/web/runs", &admin, json!({"dataset_id": ds["id"], "scorers": ["equals"], "wait_s": 60}))
        .await;
    assert_eq!((s, &run["status"]), (200, &json!("completed")), "{run}");
    assert_eq!(run["dataset_id"], ds["id"]);
    let id = run["id"].as_str().unwrap();
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/runs/{id}/results?limit=97&cursor={c}"),
            None => format!("/v1/runs/{id}/results?limit=97"),
        };
        let (s, page) = app.get(&path, &admin).await;
        assert_eq!(s, 200, "{page}");
        for r in page["items"].as_array().unwrap() {
            seen.push(r["index"].as_u64().unwrap());
            assert_eq!(r["item"]["id"], format!("it-{}", r["index"]));
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(seen, (0..n as u64).collect::<Vec<_>>());
    let (_, failed) = app.get(&format!("/v1/runs/{id}/results?status=failed&limit=1000"), &admin).await;
    let failed = failed["items"].as_array().unwrap();
    assert_eq!(failed.len(), n.div_ceil(4));
    assert!(failed.iter().all(|r| r["passed"] == false && r["item"]["output"] == "Lyon"));
    let (_, by_scorer) = app.get(&format!("/v1/runs/{id}/results?scorer=equals&limit=5"), &admin).await;
    assert!(by_scorer["items"].as_array().unwrap().iter().all(|r| r["scores"][0]["pass"] == false));
    let (s, v) = app.get(&format!("/v1/runs/{id}/results?status=weird"), &admin).await;
    assert_error(s, &v, 400, "VALIDATION_FAILED");
    // Another org sees nothing of the run.
    let (_, other) = app.org("other").await;
    for path in [format!("/v1/runs/{id}"), format!("/v1/runs/{id}/results"), format!("/v1/runs/{id}/events")] {
        let (s, v) = app.get(&path, &other).await;
        assert_error(s, &v, 404, "NOT_FOUND");
    }
    let (s, v) = app.post(&format!("/v1/runs/{id}/cancel"), &other, json!({})).await;
    assert_error(s, &v, 404, "NOT_FOUND");
    let (s, v) = app.post(&format!("/v1/runs/{id}/cancel"), &admin, json!({})).await;
    assert_error(s, &v, 409, "CONFLICT");
}

async fn read_sse(app: &TestApp, key: &str, id: &str) -> Vec<(String, Value)> {
    use futures_util::StreamExt;
    let r = app.client.get(format!("{}/v1/runs/{id}/events", app.base)).header("X-API-Key", key).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
    let mut stream = r.bytes_stream();
    let mut buf = String::new();
    let mut events = Vec::new();
    while let Ok(Some(chunk)) = tokio::time::timeout(std::time::Duration::from_secs(60), stream.next()).await {
        buf.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
        while let Some(end) = buf.find("\n\n") {
            let frame: String = buf.drain(..end + 2).collect();
            let Some(event) = frame.lines().find_map(|l| l.strip_prefix("event: ")) else { continue };
            let data = frame.lines().find_map(|l| l.strip_prefix("data: ")).unwrap();
            events.push((event.to_string(), serde_json::from_str(data).unwrap()));
        }
    }
    events
}

#[tokio::test]
async fn events_stream_progress_then_summary_and_late_clients_get_the_summary() {
    let app = spawn_app().await;
    let admin = setup(&app).await;
    let (s, acc) = app
        .post("/v1/projects/web/runs", &admin, json!({"dataset": items(60_000), "scorers": ["equals", "levenshtein"]}))
        .await;
    assert_eq!(s, 202);
    let id = acc["id"].as_str().unwrap().to_string();
    let events = read_sse(&app, &admin, &id).await;
    let (last, summary) = events.last().unwrap();
    assert_eq!(last, "summary");
    assert_eq!(summary["status"], "completed");
    assert_eq!(summary["summary"]["items"], 60_000);
    let progress: Vec<u64> =
        events.iter().filter(|(e, _)| e == "progress").map(|(_, v)| v["progress"]["done"].as_u64().unwrap()).collect();
    assert!(!progress.is_empty(), "progress events come before the summary");
    assert!(progress.windows(2).all(|w| w[0] <= w[1]), "progress never goes back: {progress:?}");
    let late = read_sse(&app, &admin, &id).await;
    assert_eq!(late.len(), 1);
    assert_eq!(late[0].0, "summary");
}

#[tokio::test]
async fn cancel_stops_a_running_run() {
    let app = spawn_app().await;
    let admin = setup(&app).await;
    let (s, acc) = app
        .post(
            "/v1/projects/web/runs",
            &admin,
            json!({"dataset": items(150_000), "scorers": ["levenshtein", "contains", "equals"]}),
        )
        .await;
    assert_eq!(s, 202);
    let id = acc["id"].as_str().unwrap();
    let (s, run) = app.post(&format!("/v1/runs/{id}/cancel"), &admin, json!({})).await;
    assert_eq!(s, 200, "{run}");
    assert_eq!(run["status"], "cancelled");
    let (_, run) = app.get(&format!("/v1/runs/{id}"), &admin).await;
    assert_eq!(run["status"], "cancelled");
    let sum = &run["summary"];
    assert_eq!(sum["items"], 150_000);
    assert!(sum["passed"].as_u64().unwrap() < 150_000);
    assert_eq!(sum["gate"]["passed"], false);
}

#[tokio::test]
async fn me_search_and_compare_two_runs() {
    let app = spawn_app().await;
    let admin = setup(&app).await;
    let (s, me) = app.get("/v1/me", &admin).await;
    assert_eq!(s, 200);
    assert_eq!((me["org"]["name"].as_str(), me["key"]["role"].as_str()), (Some("acme"), Some("admin")));
    let base_items: Vec<Value> = (0..6).map(|i| json!({"id": format!("k{i}"), "input": format!("Question {i}"), "output": if i < 3 { "Paris" } else { "Lyon" }, "expected": "Paris"})).collect();
    // Head: k0 regresses, k3 is fixed, the others keep their verdicts; head lists them in another order.
    let mut head_items: Vec<Value> = (0..6)
        .map(|i| {
            let out = match i {
                0 => "Lyon",
                3 => "Paris",
                _ if i < 3 => "Paris",
                _ => "Lyon",
            };
            json!({"id": format!("k{i}"), "input": format!("Question {i}"), "output": out, "expected": "Paris"})
        })
        .collect();
    head_items.reverse();
    let (_, base) = app
        .post("/v1/projects/web/runs", &admin, json!({"dataset": base_items, "scorers": ["equals"], "wait_s": 10}))
        .await;
    let (_, head) = app
        .post(
            "/v1/projects/web/runs",
            &admin,
            json!({"dataset": head_items, "scorers": ["equals", "contains"], "wait_s": 10}),
        )
        .await;
    let (b, h) = (base["id"].as_str().unwrap(), head["id"].as_str().unwrap());

    let (s, found) = app.get(&format!("/v1/runs/{b}/results?q=QUESTION%204"), &admin).await;
    assert_eq!(s, 200);
    let found = found["items"].as_array().unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["item"]["id"], "k4");
    let (_, found) = app.get(&format!("/v1/runs/{b}/results?q=lyon&status=failed"), &admin).await;
    assert_eq!(found["items"].as_array().unwrap().len(), 3);

    let (s, cmp) = app.get(&format!("/v1/projects/web/compare?base={b}&head={h}"), &admin).await;
    assert_eq!(s, 200, "{cmp}");
    assert_eq!(cmp["counts"], json!({"regressed": 1, "fixed": 1, "changed": 0, "unchanged": 4}));
    let changes: Vec<(String, String)> = cmp["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["key"].as_str().unwrap().to_string(), c["change"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(changes, vec![("k3".to_string(), "fixed".to_string()), ("k0".to_string(), "regressed".to_string())]);
    assert_eq!(cmp["per_scorer"]["equals"]["delta"], 0.0);
    assert_eq!(cmp["per_scorer"]["equals"]["beyond_noise"], false, "an unchanged pass rate is noise: {cmp}");
    assert_eq!(cmp["per_scorer"]["equals"]["p_value"], 1.0);
    assert!(cmp["per_scorer"]["contains"]["base_pass_rate"].is_null());
    assert!(cmp["per_scorer"]["contains"]["beyond_noise"].is_null());
    let (_, page1) = app.get(&format!("/v1/projects/web/compare?base={b}&head={h}&limit=1"), &admin).await;
    assert_eq!(page1["items"].as_array().unwrap().len(), 1);
    let c = page1["next_cursor"].as_str().unwrap();
    let (_, page2) = app.get(&format!("/v1/projects/web/compare?base={b}&head={h}&limit=1&cursor={c}"), &admin).await;
    assert_eq!(page2["items"][0]["key"], "k0");
    assert!(page2["next_cursor"].is_null());
    let (_, other) = app.org("other").await;
    let (s, _) = app.get(&format!("/v1/projects/web/compare?base={b}&head={h}"), &other).await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn a_run_naming_thousands_of_scorers_is_refused_at_once_naming_the_limit() {
    let app = spawn_app().await;
    let admin = setup(&app).await;
    let scorers: Vec<Value> = (0..4000).map(|_| json!({"type": "contains", "config": {"value": "a"}})).collect();
    let started = std::time::Instant::now();
    let (s, v) = app.post("/v1/projects/web/runs", &admin, json!({"dataset": items(2), "scorers": scorers})).await;
    assert_eq!(s, 400, "{v}");
    assert!(v["error"]["message"].as_str().unwrap().contains("runs.max_scorers_per_run"), "{v}");
    assert!(started.elapsed() < std::time::Duration::from_secs(30), "refused without compiling them all");
    // Up to the limit, unnamed scorers of one type get unique names in order.
    let scorers: Vec<Value> = (0..100).map(|_| json!({"type": "contains", "config": {"value": "a"}})).collect();
    let (s, run) =
        app.post("/v1/projects/web/runs", &admin, json!({"dataset": items(2), "scorers": scorers, "wait_s": 30})).await;
    assert_eq!(s, 200, "{run}");
    let names = run["scorers"].as_array().unwrap();
    assert_eq!(names.len(), 100);
    assert_eq!(
        (names[0].as_str(), names[1].as_str(), names[99].as_str()),
        (Some("contains"), Some("contains#2"), Some("contains#100"))
    );
}

#[tokio::test]
async fn a_judge_scorer_naming_an_unknown_or_foreign_key_is_refused_at_submission() {
    let app = spawn_app().await;
    let admin = setup(&app).await;
    let (_, other) = app.org("other").await;
    let (s, foreign) = app
        .post("/v1/byok-keys", &other, json!({"provider": "openai", "name": "theirs", "key": "sk-foreign-key-0001"}))
        .await;
    assert_eq!(s, 201, "{foreign}");
    for key_id in ["pk_does_not_exist", foreign["id"].as_str().unwrap()] {
        let scorer = json!({"type": "llm_judge", "config": {"rubric": "Is it right?", "key_id": key_id}});
        let (s, v) = app.post("/v1/projects/web/runs", &admin, json!({"dataset": items(2), "scorers": [scorer]})).await;
        assert_eq!(s, 400, "{v}");
        assert_eq!(v["error"]["details"]["field"], "scorers[0].config.key_id", "{v}");
    }
}

#[tokio::test]
async fn compare_matches_stored_datasets_by_id_and_ignores_scorers_only_one_run_has() {
    let app = spawn_app().await;
    let admin = setup(&app).await;
    let rows: Vec<Value> =
        (0..5).map(|i| json!({"id": format!("d{i}"), "input": "q", "output": "Paris", "expected": "Paris"})).collect();
    let (s, ds) = app.post("/v1/projects/web/datasets?name=cap", &admin, json!(rows)).await;
    assert_eq!(s, 201, "{ds}");
    let run = |scorers: Value| {
        let body = json!({"dataset_id": "cap", "scorers": scorers, "wait_s": 30});
        async { app.post("/v1/projects/web/runs", &admin, body).await }
    };
    let (_, a) = run(json!(["equals"])).await;
    let (_, b) = run(json!(["equals", {"type": "contains", "config": {"value": "Lyon"}}])).await;
    let (a, b) = (a["id"].as_str().unwrap(), b["id"].as_str().unwrap());
    let (s, cmp) = app.get(&format!("/v1/projects/web/compare?base={a}&head={b}"), &admin).await;
    assert_eq!(s, 200, "{cmp}");
    // Every item fails the new scorer, so every item regressed; the shared scorer did not move.
    assert_eq!(cmp["counts"], json!({"regressed": 5, "fixed": 0, "changed": 0, "unchanged": 0}), "{cmp}");
    assert_eq!(cmp["items"][0]["key"], "d0");
    let (s, same) = app.get(&format!("/v1/projects/web/compare?base={a}&head={a}"), &admin).await;
    assert_eq!(s, 200);
    assert_eq!(same["counts"]["unchanged"], 5, "{same}");
    // A passing extra scorer: same outcomes, different scorer sets, so the scores are compared scorer by scorer.
    let (_, c) = run(json!(["equals", {"type": "contains", "config": {"value": "Par"}}])).await;
    let c = c["id"].as_str().unwrap();
    let (_, extra) = app.get(&format!("/v1/projects/web/compare?base={a}&head={c}"), &admin).await;
    assert_eq!(extra["counts"]["unchanged"], 5, "a scorer only one run has is no change: {extra}");
}

#[tokio::test]
async fn admission_queues_runs_past_the_limit_and_a_queued_run_can_be_cancelled() {
    let app = spawn_app_with(|c| {
        c.runs.max_active = 1;
        c.runs.max_active_per_org = 1;
    })
    .await;
    let admin = setup(&app).await;
    let big = json!({"dataset": items(150_000), "scorers": ["levenshtein", "contains", "equals"]});
    let (s, first) = app.post("/v1/projects/web/runs", &admin, big).await;
    assert_eq!(s, 202, "{first}");
    // The first run holds the only slot once it is running (while its items are still being stored it holds
    // none, and a smaller run may start first).
    let first_url = format!("/v1/runs/{}", first["id"].as_str().unwrap());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let (_, f) = app.get(&first_url, &admin).await;
        if f["status"] == "running" {
            break;
        }
        assert!(f["status"] == "queued" && std::time::Instant::now() < deadline, "the first run never ran: {f}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let (s, second) =
        app.post("/v1/projects/web/runs", &admin, json!({"dataset": items(3), "scorers": ["equals"]})).await;
    assert_eq!(s, 202, "{second}");
    let id = second["id"].as_str().unwrap();
    let (_, queued) = app.get(&format!("/v1/runs/{id}"), &admin).await;
    let (_, f) = app.get(&first_url, &admin).await;
    assert_eq!(queued["status"], "queued", "one run at a time: the second waits ({queued}; the first: {f})");
    let (s, run) = app.post(&format!("/v1/runs/{id}/cancel"), &admin, json!({})).await;
    assert_eq!(s, 200, "{run}");
    assert_eq!(run["status"], "cancelled");
    assert_eq!(run["summary"]["items"], 3, "a run cancelled in the queue still has its summary: {run}");
    assert_eq!(run["summary"]["passed"], 0);
}
