//! Test support: `spawn_app()` builds the real Application on a random loopback port with a temporary
//! data directory; `Binary` starts the real `gavel` executable for what needs a process (signals, restarts, logs).
#![allow(dead_code, clippy::unwrap_used)]

pub mod common;
pub mod contract;
pub mod fake_provider;
pub mod fake_stream;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use gavel::bootstrap::MasterKeyEnv;
use gavel::config::Config;
use reqwest::{Client, Method, Response};
use serde_json::{json, Value};

pub struct TestApp {
    pub base: String,
    pub admin_key: String,
    pub client: Client,
    pub data_dir: PathBuf,
    pub config: Config,
    handle: Option<actix_web::dev::ServerHandle>,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    _dir: Option<tempfile::TempDir>,
}

pub fn test_config(data_dir: &Path) -> Config {
    let mut cfg = Config::default();
    cfg.server.bind = "127.0.0.1:0".into();
    cfg.server.data_dir = data_dir.to_path_buf();
    cfg.server.workers = 2;
    cfg.server.shutdown_timeout_s = 5;
    cfg.log.level = "warn".into();
    // The fake provider listens on the loopback, which the destination policy refuses unless listed.
    cfg.providers.allowed_hosts = vec!["127.0.0.0/8".into(), "::1".into(), "localhost".into()];
    // Tests poll run status in tight loops; the request-rate buckets are tested on their own (tests/api/ratelimit.rs).
    cfg.limits.requests_per_s_per_key = 10_000.0;
    cfg.limits.burst_per_key = 20_000;
    cfg.limits.requests_per_s_per_org = 10_000.0;
    cfg.limits.burst_per_org = 20_000;
    cfg
}

/// A fresh app on its own temporary data directory.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// A fresh app with a tweaked configuration.
pub async fn spawn_app_with(tweak: impl FnOnce(&mut Config)) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = test_config(&dir.path().join("data"));
    tweak(&mut cfg);
    let mut app = start(cfg, None).await;
    app._dir = Some(dir);
    app
}

/// `TEST_LOG=1` (or a filter such as `TEST_LOG=gavel=debug`) prints the in-process server's logs.
fn init_test_log() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if let Ok(filter) = std::env::var("TEST_LOG") {
            let filter = if filter == "1" { "info".to_string() } else { filter };
            let _ = tracing_subscriber::fmt().with_env_filter(filter).with_test_writer().try_init();
        }
    });
}

/// Start an app on `cfg`'s data directory; a first start returns the new admin key, a restart reuses `admin_key`.
pub async fn start(cfg: Config, admin_key: Option<String>) -> TestApp {
    init_test_log();
    let app = gavel::Application::build(cfg.clone(), MasterKeyEnv::default()).await.expect("application builds");
    let admin_key = admin_key
        .or_else(|| app.first_start().map(|f| f.admin_api_key.expose_secret().to_string()))
        .expect("admin key");
    let base = format!("http://127.0.0.1:{}", app.port());
    let handle = app.handle();
    let task = tokio::spawn(app.run_until_stopped());
    TestApp {
        base,
        admin_key,
        // Idle pooled connections are dropped well before the server's 5 s keep-alive closes them: otherwise a
        // request that spends seconds building its body (150k items in a debug build) can be written into a
        // connection the server is closing at that moment (a broken pipe that says nothing about the server).
        client: Client::builder().pool_idle_timeout(Duration::from_secs(2)).build().unwrap(),
        data_dir: cfg.server.data_dir.clone(),
        config: cfg,
        handle: Some(handle),
        task: Some(task),
        _dir: None,
    }
}

impl TestApp {
    /// Stop gracefully and wait until the data directory is released; returns the temp dir to keep it alive.
    pub async fn stop(&mut self) -> Option<tempfile::TempDir> {
        if let Some(h) = self.handle.take() {
            h.stop(true).await;
        }
        if let Some(t) = self.task.take() {
            t.await.unwrap().unwrap();
        }
        self._dir.take()
    }

    pub async fn call(&self, method: Method, path: &str, key: Option<&str>, body: Option<Value>) -> Response {
        let mut rb = self.client.request(method, format!("{}{}", self.base, path));
        if let Some(k) = key {
            rb = rb.header("X-API-Key", k);
        }
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        rb.send().await.unwrap()
    }

    /// Call and return (status, JSON body).
    pub async fn json(&self, method: Method, path: &str, key: Option<&str>, body: Option<Value>) -> (u16, Value) {
        let r = self.call(method.clone(), path, key, body).await;
        let status = r.status().as_u16();
        let content_type = r.headers().get("content-type").and_then(|v| v.to_str().ok()).map(str::to_string);
        let text = r.text().await.unwrap();
        let v = if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
        contract::check(gavel::http::openapi::document(), method.as_str(), path, status, content_type.as_deref(), &v);
        (status, v)
    }

    pub async fn get(&self, path: &str, key: &str) -> (u16, Value) {
        self.json(Method::GET, path, Some(key), None).await
    }

    pub async fn post(&self, path: &str, key: &str, body: Value) -> (u16, Value) {
        self.json(Method::POST, path, Some(key), Some(body)).await
    }

    pub async fn patch(&self, path: &str, key: &str, body: Value) -> (u16, Value) {
        self.json(Method::PATCH, path, Some(key), Some(body)).await
    }

