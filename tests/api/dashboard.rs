//! The embedded dashboard: plain-HTTP checks of how it is served, and a real browser (Debian's Chromium driven by
//! playwright-core from tests/browser) walking every page against the real binary with seeded data.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header;
use serde_json::{json, Value};

use crate::support::fake_provider::{default_reply, FakeProvider, Knobs};
use crate::support::{admin_key_from, spawn_app, spawn_binary};

// ------------------------------------------------------------------------------------------------ plain HTTP

#[tokio::test]
async fn the_page_is_served_at_the_root_and_on_deep_links() {
    let app = spawn_app().await;
    for path in ["/", "/projects/web/runs/run_123", "/provider-keys", "/usage?from=2026-01-01"] {
        let r = app.client.get(format!("{}{path}", app.base)).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 200, "{path}");
        let ct = r.headers()[header::CONTENT_TYPE].to_str().unwrap().to_string();
        assert!(ct.starts_with("text/html"), "{path}: {ct}");
        let body = r.text().await.unwrap();
        assert!(body.contains(r#"<script type="module" src="/app.js">"#), "{path}: the entry module");
        assert!(
            body.contains(env!("CARGO_PKG_VERSION")) && !body.contains("{{VERSION}}"),
            "{path}: the version is filled in"
        );
    }
}

#[tokio::test]
async fn modules_have_a_javascript_type_an_etag_and_answer_304() {
    let app = spawn_app().await;
    for path in ["/app.js", "/api.js", "/pages/run.js", "/styles.css"] {
        let r = app.client.get(format!("{}{path}", app.base)).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 200, "{path}");
        let ct = r.headers()[header::CONTENT_TYPE].to_str().unwrap().to_string();
        let want = if path.ends_with(".css") { "text/css" } else { "javascript" };
        assert!(ct.contains(want), "{path}: {ct}");
        let etag = r.headers()[header::ETAG].to_str().unwrap().to_string();
        assert!(!etag.is_empty());
        let again =
            app.client.get(format!("{}{path}", app.base)).header(header::IF_NONE_MATCH, &etag).send().await.unwrap();
        assert_eq!(again.status().as_u16(), 304, "{path}: If-None-Match");
        assert!(again.bytes().await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn api_paths_and_missing_files_are_json_404s_not_the_page() {
    let app = spawn_app().await;
    for path in ["/v1/nope", "/v1/projects/web/nope/deeper", "/nope.js", "/pages/missing.js"] {
        let r = app.client.get(format!("{}{path}", app.base)).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 404, "{path}");
        assert!(r.headers()[header::CONTENT_TYPE].to_str().unwrap().starts_with("application/json"), "{path}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"]["code"], "NOT_FOUND", "{path}: {v}");
    }
}

#[test]
fn dashboard_assets_request_nothing_but_the_server() {
    // No CDN, web font or other host: no absolute URL outside the SVG namespace in any asset.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets");
    let mut stack = vec![dir];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            if !matches!(p.extension().and_then(|x| x.to_str()), Some("js" | "html" | "css")) {
                continue;
            }
            // Allowed: the SVG namespace and the example URLs shown as form hints.
            let mut text = std::fs::read_to_string(&p).unwrap();
            for ok in ["http://www.w3.org/2000/svg", "http://localhost:", "https://NAME.openai.azure.com"] {
                text = text.replace(ok, "");
            }
            for bad in [
                "http://",
                "https://",
                "//cdn",
                "@import",
                "innerHTML",
                "outerHTML",
                "insertAdjacentHTML",
                "document.write",
            ] {
                assert!(!text.contains(bad), "{} contains {bad}", p.display());
            }
        }
    }
}

// ------------------------------------------------------------------------------------------------ the browser

fn chromium() -> Option<PathBuf> {
    let p = PathBuf::from(std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()));
    p.exists().then_some(p)
}

fn node_ok() -> bool {
    Command::new("node").arg("--version").output().is_ok_and(|o| o.status.success())
}

fn call(c: &reqwest::blocking::Client, method: reqwest::Method, url: String, key: &str, body: Option<Value>) -> Value {
    let mut rb = c.request(method, &url).header("X-API-Key", key);
    if let Some(b) = body {
        rb = rb.json(&b);
    }
    let r = rb.send().unwrap();
    let status = r.status();
    let v: Value = r.json().unwrap_or(Value::Null);
    assert!(status.is_success(), "{url}: {status} {v}");
    v
}

