//! The crash loop: the real binary under mixed load (heuristic and judged runs, provider-key creation and
//! rotation, `gavel backup`, master-key rotation between lives) is killed with SIGKILL at random moments and
//! restarted, `KILLS` times (default 3; `.ci/run` runs it, docs/operations.md says how to run it long). After each
//! kill the store passes `PRAGMA integrity_check`; after each restart the key file opens (the server starts and
//! `GET /v1/byok-keys` lists every key whose creation was answered); at the end every accepted run has completed
//! with exactly one result per item. It prints the kills survived and the provider calls paid twice.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

use crate::support::fake_provider::{FakeProvider, Knobs};
use crate::support::{admin_key_from, run_gavel, spawn_binary, Binary};

type Client = reqwest::blocking::Client;

/// Items of each judged run (one judge call per item) and of each heuristic run.
const JUDGED_ITEMS: u64 = 400;
const HEURISTIC_ITEMS: u64 = 3_000;
/// The judge's concurrency cap per (org, provider) (`judge.max_concurrency_per_org_provider`'s default): the calls
/// truly in flight at a kill, so the most a kill may make the restarted server pay again.
const C: u64 = 20;

/// `PRAGMA integrity_check` of the store in `data`; the server must not be running on it.
pub(crate) fn integrity(db: &Path) -> String {
    let c = rusqlite::Connection::open(db).unwrap();
    c.query_row("PRAGMA integrity_check", [], |r| r.get::<_, String>(0)).unwrap()
}

/// Runs the killed server left unfinished (the kill landed mid-run for them).
fn unfinished(db: &Path) -> i64 {
    let c = rusqlite::Connection::open(db).unwrap();
    c.query_row("SELECT count(*) FROM runs WHERE status IN ('queued', 'running')", [], |r| r.get(0)).unwrap()
}

/// The ids `GET /v1/byok-keys` lists, every page.
pub(crate) fn listed_keys(c: &Client, base: &str, key: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut req = c.get(format!("{base}/v1/byok-keys")).header("X-API-Key", key).query(&[("limit", "100")]);
        if let Some(cur) = &cursor {
            req = req.query(&[("cursor", cur)]);
        }
        let page: Value = req.send().unwrap().json().unwrap();
        ids.extend(page["items"].as_array().unwrap().iter().map(|k| k["id"].as_str().unwrap().to_string()));
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => return ids,
        }
    }
}

