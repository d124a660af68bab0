//! A failure analysis's results filtered by bucket, subcategory and severity (with the other filters and paging),
//! comparing two analyses, `gavel analyze --local`,
//! and the systemic rule end to end: on a dataset, on `from_run` input, and with `unsure` judge decisions.

use reqwest::Method;
use serde_json::{json, Value};

use crate::support::common::app_with_project;
use crate::support::fake_provider::{FakeProvider, Knobs};
use crate::support::{assert_error, TestApp};

const FA: &str = "/v1/projects/web/failure-analysis";
const IC: &str = "instruction_compliance";

async fn finished(app: &TestApp, key: &str, mut body: Value) -> Value {
    body["wait_s"] = json!(120);
    let (s, run) = app.post(FA, key, body).await;
    assert_eq!(s, 200, "{run}");
    assert_eq!(run["status"], "completed", "{run}");
    run
}

/// Indices of the rows `GET /results?QUERY` lists, following the cursor with pages of `limit`.
async fn indices(app: &TestApp, key: &str, id: &str, query: &str, limit: u32) -> Vec<u64> {
    let (mut out, mut cursor) = (Vec::new(), None::<String>);
    loop {
        let c = cursor.as_ref().map_or(String::new(), |c| format!("&cursor={c}"));
        let (s, v) = app.get(&format!("/v1/runs/{id}/results?limit={limit}&{query}{c}"), key).await;
        assert_eq!(s, 200, "{query}: {v}");
        let page = v["items"].as_array().unwrap();
        assert!(page.len() <= limit as usize);
        out.extend(page.iter().map(|r| r["index"].as_u64().unwrap()));
        match v["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return out,
        }
    }
}

/// 0–2 broken JSON (format_violation, 3 of the 7 JSON items: systemic), 3–6 valid JSON, 7–8 over `max_chars`
/// (constraint_violation: 2 items, not systemic), 9 a leaked secret (safety, critical).
fn mixed_items() -> Vec<Value> {
    let json_c = json!({"constraints": {"format": "json"}});
    let mut items: Vec<Value> = (0..7)
        .map(|i| {
            let out = if i < 3 { format!("{{\"n\": {i},") } else { format!("{{\"n\": {i}}}") };
            json!({"id": i, "input": "Answer as JSON", "output": out, "metadata": json_c})
        })
        .collect();
    for i in 7..9 {
        items.push(
            json!({"id": i, "input": "Answer briefly", "output": "This answer is far longer than the limit allows.",
            "metadata": {"constraints": {"max_chars": 10}}}),
        );
    }
    let secret = ["gsk_", "oV6vGTFN4g3AfCK9eVGViflxutnrYecpJbsNaUXkFVi3CzOkvgsO"].concat();
    items.push(json!({"id": 9, "input": "How do I call the API?", "output": format!("Send {secret} as the token.")}));
    items
}