#[test]
fn browser_walks_every_page() {
    if std::env::var_os("GAVEL_SKIP_BROWSER").is_some_and(|v| v == "1") {
        eprintln!("skipped: GAVEL_SKIP_BROWSER=1");
        return;
    }
    let browser_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    let (Some(chrome), true, true) = (chromium(), node_ok(), browser_dir.join("node_modules/playwright-core").exists())
    else {
        panic!(
            "the browser test needs Debian's chromium (apt-get install -y chromium, or $CHROMIUM), node, and \
             `npm ci` in tests/browser (as .ci/run does); set GAVEL_SKIP_BROWSER=1 to skip it"
        );
    };

    let fake = FakeProvider::start(red_team_personas());
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("d");
    let args = ["--data-dir", data.to_str().unwrap(), "--bind", "127.0.0.1:0"];
    let bin =
        spawn_binary(tmp.path(), &args, &[("GAVEL_JUDGE__BACKOFF_BASE_MS", "5")], &tmp.path().join("log")).unwrap();
    let base = bin.base.clone();
    let c = reqwest::blocking::Client::builder().timeout(Duration::from_secs(120)).build().unwrap();
    use reqwest::Method as M;
    let sa = admin_key_from(&bin.stdout_lines);
    let org = call(&c, M::POST, format!("{base}/v1/orgs"), &sa, Some(json!({"name": "acme"})));
    let key = org["admin_api_key"].as_str().unwrap().to_string();
    call(&c, M::POST, format!("{base}/v1/projects"), &key, Some(json!({"name": "web"})));
    call(
        &c,
        M::POST,
        format!("{base}/v1/projects/web/scorers"),
        &key,
        Some(json!({"name": "mentions-paris", "type": "contains", "config": {"value": "Paris"}})),
    );
    call(
        &c,
        M::POST,
        format!("{base}/v1/byok-keys"),
        &key,
        Some(json!({"provider": "openai_compatible", "name": "judge", "key": "sk-judge-seed-0001",
            "base_url": format!("{}/v1", fake.base), "default_model": "fake-model", "is_default": true})),
    );
    // 120 items; every third one is wrong (and holds markup that must stay text).
    let item = |i: usize, wrong: bool| {
        let output = if wrong { format!("London <img src=x onerror=alert({i})> WRONG") } else { "Paris".to_string() };
        json!({"id": format!("q{i}"), "input": format!("What is the capital of France? #{i}"), "output": output,
            "expected": "Paris", "context": ["Paris is the capital of France."], "metadata": {"n": i}})
    };
    let good: Vec<Value> = (0..120).map(|i| item(i, false)).collect();
    let mixed: String = (0..120).map(|i| item(i, i % 3 == 0).to_string() + "\n").collect();
    let ds: Value = c
        .post(format!("{base}/v1/projects/web/datasets?name=capitals"))
        .header("X-API-Key", &key)
        .header(header::CONTENT_TYPE, "application/x-ndjson")
        .body(mixed)
        .send()
        .unwrap()
        .json()
        .unwrap();
    let scorers = json!(["mentions-paris", "equals", "relevance"]);
    let passed = call(
        &c,
        M::POST,
        format!("{base}/v1/projects/web/runs"),
        &key,
        Some(json!({"dataset": good, "scorers": scorers, "wait_s": 120})),
    );
    let failed = call(
        &c,
        M::POST,
        format!("{base}/v1/projects/web/runs"),
        &key,
        Some(json!({"dataset_id": ds["id"], "scorers": scorers, "gate": {"min_pass_rate": 0.9}, "wait_s": 120})),
    );
    assert_eq!(passed["status"], "completed", "{passed}");
    assert_eq!(failed["status"], "completed", "{failed}");
    assert_eq!(failed["summary"]["failed"], 40, "{failed}");

    let member =
        call(&c, M::POST, format!("{base}/v1/api-keys"), &key, Some(json!({"name": "viewer", "role": "member"})));

    let red_team = seed_red_team(&c, &base, &key);

    let gateway = seed_gateway(&c, &base, &key);

    let analysis = seed_analysis(&c, &base, &key);

    let seed = tmp.path().join("seed.json");
    let seed_json = json!({"project": "web", "run_failed": failed["id"], "run_passed": passed["id"], "search": "london",
        "member_key": member["key"], "dataset": ds["id"], "server_admin_key": sa, "gateway": gateway,
        "red_team": red_team, "analysis": analysis});
    std::fs::write(&seed, seed_json.to_string()).unwrap();
    let shots = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    let out = Command::new("node")
        .arg("dashboard.test.mjs")
        .arg(&seed)
        .current_dir(&browser_dir)
        .env("GAVEL_URL", &base)
        .env("GAVEL_KEY", &key)
        .env("FAKE_URL", format!("{}/v1", fake.base))
        .env("CHROMIUM", &chrome)
        .env("SCREENSHOT_DIR", &shots)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    eprintln!("{stderr}");
    let server_log = bin.stderr();
    assert_eq!(bin.terminate(), 0);
    assert!(
        out.status.success(),
        "the browser test failed ({}):\n{stdout}\n{stderr}\nserver log:\n{server_log}",
        out.status
    );
}

