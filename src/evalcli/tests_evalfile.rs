use super::*;

fn args() -> EvalArgs {
    EvalArgs { timeout_s: 3600, ..Default::default() }
}

fn file(text: &str) -> EvalFile {
    parse(text, Path::new("gavel.eval.toml")).unwrap()
}

fn no_env(_: &str) -> Option<String> {
    None
}

const FULL: &str = r#"
project = "web"
name = "nightly"
datasets = ["data/qa.jsonl"]
scorers = ["equals", { type = "contains", config = { value = "Paris" } }, { name = "polite", type = "llm_judge", config = { rubric = "Is it polite?" } }]
metrics = ["relevance"]
baseline = "label=branch:main"

[gate]
min_pass_rate = 0.8
per_scorer = { equals = 0.9, polite = { min_pass_rate = 0.7 } }
no_regression = true

[target]
provider = "openai"
model = "gpt-4o-mini"
prompt = "Answer: {{input}}"

[labels]
team = "search"
"#;

#[test]
fn a_full_file_becomes_the_run_body() {
    let f = file(FULL);
    let p = plan(&args(), Some((f, PathBuf::from("repo"))), BTreeMap::new(), &no_env).unwrap();
    assert_eq!(p.datasets, vec![PathBuf::from("repo/data/qa.jsonl")], "datasets are relative to the file");
    let body = run_body(&p, Some(json!([])));
    assert_eq!(body["scorers"][0], "equals");
    assert_eq!(body["scorers"][1], json!({"type": "contains", "config": {"value": "Paris"}}));
    assert_eq!(body["scorers"][2]["name"], "polite");
    assert_eq!(body["metrics"], json!(["relevance"]));
    assert_eq!(
        body["gate"],
        json!({"min_pass_rate": 0.8, "per_scorer": {"equals": 0.9, "polite": 0.7}, "no_regression": true})
    );
    assert_eq!(body["target"]["model"], "gpt-4o-mini");
    assert_eq!(body["name"], "nightly");
    assert_eq!(body["labels"], json!({"team": "search"}));
    assert_eq!(body["baseline"], "label=branch:main");
}

#[test]
fn unknown_keys_are_errors_naming_the_key_file_and_line() {
    let e = parse("project = \"web\"\nscorers = [\"equals\"]\nmin_pass_rat = 0.5\n", Path::new("ci/gavel.eval.toml"))
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("ci/gavel.eval.toml: "), "{e}");
    assert!(e.contains("line 3") && e.contains("min_pass_rat"), "{e}");
    let e = parse("[gate]\nmin_pass_rate = 0.5\nmax_fail = 1\n", Path::new("f.toml")).unwrap_err().to_string();
    assert!(e.contains("line 3") && e.contains("max_fail"), "{e}");
    let e = parse("scorers = [{ type = \"equals\", confg = {} }]\n", Path::new("f.toml")).unwrap_err().to_string();
    assert!(e.contains("line 1") && e.contains("a scorer is a string"), "{e}");
}

#[test]
fn an_api_key_in_the_file_is_refused_with_where_and_what_to_do() {
    let e = parse("project = \"web\"\n\napi_key = \"gv_live_123\"\n", Path::new("gavel.eval.toml"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("line 3, column 11") && e.contains("GAVEL_API_KEY") && e.contains("--api-key"), "{e}");
    assert!(!e.contains("gv_live_123"), "the key is never echoed: {e}");
    let f = file("api_key_env = \"CI_GAVEL_KEY\"\nscorers = [\"equals\"]\ndataset_id = \"ds_1\"\n");
    let env = |k: &str| (k == "CI_GAVEL_KEY").then(|| "gv_from_env".to_string());
    let p = plan(&args(), Some((f.clone(), PathBuf::new())), BTreeMap::new(), &env).unwrap();
    assert_eq!(p.api_key.as_deref(), Some("gv_from_env"));
    let p = plan(&args(), Some((f, PathBuf::new())), BTreeMap::new(), &no_env).unwrap();
    assert_eq!((p.api_key, p.api_key_env.as_deref()), (None, Some("CI_GAVEL_KEY")), "unset: reported when needed");
}

#[test]
fn flags_override_the_file_and_labels_layer_ci_then_file_then_flags() {
    let mut a = args();
    a.min_pass_rate = Some(0.5);
    a.scorers = vec!["contains".into()];
    a.datasets = vec![PathBuf::from("other.csv")];
    a.labels = vec!["team=ranking".into(), "branch=override".into()];
    a.gate_scorers = vec!["contains=0.95".into()];
    a.remote.project = Some("api".into());
    let ci: BTreeMap<String, String> = [("branch", "feature"), ("commit", "abc"), ("team", "ci")]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let p = plan(&a, Some((file(FULL), PathBuf::from("repo"))), ci, &no_env).unwrap();
    assert_eq!(p.project.as_deref(), Some("api"));
    assert_eq!(p.datasets, vec![PathBuf::from("other.csv")], "flag datasets replace the file's");
    assert_eq!(p.scorers, vec![json!("contains")]);
    assert_eq!(p.metrics, vec!["relevance".to_string()], "lists not given as flags stay");
    assert_eq!(p.gate.min_pass_rate, Some(0.5));
    assert_eq!(p.gate.per_scorer["contains"], 0.95);
    assert_eq!(p.gate.per_scorer["equals"], 0.9, "per-scorer gates merge by name");
    assert_eq!(p.labels["team"], "ranking");
    assert_eq!(p.labels["branch"], "override");
    assert_eq!(p.labels["commit"], "abc", "detected labels stay unless overridden");
}

#[test]
fn the_default_gate_is_no_item_failed_or_errored_and_unset_fields_are_not_sent() {
    let mut a = args();
    a.scorers = vec!["equals".into()];
    a.datasets = vec![PathBuf::from("d.jsonl")];
    let p = plan(&a, None, BTreeMap::new(), &no_env).unwrap();
    assert_eq!(p.gate.spec().max_failed, Some(0));
    let body = run_body(&p, Some(json!([])));
    assert_eq!(body["gate"], json!({"max_failed": 0}));
    for k in ["name", "labels", "baseline", "target", "targets", "model", "dataset_id"] {
        assert!(body.get(k).is_none(), "{k} is not sent when unset: {body}");
    }
    a.gate_scorers = vec!["equals=0.5".into()];
    let p = plan(&a, None, BTreeMap::new(), &no_env).unwrap();
    assert_eq!(run_body(&p, None)["gate"], json!({"per_scorer": {"equals": 0.5}}), "a per-scorer gate replaces it");
    a.gate_scorers = vec!["equals=1.5".into()];
    assert!(plan(&a, None, BTreeMap::new(), &no_env).is_err());
    a.gate_scorers = vec!["equals".into()];
    assert!(plan(&a, None, BTreeMap::new(), &no_env).unwrap_err().to_string().contains("KEY=VALUE"));
    a.gate_scorers = vec![];
    a.no_regression = true;
    assert!(plan(&a, None, BTreeMap::new(), &no_env).unwrap_err().to_string().contains("baseline"));
}

#[test]
fn the_docs_example_parses() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/examples/gavel.eval.toml");
    let f = load(&path).unwrap();
    assert!(f.project.is_some() && !f.scorers.is_empty() && f.gate.is_some(), "{f:?}");
}
