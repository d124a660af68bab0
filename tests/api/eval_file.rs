//! `gavel eval` with an evaluation file, flags over it, CI labels, `--format markdown` and `--from-promptfoo`, run
//! as the real binary against the real server.

use std::io::{Read, Write};
use std::path::Path;

use serde_json::Value;

use crate::eval_cli::org_and_project;
use crate::support::{run_gavel, spawn_binary};

const DATASET: &str = "{\"id\":\"ok-1\",\"input\":\"q\",\"output\":\"Paris\",\"expected\":\"Paris\"}\n\
{\"id\":\"bad-1\",\"input\":\"q\",\"output\":\"Lyon\",\"expected\":\"Paris\"}\n\
{\"id\":\"ok-2\",\"input\":\"q\",\"output\":\"Paris\",\"expected\":\"Paris\"}\n";

#[test]
fn an_eval_file_gates_and_flags_override_it() {
    let tmp = tempfile::tempdir().unwrap();
    let bin =
        spawn_binary(tmp.path(), &["--data-dir", "d", "--bind", "127.0.0.1:0"], &[], &tmp.path().join("log")).unwrap();
    let key = org_and_project(&bin);
    std::fs::create_dir(tmp.path().join("evals")).unwrap();
    std::fs::write(tmp.path().join("evals/qa.jsonl"), DATASET).unwrap();
    let file = format!(
        "project = \"web\"\nserver = \"{}\"\ndatasets = [\"evals/qa.jsonl\"]\nscorers = [\"equals\", {{ type = \"contains\", config = {{ value = \"a\" }} }}]\n\n[gate]\nmin_pass_rate = 0.5\n",
        bin.base
    );
    std::fs::write(tmp.path().join("gavel.eval.toml"), &file).unwrap();
    let env = [("GAVEL_API_KEY", key.as_str())];
    let eval = |args: &[&str]| {
        let mut a = vec!["eval", "--no-ci-labels"];
        a.extend_from_slice(args);
        run_gavel(tmp.path(), &a, &env)
    };

    let (code, out, err) = eval(&[]);
    assert_eq!(code, 0, "./gavel.eval.toml is read, its gate passes: {out}{err}");
    assert!(out.contains("gate: PASSED") && out.contains("contains"), "{out}");
    let (code, out, _) = eval(&["--min-pass-rate", "0.9"]);
    assert_eq!(code, 1, "a flag overrides the file's gate: {out}");
    let (code, out, _) = eval(&["--gate-scorer", "equals=0.9", "--json"]);
    assert_eq!(code, 1, "a per-scorer gate from the command line: {out}");
    let run: Value = serde_json::from_str(&out).unwrap();
    let reasons = run["summary"]["gate"]["reasons"].to_string();
    assert!(reasons.contains("scorer equals"), "{reasons}");

    // -c names another file; with no gate at all the gate is "no item failed or errored".
    std::fs::write(
        tmp.path().join("evals/strict.toml"),
        "project = \"web\"\ndatasets = [\"qa.jsonl\"]\nscorers = [\"equals\"]\n",
    )
    .unwrap();
    let (code, out, err) = eval(&["-c", "evals/strict.toml", "--server", &bin.base]);
    assert_eq!(code, 1, "default gate: {out}{err}");
    assert!(out.contains("more than the 0 allowed"), "{out}");
    let (code, _, _) = eval(&["--config", "evals/strict.toml", "--server", &bin.base, "--max-failed", "1"]);
    assert_eq!(code, 0, "--config is the evaluation file too");
    let (code, out, err) = eval(&["-c", "evals/strict.toml", "--local"]);
    assert_eq!(code, 1, "--local reads the file as well: {out}{err}");

    // Markdown for a PR comment.
    let (code, out, _) = eval(&["--format", "markdown"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("### gavel eval — ✅ gate passed"), "{out}");
    assert!(out.contains("| equals | 66.67% |") && out.contains("First 1 failed items (of 1)"), "{out}");
    assert!(out.contains("| #1 bad-1 | equals |"), "{out}");

    // Strict parsing: the key, the file and the line.
    std::fs::write(
        tmp.path().join("bad.toml"),
        "project = \"web\"\nscorers = [\"equals\"]\n[gate]\nmin_passrate = 0.5\n",
    )
    .unwrap();
    let (code, _, err) = eval(&["-c", "bad.toml"]);
    assert_eq!(code, 2);
    assert!(err.contains("bad.toml") && err.contains("line 4") && err.contains("min_passrate"), "{err}");
    std::fs::write(tmp.path().join("key.toml"), "project = \"web\"\napi_key = \"gv_secret_in_repo\"\n").unwrap();
    let (code, _, err) = eval(&["-c", "key.toml"]);
    assert_eq!(code, 2);
    assert!(err.contains("GAVEL_API_KEY") && !err.contains("gv_secret_in_repo"), "{err}");
    assert_eq!(bin.terminate(), 0);
}

#[test]
fn config_is_listed_only_where_it_acts() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, eval_help, _) = run_gavel(tmp.path(), &["eval", "--help"], &[]);
    assert!(eval_help.contains("-c, --config <gavel.eval.toml>"), "{eval_help}");
    assert!(eval_help.contains("--gate-scorer") && eval_help.contains("--format"), "{eval_help}");
    let (_, serve_help, _) = run_gavel(tmp.path(), &["serve", "--help"], &[]);
    assert!(serve_help.contains("--config <FILE>"), "{serve_help}");
    let (_, compare_help, _) = run_gavel(tmp.path(), &["compare", "--help"], &[]);
    assert!(!compare_help.contains("--config"), "compare reads no configuration: {compare_help}");
}

