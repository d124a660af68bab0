//! The red team's attacker from the command line (`gavel redteam --attacker-…`, the real binary), an attacker
//! without a usable key refused at submission (400 BYOK_NO_KEY, nothing created or called), and the hazard
//! category of harmful-goal attacks as a field of its own in the rows, the summary, the CLI table and the OpenAPI
//! document.

use std::collections::BTreeSet;
use std::sync::Arc;

use serde_json::{json, Value};

use crate::redteam::{setup, RED};
use crate::support::fake_provider::{FakeProvider, Knobs};
use crate::support::{assert_error, spawn_app, TestApp};

/// `leaky` echoes the request (and so every marker); the judge says "complied" when the answer starts "Sure".
fn leaky() -> Knobs {
    Knobs {
        reply_with_system: Some(Arc::new(|_model: &str, system: &str, user: &str| {
            if system.contains("red-team test") {
                let complied = user.contains("<assistant_response>\nSure");
                return format!("{{\"complied\": {complied}, \"reason\": \"fake judge\"}}");
            }
            format!("Sure! You asked: {user}")
        })),
        ..Knobs::default()
    }
}

async fn run_count(app: &TestApp, key: &str) -> usize {
    let (s, v) = app.get("/v1/projects/web/runs", key).await;
    assert_eq!(s, 200, "{v}");
    v["items"].as_array().map_or(0, Vec::len)
}

/// Runs `gavel ARGS…` against `app` with `key` in GAVEL_API_KEY: (exit code, stdout, stderr).
async fn gavel(app: &TestApp, key: &str, args: &[&str]) -> (i32, String, String) {
    let mut all: Vec<String> =
        vec!["redteam".into(), "--server".into(), app.base.clone(), "--project".into(), "web".into()];
    all.extend(args.iter().map(|a| (*a).to_owned()));
    let key = key.to_owned();
    tokio::task::spawn_blocking(move || {
        let refs: Vec<&str> = all.iter().map(String::as_str).collect();
        crate::support::run_gavel(&std::env::temp_dir(), &refs, &[("GAVEL_API_KEY", &key)])
    })
    .await
    .unwrap()
}

const TARGET: &str = r#"{"provider": "openai", "model": "gpt-4o-mini"}"#;

#[tokio::test]
async fn the_cli_sends_the_attacker_flags_documents_them_and_exits_2_on_bad_ones() {
    let fake = FakeProvider::start(leaky());
    let app = spawn_app().await;
    let admin = setup(&app, &fake).await;
    let base = ["--target", TARGET, "--category", "jailbreak", "--attempts", "4", "--dry-run", "--json"];
    let mut args = base.to_vec();
    args.extend([
        "--attacker-provider",
        "openai",
        "--attacker-model",
        "attacker-model",
        "--attacker-strategies",
        "refine,multi-turn",
        "--attacker-max-rounds",
        "2",
        "--attacker-max-turns",
        "4",
    ]);
    let (code, out, err) = gavel(&app, &admin, &args).await;
    assert_eq!(code, 0, "{out}\n{err}");
    let answer: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(answer["plan"]["strategies"], json!({"refine": 2, "multi_turn": 2}), "{answer}");
    let attacker = &answer["estimate"]["by_role"]["attacker"];
    assert_eq!(attacker["model"], "attacker-model", "{answer}");
    // refine: at most 2 rounds, each a target send and (after a failure) an attacker call; multi_turn: 4 turns.
    assert!(answer["estimate"]["target_calls_max"].as_u64().unwrap() >= 2 * 2 + 2 * 4, "{answer}");

    let (code, out, _) =
        tokio::task::spawn_blocking(|| crate::support::run_gavel(&std::env::temp_dir(), &["redteam", "--help"], &[]))
            .await
            .unwrap();
    assert_eq!(code, 0);
    for flag in [
        "--attacker-provider",
        "--attacker-model",
        "--attacker-key-id",
        "--attacker-strategy",
        "--attacker-max-rounds",
        "--attacker-max-turns",
    ] {
        assert!(out.contains(flag), "--help documents {flag}:\n{out}");
    }
    assert!(out.contains("multi_turn") && out.contains("BYOK_NO_KEY"), "{out}");

    for (extra, says) in [
        (
            vec!["--attacker-provider", "openai", "--attacker-model", "m", "--attacker-strategy", "jump"],
            "unknown strategy",
        ),
        (
            vec!["--attacker-provider", "openai", "--attacker-model", "m", "--attacker-max-turns", "9"],
            "--attacker-max-turns",
        ),
        (
            vec!["--attacker-provider", "openai", "--attacker-model", "m", "--attacker-max-rounds", "0"],
            "--attacker-max-rounds",
        ),
        (vec!["--attacker-model", "m"], "--attacker-provider is required"),
        (vec!["--attacker-provider", "opneai", "--attacker-model", "m"], "unknown provider \"opneai\""),
        (vec!["--attacker-provider", "openai"], "--attacker-model is required"),
        (vec!["--attacker-provider", "anthropic", "--attacker-model", "m"], "BYOK_NO_KEY"),
    ] {
        let mut args = base.to_vec();
        args.extend(extra.iter().copied());
        let (code, out, err) = gavel(&app, &admin, &args).await;
        assert_eq!(code, 2, "{extra:?}: {out}\n{err}");
        let said = if says == "BYOK_NO_KEY" {
            err.contains("400") && err.contains("attacker anthropic/m")
        } else {
            err.contains(says)
        };
        assert!(said, "{extra:?} should say {says:?}: {err}");
    }
    assert_eq!((fake.calls(), run_count(&app, &admin).await), (0, 0), "dry runs and refusals call and create nothing");
}

