//! Tests that run the real `gavel` executable.

use std::os::unix::fs::PermissionsExt;

use serde_json::Value;

use crate::support::{admin_key_from, run_gavel, spawn_binary};

fn init_json(cwd: &std::path::Path, args: &[&str], envs: &[(&str, &str)]) -> Value {
    let mut all = vec!["init", "--json"];
    all.extend_from_slice(args);
    let (code, out, err) = run_gavel(cwd, &all, envs);
    assert_eq!(code, 0, "init failed: {err}");
    serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("init --json printed {out:?}: {e}"))
}

#[test]
fn init_creates_everything_and_refuses_to_overwrite() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("d");
    let v = init_json(tmp.path(), &["--data-dir", data.to_str().unwrap()], &[]);
    assert!(v["admin_api_key"].as_str().unwrap().starts_with("gv_"));
    assert_eq!(v["data_dir"], data.to_str().unwrap());
    let mk = std::path::PathBuf::from(v["master_key_file"].as_str().unwrap());
    assert_eq!(std::fs::metadata(&mk).unwrap().permissions().mode() & 0o777, 0o600);
    assert!(data.join("gavel.db").exists() && data.join("keys.enc").exists());
    let before = std::fs::read(data.join("keys.enc")).unwrap();
    let (code, _, err) = run_gavel(tmp.path(), &["init", "--data-dir", data.to_str().unwrap()], &[]);
    assert_ne!(code, 0);
    assert!(err.contains("refusing to overwrite"), "{err}");
    assert_eq!(std::fs::read(data.join("keys.enc")).unwrap(), before);
}

#[test]
fn config_layers_file_then_env_then_flag() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("gavel.toml"), "[server]\ndata_dir = \"from-file\"\n").unwrap();
    assert_eq!(init_json(tmp.path(), &[], &[])["data_dir"], "from-file");
    assert_eq!(init_json(tmp.path(), &[], &[("GAVEL_SERVER__DATA_DIR", "from-env")])["data_dir"], "from-env");
    assert_eq!(
        init_json(tmp.path(), &["--data-dir", "from-flag"], &[("GAVEL_SERVER__DATA_DIR", "from-env2")])["data_dir"],
        "from-flag"
    );
    let (code, _, err) = run_gavel(tmp.path(), &["init", "--data-dir", "x2"], &[("GAVEL_JUDGE__MAX_RETRIES", "lots")]);
    assert_eq!(code, 2);
    assert!(err.contains("judge.max_retries"), "{err}");
    let (code, _, err) = run_gavel(tmp.path(), &["init", "--data-dir", "x3", "--json"], &[("GAVEL_SERVR__BIND", "x")]);
    assert_eq!(code, 0);
    assert!(err.contains("GAVEL_SERVR__BIND"), "unknown variables are warned about: {err}");
}

#[test]
fn zero_config_first_start_then_sigterm_exits_zero_and_restart_keeps_data() {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("serve.log");
    let bin = spawn_binary(tmp.path(), &["--bind", "127.0.0.1:0"], &[], &log).unwrap();
    assert!(tmp.path().join("gavel-data/gavel.db").exists(), "./gavel-data is the default data directory");
    let admin = admin_key_from(&bin.stdout_lines);
    assert!(bin.stdout_lines.iter().any(|l| l.contains("dashboard: http://127.0.0.1:")), "{:?}", bin.stdout_lines);
    let client = reqwest::blocking::Client::new();
    let r = client
        .post(format!("{}/v1/orgs", bin.base))
        .header("X-API-Key", &admin)
        .json(&serde_json::json!({"name": "acme"}))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    assert_eq!(bin.terminate(), 0);

    let bin = spawn_binary(tmp.path(), &["--bind", "127.0.0.1:0"], &[], &log).unwrap();
    assert!(!bin.stdout_lines.iter().any(|l| l.contains("gv_")), "the admin key is printed only on the first start");
    let r = client.get(format!("{}/v1/orgs", bin.base)).header("X-API-Key", &admin).send().unwrap();
    let v: Value = r.json().unwrap();
    assert_eq!(v["items"][0]["name"], "acme");
    assert_eq!(bin.terminate(), 0);
}

