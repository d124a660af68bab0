//! The official SDKs against the real `gavel` binary and the fake provider: OpenAI's Python package
//! (`tests/sdk/openai_client.py`, strict response validation), OpenAI's npm package (`tests/sdk/node/`), and
//! Anthropic's Python package (`tests/sdk/anthropic_client.py`) on `/v1/messages`. Like the browser test, a test
//! whose tool is missing fails, naming what to install (`.ci/run` installs them all); `GAVEL_SKIP_SDK=1` skips these
//! tests. `GAVEL_PYTHON` picks another interpreter, `GAVEL_NODE` another node.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::{json, Value};

use crate::support::fake_provider::{FakeProvider, Knobs};
use crate::support::{admin_key_from, spawn_binary};

/// The pinned versions, also in `.ci/run` and `tests/sdk/node/package.json`.
const OPENAI_PY: &str = "openai==1.109.1";
const ANTHROPIC_PY: &str = "anthropic==2.14.0";

fn python() -> String {
    std::env::var("GAVEL_PYTHON").unwrap_or_else(|_| "python3".into())
}

fn node() -> String {
    std::env::var("GAVEL_NODE").unwrap_or_else(|_| "node".into())
}

fn skipped() -> bool {
    let skip = std::env::var_os("GAVEL_SKIP_SDK").is_some_and(|v| v == "1");
    if skip {
        eprintln!("skipped: GAVEL_SKIP_SDK=1");
    }
    skip
}

/// Fails the test, naming what to install, when `python()` cannot import `module`.
fn require_python_module(module: &str, pin: &str) {
    let ok = Command::new(python()).args(["-c", &format!("import {module}")]).status().is_ok_and(|s| s.success());
    assert!(
        ok,
        "{} cannot import {module}: pip install {pin} (as .ci/run does); set GAVEL_SKIP_SDK=1 to skip",
        python()
    );
}

/// Runs one SDK script against a fresh binary whose org has openai, anthropic and google keys on the fake, and
/// checks that it passed.
fn run_against_gateway(program: &str, script: &Path, expect: &str) {
    let fake = FakeProvider::start(Knobs::default());
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("d");
    let args = ["--data-dir", data.to_str().unwrap(), "--bind", "127.0.0.1:0"];
    let bin = spawn_binary(tmp.path(), &args, &[], &tmp.path().join("log")).unwrap();
    let admin = admin_key_from(&bin.stdout_lines);
    let c = reqwest::blocking::Client::builder().timeout(Duration::from_secs(30)).build().unwrap();
    let org: Value = c
        .post(format!("{}/v1/orgs", bin.base))
        .header("X-API-Key", &admin)
        .json(&json!({"name": "sdk"}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let key = org["admin_api_key"].as_str().unwrap().to_string();
    for body in [
        json!({"provider": "openai", "name": "o", "key": "sk-sdk-123456", "base_url": format!("{}/v1", fake.base)}),
        json!({"provider": "anthropic", "name": "a", "key": "sk-ant-sdk-123456", "base_url": fake.base}),
        json!({"provider": "google", "name": "g", "key": "goog-sdk-123456", "base_url": fake.base}),
    ] {
        let r = c.post(format!("{}/v1/byok-keys", bin.base)).header("X-API-Key", &key).json(&body).send().unwrap();
        assert_eq!(r.status().as_u16(), 201);
    }
    let out = Command::new(program)
        .arg(script)
        .current_dir(script.parent().unwrap())
        .env("GAVEL_BASE", &bin.base)
        .env("GAVEL_KEY", &key)
        .output()
        .unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let server_log = bin.stderr();
    assert_eq!(bin.terminate(), 0);
    assert!(out.status.success(), "the SDK script failed:\n{stdout}\n{stderr}\nserver log:\n{server_log}");
    assert!(stdout.contains(expect), "{stdout}");
    assert!(!server_log.contains("sk-sdk-123456") && !server_log.contains(&key), "a secret reached the log");
}

fn sdk_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/sdk"))
}

#[test]
fn the_official_openai_python_sdk_works_against_the_gateway() {
    if skipped() {
        return;
    }
    require_python_module("openai", OPENAI_PY);
    run_against_gateway(&python(), &sdk_dir().join("openai_client.py"), "SDK checks passed");
}

#[test]
fn the_official_anthropic_python_sdk_works_against_messages() {
    if skipped() {
        return;
    }
    require_python_module("anthropic", ANTHROPIC_PY);
    run_against_gateway(&python(), &sdk_dir().join("anthropic_client.py"), "SDK checks passed");
}

#[test]
fn the_official_openai_node_sdk_works_against_the_gateway() {
    if skipped() {
        return;
    }
    let dir = sdk_dir().join("node");
    let has_node = Command::new(node()).arg("--version").output().is_ok_and(|o| o.status.success());
    assert!(
        has_node && dir.join("node_modules/openai/package.json").exists(),
        "the Node SDK test needs node (>= 20) and `npm ci` in tests/sdk/node (as .ci/run does); set GAVEL_SKIP_SDK=1 \
         to skip it"
    );
    run_against_gateway(&node(), &dir.join("openai_client.mjs"), "SDK checks passed");
}