/// An org `acme` with project `web`; returns its admin key.
pub(crate) fn org_with_project(c: &Client, bin: &Binary) -> String {
    let admin = admin_key_from(&bin.stdout_lines);
    let org: Value = c
        .post(format!("{}/v1/orgs", bin.base))
        .header("X-API-Key", &admin)
        .json(&json!({"name": "acme"}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let key = org["admin_api_key"].as_str().unwrap().to_string();
    let r = c.post(format!("{}/v1/projects", bin.base)).header("X-API-Key", &key).json(&json!({"name": "web"})).send();
    assert_eq!(r.unwrap().status().as_u16(), 201);
    key
}

/// Creates a provider key aimed at the fake; its id when the server answered 201.
pub(crate) fn create_key(c: &Client, base: &str, key: &str, fake: &str, n: u64) -> Option<String> {
    let body = json!({"provider": "openai", "name": format!("k{n}"), "key": format!("sk-crash-{n:06}"),
        "base_url": format!("{fake}/v1"), "default_model": "fake-model"});
    let r = c.post(format!("{base}/v1/byok-keys")).header("X-API-Key", key).json(&body).send().ok()?;
    if r.status().as_u16() != 201 {
        return None;
    }
    r.json::<Value>().ok()?["id"].as_str().map(str::to_string)
}

/// Submits a run; its id (every accepted run must later complete).
fn submit(c: &Client, base: &str, key: &str, judged: bool, round: u64) -> (String, u64) {
    let n = if judged { JUDGED_ITEMS } else { HEURISTIC_ITEMS };
    let items: Vec<Value> = (0..n)
        .map(|i| json!({"input": format!("r{round} q{i}"), "output": if i % 4 == 0 { "WRONG" } else { "fine" }}))
        .collect();
    let scorers = if judged {
        json!(["relevance", {"type": "not_contains", "config": {"value": "zzz"}}])
    } else {
        json!([{"type": "contains", "config": {"value": "fine"}}, {"type": "levenshtein", "config": {"value": "fine"}}])
    };
    let r = c
        .post(format!("{base}/v1/projects/web/runs"))
        .header("X-API-Key", key)
        .json(&json!({"dataset": items, "scorers": scorers, "cache": false}))
        .send()
        .unwrap();
    let status = r.status().as_u16();
    let v: Value = r.json().unwrap();
    assert!(status == 201 || status == 202, "{status} {v}");
    (v["id"].as_str().unwrap().to_string(), n)
}

fn wait_completed(c: &Client, base: &str, key: &str, id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let run: Value = c.get(format!("{base}/v1/runs/{id}")).header("X-API-Key", key).send().unwrap().json().unwrap();
        if run["status"].as_str().is_some_and(|s| s != "queued" && s != "running") {
            return run;
        }
        assert!(Instant::now() < deadline, "run did not finish: {run}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn start(dir: &Path, data: &Path, life: u64) -> Binary {
    let args = ["--data-dir", data.to_str().unwrap(), "--bind", "127.0.0.1:0"];
    spawn_binary(dir, &args, &[("GAVEL_JUDGE__BACKOFF_BASE_MS", "5")], &dir.join(format!("log{life}")))
        .unwrap_or_else(|e| panic!("life {life}: the server did not start: {e}"))
}

/// A new master key file (mode 0600) for `gavel rotate-master-key`.
fn new_master_key_file(dir: &Path, rng: &mut impl Rng) -> std::path::PathBuf {
    use base64::Engine;
    let bytes: [u8; 32] = rng.gen();
    let path = dir.join("new.key");
    std::fs::write(&path, base64::engine::general_purpose::STANDARD.encode(bytes)).unwrap();
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    path
}

#[test]
#[ignore = "minutes of load: .ci/run runs it with KILLS=…"]
fn crash_loop() {
    let kills: u64 = std::env::var("KILLS").ok().and_then(|v| v.parse().ok()).unwrap_or(3);
    let seed: u64 = std::env::var("CRASH_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or_else(rand::random);
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    println!("crash loop: KILLS={kills} CRASH_SEED={seed}");
    let fake = FakeProvider::start(Knobs { latency: Duration::from_millis(40), ..Knobs::default() });
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("d");
    let c = Client::builder().timeout(Duration::from_secs(60)).build().unwrap();
    let mut bin = start(tmp.path(), &data, 0);
    let key = org_with_project(&c, &bin);
    let acked = Arc::new(Mutex::new(vec![create_key(&c, &bin.base, &key, &fake.base, 0).unwrap()]));
    let mut runs: Vec<(String, u64, bool)> = Vec::new();
    let mut backups_ok = 0u64;
    let mut key_writes = 0u64;
    let mut kills_mid_run = 0u64;
    let mut kill_times: Vec<Instant> = Vec::new();
    for round in 1..=kills {
        let judged = submit(&c, &bin.base, &key, true, round);
        runs.push((judged.0, judged.1, true));
        let heuristic = submit(&c, &bin.base, &key, false, round);
        runs.push((heuristic.0, heuristic.1, false));
        // Key creation and rotation until the kill cuts them off.
        let stop = Arc::new(AtomicBool::new(false));
        let writer = {
            let (c, base, key, fake, acked, stop) =
                (c.clone(), bin.base.clone(), key.clone(), fake.base.clone(), acked.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut writes = 0u64;
                let mut n = round * 1000;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    let Some(id) = create_key(&c, &base, &key, &fake, n) else { break };
                    acked.lock().unwrap().push(id.clone());
                    writes += 1;
                    let r = c
                        .patch(format!("{base}/v1/byok-keys/{id}"))
                        .header("X-API-Key", &key)
                        .json(&json!({"key": format!("sk-rotated-{n:06}")}))
                        .send();
                    match r {
                        Ok(r) if r.status().is_success() => writes += 1,
                        _ => break,
                    }
                }
                writes
            })
        };
        let out = tmp.path().join(format!("backup{round}"));
        let backup = {
            let (dir, data, out) = (tmp.path().to_path_buf(), data.clone(), out.clone());
            std::thread::spawn(move || {
                run_gavel(&dir, &["backup", "--data-dir", data.to_str().unwrap(), "--out", out.to_str().unwrap()], &[])
            })
        };
        std::thread::sleep(Duration::from_millis(rng.gen_range(100..1500)));
        kill_times.push(Instant::now());
        bin.child.kill().unwrap();
        bin.child.wait().unwrap();
        stop.store(true, Ordering::Relaxed);
        key_writes += writer.join().unwrap();
        let (code, _, err) = backup.join().unwrap();
        if code == 0 {
            assert_eq!(integrity(&out.join("gavel.db")), "ok", "round {round}: the backup's store");
            backups_ok += 1;
        } else {
            // A backup racing the kill may fail cleanly; it must say why, never leave a half copy named as whole.
            assert!(!err.trim().is_empty(), "round {round}: backup failed silently");
        }
        assert_eq!(integrity(&data.join("gavel.db")), "ok", "round {round}: the store after kill -9");
        let cut = unfinished(&data.join("gavel.db"));
        kills_mid_run += u64::from(cut > 0);
        if round % 2 == 0 {
            let new_key = new_master_key_file(tmp.path(), &mut rng);
            let args = [
                "rotate-master-key",
                "--data-dir",
                data.to_str().unwrap(),
                "--new-key-file",
                new_key.to_str().unwrap(),
            ];
            let (code, _, err) = run_gavel(tmp.path(), &args, &[]);
            assert_eq!(code, 0, "round {round}: master-key rotation after a kill: {err}");
        }
        bin = start(tmp.path(), &data, round);
        let listed = listed_keys(&c, &bin.base, &key);
        for id in acked.lock().unwrap().iter() {
            assert!(listed.contains(id), "round {round}: key {id} was created (201) but is not listed after restart");
        }
    }
    let judged_items: u64 = runs.iter().filter(|r| r.2).map(|r| r.1).sum();
    for (id, n, judged) in &runs {
        let run = wait_completed(&c, &bin.base, &key, id);
        assert_eq!(run["status"], "completed", "{run}");
        assert_eq!(run["summary"]["items"], *n, "{run}");
        if *judged {
            assert_eq!(run["summary"]["errored"], 0, "{}", run["summary"]);
        }
    }
    assert_eq!(bin.terminate(), 0);
    for (id, n, _) in &runs {
        crate::support::common::assert_one_result_per_item(&data, id, *n);
    }
    assert_eq!(integrity(&data.join("gavel.db")), "ok");
    let calls = fake.calls();
    // A call is paid twice when its prompt had already been answered (every judged item's prompt is unique);
    // calls cut off before their answer, error answers and other requests are not.
    let paid_twice = fake.paid_twice();
    // What no store could save: calls started before a kill and not answered by then (their answer, if any, came
    // after the process was gone). The rest of `paid_twice` are answers gavel had been sent but not yet stored.
    let log = fake.call_log();
    let in_flight: usize = kill_times
        .iter()
        .map(|k| log.iter().filter(|c| c.started < *k && c.answered.is_none_or(|a| a >= *k)).count())
        .sum();
    println!(
        "crash loop (CRASH_SEED={seed}): {kills} kills survived ({kills_mid_run} with runs in progress), {} runs ({judged_items} judged items), {key_writes} key \
         writes, {backups_ok}/{kills} backups under load ok, {} master-key rotations; provider calls {calls} \
         ({} more than judged items), paid twice {paid_twice} ({:.1} per kill; C = {C}), in flight at the kills {in_flight}",
        runs.len(),
        kills / 2,
        calls.saturating_sub(judged_items),
        paid_twice as f64 / kills as f64,
    );
}
