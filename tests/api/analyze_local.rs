//! `gavel analyze --local` with its judge: the real binary, in-process, against the fake provider's scripted judge,
//! agreeing with a server run of the same items; no key → exit 2 unless `--deterministic-only`; a wrong key → the
//! items analysed on their rules, the judge's failure said on stderr.

use serde_json::{json, Value};

use crate::support::common::app_with_project;
use crate::support::fake_provider::{FakeProvider, Knobs};
use crate::support::run_gavel;

const FA: &str = "/v1/projects/web/failure-analysis";
const HG: &str = "hallucination_grounding";
const ENV_KEY: &str = "sk-analyze-local-0001";

/// Every provider key variable the CLI reads, blanked (the CLI treats an empty variable as unset).
const NO_KEYS: [(&str, &str); 7] = [
    ("GAVEL_PROVIDER_KEY", ""),
    ("OPENAI_API_KEY", ""),
    ("ANTHROPIC_API_KEY", ""),
    ("GEMINI_API_KEY", ""),
    ("GOOGLE_API_KEY", ""),
    ("GROQ_API_KEY", ""),
    ("AZURE_OPENAI_API_KEY", ""),
];

fn scripted(valid_keys: Vec<String>) -> Knobs {
    Knobs { reply: std::sync::Arc::new(gavel::analysis::judge::scripted_reply), valid_keys, ..Knobs::default() }
}

/// Nine grounded answers, three of them marked for the scripted judge to fail as unsupported claims (systemic: ≥ 3
/// items and ≥ 20 %, so high is raised to critical), and one broken JSON answer (a rule's failure the judge confirms).
fn items() -> Vec<Value> {
    let mut items: Vec<Value> = (0..9)
        .map(|i| {
            let out = if i % 3 == 0 {
                format!("Paris has 90 million people. FAKE-FAIL:{HG}.unsupported_claim #{i}")
            } else {
                format!("Paris is the capital of France #{i}")
            };
            json!({"input": format!("What is the capital of France? #{i}"), "output": out,
                   "context": ["Paris is the capital of France."]})
        })
        .collect();
    items.push(json!({"input": "The user as JSON", "output": "{\"name\": \"Ann\",",
                      "metadata": {"constraints": {"format": "json"}}}));
    items
}

fn write_dataset(dir: &std::path::Path) -> String {
    let path = dir.join("items.jsonl");
    let lines: Vec<String> = items().iter().map(Value::to_string).collect();
    std::fs::write(&path, lines.join("\n")).unwrap();
    path.to_str().unwrap().to_owned()
}

async fn gavel(cwd: &std::path::Path, args: Vec<String>, envs: Vec<(&'static str, String)>) -> (i32, String, String) {
    let cwd = cwd.to_owned();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let envs: Vec<(&str, &str)> = envs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        run_gavel(&cwd, &args, &envs)
    })
    .await
    .unwrap()
}