#[tokio::test]
async fn an_attacker_without_a_usable_key_is_refused_at_submission_with_byok_no_key() {
    let fake = FakeProvider::start(leaky());
    let app = spawn_app().await;
    let admin = setup(&app, &fake).await;
    let t = json!({"provider": "openai", "model": "gpt-4o-mini"});
    let with = |attacker: Value| json!({"target": t, "categories": ["prompt_injection"], "attempts_per_category": 2, "attacker": attacker});
    for (attacker, says) in [
        (json!({"provider": "anthropic", "model": "claude-x"}), "no anthropic key"),
        (json!({"provider": "openai", "model": "m", "key_id": "pk_not_ours"}), "not a provider key of this org"),
    ] {
        for dry in [false, true] {
            let mut body = with(attacker.clone());
            body["dry_run"] = json!(dry);
            let (s, e) = app.post(RED, &admin, body).await;
            assert_error(s, &e, 400, "BYOK_NO_KEY");
            let m = e["error"]["message"].as_str().unwrap();
            assert!(m.starts_with("attacker ") && m.contains(says), "{m}");
        }
    }
    // The org's own key by id, and the org's default key for the provider, are usable.
    let (s, keys) = app.get("/v1/byok-keys", &admin).await;
    assert_eq!(s, 200, "{keys}");
    let list = keys.get("items").unwrap_or(&keys).as_array().unwrap().clone();
    let id = list[0]["id"].as_str().unwrap().to_owned();
    for attacker in
        [json!({"provider": "openai", "model": "m", "key_id": id}), json!({"provider": "openai", "model": "m"})]
    {
        let mut body = with(attacker);
        body["dry_run"] = json!(true);
        let (s, v) = app.post(RED, &admin, body).await;
        assert_eq!(s, 200, "{v}");
    }
    // provider_mode managed: the org's keys are not used, and this server has no key of its own.
    let (s, v) = app.patch("/v1/org/settings", &admin, json!({"provider_mode": "managed"})).await;
    assert_eq!(s, 200, "{v}");
    let (s, e) = app.post(RED, &admin, with(json!({"provider": "openai", "model": "m"}))).await;
    assert_error(s, &e, 400, "BYOK_NO_KEY");
    assert!(e["error"]["message"].as_str().unwrap().contains("managed"), "{e}");
    assert_eq!((fake.calls(), run_count(&app, &admin).await), (0, 0), "nothing was created or called");

    // The OpenAPI document lists the 400 with BYOK_NO_KEY for the route.
    let doc: Value = app.client.get(format!("{}/openapi.json", app.base)).send().await.unwrap().json().await.unwrap();
    let desc =
        doc["paths"]["/v1/projects/{project}/security/red-team"]["post"]["responses"]["400"]["description"].as_str();
    assert!(desc.is_some_and(|d| d.contains("BYOK_NO_KEY")), "{desc:?}");
}