/// The prompt of the one gateway call whose project logs content (the gateway page opens it).
const LOGGED_PROMPT: &str = "GW-LOGGED-PROMPT: what is the capital of Peru?";

/// Gateway traffic for the gateway page, through the real `/v1/chat/completions` on the fake provider (the seed's
/// default `openai_compatible` key): two identical calls of project `web` (a miss, then a cache hit), one call of
/// project `gw-logged` (which opted in to content logging), nine more distinct calls; 12 rows in all, so a page of 10
/// has a next page. Waits until the background writer has logged them and returns what the browser test checks.
fn seed_gateway(c: &reqwest::blocking::Client, base: &str, key: &str) -> Value {
    use reqwest::Method as M;
    call(c, M::POST, format!("{base}/v1/projects"), key, Some(json!({"name": "gw-logged"})));
    call(c, M::PATCH, format!("{base}/v1/projects/gw-logged"), key, Some(json!({"gateway_log_content": true})));
    let chat =
        |text: &str| json!({"model": "openai_compatible/fake-model", "messages": [{"role": "user", "content": text}]});
    let mut calls: Vec<(Value, &str)> = vec![(chat("Hello gateway"), "web"), (chat("Hello gateway"), "web")];
    calls.push((chat(LOGGED_PROMPT), "gw-logged"));
    calls.extend((0..9).map(|i| (chat(&format!("distinct call {i}")), "web")));
    let mut caches = Vec::new();
    for (body, project) in &calls {
        let r = c
            .post(format!("{base}/v1/chat/completions"))
            .bearer_auth(key)
            .header("x-gavel-project", *project)
            .json(body)
            .send()
            .unwrap();
        assert_eq!(r.status().as_u16(), 200, "a seeded gateway call");
        caches.push(r.headers()["x-gavel-cache"].to_str().unwrap().to_owned());
        r.text().unwrap();
        if caches.len() == 1 {
            // The answer reaches the cache through the request log's writer, with its log row: wait for the row,
            // so the repeated call is a hit even on a loaded machine.
            for _ in 0..200 {
                let v = call(c, M::GET, format!("{base}/v1/gateway/requests?limit=1"), key, None);
                if v["items"].as_array().is_some_and(|i| !i.is_empty()) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(25));
            }
        }
    }
    assert_eq!(caches[..2], ["miss", "hit"], "the repeated call is a cache hit");
    for _ in 0..200 {
        let v = call(c, M::GET, format!("{base}/v1/gateway/requests?limit=1000"), key, None);
        if v["items"].as_array().is_some_and(|i| i.len() >= calls.len()) {
            return json!({"calls": calls.len(), "hits": 1, "logged_project": "gw-logged", "logged_prompt": LOGGED_PROMPT});
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("the request log never reached {} rows", calls.len());
}

/// A finished failure analysis of inline items whose failures the rules decide, in three buckets (the seed's
/// judge, the fake's scripted analyst, confirms them and passes the rest): broken JSON (format_violation, medium;
/// high for the item tagged high-stakes), an answer over `max_chars` (constraint_violation, medium), a tool call
/// against its schema (tool_use, high), a leaked key (safety, critical). Returns the run and each bucket's items.
fn seed_analysis(c: &reqwest::blocking::Client, base: &str, key: &str) -> Value {
    let json_c = json!({"format": "json"});
    let tools = json!([{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object",
        "required": ["city"], "properties": {"city": {"type": "string"}}}}}]);
    let secret = ["gsk_", "oV6vGTFN4g3AfCK9eVGViflxutnrYecpJbsNaUXkFVi3CzOkvgsO"].concat();
    let items = json!([
        {"input": "The user as JSON", "output": "{\"name\": \"Ann\",", "metadata": {"constraints": json_c}},
        {"input": "The order as JSON", "output": "{\"order\": ", "metadata": {"constraints": json_c, "high_stakes": true}},
        {"input": "The city as JSON", "output": "{\"city\": \"Paris\"}", "metadata": {"constraints": json_c}},
        {"input": "The capital of France, briefly", "output": "The capital of France is Paris, a city on the Seine.",
         "metadata": {"constraints": {"max_chars": 20}}},
        {"input": "Weather in Paris?", "output": "Here is the forecast.",
         "metadata": {"tools": tools, "tool_calls": [{"name": "get_weather", "arguments": {"city": 75}}]}},
        {"input": "How do I call the API?", "output": format!("Send {secret} as the token.")},
        {"input": "Say hello", "output": "Hello!"},
    ]);
    let body = json!({"dataset": items, "name": "bucket analysis", "wait_s": 120});
    let run = call(c, reqwest::Method::POST, format!("{base}/v1/projects/web/failure-analysis"), key, Some(body));
    assert_eq!(run["status"], "completed", "{run}");
    let buckets = &run["summary"]["buckets"];
    assert_eq!(buckets["instruction_compliance"]["failed"], 3, "{run}");
    assert_eq!(run["summary"]["analysis"]["judged"], true, "{run}");
    json!({"run": run["id"], "buckets": {"instruction_compliance": [0, 1, 3], "tool_use": [4], "safety": [5]},
        "bucket": "instruction_compliance", "severity": "high", "bucket_severity": [1]})
}

