//! Upgrades and downgrades across real processes: a data directory made by the v0.1.0 binary
//! (tests/fixtures/v0.1.0, README.md there says how) opens with this build, migrates to `SCHEMA_VERSION` and
//! serves what the old version stored; a store of a newer schema is refused at start with both versions named.

use std::path::Path;

use serde_json::Value;

use crate::support::spawn_binary;
use gavel::store::SCHEMA_VERSION;

fn user_version(db: &Path) -> usize {
    let c = rusqlite::Connection::open(db).unwrap();
    c.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap()
}

/// A copy of a fixture directory with the modes gavel wants (git keeps no 0600: the master key file must be).
fn copy_private(from: &Path, to: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(to).unwrap();
    std::fs::set_permissions(to, std::fs::Permissions::from_mode(0o700)).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let dest = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_private(&entry.path(), &dest);
        } else {
            std::fs::copy(entry.path(), &dest).unwrap();
            std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
    }
}

fn get(c: &reqwest::blocking::Client, url: String, key: &str) -> (u16, Value) {
    let r = c.get(url).header("X-API-Key", key).send().unwrap();
    (r.status().as_u16(), r.json().unwrap())
}

#[test]
fn a_data_directory_made_by_v0_1_0_migrates_and_serves_its_org_project_run_and_key() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/v0.1.0");
    let meta: Value = serde_json::from_str(&std::fs::read_to_string(fixture.join("fixture.json")).unwrap()).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("d");
    copy_private(&fixture.join("data"), &data);
    let old = user_version(&data.join("gavel.db"));
    assert!(old < SCHEMA_VERSION, "the fixture is of an older schema ({old})");
    let args = ["--data-dir", data.to_str().unwrap(), "--bind", "127.0.0.1:0"];
    let bin = spawn_binary(tmp.path(), &args, &[], &tmp.path().join("log")).unwrap();
    let (c, base) = (reqwest::blocking::Client::new(), bin.base.clone());
    let key = meta["admin_api_key"].as_str().unwrap();

    let (status, me) = get(&c, format!("{base}/v1/me"), key);
    assert_eq!(status, 200, "the old org's API key still authenticates: {me}");
    assert!(me.to_string().contains(meta["org_id"].as_str().unwrap()), "{me}");
    let (_, projects) = get(&c, format!("{base}/v1/projects"), key);
    assert!(projects["items"].as_array().unwrap().iter().any(|p| p["name"] == "web"), "{projects}");
    let run_id = meta["run_id"].as_str().unwrap();
    let (status, run) = get(&c, format!("{base}/v1/runs/{run_id}"), key);
    assert_eq!(status, 200, "{run}");
    assert_eq!(run["status"], "completed", "{run}");
    assert_eq!(run["summary"]["items"], 3, "{run}");
    let (status, results) = get(&c, format!("{base}/v1/runs/{run_id}/results"), key);
    assert_eq!(status, 200, "{results}");
    assert_eq!(results["items"].as_array().unwrap().len(), 3, "{results}");
    let (status, keys) = get(&c, format!("{base}/v1/byok-keys"), key);
    assert_eq!(status, 200, "{keys}");
    let listed = keys["items"].as_array().unwrap();
    let byok =
        listed.iter().find(|k| k["id"] == meta["byok_key_id"]).unwrap_or_else(|| panic!("key not listed: {keys}"));
    assert_eq!(byok["name"], "fixture-key", "{byok}");
    assert!(!keys.to_string().contains("sk-test-fixture-0123456789abcdef"), "the key is listed masked: {keys}");
    assert_eq!(bin.terminate(), 0);
    assert_eq!(user_version(&data.join("gavel.db")), SCHEMA_VERSION, "migrated to this build's schema");
}

#[test]
fn a_store_of_a_newer_schema_is_refused_at_start_naming_both_versions() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("d");
    let args = ["--data-dir", data.to_str().unwrap(), "--bind", "127.0.0.1:0"];
    let bin = spawn_binary(tmp.path(), &args, &[], &tmp.path().join("log1")).unwrap();
    assert_eq!(bin.terminate(), 0);
    let db = data.join("gavel.db");
    let newer = SCHEMA_VERSION + 7;
    rusqlite::Connection::open(&db).unwrap().pragma_update(None, "user_version", newer).unwrap();
    let err = match spawn_binary(tmp.path(), &args, &[], &tmp.path().join("log2")) {
        Ok(mut bin) => {
            bin.child.kill().unwrap();
            panic!("a store of schema {newer} was opened by a build of schema {SCHEMA_VERSION}");
        }
        Err(e) => e,
    };
    assert!(err.contains(&format!("schema {newer}")) && err.contains(&format!("schema {SCHEMA_VERSION}")), "{err}");
    assert!(err.contains("downgrade"), "the message says what happened: {err}");
    assert_eq!(user_version(&db), newer, "nothing was changed");
}