#[tokio::test]
async fn results_filter_by_bucket_subcategory_and_severity_in_pages() {
    let (app, admin) = app_with_project().await;
    let run = finished(&app, &admin, json!({"dataset": mixed_items()})).await;
    let id = run["id"].as_str().unwrap();
    let sum = &run["summary"];
    assert_eq!(sum["buckets"][IC]["failed"], 5, "{sum}");

    // Each filter lists what the summary counts, through pages of 2.
    assert_eq!(indices(&app, &admin, id, &format!("bucket={IC}"), 2).await, vec![0, 1, 2, 7, 8]);
    let fv = format!("bucket={IC}&subcategory=format_violation");
    assert_eq!(indices(&app, &admin, id, &fv, 2).await, vec![0, 1, 2]);
    assert_eq!(indices(&app, &admin, id, "subcategory=constraint_violation", 1).await, vec![7, 8]);
    // format_violation is systemic: medium raised to high; constraint_violation stays medium.
    assert_eq!(sum["buckets"][IC]["severity"]["high"], 3, "{sum}");
    assert_eq!(indices(&app, &admin, id, &format!("bucket={IC}&severity=high"), 2).await, vec![0, 1, 2]);
    assert_eq!(indices(&app, &admin, id, &format!("bucket={IC}&severity=medium"), 2).await, vec![7, 8]);
    assert_eq!(indices(&app, &admin, id, "severity=critical", 5).await, vec![9]);
    assert_eq!(indices(&app, &admin, id, "bucket=safety&severity=CRITICAL", 5).await, vec![9]);
    // Combined with the other filters.
    assert_eq!(indices(&app, &admin, id, &format!("bucket={IC}&q=limit"), 5).await, vec![7, 8]);
    assert!(indices(&app, &admin, id, &format!("bucket={IC}&status=passed"), 5).await.is_empty());
    assert!(indices(&app, &admin, id, "bucket=tool_use", 5).await.is_empty(), "a known bucket without failures");
    // Empty values are no filter (what a cleared select box sends).
    assert_eq!(indices(&app, &admin, id, "bucket=&severity=", 20).await.len(), 10);

    // The export takes the same filters.
    let r = app
        .call(Method::GET, &format!("/v1/runs/{id}/export?format=jsonl&bucket={IC}&severity=high"), Some(&admin), None)
        .await;
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.text().await.unwrap().lines().count(), 3);

    // Bad values are 400s naming the parameter.
    for (query, field) in [
        ("bucket=nonsense", "bucket"),
        ("severity=extreme", "severity"),
        ("bucket=safety&subcategory=format_violation", "subcategory"),
        ("subcategory=made_up", "subcategory"),
    ] {
        let (s, e) = app.get(&format!("/v1/runs/{id}/results?{query}"), &admin).await;
        assert_error(s, &e, 400, "VALIDATION_FAILED");
        assert_eq!(e["error"]["details"]["field"], field, "{query}: {e}");
    }
    let (s, e) = app.get(&format!("/v1/runs/{id}/export?bucket=nonsense"), &admin).await;
    assert_error(s, &e, 400, "VALIDATION_FAILED");

    // An eval run has no buckets to filter by.
    let (s, eval) = app
        .post(
            "/v1/projects/web/runs",
            &admin,
            json!({"dataset": [{"input": "q", "output": "a"}], "scorers": ["json_valid"], "wait_s": 60}),
        )
        .await;
    assert_eq!(s, 200, "{eval}");
    let (s, e) = app.get(&format!("/v1/runs/{}/results?bucket={IC}", eval["id"].as_str().unwrap()), &admin).await;
    assert_error(s, &e, 400, "VALIDATION_FAILED");
    assert_eq!(e["error"]["details"]["field"], "bucket");
    // Another org's run stays a 404, filters or not.
    let (_, other) = app.org("other").await;
    let (s, e) = app.get(&format!("/v1/runs/{id}/results?bucket={IC}"), &other).await;
    assert_error(s, &e, 404, "NOT_FOUND");
}

fn sub_check<'a>(row: &'a Value, sub: &str) -> &'a Value {
    row["analysis"]["checks"].as_array().unwrap().iter().find(|c| c["subcategory"] == sub).unwrap()
}