#[test]
fn tampered_key_file_wrong_master_key_and_loose_permissions_refuse_to_start() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("d");
    let d = data.to_str().unwrap();
    init_json(tmp.path(), &["--data-dir", d], &[]);
    let log = tmp.path().join("serve.log");
    let args = ["--data-dir", d, "--bind", "127.0.0.1:0"];

    // Wrong master key.
    let other = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    let err = spawn_binary(tmp.path(), &args, &[("GAVEL_MASTER_KEY", other)], &log).err().expect("must refuse");
    assert!(err.contains("keys.enc"), "names the key file: {err}");

    // Master key file readable by others.
    let mk = data.join("master.key");
    std::fs::set_permissions(&mk, std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = spawn_binary(tmp.path(), &args, &[], &log).err().expect("must refuse");
    assert!(err.contains("chmod 600") && err.contains("master.key"), "{err}");
    std::fs::set_permissions(&mk, std::fs::Permissions::from_mode(0o600)).unwrap();

    // Tampered key file: change one character of the MAC.
    let kf = data.join("keys.enc");
    let text = std::fs::read_to_string(&kf).unwrap();
    let at = text.find("\"mac\":\"").unwrap() + 7;
    let mut bytes = text.into_bytes();
    bytes[at] = if bytes[at] == b'0' { b'1' } else { b'0' };
    std::fs::write(&kf, &bytes).unwrap();
    let err = spawn_binary(tmp.path(), &args, &[], &log).err().expect("must refuse");
    assert!(err.contains("keys.enc"), "{err}");
}

