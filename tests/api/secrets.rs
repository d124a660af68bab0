//! After a full session against the real binary at debug level, no provider secret and no API key may be
//! found in plaintext in the log, the SQLite files or the key file.

use serde_json::{json, Value};

use crate::support::{admin_key_from, spawn_binary};

#[test]
fn no_secret_in_debug_log_store_or_key_file() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("d");
    let log = tmp.path().join("debug.log");
    let bin = spawn_binary(
        tmp.path(),
        &["--data-dir", data.to_str().unwrap(), "--bind", "127.0.0.1:0", "--log-level", "trace"],
        &[],
        &log,
    )
    .unwrap();
    let admin = admin_key_from(&bin.stdout_lines);
    let c = reqwest::blocking::Client::new();
    let call = |method: reqwest::Method, path: &str, key: &str, body: Option<Value>| -> Value {
        let mut rb = c.request(method, format!("{}{}", bin.base, path)).header("X-API-Key", key);
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let r = rb.send().unwrap();
        let text = r.text().unwrap();
        serde_json::from_str(&text).unwrap_or(Value::Null)
    };
    let org = call(reqwest::Method::POST, "/v1/orgs", &admin, Some(json!({"name": "acme"})));
    let org_admin = org["admin_api_key"].as_str().unwrap().to_string();
    let member = call(reqwest::Method::POST, "/v1/api-keys", &org_admin, Some(json!({"name": "ci", "role": "member"})));
    let member_key = member["key"].as_str().unwrap().to_string();
    let secrets = [
        "sk-proj-SECRETopenai0123456789abcdef",
        "sk-ant-api03-SECRETanthropic987654321",
        "AIzaSySECRETgoogle55555555555",
        "SECRETazure0000111122223333",
        "sk-proj-SECRETrotated-XYZ-999999999",
    ];
    let mut ids = Vec::new();
    for (provider, secret, extra) in [
        ("openai", secrets[0], json!({})),
        ("anthropic", secrets[1], json!({})),
        ("google", secrets[2], json!({})),
        (
            "azure_openai",
            secrets[3],
            json!({"endpoint": "https://x.openai.azure.com", "deployment": "d", "api_version": "2024-10-21"}),
        ),
    ] {
        let mut body = json!({"provider": provider, "name": provider, "key": secret});
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        let v = call(reqwest::Method::POST, "/v1/byok-keys", &org_admin, Some(body));
        assert!(v.get("key").is_none());
        ids.push(v["id"].as_str().unwrap().to_string());
    }
    // Rotation, a bad request carrying a secret, listing as a member, deletion.
    call(reqwest::Method::PATCH, &format!("/v1/byok-keys/{}", ids[0]), &org_admin, Some(json!({"key": secrets[4]})));
    call(
        reqwest::Method::POST,
        "/v1/byok-keys",
        &org_admin,
        Some(json!({"provider": "openai", "name": "x", "key": "sk-proj-SECRETrejected-but-sent", "deployment": "d"})),
    );
    let listed = call(reqwest::Method::GET, "/v1/byok-keys", &member_key, None);
    assert_eq!(listed["items"].as_array().unwrap().len(), 4);
    call(reqwest::Method::DELETE, &format!("/v1/byok-keys/{}", ids[1]), &org_admin, None);
    assert_eq!(bin.terminate(), 0);

    let log_text = std::fs::read_to_string(&log).unwrap();
    assert!(log_text.contains("DEBUG") || log_text.contains("TRACE"), "the log ran at debug level");
    let mut files: Vec<(String, Vec<u8>)> = vec![("log".into(), log_text.into_bytes())];
    for entry in std::fs::read_dir(&data).unwrap() {
        let p = entry.unwrap().path();
        files.push((p.display().to_string(), std::fs::read(&p).unwrap()));
    }
    let mut needles: Vec<String> = secrets.iter().map(|s| s.to_string()).collect();
    needles.push("sk-proj-SECRETrejected-but-sent".into());
    needles.extend([admin.clone(), org_admin.clone(), member_key.clone()]);
    for (name, bytes) in &files {
        for needle in &needles {
            let found = bytes.windows(needle.len()).any(|w| w == needle.as_bytes());
            assert!(!found, "a secret ({}…) was found in plaintext in {name}", &needle[..8]);
            // Secrets must not appear with their distinctive middle either (e.g. in a hex or escaped form).
            let middle = &needle[8..needle.len().min(24)];
            assert!(!bytes.windows(middle.len()).any(|w| w == middle.as_bytes()), "part of a secret in {name}");
        }
    }
}
