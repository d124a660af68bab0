//! Set-up steps many integration tests share: a BYOK key body aimed at the fake provider, an org with one
//! project, a body posted as raw text, the managed fallback key file, and the store-level check that a run holds
//! exactly one result per item.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use super::fake_provider::FakeProvider;
use super::TestApp;

/// A BYOK key body pointing `provider` at the fake (Azure's deployment is `fake-dep`).
pub fn key_body(provider: &str, fake: &FakeProvider, secret: &str) -> Value {
    let base = &fake.base;
    match provider {
        "openai" | "openai_compatible" => {
            json!({"provider": provider, "name": provider, "key": secret, "base_url": format!("{base}/v1"), "default_model": "fake-model"})
        }
        "groq" => json!({"provider": "groq", "name": "groq", "key": secret, "base_url": format!("{base}/openai/v1")}),
        "anthropic" => json!({"provider": "anthropic", "name": "anthropic", "key": secret, "base_url": base}),
        "google" => json!({"provider": "google", "name": "google", "key": secret, "base_url": base}),
        "azure_openai" => {
            json!({"provider": "azure_openai", "name": "azure", "key": secret, "endpoint": base, "deployment": "fake-dep", "api_version": "2024-10-21"})
        }
        other => panic!("no key body for provider {other}"),
    }
}

/// The managed fallback key file (mode 0600, as the server demands) in `dir`.
pub fn fallback_key_file(dir: &Path, secret: &str) -> PathBuf {
    let file = dir.join("fallback.key");
    std::fs::write(&file, format!("{secret}\n")).unwrap();
    std::fs::set_permissions(&file, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    file
}

/// Reads the stopped server's store: run `run_id` holds `n` result rows, one per item.
pub fn assert_one_result_per_item(data_dir: &Path, run_id: &str, n: u64) {
    let db = rusqlite::Connection::open(data_dir.join("gavel.db")).unwrap();
    let (rows, distinct): (i64, i64) = db
        .query_row("SELECT count(*), count(DISTINCT idx) FROM run_results WHERE run_id = ?1", [run_id], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!((rows, distinct), (n as i64, n as i64), "run {run_id}: result rows and distinct items");
}

impl TestApp {
    /// A fresh org with a project named `project`; returns the org's admin key.
    pub async fn org_with_project(&self, org: &str, project: &str) -> String {
        let (_, admin) = self.org(org).await;
        let (s, v) = self.post("/v1/projects", &admin, json!({"name": project})).await;
        assert_eq!(s, 201, "{v}");
        admin
    }

    /// POST a body given as text, so no JSON library on the test's side rounds its numbers.
    pub async fn raw_post(&self, path: &str, key: &str, content_type: &str, body: &str) -> (u16, Value) {
        let r = self
            .client
            .post(format!("{}{}", self.base, path))
            .header("X-API-Key", key)
            .header("content-type", content_type)
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        let s = r.status().as_u16();
        (s, r.json().await.unwrap())
    }
}

/// A fresh server with org `acme` and project `web`; returns it and the org's admin key.
pub async fn app_with_project() -> (TestApp, String) {
    let app = super::spawn_app().await;
    let admin = app.org_with_project("acme", "web").await;
    (app, admin)
}

/// Every file below `dir` (a stopped server's data directory) is read whole: none may hold any of `needles`.
/// Returns how many files were searched, so a caller can tell the search saw the store.
pub fn assert_no_file_holds(dir: &Path, needles: &[&[u8]]) -> usize {
    let mut files = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                files += 1;
                let bytes = std::fs::read(&p).unwrap();
                for needle in needles {
                    assert!(
                        !bytes.windows(needle.len()).any(|w| w == *needle),
                        "{} holds a value it must not",
                        p.display()
                    );
                }
            }
        }
    }
    files
}