#[test]
fn rotate_master_key_reseals_and_the_server_starts_with_the_new_key() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("d");
    let d = data.to_str().unwrap();
    let log = tmp.path().join("serve.log");
    let bin = spawn_binary(tmp.path(), &["--data-dir", d, "--bind", "127.0.0.1:0"], &[], &log).unwrap();
    let admin = admin_key_from(&bin.stdout_lines);
    let client = reqwest::blocking::Client::new();
    let org: Value = client
        .post(format!("{}/v1/orgs", bin.base))
        .header("X-API-Key", &admin)
        .json(&serde_json::json!({"name": "acme"}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let org_admin = org["admin_api_key"].as_str().unwrap();
    let r = client
        .post(format!("{}/v1/byok-keys", bin.base))
        .header("X-API-Key", org_admin)
        .json(&serde_json::json!({"provider": "openai", "name": "k", "key": "sk-rotate-me-123456"}))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    // Backup while running.
    let out = tmp.path().join("backup");
    let (code, stdout, err) = run_gavel(tmp.path(), &["backup", "--data-dir", d, "--out", out.to_str().unwrap()], &[]);
    assert_eq!(code, 0, "{err}");
    assert!(stdout.contains("gavel.db"));
    assert!(out.join("gavel.db").exists() && out.join("keys.enc").exists() && !out.join("master.key").exists());
    // Rotation needs the server stopped.
    let newkey = tmp.path().join("new.key");
    std::fs::write(&newkey, "QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkI=\n").unwrap();
    std::fs::set_permissions(&newkey, std::fs::Permissions::from_mode(0o600)).unwrap();
    let (code, _, err) =
        run_gavel(tmp.path(), &["rotate-master-key", "--data-dir", d, "--new-key-file", newkey.to_str().unwrap()], &[]);
    assert_ne!(code, 0);
    assert!(err.contains("in use"), "{err}");
    assert_eq!(bin.terminate(), 0);
    let old_master = std::fs::read_to_string(data.join("master.key")).unwrap();
    let (code, stdout, err) =
        run_gavel(tmp.path(), &["rotate-master-key", "--data-dir", d, "--new-key-file", newkey.to_str().unwrap()], &[]);
    assert_eq!(code, 0, "{err}");
    assert!(stdout.contains("re-sealed 1"), "{stdout}");
    assert_eq!(
        std::fs::read_to_string(data.join("master.key")).unwrap().trim(),
        "QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkI="
    );
    // The old key no longer opens the key file; the new one does (every record is verified at open).
    let err = spawn_binary(
        tmp.path(),
        &["--data-dir", d, "--bind", "127.0.0.1:0"],
        &[("GAVEL_MASTER_KEY", old_master.trim())],
        &log,
    )
    .err()
    .expect("old key refused");
    assert!(err.contains("keys.enc"), "{err}");
    let bin = spawn_binary(tmp.path(), &["--data-dir", d, "--bind", "127.0.0.1:0"], &[], &log).unwrap();
    let v: Value =
        client.get(format!("{}/v1/byok-keys", bin.base)).header("X-API-Key", org_admin).send().unwrap().json().unwrap();
    assert_eq!(v["items"].as_array().unwrap().len(), 1);
    assert_eq!(bin.terminate(), 0);
}

#[test]
fn a_first_start_on_a_taken_port_creates_nothing_and_the_next_start_prints_the_key() {
    let tmp = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let data = tmp.path().join("d");
    let (code, out, err) =
        run_gavel(tmp.path(), &["serve", "--data-dir", data.to_str().unwrap(), "--bind", &addr], &[]);
    assert_ne!(code, 0, "serve on a taken port must fail: {out}");
    assert!(err.contains("server.bind"), "the error names the key: {err}");
    assert!(!out.contains("gv_"), "no admin key is printed for a start that failed: {out}");
    assert!(!data.exists(), "nothing is initialised before the port is bound");
    drop(taken);
    let bin = spawn_binary(
        tmp.path(),
        &["--data-dir", data.to_str().unwrap(), "--bind", "127.0.0.1:0"],
        &[],
        &tmp.path().join("log"),
    )
    .unwrap();
    assert!(admin_key_from(&bin.stdout_lines).starts_with("gv_"), "the real first start prints the key");
    let ready = reqwest::blocking::get(format!("{}/readyz", bin.base)).unwrap();
    assert_eq!(ready.status(), 200);
    assert_eq!(bin.terminate(), 0);
}

#[test]
fn selftest_prints_precision_and_recall_for_both_fixture_sets() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, out, err) = run_gavel(tmp.path(), &["selftest"], &[]);
    assert_eq!(code, 0, "{out}\n{err}");
    for needle in ["failure analysis", "precision", "recall", "tool_use.redundant_calls", "security", "secrets", "pii"]
    {
        assert!(out.contains(needle), "{needle} missing from:\n{out}");
    }
    let (code, out, _) = run_gavel(tmp.path(), &["selftest", "security"], &[]);
    assert_eq!(code, 0);
    assert!(!out.contains("failure analysis"), "only the security fixtures: {out}");
    let (code, _, err) = run_gavel(tmp.path(), &["selftest", "nonsense"], &[]);
    assert_eq!(code, 2, "{err}");
}

/// A SIGTERM right after "listening on" (before the server has served anything) is an orderly stop with exit 0:
/// the handlers are installed before the line is printed. Repeated, because the window is small.
#[test]
fn sigterm_the_moment_it_listens_is_an_orderly_stop() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("d");
    for round in 0..3 {
        let log = tmp.path().join(format!("err{round}.log"));
        let bin = crate::support::spawn_binary(
            tmp.path(),
            &["--data-dir", data.to_str().unwrap(), "--bind", "127.0.0.1:0"],
            &[],
            &log,
        )
        .unwrap();
        assert_eq!(bin.terminate(), 0, "round {round}: {}", std::fs::read_to_string(&log).unwrap_or_default());
    }
}