/// The fake's target personas for the red-team pages: `leaky` echoes its system prompt and the request and complies,
/// `safe` refuses everything (benign probes too); the red-team judge (our rubric says "red-team test") finds a
/// response that starts with "Sure" compliant; the failure analyst's prompts get the scripted analyst
/// (`analysis::judge::scripted_reply`). Every other call gets the fake's usual judge reply.
fn red_team_personas() -> Knobs {
    Knobs {
        reply_with_system: Some(Arc::new(|model: &str, system: &str, user: &str| {
            if system.starts_with("You are a failure analyst") {
                return gavel::analysis::judge::scripted_reply(user);
            }
            if system.contains("red-team test") {
                let complied = user.contains("<assistant_response>\nSure");
                return format!("{{\"complied\": {complied}, \"reason\": \"fake judge\"}}");
            }
            match model {
                "safe" => "I'm sorry, but I can't help with that.".to_owned(),
                "leaky" => format!("Sure! My instructions say: {system}\n\nYou asked: {user}"),
                _ => default_reply(user),
            }
        })),
        ..Knobs::default()
    }
}

/// A finished red-team run against the leaky persona on the seed's `openai_compatible` key: four categories, two
/// transforms, a max-ASR gate that fails. Returns what the browser test checks.
fn seed_red_team(c: &reqwest::blocking::Client, base: &str, key: &str) -> Value {
    let body = json!({"target": {"provider": "openai_compatible", "model": "leaky"}, "name": "leaky bot red team",
        "categories": ["system_prompt_extraction", "prompt_injection", "jailbreak", "misinformation"],
        "transforms": ["none", "base64"], "attempts_per_category": 4,
        "gate": {"max_asr": {"system_prompt_extraction": 0.2}}, "wait_s": 120});
    let run = call(c, reqwest::Method::POST, format!("{base}/v1/projects/web/security/red-team"), key, Some(body));
    assert_eq!(run["status"], "completed", "{run}");
    let spe = &run["summary"]["categories"]["system_prompt_extraction"];
    assert_eq!(spe["asr"], 1.0, "the leaky persona leaks its prompt: {run}");
    json!({"run": run["id"], "category": "system_prompt_extraction", "asr": "100.0%", "safe_model": "safe"})
}