/// A one-request HTTP server that records the body and answers 400, to see what the CLI sends.
fn recording_server() -> (String, std::thread::JoinHandle<String>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let handle = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut buf = Vec::new();
        let mut chunk = [0u8; 8192];
        loop {
            let n = s.read(&mut chunk).unwrap();
            buf.extend_from_slice(&chunk[..n]);
            let text = String::from_utf8_lossy(&buf).to_string();
            if let Some(end) = text.find("\r\n\r\n") {
                let len = text[..end]
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse::<usize>().unwrap())
                    })
                    .unwrap_or(0);
                if buf.len() >= end + 4 + len {
                    let body = String::from_utf8_lossy(&buf[end + 4..end + 4 + len]).to_string();
                    let answer = "{\"error\":{\"code\":\"VALIDATION_FAILED\",\"message\":\"recorded\"}}";
                    let _ = write!(
                        s,
                        "HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
                        answer.len()
                    );
                    return body;
                }
            }
            if n == 0 {
                return String::new();
            }
        }
    });
    (base, handle)
}

#[test]
fn the_run_body_carries_name_labels_from_ci_and_flags_and_the_baseline() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("qa.jsonl"), DATASET).unwrap();
    std::fs::write(
        tmp.path().join("gavel.eval.toml"),
        "project = \"web\"\ndatasets = [\"qa.jsonl\"]\nscorers = [\"equals\"]\nbaseline = \"label=branch:main\"\n[gate]\nno_regression = true\n[labels]\nteam = \"search\"\ncommit = \"from-file\"\n",
    )
    .unwrap();
    let (base, handle) = recording_server();
    let env = [
        ("GAVEL_API_KEY", "gv_test"),
        ("GITHUB_ACTIONS", "true"),
        ("GITHUB_SHA", "0123abcd"),
        ("GITHUB_REF_NAME", "feature/x"),
        ("GITHUB_SERVER_URL", "https://github.example"),
        ("GITHUB_REPOSITORY", "acme/bot"),
        ("GITHUB_RUN_ID", "77"),
    ];
    let (code, _, err) =
        run_gavel(tmp.path(), &["eval", "--server", &base, "--name", "pr check", "--label", "team=ranking"], &env);
    assert_eq!(code, 2, "the recording server answers 400: {err}");
    assert!(err.contains("recorded"), "{err}");
    let body: Value = serde_json::from_str(&handle.join().unwrap()).unwrap();
    assert_eq!(body["name"], "pr check");
    assert_eq!(body["baseline"], "label=branch:main");
    assert_eq!(body["gate"]["no_regression"], true);
    let labels = &body["labels"];
    assert_eq!(labels["ci"], "github");
    assert_eq!(labels["branch"], "feature/x");
    assert_eq!(labels["ci_url"], "https://github.example/acme/bot/actions/runs/77");
    assert_eq!(labels["commit"], "from-file", "labels written in the file win over detected ones");
    assert_eq!(labels["team"], "ranking", "--label wins over the file");
    assert_eq!(body["dataset"].as_array().unwrap().len(), 3);
}

// No `description`: it becomes the run's name, which this branch's server does not take yet (unit-tested instead).
const PROMPTFOO: &str = r#"
defaultTest:
  assert:
    - type: not-contains
      value: "As an AI"