    pub async fn delete(&self, path: &str, key: &str) -> (u16, Value) {
        self.json(Method::DELETE, path, Some(key), None).await
    }

    /// A new org; returns (org id, its admin key).
    pub async fn org(&self, name: &str) -> (String, String) {
        let (s, v) = self.post("/v1/orgs", &self.admin_key.clone(), json!({"name": name})).await;
        assert_eq!(s, 201, "{v}");
        (v["id"].as_str().unwrap().to_string(), v["admin_api_key"].as_str().unwrap().to_string())
    }

    /// A new API key in the org of `admin`, with `role`.
    pub async fn api_key(&self, admin: &str, role: &str) -> (String, String) {
        let (s, v) = self.post("/v1/api-keys", admin, json!({"name": format!("{role} key"), "role": role})).await;
        assert_eq!(s, 201, "{v}");
        (v["id"].as_str().unwrap().to_string(), v["key"].as_str().unwrap().to_string())
    }
}

/// Assert the contract's error shape and code.
pub fn assert_error(status: u16, body: &Value, want_status: u16, want_code: &str) {
    assert_eq!(status, want_status, "status for {body}");
    assert_eq!(body["error"]["code"], want_code, "code in {body}");
    assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "message in {body}");
    assert!(body["error"]["details"].is_object(), "details in {body}");
}

/// The real executable.
pub fn gavel_bin() -> &'static str {
    env!("CARGO_BIN_EXE_gavel")
}

/// A running `gavel serve` process.
pub struct Binary {
    pub child: Child,
    pub base: String,
    pub stdout_lines: Vec<String>,
    pub stderr_file: PathBuf,
}

/// `providers.allowed_hosts` listing the loopback, as an environment value.
pub const LOOPBACK_LISTED: &str = r#"["127.0.0.0/8", "::1", "localhost"]"#;

/// Start `gavel serve` with extra args/env in `cwd`; waits for its "listening on" line.
pub fn spawn_binary(cwd: &Path, args: &[&str], envs: &[(&str, &str)], stderr_file: &Path) -> Result<Binary, String> {
    let mut cmd = Command::new(gavel_bin());
    cmd.current_dir(cwd)
        .arg("serve")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(stderr_file).unwrap());
    cmd.env_remove("RUST_LOG").env_remove("GAVEL_MASTER_KEY").env_remove("CREDENTIALS_DIRECTORY");
    // The fake provider is on the loopback, which the destination policy refuses unless listed (a test may override).
    cmd.env("GAVEL_PROVIDERS__ALLOWED_HOSTS", LOOPBACK_LISTED);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut lines = Vec::new();
    loop {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(line) => {
                let found =
                    line.split("listening on ").nth(1).map(|r| r.split_whitespace().next().unwrap_or("").to_string());
                lines.push(line);
                if let Some(base) = found {
                    return Ok(Binary { child, base, stdout_lines: lines, stderr_file: stderr_file.to_path_buf() });
                }
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                if let Ok(Some(status)) = child.try_wait() {
                    let err = std::fs::read_to_string(stderr_file).unwrap_or_default();
                    return Err(format!("exited {status}: {err}"));
                }
                if Instant::now() > deadline {
                    let _ = child.kill();
                    return Err("no 'listening on' line within 30 s".into());
                }
            }
            Err(_) => {
                let status = child.wait().unwrap();
                let err = std::fs::read_to_string(stderr_file).unwrap_or_default();
                return Err(format!("exited {status}: {err}"));
            }
        }
    }
}

impl Binary {
    /// SIGTERM and wait; returns the exit code.
    pub fn terminate(mut self) -> i32 {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s.code().unwrap_or(-1);
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("gavel did not exit within 30 s of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_file).unwrap_or_default()
    }
}

/// The server admin key printed on a first start.
pub fn admin_key_from(lines: &[String]) -> String {
    lines
        .iter()
        .find_map(|l| l.split_whitespace().find(|w| w.starts_with("gv_")).map(str::to_string))
        .expect("admin key printed on first start")
}

/// Run `gavel` to completion; (exit code, stdout, stderr).
pub fn run_gavel(cwd: &Path, args: &[&str], envs: &[(&str, &str)]) -> (i32, String, String) {
    let mut cmd = Command::new(gavel_bin());
    cmd.current_dir(cwd).args(args);
    cmd.env_remove("RUST_LOG").env_remove("GAVEL_MASTER_KEY").env_remove("CREDENTIALS_DIRECTORY");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

impl Binary {
    /// Wait until some but not all of run `id`'s `n` items have a result (so a kill lands mid-run), then `kill -9`.
    pub fn kill_mid_run(&mut self, client: &reqwest::blocking::Client, key: &str, id: &str, n: u64) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let run: Value = client
                .get(format!("{}/v1/runs/{id}", self.base))
                .header("X-API-Key", key)
                .send()
                .unwrap()
                .json()
                .unwrap();
            let done = run["progress"]["done"].as_u64().unwrap();
            if done > 0 {
                assert!(done < n, "the run finished before it could be killed; make it bigger");
                break;
            }
            assert!(Instant::now() < deadline, "no progress within 60 s");
            std::thread::sleep(Duration::from_millis(20));
        }
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}
