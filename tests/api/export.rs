//! `GET /v1/runs/{id}/export` (CSV and JSONL, read back and compared with `/results`) and
//! `GET /v1/projects/{p}/datasets/{id}/items` (paged).

use reqwest::Method;
use serde_json::{json, Value};

use crate::support::{assert_error, spawn_app, TestApp};

/// Hostile text an export must carry unchanged (apart from the documented `'` before a formula).
const HOSTILE: [&str; 5] = [
    "say \"hi\", then leave",
    "line one\nline two\r\nline three",
    "=HYPERLINK(\"http://evil\",\"x\")",
    "+1-2",
    "@SUM(A1:A9); -rm",
];

async fn setup(app: &TestApp) -> String {
    let (_, admin) = app.org("acme").await;
    let (s, _) = app.post("/v1/projects", &admin, json!({"name": "web"})).await;
    assert_eq!(s, 201);
    admin
}

fn items(n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| {
            let hostile = HOSTILE[i % HOSTILE.len()];
            let output = if i % 3 == 0 { format!("{hostile} Lyon") } else { format!("Paris, {hostile}") };
            json!({"id": format!("it-{i}"), "input": format!("q{i}: {hostile}"), "output": output, "expected": "Paris"})
        })
        .collect()
}

async fn raw(app: &TestApp, path: &str, key: &str) -> (u16, String, String, String) {
    let r = app.call(Method::GET, path, Some(key), None).await;
    let s = r.status().as_u16();
    let h = |n: &str| r.headers().get(n).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let (ct, cd) = (h("content-type"), h("content-disposition"));
    (s, ct, cd, r.text().await.unwrap())
}

/// Every /results row of the run (with `filter` appended to the query), paging through.
async fn all_results(app: &TestApp, key: &str, run: &str, filter: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cursor = String::new();
    loop {
        let (s, v) = app.get(&format!("/v1/runs/{run}/results?limit=1000{filter}{cursor}"), key).await;
        assert_eq!(s, 200, "{v}");
        out.extend(v["items"].as_array().unwrap().iter().cloned());
        match v["next_cursor"].as_str() {
            Some(c) => cursor = format!("&cursor={c}"),
            None => return out,
        }
    }
}

fn undefuse(s: &str) -> &str {
    match s.strip_prefix('\'') {
        Some(rest) if rest.starts_with(['=', '+', '-', '@', '\t', '\r']) => rest,
        _ => s,
    }
}

