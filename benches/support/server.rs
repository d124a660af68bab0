//! What the end-to-end benchmarks share: the real release binary started on a free loopback port, and the
//! figures read from /proc about it (CPU time, resident memory). Included by each bench with `#[path]`; a bench
//! that needs only part of it leaves the rest unused.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::{json, Value};

pub type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// A running `gavel serve`, its address and the server admin key it printed on first start.
pub struct Served {
    pub child: Child,
    pub pid: u32,
    pub base: String,
    pub admin: String,
}

impl Served {
    /// `gavel serve` on a fresh data directory `dir`, with extra `GAVEL_…` settings; returns once it listens.
    pub fn start(dir: &std::path::Path, log_level: &str, env: &[(&str, String)]) -> Res<Served> {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_gavel"));
        cmd.args(["serve", "--bind", "127.0.0.1:0", "--log-level", log_level, "--data-dir"])
            .arg(dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn()?;
        let pid = child.id();
        let mut lines = BufReader::new(child.stdout.take().ok_or("no stdout")?).lines();
        let mut admin = String::new();
        let base = loop {
            let line = lines.next().ok_or("server exited")??;
            if let Some(k) = line.split_whitespace().find(|w| w.starts_with("gv_")) {
                admin = k.to_string();
            }
            if let Some(rest) = line.split("listening on ").nth(1) {
                break rest.split_whitespace().next().unwrap_or_default().to_string();
            }
        };
        Ok(Served { child, pid, base, admin })
    }

    /// An org named `bench` with a project `bench`; returns the org's admin key.
    pub fn org_with_project(&self, client: &reqwest::blocking::Client) -> Res<String> {
        let org: Value = client
            .post(format!("{}/v1/orgs", self.base))
            .header("X-API-Key", &self.admin)
            .json(&json!({"name": "bench"}))
            .send()?
            .json()?;
        let key = org["admin_api_key"].as_str().ok_or("no org key")?.to_string();
        let r = client
            .post(format!("{}/v1/projects", self.base))
            .header("X-API-Key", &key)
            .json(&json!({"name": "bench"}))
            .send()?;
        if !r.status().is_success() {
            return Err(format!("POST /v1/projects: {}", r.status()).into());
        }
        Ok(key)
    }

    /// SIGTERM, then wait for the orderly exit.
    pub fn stop(mut self) {
        Command::new("kill").args(["-TERM", &self.pid.to_string()]).status().ok();
        self.child.wait().ok();
    }
}

/// A `/proc/PID/status` figure in kB (VmRSS:, VmHWM:), as MB.
pub fn proc_mb(pid: u32, field: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// User + system CPU seconds of a process so far.
pub fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // Fields 14 and 15 (utime, stime) are at 11 and 12 after the command name.
    (ticks(11) + ticks(12)) / 100.0
}