tests:
  - description: france
    vars: {question: "Capital of France?", output: "Paris"}
    assert:
      - {type: equals, value: Paris}
  - description: italy
    vars: {question: "Capital of Italy?", output: "Milan"}
    assert:
      - {type: equals, value: Rome}
      - {type: javascript, value: "output.length < 20"}
"#;

#[test]
fn a_promptfoo_config_is_refused_until_told_to_skip_what_does_not_map() {
    let tmp = tempfile::tempdir().unwrap();
    let bin =
        spawn_binary(tmp.path(), &["--data-dir", "d", "--bind", "127.0.0.1:0"], &[], &tmp.path().join("log")).unwrap();
    let key = org_and_project(&bin);
    std::fs::write(tmp.path().join("promptfooconfig.yaml"), PROMPTFOO).unwrap();
    let env = [("GAVEL_API_KEY", key.as_str())];
    let base = [
        "eval",
        "--no-ci-labels",
        "--server",
        bin.base.as_str(),
        "--project",
        "web",
        "--from-promptfoo",
        "promptfooconfig.yaml",
    ];
    let run = |extra: &[&str]| {
        let mut a = base.to_vec();
        a.extend_from_slice(extra);
        run_gavel(tmp.path(), &a, &env)
    };
    let (code, _, err) = run(&[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("test 2 \"italy\": assert[1] javascript") && err.contains("--skip-unmapped"), "{err}");
    let (code, out, err) = run(&["--skip-unmapped", "--json"]);
    assert_eq!(code, 1, "Milan is not Rome: the default gate fails: {err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["summary"]["per_scorer"]["equals"]["pass_rate"], 0.5, "{v}");
    assert_eq!(v["summary"]["per_scorer"]["not_contains"]["pass_rate"], 1.0, "{v}");

    // The equivalent evaluation file, committed and run.
    let (code, toml_text, err) = run(&["--print-eval-file"]);
    assert_eq!(code, 0, "{err}");
    assert!(toml_text.contains("# NOT MAPPED: test 2 \"italy\": assert[1] javascript"), "{toml_text}");
    std::fs::write(tmp.path().join("converted.toml"), &toml_text).unwrap();
    let (code, out, err) = run_gavel(
        tmp.path(),
        &[
            "eval",
            "--no-ci-labels",
            "--server",
            &bin.base,
            "--project",
            "web",
            "-c",
            "converted.toml",
            "--max-failed",
            "1",
        ],
        &env,
    );
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(bin.terminate(), 0);
}

#[test]
fn the_docs_examples_load() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tmp = tempfile::tempdir().unwrap();
    // The example names a dataset next to it; printing the promptfoo example needs nothing else.
    let (code, out, err) = run_gavel(
        tmp.path(),
        &[
            "eval",
            "--from-promptfoo",
            root.join("docs/examples/promptfooconfig.yaml").to_str().unwrap(),
            "--print-eval-file",
        ],
        &[],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("[target]") || out.contains("[[targets]]") || out.contains("target"), "{out}");
    assert!(err.contains("javascript"), "the unmappable assertion is reported: {err}");
    // The gavel example parses (a missing dataset is the next error, not a parse error).
    let (code, _, err) = run_gavel(
        tmp.path(),
        &["eval", "--local", "-c", root.join("docs/examples/gavel.eval.toml").to_str().unwrap()],
        &[],
    );
    assert_eq!(code, 2);
    assert!(err.contains("target") || err.contains("support.jsonl"), "{err}");
    assert!(!err.contains("unknown field"), "{err}");
}

/// A matrix from the evaluation file against the fake: each target produces its own outputs, the CLI prints the
/// comparison table and gates on every run; then a labelled run becomes the baseline of the next, by label, and
/// the CLI prints the comparison and fails `no_regression` on a real fall.
#[test]
fn a_matrix_from_the_file_and_a_baseline_by_label() {
    use std::sync::Arc;

    use crate::support::fake_provider::{FakeProvider, Knobs};
    let fake = FakeProvider::start(Knobs {
        reply_with_model: Some(Arc::new(|model: &str, user: &str| format!("[{model}] {user}"))),
        ..Knobs::default()
    });
    let tmp = tempfile::tempdir().unwrap();
    let bin =
        spawn_binary(tmp.path(), &["--data-dir", "d", "--bind", "127.0.0.1:0"], &[], &tmp.path().join("log")).unwrap();
    let key = org_and_project(&bin);
    let c = reqwest::blocking::Client::new();
    let byok = serde_json::json!({"provider": "openai", "name": "main", "key": "sk-matrix-123456",
                                  "base_url": format!("{}/v1", fake.base), "is_default": true});
    let r = c.post(format!("{}/v1/byok-keys", bin.base)).header("X-API-Key", &key).json(&byok).send().unwrap();
    assert_eq!(r.status().as_u16(), 201);
    let items: String = (0..6).map(|i| format!("{{\"id\":\"q{i}\",\"input\":\"question {i}\"}}\n")).collect();
    std::fs::write(tmp.path().join("qa.jsonl"), items).unwrap();
    let file = format!(
        "project = \"web\"\nserver = \"{}\"\nname = \"prompt sweep\"\ndatasets = [\"qa.jsonl\"]\n\
         scorers = [{{ type = \"contains\", config = {{ value = \"[m-good]\" }} }}]\n\n[gate]\nmin_pass_rate = 0.5\n\n\
         [[targets]]\nprovider = \"openai\"\nmodel = \"m-good\"\nprompt = \"Q: {{{{input}}}}\"\n\n\
         [[targets]]\nprovider = \"openai\"\nmodel = \"m-bad\"\n",
        bin.base
    );
    std::fs::write(tmp.path().join("matrix.toml"), &file).unwrap();
    let env = [("GAVEL_API_KEY", key.as_str())];
    let (code, out, err) = run_gavel(tmp.path(), &["eval", "--no-ci-labels", "-c", "matrix.toml"], &env);
    assert_eq!(code, 1, "one target fails its gate, so the matrix fails: {out}{err}");
    assert!(out.contains("matrix: 2 targets"), "{out}");
    let row = |model: &str| out.lines().find(|l| l.contains(model) && l.contains('%')).unwrap_or_default().to_owned();
    assert!(row("openai/m-good").contains("100.00%"), "{out}");
    assert!(row("openai/m-bad").contains("0.00%"), "{out}");
    let sent: Vec<String> = fake.requests().iter().map(|r| r.body.to_string()).collect();
    assert_eq!(sent.len(), 12, "6 items x 2 targets, each produced once");
    assert!(sent.iter().any(|b| b.contains("Q: question 3")), "the template reached the provider");
    let (code, out, _) = run_gavel(tmp.path(), &["eval", "--no-ci-labels", "-c", "matrix.toml", "--json"], &env);
    assert_eq!(code, 1);
    let doc: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["runs"].as_array().unwrap().len(), 2, "{doc}");
    assert_eq!(doc["comparison"]["rows"].as_array().unwrap().len(), 2, "{doc}");

    // Baseline by label: a good run on main, then a worse one compared with it.
    std::fs::write(
        tmp.path().join("outs.jsonl"),
        (0..40)
            .map(|i| format!("{{\"id\":\"{i}\",\"input\":\"q\",\"output\":\"Paris\",\"expected\":\"Paris\"}}\n"))
            .collect::<String>(),
    )
    .unwrap();
    std::fs::write(
        tmp.path().join("worse.jsonl"),
        (0..40)
            .map(|i| {
                let out = if i % 2 == 0 { "Lyon" } else { "Paris" };
                format!("{{\"id\":\"{i}\",\"input\":\"q\",\"output\":\"{out}\",\"expected\":\"Paris\"}}\n")
            })
            .collect::<String>(),
    )
    .unwrap();
    let base_args = ["eval", "--no-ci-labels", "--server", &bin.base, "--project", "web", "--scorer", "equals"];
    let mut args = base_args.to_vec();
    args.extend(["--dataset", "outs.jsonl", "--label", "branch=main"]);
    let (code, out, err) = run_gavel(tmp.path(), &args, &env);
    assert_eq!(code, 0, "{out}{err}");
    let mut args = base_args.to_vec();
    args.extend([
        "--dataset",
        "worse.jsonl",
        "--baseline",
        "label=branch:main",
        "--no-regression",
        "--min-pass-rate",
        "0",
    ]);
    let (code, out, err) = run_gavel(tmp.path(), &args, &env);
    assert_eq!(code, 1, "a fall from 100% to 50% is beyond noise: {out}{err}");
    assert!(out.contains("against baseline run") && out.contains("REGRESSED"), "{out}");
    assert_eq!(bin.terminate(), 0);
}