#[tokio::test]
async fn a_3000_item_run_exports_as_csv_and_jsonl_that_read_back_as_the_results() {
    let app = spawn_app().await;
    let admin = setup(&app).await;
    let (s, run) = app
        .post(
            "/v1/projects/web/runs",
            &admin,
            json!({"dataset": items(3000), "scorers": ["contains", {"type": "icontains", "config": {"value": "paris"}, "name": "ci"}], "wait_s": 120}),
        )
        .await;
    assert_eq!((s, run["status"].as_str()), (200, Some("completed")), "{run}");
    let id = run["id"].as_str().unwrap();
    let results = all_results(&app, &admin, id, "").await;
    assert_eq!(results.len(), 3000);

    // JSONL: one /results row per line, identical.
    let (s, ct, cd, body) = raw(&app, &format!("/v1/runs/{id}/export?format=jsonl"), &admin).await;
    assert_eq!(s, 200);
    assert!(ct.starts_with("application/x-ndjson"), "{ct}");
    assert_eq!(cd, format!("attachment; filename=\"{id}.jsonl\""));
    let lines: Vec<Value> = body.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines, results, "the JSONL export is the /results rows");

    // CSV: the documented columns; every cell reads back as the row's value.
    let (s, ct, cd, body) = raw(&app, &format!("/v1/runs/{id}/export?format=csv"), &admin).await;
    assert_eq!(s, 200);
    assert!(ct.starts_with("text/csv"), "{ct}");
    assert_eq!(cd, format!("attachment; filename=\"{id}.csv\""));
    let mut rd = csv::Reader::from_reader(body.as_bytes());
    let header: Vec<String> = rd.headers().unwrap().iter().map(str::to_string).collect();
    assert_eq!(
        header,
        [
            "index",
            "id",
            "input",
            "output",
            "expected",
            "outcome",
            "contains.score",
            "contains.pass",
            "contains.reason",
            "contains.error",
            "ci.score",
            "ci.pass",
            "ci.reason",
            "ci.error"
        ]
    );
    let rows: Vec<csv::StringRecord> = rd.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 3000);
    let mut defused = 0;
    for (row, want) in rows.iter().zip(&results) {
        assert_eq!(row[0], want["index"].to_string());
        assert_eq!(row[1], *want["item"]["id"].as_str().unwrap());
        for (col, field) in [(2, "input"), (3, "output")] {
            let text = want["item"][field].as_str().unwrap();
            assert_eq!(undefuse(&row[col]), text, "{field} of {}", &row[0]);
            if row[col].starts_with('\'') {
                defused += 1;
                assert!(!row[col][1..].is_empty() && "=+-@".contains(&row[col][1..2]), "{}", &row[col]);
            } else {
                assert!(!row[col].starts_with(['=', '+', '-', '@']), "a formula cell left as it was: {}", &row[col]);
            }
        }
        assert_eq!(row[4], *"Paris");
        let outcome = if want["errored"] == true {
            "errored"
        } else if want["passed"] == true {
            "passed"
        } else {
            "failed"
        };
        assert_eq!(row[5], *outcome);
        for (k, sc) in want["scores"].as_array().unwrap().iter().enumerate() {
            let at = 6 + 4 * k;
            assert_eq!(header[at], format!("{}.score", sc["scorer"].as_str().unwrap()));
            assert_eq!(row[at].parse::<f64>().unwrap(), sc["score"].as_f64().unwrap());
            assert_eq!(row[at + 1], sc["pass"].as_bool().unwrap().to_string());
            assert_eq!(undefuse(&row[at + 2]), sc["reason"].as_str().unwrap());
        }
    }
    let formulas = results
        .iter()
        .flat_map(|r| [&r["item"]["input"], &r["item"]["output"]])
        .filter(|v| v.as_str().unwrap().starts_with(['=', '+', '-', '@']))
        .count();
    assert!(formulas > 0);
    assert_eq!(defused, formulas, "every formula-like cell was defused, and only those");

    // The filters are those of /results.
    let failed = all_results(&app, &admin, id, "&status=failed&q=lyon").await;
    assert!(!failed.is_empty() && failed.len() < 3000);
    let (s, _, _, body) = raw(&app, &format!("/v1/runs/{id}/export?format=jsonl&status=failed&q=lyon"), &admin).await;
    assert_eq!(s, 200);
    let lines: Vec<Value> = body.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines, failed);
    let (s, _, _, body) = raw(&app, &format!("/v1/runs/{id}/export?format=csv&scorer=ci"), &admin).await;
    assert_eq!(s, 200);
    let n = csv::Reader::from_reader(body.as_bytes()).records().count();
    assert_eq!(n, all_results(&app, &admin, id, "&scorer=ci").await.len());
}

#[tokio::test]
async fn export_errors_name_the_field_and_other_orgs_runs_are_not_found() {
    let app = spawn_app().await;
    let admin = setup(&app).await;
    let (s, run) = app
        .post("/v1/projects/web/runs", &admin, json!({"dataset": items(5), "scorers": ["contains"], "wait_s": 30}))
        .await;
    assert_eq!(s, 200, "{run}");
    let id = run["id"].as_str().unwrap();
    let (s, v) = app.get(&format!("/v1/runs/{id}/export?format=xml"), &admin).await;
    assert_error(s, &v, 400, "VALIDATION_FAILED");
    assert_eq!(v["error"]["details"]["field"], "format", "{v}");
    let (s, v) = app.get(&format!("/v1/runs/{id}/export"), &admin).await;
    assert_error(s, &v, 400, "VALIDATION_FAILED");
    assert_eq!(v["error"]["details"]["field"], "format", "{v}");
    let (s, v) = app.get(&format!("/v1/runs/{id}/export?format=csv&status=maybe"), &admin).await;
    assert_error(s, &v, 400, "VALIDATION_FAILED");
    assert_eq!(v["error"]["details"]["field"], "status", "{v}");
    let (_, other) = app.org("other").await;
    let (s, v) = app.get(&format!("/v1/runs/{id}/export?format=csv"), &other).await;
    assert_error(s, &v, 404, "NOT_FOUND");
    let (s, v) = app.get("/v1/runs/run_missing/export?format=jsonl", &admin).await;
    assert_error(s, &v, 404, "NOT_FOUND");
}