fn envs(key: &str) -> Vec<(&'static str, String)> {
    let mut e: Vec<(&'static str, String)> = NO_KEYS.iter().map(|(k, v)| (*k, v.to_string())).collect();
    e[0].1 = key.to_owned();
    e
}

#[tokio::test]
async fn analyze_local_judges_in_process_like_the_server() {
    let fake = FakeProvider::start(scripted(vec![ENV_KEY.to_owned(), "secret-judge-123456".to_owned()]));
    let (app, admin) = app_with_project().await;
    let base_url = format!("{}/v1", fake.base);
    let key = json!({"provider": "openai", "name": "judge", "key": "secret-judge-123456", "base_url": base_url,
                     "default_model": "fake-model", "is_default": true});
    let (s, k) = app.post("/v1/byok-keys", &admin, key).await;
    assert_eq!(s, 201, "{k}");
    let gate = json!({"max_severity": "critical", "max_share": {HG: 0.1}});
    let (s, server) = app.post(FA, &admin, json!({"dataset": items(), "gate": gate, "wait_s": 120})).await;
    assert_eq!((s, server["status"].as_str()), (200, Some("completed")), "{server}");
    assert_eq!(server["summary"]["analysis"]["judged"], true, "{server}");

    let tmp = tempfile::tempdir().unwrap();
    let ds = write_dataset(tmp.path());
    fake.reset_counters();
    let args: Vec<String> = [
        "analyze",
        "--local",
        "--dataset",
        &ds,
        "--provider",
        "openai",
        "--base-url",
        &base_url,
        "--model",
        "fake-model",
        "--max-severity",
        "critical",
        "--json",
        "--junit",
        "r.xml",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let (code, out, err) = gavel(tmp.path(), args.clone(), envs(ENV_KEY)).await;
    assert_eq!(code, 0, "critical allowed, nothing above it: {err}");
    let local: Value = serde_json::from_str(&out).unwrap();
    let (ls, ss) = (&local["summary"], &server["summary"]);
    assert_eq!(ls["analysis"]["judged"], true, "{ls}");
    for key in ["buckets", "systemic", "items", "failed", "errored"] {
        assert_eq!(ls[key], ss[key], "{key}: local {} server {}", ls[key], ss[key]);
    }
    assert_eq!(ls["buckets"][HG]["subcategories"]["unsupported_claim"], 3, "{ls}");
    assert_eq!(ls["buckets"][HG]["severity"]["critical"], 3, "systemic: raised from high: {ls}");
    assert_eq!(ls["buckets"]["instruction_compliance"]["subcategories"]["format_violation"], 1, "{ls}");
    // One call per item, structured output, the key from the environment; the usage is counted.
    assert_eq!(fake.calls(), 10, "one judge call per item");
    assert_eq!(ls["usage"]["calls"], 10, "{ls}");
    let requests = fake.requests();
    assert_eq!(requests.len(), 10);
    for r in &requests {
        assert_eq!(r.header("authorization"), Some(format!("Bearer {ENV_KEY}").as_str()));
        assert_eq!(r.body["response_format"]["type"], "json_schema", "{}", r.body);
        assert_eq!(r.body["model"], "fake-model");
    }
    let xml = std::fs::read_to_string(tmp.path().join("r.xml")).unwrap();
    assert!(xml.contains("hallucination_grounding.unsupported_claim"), "{xml}");
    let mut files: Vec<String> =
        std::fs::read_dir(tmp.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    files.sort();
    assert_eq!(files, vec!["items.jsonl".to_owned(), "r.xml".to_owned()], "nothing else written");

    // The default max_severity high: the systemic (critical) unsupported claims block, as the server's gate says.
    assert!(ss["gate"]["reasons"].as_array().unwrap().iter().any(|r| r.as_str().unwrap().contains("30.0%")), "{ss}");
    let mut strict = args.clone();
    let at = strict.iter().position(|a| a == "critical").unwrap();
    strict[at] = "high".into();
    let (code, table, err) = gavel(tmp.path(), strict[..strict.len() - 3].to_vec(), envs(ENV_KEY)).await;
    assert_eq!(code, 1, "{table}{err}");
    assert!(table.contains(HG) && table.contains("systemic"), "{table}");

    // A wrong key: every item is analysed on its rules, the judge's failure is said, the checks it would have
    // decided are unsure.
    fake.reset_counters();
    let (code, out, err) = gavel(tmp.path(), args[..args.len() - 2].to_vec(), envs("sk-wrong-key-0002")).await;
    assert!(err.contains("the judge failed on 10 of 10 items (BYOK_AUTH_FAILED"), "{err}");
    assert!(!err.contains("sk-wrong-key-0002"), "the key never shows: {err}");
    let wrong: Value = serde_json::from_str(&out).unwrap();
    let ws = &wrong["summary"];
    assert_eq!(ws["errored"], 10, "{ws}");
    assert_eq!(ws["buckets"]["instruction_compliance"]["failed"], 1, "{ws}");
    // The rules' numeric pre-check (90 is not in the context) still fails; the judge-only claim is undecided.
    assert_eq!(ws["buckets"][HG]["subcategories"], json!({"numeric_error": 3}), "{ws}");
    assert_eq!(code, 0);
}

#[tokio::test]
async fn analyze_local_without_a_key_refuses_unless_deterministic_only() {
    let fake = FakeProvider::start(scripted(Vec::new()));
    let tmp = tempfile::tempdir().unwrap();
    let ds = write_dataset(tmp.path());
    let base: Vec<String> = ["analyze", "--local", "--dataset", &ds, "--json"].iter().map(|s| s.to_string()).collect();
    let (code, out, err) = gavel(tmp.path(), base.clone(), envs("")).await;
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("need a provider key") && err.contains("--deterministic-only"), "{err}");
    assert!(out.is_empty(), "{out}");

    let mut det = base.clone();
    det.push("--deterministic-only".into());
    let (code, out, err) = gavel(tmp.path(), det, envs("")).await;
    assert_eq!(code, 1, "the rules' systemic numeric_error is critical, over the default high: {err}");
    let run: Value = serde_json::from_str(&out).unwrap();
    let s = &run["summary"];
    assert_eq!(s["analysis"]["judged"], false, "{s}");
    assert_eq!(s["buckets"]["instruction_compliance"]["subcategories"]["format_violation"], 1, "{s}");
    assert_eq!(s["buckets"][HG]["subcategories"], json!({"numeric_error": 3}), "judge-only checks undecided: {s}");
    assert_eq!(fake.calls(), 0);

    // --deterministic-only is a --local flag.
    let (code, _, err) = gavel(
        tmp.path(),
        ["analyze", "--dataset", &ds, "--deterministic-only"].iter().map(|s| s.to_string()).collect(),
        envs(""),
    )
    .await;
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--local"), "{err}");
}