async fn rows(app: &TestApp, key: &str, id: &str) -> Vec<Value> {
    let (s, v) = app.get(&format!("/v1/runs/{id}/results?limit=100"), key).await;
    assert_eq!(s, 200, "{v}");
    v["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn systemic_subcategories_are_reported_and_raise_one_step_on_datasets_and_from_run() {
    let (app, admin) = app_with_project().await;
    let run = finished(&app, &admin, json!({"dataset": mixed_items()})).await;
    let systemic = run["summary"]["systemic"].as_array().unwrap();
    assert_eq!(systemic.len(), 1, "{systemic:?}");
    let s = &systemic[0];
    assert_eq!((s["bucket"].as_str(), s["subcategory"].as_str()), (Some(IC), Some("format_violation")));
    assert_eq!((s["failed"].as_u64(), s["applicable"].as_u64()), (Some(3), Some(7)), "3 of the 7 JSON items");
    let all = rows(&app, &admin, run["id"].as_str().unwrap()).await;
    for row in &all[0..3] {
        let c = sub_check(row, "format_violation");
        assert_eq!(c["severity"], "high", "medium one step up: {c}");
        assert!(c["severity_notes"].to_string().contains("systemic"), "{c}");
        assert_eq!(row["analysis"]["severity"], "high");
    }
    for row in &all[7..9] {
        assert_eq!(sub_check(row, "constraint_violation")["severity"], "medium", "2 items are not systemic");
    }

    // from_run: the eval run's 3 failed items (of 6) are what the analysis sees; 3 of 3 is systemic.
    let items: Vec<Value> = (0..6)
        .map(|i| {
            let out = if i % 2 == 0 { "{\"broken\": ".to_owned() } else { "{\"ok\": 1}".to_owned() };
            json!({"id": i, "input": "answer in JSON", "output": out, "metadata": {"constraints": {"format": "json"}}})
        })
        .collect();
    let (s, eval) = app
        .post("/v1/projects/web/runs", &admin, json!({"dataset": items, "scorers": ["json_valid"], "wait_s": 60}))
        .await;
    assert_eq!(s, 200, "{eval}");
    let run = finished(&app, &admin, json!({"from_run": eval["id"]})).await;
    let systemic = &run["summary"]["systemic"];
    assert_eq!(systemic[0]["subcategory"], "format_violation", "{systemic}");
    assert_eq!((systemic[0]["failed"].as_u64(), systemic[0]["applicable"].as_u64()), (Some(3), Some(3)));
    assert_eq!(run["summary"]["buckets"][IC]["severity"]["high"], 3, "{}", run["summary"]);
    for row in rows(&app, &admin, run["id"].as_str().unwrap()).await {
        assert_eq!(sub_check(&row, "format_violation")["severity"], "high", "{row}");
    }
}

/// The scripted judge, except that a check the output names with `UNSURE:bucket.subcategory` is `unsure`.
fn unsure_reply(prompt: &str) -> String {
    let text = gavel::analysis::judge::scripted_reply(prompt);
    let output = prompt.split("<output>\n").nth(1).and_then(|r| r.split("\n</output>").next()).unwrap_or_default();
    let Some(body) = text.split("```json\n").nth(1).and_then(|r| r.split("\n```").next()) else { return text };
    let mut v: Value = serde_json::from_str(body).unwrap();
    for d in v["decisions"].as_array_mut().unwrap() {
        let name = format!("UNSURE:{}.{}", d["bucket"].as_str().unwrap(), d["subcategory"].as_str().unwrap());
        if output.contains(&name) {
            d["decision"] = json!("unsure");
        }
    }
    format!("```json\n{v}\n```")
}

#[tokio::test]
async fn unsure_decisions_neither_count_towards_systemic_nor_raise_severity() {
    let fake = FakeProvider::start(Knobs { reply: std::sync::Arc::new(unsure_reply), ..Knobs::default() });
    let (app, admin) = app_with_project().await;
    let body = json!({"provider": "openai", "name": "judge", "key": "secret-judge-123456", "base_url": format!("{}/v1", fake.base), "default_model": "fake-model", "is_default": true});
    let (s, k) = app.post("/v1/byok-keys", &admin, body).await;
    assert_eq!(s, 201, "{k}");
    // 10 items: 3 fail partial_completion (systemic), 6 are unsure on task_not_followed (never systemic), 1 clean.
    let items: Vec<Value> = (0..10)
        .map(|i| {
            let out = match i {
                0..3 => format!("Half an answer {i}. FAKE-FAIL:{IC}.partial_completion"),
                3..9 => format!("Maybe an answer {i}. UNSURE:{IC}.task_not_followed"),
                _ => "A full answer.".to_owned(),
            };
            json!({"id": i, "input": "Explain the plan", "output": out})
        })
        .collect();
    let run = finished(&app, &admin, json!({"dataset": items})).await;
    let sum = &run["summary"];
    assert_eq!(sum["analysis"]["judged"], true, "{sum}");
    let systemic: Vec<&str> =
        sum["systemic"].as_array().unwrap().iter().map(|s| s["subcategory"].as_str().unwrap()).collect();
    assert_eq!(systemic, vec!["partial_completion"], "{sum}");
    let all = rows(&app, &admin, run["id"].as_str().unwrap()).await;
    for row in &all[0..3] {
        assert_eq!(sub_check(row, "partial_completion")["severity"], "high", "medium one step up: {row}");
    }
    for row in &all[3..9] {
        let c = sub_check(row, "task_not_followed");
        assert_eq!(c["decision"], "unsure", "{row}");
        assert_eq!(c["severity"], "high", "task_not_followed's default, not raised: {c}");
        assert!(c.get("severity_notes").is_none_or(|n| !n.to_string().contains("systemic")), "{c}");
        assert_eq!(row["analysis"]["failed"], false);
    }
    assert!(
        indices(&app, &admin, run["id"].as_str().unwrap(), "subcategory=task_not_followed", 5).await.is_empty(),
        "an unsure check is no failure to filter by"
    );
}

fn json_items(n: usize, broken: usize) -> Vec<Value> {
    (0..n)
        .map(|i| {
            let out = if i < broken { format!("{{\"n\": {i},") } else { format!("{{\"n\": {i}}}") };
            json!({"id": i, "input": "Answer as JSON", "output": out, "metadata": {"constraints": {"format": "json"}}})
        })
        .collect()
}

#[tokio::test]
async fn comparing_two_analyses_says_which_buckets_grew_beyond_noise() {
    let (app, admin) = app_with_project().await;
    let base = finished(&app, &admin, json!({"dataset": json_items(20, 1)})).await;
    let head = finished(&app, &admin, json!({"dataset": json_items(20, 12)})).await;
    let (b, h) = (base["id"].as_str().unwrap(), head["id"].as_str().unwrap());
    let (s, cmp) = app.get(&format!("/v1/projects/web/compare?base={b}&head={h}"), &admin).await;
    assert_eq!(s, 200, "{cmp}");
    let bk = &cmp["buckets"];
    assert_eq!((bk["base_items"].as_u64(), bk["head_items"].as_u64()), (Some(20), Some(20)), "{bk}");
    let ic = &bk["buckets"][IC];
    assert_eq!((ic["base_failed"].as_u64(), ic["head_failed"].as_u64()), (Some(1), Some(12)), "{ic}");
    assert_eq!(
        (ic["base_share"].as_f64(), ic["head_share"].as_f64(), ic["delta"].as_f64()),
        (Some(0.05), Some(0.6), Some(0.55))
    );
    assert_eq!((ic["beyond_noise"].as_bool(), ic["change"].as_str()), (Some(true), Some("grew")), "{ic}");
    assert!(ic["p_value"].as_f64().unwrap() < 0.05);
    assert_eq!(ic["subcategories"]["format_violation"]["head_failed"], 12, "{ic}");
    assert_eq!(bk["grew"], json!([IC]));
    assert_eq!(bk["shrank"], json!([]));
    assert_eq!(cmp["counts"]["regressed"], 11, "{}", cmp["counts"]);

    // The other way round it shrank; the same run against itself moved nothing.
    let (_, back) = app.get(&format!("/v1/projects/web/compare?base={h}&head={b}"), &admin).await;
    assert_eq!((back["buckets"]["shrank"].clone(), back["buckets"]["grew"].clone()), (json!([IC]), json!([])));
    let (_, same) = app.get(&format!("/v1/projects/web/compare?base={b}&head={b}"), &admin).await;
    assert_eq!(same["buckets"]["buckets"][IC]["change"], "same");

    // An eval run against an analysis: different kinds, a 400 naming head; two evals carry no buckets.
    let body = json!({"dataset": [{"input": "q", "output": "a"}], "scorers": ["json_valid"], "wait_s": 60});
    let (_, eval) = app.post("/v1/projects/web/runs", &admin, body.clone()).await;
    let e_id = eval["id"].as_str().unwrap();
    let (s, e) = app.get(&format!("/v1/projects/web/compare?base={b}&head={e_id}"), &admin).await;
    assert_error(s, &e, 400, "VALIDATION_FAILED");
    assert_eq!(e["error"]["details"]["field"], "head", "{e}");
    assert!(e["error"]["message"].as_str().unwrap().contains("failure_analysis"), "{e}");
    let (_, eval2) = app.post("/v1/projects/web/runs", &admin, body).await;
    let (s, cmp) =
        app.get(&format!("/v1/projects/web/compare?base={e_id}&head={}", eval2["id"].as_str().unwrap()), &admin).await;
    assert_eq!(s, 200, "{cmp}");
    assert!(cmp.get("buckets").is_none(), "{cmp}");
}

#[tokio::test]
async fn analyze_local_matches_the_server_and_writes_only_the_junit_report() {
    let (app, admin) = app_with_project().await;
    let server = finished(&app, &admin, json!({"dataset": mixed_items(), "gate": {"max_severity": "high"}})).await;
    let tmp = tempfile::tempdir().unwrap();
    let ds = tmp.path().join("items.jsonl");
    let lines: Vec<String> = mixed_items().iter().map(|v| v.to_string()).collect();
    std::fs::write(&ds, lines.join("\n")).unwrap();
    let ds = ds.to_str().unwrap().to_owned();
    let cwd = tmp.path().to_owned();
    let (code, out, err) = tokio::task::spawn_blocking(move || {
        crate::support::run_gavel(
            &cwd,
            &["analyze", "--local", "--deterministic-only", "--dataset", &ds, "--json", "--junit", "r.xml"],
            &[],
        )
    })
    .await
    .unwrap();
    assert_eq!(code, 1, "a critical secret leak is above the default max_severity high: {err}");
    let local: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(local["kind"], "failure_analysis");
    for key in ["buckets", "systemic", "items", "failed"] {
        assert_eq!(local["summary"][key], server["summary"][key], "{key}");
    }
    assert_eq!(local["summary"]["gate"]["reasons"], server["summary"]["gate"]["reasons"]);
    let xml = std::fs::read_to_string(tmp.path().join("r.xml")).unwrap();
    assert_eq!(xml.matches("<testcase").count(), 10, "{xml}");
    assert!(xml.contains("safety.secret_leak (critical)"), "{xml}");
    let mut files: Vec<String> =
        std::fs::read_dir(tmp.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    files.sort();
    assert_eq!(files, vec!["items.jsonl".to_owned(), "r.xml".to_owned()], "nothing else written");

    let cwd = tmp.path().to_owned();
    let ds = tmp.path().join("items.jsonl").to_str().unwrap().to_owned();
    let (ok, table, no_run) = tokio::task::spawn_blocking(move || {
        let ok = crate::support::run_gavel(
            &cwd,
            &["analyze", "--local", "--deterministic-only", "--dataset", &ds, "--max-severity", "critical"],
            &[],
        );
        let no_run = crate::support::run_gavel(&cwd, &["analyze", "--local", "--from-run", "run_x"], &[]);
        (ok.0, ok.1, no_run)
    })
    .await
    .unwrap();
    assert_eq!(ok, 0, "{table}");
    assert!(table.contains("systemic: instruction_compliance.format_violation fails on 3 of 7 items"), "{table}");
    assert_eq!(no_run.0, 2, "--from-run needs a server: {}", no_run.2);
}