#[tokio::test]
async fn a_datasets_items_come_in_pages_and_other_orgs_cannot_see_them() {
    let app = spawn_app().await;
    let admin = setup(&app).await;
    let body: String = items(7).iter().map(|i| i.to_string() + "\n").collect();
    let r = app
        .client
        .post(format!("{}/v1/projects/web/datasets?name=seven", app.base))
        .header("X-API-Key", &admin)
        .header("content-type", "application/x-ndjson")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    let ds: Value = r.json().await.unwrap();
    let ds_id = ds["id"].as_str().unwrap();
    let mut seen = Vec::new();
    let mut cursor = String::new();
    for _ in 0..5 {
        let (s, v) = app.get(&format!("/v1/projects/web/datasets/{ds_id}/items?limit=3{cursor}"), &admin).await;
        assert_eq!(s, 200, "{v}");
        seen.extend(v["items"].as_array().unwrap().iter().cloned());
        match v["next_cursor"].as_str() {
            Some(c) => cursor = format!("&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 7);
    for (i, row) in seen.iter().enumerate() {
        assert_eq!(row["idx"], i);
        assert_eq!(row["item"], items(7)[i], "item {i} as uploaded");
    }
    // By name too.
    let (s, v) = app.get("/v1/projects/web/datasets/seven/items?limit=1", &admin).await;
    assert_eq!((s, v["items"][0]["idx"].as_u64()), (200, Some(0)));
    let (s, v) = app.get(&format!("/v1/projects/web/datasets/{ds_id}/items?cursor=forged"), &admin).await;
    assert_error(s, &v, 400, "VALIDATION_FAILED");
    assert_eq!(v["error"]["details"]["field"], "cursor");
    let (s, v) = app.get(&format!("/v1/projects/web/datasets/{ds_id}/items?limit=0"), &admin).await;
    assert_error(s, &v, 400, "VALIDATION_FAILED");
    let (_, other) = app.org("other").await;
    app.post("/v1/projects", &other, json!({"name": "web"})).await;
    let (s, v) = app.get(&format!("/v1/projects/web/datasets/{ds_id}/items"), &other).await;
    assert_error(s, &v, 404, "NOT_FOUND");
}

#[tokio::test]
async fn the_server_admin_key_is_told_who_it_is() {
    let app = spawn_app().await;
    let (s, v) = app.get("/v1/me", &app.admin_key.clone()).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!((v["server_admin"].as_bool(), v["key"]["role"].as_str()), (Some(true), Some("server_admin")));
    assert!(v["org"].is_null());
    let admin = setup(&app).await;
    let (s, v) = app.get("/v1/me", &admin).await;
    assert_eq!((s, v["server_admin"].as_bool(), v["key"]["role"].as_str()), (200, Some(false), Some("admin")));
}

#[tokio::test]
async fn compare_items_carry_both_outputs() {
    let app = spawn_app().await;
    let admin = setup(&app).await;
    let base: Vec<Value> =
        (0..3).map(|i| json!({"id": i, "input": "q", "output": "Paris is the capital", "expected": "Paris"})).collect();
    let head: Vec<Value> = (0..3).map(|i| json!({"id": i, "input": "q", "output": if i == 1 { "Lyon is the capital" } else { "Paris is the capital" }, "expected": "Paris"})).collect();
    let mut ids = Vec::new();
    for ds in [base, head] {
        let (s, r) = app
            .post("/v1/projects/web/runs", &admin, json!({"dataset": ds, "scorers": ["contains"], "wait_s": 30}))
            .await;
        assert_eq!(s, 200, "{r}");
        ids.push(r["id"].as_str().unwrap().to_string());
    }
    let (s, v) = app.get(&format!("/v1/projects/web/compare?base={}&head={}", ids[0], ids[1]), &admin).await;
    assert_eq!(s, 200, "{v}");
    let it = &v["items"][0];
    assert_eq!(it["change"], "regressed");
    assert_eq!(it["base"]["output"], "Paris is the capital");
    assert_eq!(it["head"]["output"], "Lyon is the capital");
    assert_eq!(it["head"]["output_truncated"], false);
}