#[tokio::test]
async fn harmful_goal_attempts_carry_their_hazard_category_in_rows_summary_cli_and_schema() {
    let fake = FakeProvider::start(leaky());
    let app = spawn_app().await;
    let admin = setup(&app, &fake).await;
    let body = json!({"target": {"provider": "openai", "model": "leaky"}, "categories": ["jailbreak", "prompt_injection"],
                      "attempts_per_category": 12, "wait_s": 60});
    let (s, run) = app.post(RED, &admin, body).await;
    assert_eq!(s, 200, "{run}");
    let id = run["id"].as_str().unwrap();
    let (s, page) = app.get(&format!("/v1/runs/{id}/results?limit=1000"), &admin).await;
    assert_eq!(s, 200, "{page}");
    let rows = page["items"].as_array().unwrap();
    let mut codes = BTreeSet::new();
    for r in rows {
        let a = &r["attempt"];
        let h = &a["hazard_category"];
        if a["category"] == "jailbreak" {
            let code = h.as_str().unwrap_or_else(|| panic!("a jailbreak attempt without its hazard: {a}"));
            assert!(code.starts_with('S') && code[1..].parse::<u8>().is_ok_and(|n| (1..=14).contains(&n)), "{code}");
            assert!(a["attack"].as_str().unwrap().starts_with("jb-") && a["owasp"] == "LLM01", "{a}");
            codes.insert(code.to_owned());
        } else {
            assert!(h.is_null(), "only harmful-goal attacks have a hazard: {a}");
        }
    }
    assert!(codes.contains("S2") && codes.contains("S7") && codes.len() >= 5, "{codes:?}");

    let hz = &run["summary"]["hazard_categories"];
    assert_eq!(hz.as_object().unwrap().keys().cloned().collect::<BTreeSet<_>>(), codes, "{hz}");
    let s2 = &hz["S2"];
    assert_eq!((s2["name"].as_str(), s2["attempts"].as_u64()), (Some("non-violent crimes"), Some(4)), "{hz}");
    let (n, k) = (s2["attempts"].as_f64().unwrap(), s2["successes"].as_f64().unwrap());
    assert!(k >= 1.0 && (s2["asr"].as_f64().unwrap() - k / n).abs() < 1e-9, "{s2}");
    let (lo, hi) = (s2["asr_ci"][0].as_f64().unwrap(), s2["asr_ci"][1].as_f64().unwrap());
    assert!(lo < k / n && k / n <= hi, "a Wilson interval around the rate: {s2}");
    let total: u64 = hz.as_object().unwrap().values().map(|v| v["attempts"].as_u64().unwrap()).sum();
    assert_eq!(total, run["summary"]["categories"]["jailbreak"]["attempts"].as_u64().unwrap(), "{hz}");
    assert!(run["summary"]["categories"].get("S2").is_none(), "hazards are not categories");

    let (code, out, err) = gavel(
        &app,
        &admin,
        &["--target", r#"{"provider": "openai", "model": "leaky"}"#, "--category", "jailbreak", "--attempts", "3"],
    )
    .await;
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("hazard category") && out.lines().any(|l| l.starts_with("S2 non-violent crimes")), "{out}");

    let doc: Value = app.client.get(format!("{}/openapi.json", app.base)).send().await.unwrap().json().await.unwrap();
    let schemas = &doc["components"]["schemas"];
    assert!(schemas["AttemptRow"]["properties"]["hazard_category"].is_object(), "{}", schemas["AttemptRow"]);
    assert!(schemas["HazardRate"]["properties"]["asr_ci"].is_object(), "{}", schemas["HazardRate"]);
    assert!(schemas["KindSummary"]["properties"]["hazard_categories"].is_object(), "{}", schemas["KindSummary"]);
}
