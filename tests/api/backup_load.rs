//! `gavel backup` while a large heuristic run and provider-key writes are in progress, then the restore procedure
//! of docs/operations.md ("Restore") onto a fresh data directory: the copy passes `PRAGMA integrity_check`, a server
//! started on it with the same master key opens the key file and lists the keys, and the run caught mid-way in the
//! copy completes there with exactly one result per item.

use std::os::unix::fs::PermissionsExt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::crash_loop::{create_key, integrity, listed_keys, org_with_project};
use crate::support::fake_provider::{FakeProvider, Knobs};
use crate::support::{run_gavel, spawn_binary};

type Client = reqwest::blocking::Client;

#[test]
fn backup_while_runs_and_key_writes_are_in_progress_restores_to_a_working_server() {
    let fake = FakeProvider::start(Knobs::default());
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("d");
    let c = Client::builder().timeout(Duration::from_secs(60)).build().unwrap();
    let args = ["--data-dir", data.to_str().unwrap(), "--bind", "127.0.0.1:0"];
    let bin = spawn_binary(tmp.path(), &args, &[], &tmp.path().join("log1")).unwrap();
    let key = org_with_project(&c, &bin);
    let before: Vec<String> = (0..3).map(|n| create_key(&c, &bin.base, &key, &fake.base, n).unwrap()).collect();
    let n = 40_000u64;
    let items: Vec<Value> =
        (0..n).map(|i| json!({"input": format!("q{i}"), "output": format!("answer {i}")})).collect();
    let r = c
        .post(format!("{}/v1/projects/web/runs", bin.base))
        .header("X-API-Key", &key)
        .json(&json!({"dataset": items, "scorers": [{"type": "contains", "config": {"value": "answer"}}]}))
        .send()
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    let id = r.json::<Value>().unwrap()["id"].as_str().unwrap().to_string();
    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(Mutex::new(Vec::new()));
    let writer = {
        let (c, base, key, fake, stop, acked) =
            (c.clone(), bin.base.clone(), key.clone(), fake.base.clone(), stop.clone(), acked.clone());
        std::thread::spawn(move || {
            let mut n = 100;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                acked.lock().unwrap().push(create_key(&c, &base, &key, &fake, n).unwrap());
            }
        })
    };
    // Back up once the run is writing results and keys are being written.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let run: Value =
            c.get(format!("{}/v1/runs/{id}", bin.base)).header("X-API-Key", &key).send().unwrap().json().unwrap();
        if run["progress"]["done"].as_u64().unwrap() > 0 && acked.lock().unwrap().len() >= 2 {
            break;
        }
        assert!(Instant::now() < deadline, "no progress: {run}");
        std::thread::sleep(Duration::from_millis(10));
    }
    let acked_before_backup = acked.lock().unwrap().clone();
    let out = tmp.path().join("backup");
    let (code, stdout, err) =
        run_gavel(tmp.path(), &["backup", "--data-dir", data.to_str().unwrap(), "--out", out.to_str().unwrap()], &[]);
    assert_eq!(code, 0, "backup failed: {stdout}{err}");
    let run: Value =
        c.get(format!("{}/v1/runs/{id}", bin.base)).header("X-API-Key", &key).send().unwrap().json().unwrap();
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    assert_eq!(integrity(&out.join("gavel.db")), "ok");
    assert_eq!(std::fs::metadata(out.join("keys.enc")).unwrap().permissions().mode() & 0o077, 0, "keys.enc is private");
    assert!(!out.join("master.key").exists(), "a backup never holds the master key");
    assert_eq!(bin.terminate(), 0);
    let caught_mid_run = run["status"] == "running";

    // Restore as docs/operations.md says: the copy's gavel.db and keys.enc (mode 0600) into the data directory,
    // no -wal/-shm beside them, the master key in use when the backup was taken.
    let restored = tmp.path().join("restored");
    std::fs::create_dir(&restored).unwrap();
    std::fs::set_permissions(&restored, std::fs::Permissions::from_mode(0o700)).unwrap();
    for f in ["gavel.db", "keys.enc"] {
        std::fs::copy(out.join(f), restored.join(f)).unwrap();
        std::fs::set_permissions(restored.join(f), std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let master = std::fs::read_to_string(data.join("master.key")).unwrap();
    let args = ["--data-dir", restored.to_str().unwrap(), "--bind", "127.0.0.1:0"];
    let bin =
        spawn_binary(tmp.path(), &args, &[("GAVEL_MASTER_KEY", master.trim())], &tmp.path().join("log2")).unwrap();
    let listed = listed_keys(&c, &bin.base, &key);
    for k in before.iter().chain(&acked_before_backup) {
        assert!(listed.contains(k), "key {k}, created before the backup, is not listed on the restored server");
    }
    let deadline = Instant::now() + Duration::from_secs(300);
    let done = loop {
        let run: Value =
            c.get(format!("{}/v1/runs/{id}", bin.base)).header("X-API-Key", &key).send().unwrap().json().unwrap();
        if run["status"] != "queued" && run["status"] != "running" {
            break run;
        }
        assert!(Instant::now() < deadline, "the restored run did not finish: {run}");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["summary"]["items"], n);
    assert_eq!(bin.terminate(), 0);
    crate::support::common::assert_one_result_per_item(&restored, &id, n);
    println!("backup under load: run caught mid-way in the copy: {caught_mid_run}; {} keys listed", listed.len());
}
