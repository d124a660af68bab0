use super::*;

fn conv(yaml_text: &str) -> Converted {
    let doc: serde_norway::Value = serde_norway::from_str(yaml_text).unwrap();
    convert(&doc, Path::new(".")).unwrap()
}

fn scorer_json(c: &Converted) -> Vec<Value> {
    c.file.scorers.iter().map(|s| serde_json::to_value(s).unwrap()).collect()
}

#[test]
fn vars_become_items_and_shared_or_per_test_values_become_scorers() {
    let c = conv(
        r#"
tests:
  - description: first
    vars: {topic: rust, question: "What is Rust?", context: "Rust is a language.", output: "A language"}
    assert:
      - {type: equals, value: "A language"}
      - {type: icontains, value: "{{topic}}"}
      - {type: is-json}
  - vars: {question: "2+2?", output: "4"}
    assert:
      - {type: equals, value: "4"}
      - {type: icontains, value: "four"}
      - {type: is-json}
"#,
    );
    let items = &c.file.items;
    assert_eq!(items[0]["input"], "What is Rust?", "question is the input var");
    assert_eq!(items[0]["output"], "A language");
    assert_eq!(items[0]["context"], "Rust is a language.");
    assert_eq!(items[0]["metadata"], json!({"topic": "rust"}));
    assert_eq!(items[0]["id"], "first");
    assert_eq!(items[1]["id"], "test-2");
    // equals varies per test → its value rides in `expected`; the second per-test value cannot.
    assert_eq!(items[0]["expected"], "A language");
    assert_eq!(items[1]["expected"], "4");
    assert_eq!(scorer_json(&c), vec![json!("equals"), json!("json_valid")]);
    assert_eq!(c.unmapped.len(), 1, "{:?}", c.unmapped);
    assert!(c.unmapped[0].what == "icontains" && c.unmapped[0].why.contains("taken by equals"), "{:?}", c.unmapped);
    assert!(c.file.target.is_none(), "outputs given: no target");
}

#[test]
fn assertion_types_map_onto_gavel_scorers() {
    let one = |a: &str| {
        let c = conv(&format!("tests:\n  - vars: {{input: q, output: o}}\n    assert:\n      - {a}\n"));
        (scorer_json(&c), c.unmapped, c.notes)
    };
    assert_eq!(
        one("{type: contains-any, value: [a, b]}").0,
        vec![json!({"type": "contains", "config": {"mode": "any", "values": ["a", "b"]}})]
    );
    assert_eq!(one("{type: not-contains-any, value: [a, b]}").0[0]["config"]["mode"], "all");
    assert_eq!(
        one("{type: not-contains, value: x}").0,
        vec![json!({"type": "not_contains", "config": {"value": "x"}})]
    );
    assert_eq!(one("{type: starts-with, value: x}").0[0]["type"], "starts_with");
    assert_eq!(
        one("{type: regex, value: '^\\d+$'}").0[0],
        json!({"type": "regex_match", "config": {"pattern": "^\\d+$"}})
    );
    assert_eq!(
        one("{type: is-json, value: {type: object}}").0[0],
        json!({"type": "json_schema", "config": {"schema": {"type": "object"}}})
    );
    let (s, _, notes) = one("{type: contains-json}");
    assert_eq!(s, vec![json!("json_valid")]);
    assert!(notes.iter().any(|n| n.contains("stricter")), "{notes:?}");
    assert_eq!(
        one("{type: llm-rubric, value: Is polite, threshold: 0.7, metric: polite}").0[0],
        json!({"name": "polite", "type": "llm_judge", "config": {"rubric": "Is polite", "pass_threshold": 0.7}})
    );
    assert_eq!(
        one("{type: answer-relevance, threshold: 0.8}").0[0],
        json!({"type": "relevance", "config": {"pass_threshold": 0.8}})
    );
    assert_eq!(one("{type: context-faithfulness}").0[0], json!("faithfulness"));
    let (s, _, _) = one("{type: factuality, value: Paris is the capital}");
    assert_eq!(s[0], json!("answer_correctness"));
    for (a, why) in [
        ("{type: javascript, value: 'output.length > 1'}", "user code"),
        ("{type: python, value: 'True'}", "user code"),
        ("{type: webhook, value: 'http://x'}", "webhook"),
        ("{type: cost, threshold: 0.1}", "cost"),
        ("{type: latency, threshold: 100}", "latency"),
        ("{type: similar, value: x}", "embedding"),
        ("{type: not-equals, value: x}", "no negation of equals"),
        ("{type: not-icontains, value: x}", "case-sensitive"),
        ("{type: made-up}", "not an assertion type"),
    ] {
        let (s, u, _) = one(a);
        assert!(s.is_empty(), "{a}: {s:?}");
        assert_eq!(u.len(), 1, "{a}");
        assert!(u[0].why.contains(why) && u[0].what.starts_with("assert[0]"), "{a}: {:?}", u[0]);
        assert_eq!(u[0].place, "test 1");
    }
}

#[test]
fn levenshtein_turns_the_edit_distance_into_a_similarity_honestly() {
    let c = conv("tests:\n  - vars: {input: q, output: o}\n    assert:\n      - {type: levenshtein, value: 'The quick brown fox', threshold: 2}\n");
    let s = scorer_json(&c);
    // L = 19 > d(d+1) = 6: exact. t = 1 - 2/19.
    assert_eq!(s[0]["config"]["threshold"], json!(0.894736));
    assert_eq!(s[0]["config"]["normalize"], false);
    assert!(c.notes.is_empty(), "{:?}", c.notes);
    // Check the claim: every output within 2 edits passes, and none beyond, for a few outputs.
    let sim = crate::scoring::heuristics::levenshtein_similarity;
    for out in [
        "The quick brown fox",
        "The quick brown f",
        "The quick brown foxes",
        "The quick brown fox!!!",
        "Thequick brownfox",
        "x",
    ] {
        let promptfoo = crate::scoring::heuristics::levenshtein_similarity(out, "The quick brown fox");
        let len = out.chars().count().max(19) as f64;
        let dist = ((1.0 - promptfoo) * len).round();
        assert_eq!(dist <= 2.0, sim(out, "The quick brown fox") >= 0.894736 - 1e-9, "{out}");
    }
    let c = conv("tests:\n  - vars: {input: q, output: o}\n    assert:\n      - {type: levenshtein, value: 'Paris', threshold: 2}\n");
    assert!(c.notes.iter().any(|n| n.contains("exact only")), "short value: approximate, said so: {:?}", c.notes);
    let c = conv("tests:\n  - vars: {input: q, output: o}\n    assert:\n      - {type: levenshtein, value: 'ab', threshold: 3}\n");
    assert!(c.unmapped[0].why.contains("not below the value's length"), "{:?}", c.unmapped);
}

#[test]
fn assertions_on_some_tests_only_and_per_test_rubrics() {
    let c = conv(
        r#"
defaultTest:
  assert:
    - {type: llm-rubric, value: "{{criterion}}"}
tests:
  - vars: {input: a, output: x, criterion: "mentions a"}
    assert: [{type: contains, value: x}]
  - vars: {input: b, output: y, criterion: "mentions b"}
"#,
    );
    assert_eq!(c.file.items[0]["expected"], "mentions a", "the per-test rubric rides in expected");
    let s = scorer_json(&c);
    assert_eq!(s[0]["type"], "llm_judge");
    assert_eq!(s[0]["config"]["rubric"], CRITERION_RUBRIC);
    assert_eq!(c.unmapped.len(), 1);
    assert!(c.unmapped[0].why.contains("on 1 of 2 tests only"), "{:?}", c.unmapped);
    let text = describe_unmapped(&c.unmapped);
    assert!(text.contains("contains") && text.contains("tests 1"), "{text}");
}

#[test]
fn providers_and_prompts_become_targets() {
    let c = conv(
        r#"
prompts: ["Answer {{question}} using {{context}} for {{user}}"]
providers:
  - id: openai:chat:gpt-4o-mini
    config: {temperature: 0, max_tokens: 50, apiKey: sk-never-copied}
  - anthropic:messages:claude-3-5-haiku-latest
  - vertex:gemini-pro
tests:
  - vars: {question: q, context: c, user: u}
    assert: [{type: is-json}]
"#,
    );
    let t = c.file.targets.as_ref().unwrap();
    assert_eq!(t.len(), 2);
    assert_eq!(t[0]["provider"], "openai");
    assert_eq!(t[0]["model"], "gpt-4o-mini");
    assert_eq!(t[0]["params"], json!({"temperature": 0, "max_tokens": 50}));
    assert_eq!(t[0]["prompt"], "Answer {{input}} using {{context}} for {{metadata.user}}");
    assert_eq!(t[1]["provider"], "anthropic");
    assert_eq!(t[1]["model"], "claude-3-5-haiku-latest");
    assert!(!serde_json::to_string(&c.file.targets).unwrap().contains("sk-never"), "provider keys are never copied");
    assert_eq!(c.unmapped.len(), 1);
    assert!(c.unmapped[0].place == "providers" && c.unmapped[0].why.contains("vertex:gemini-pro"), "{:?}", c.unmapped);
    let one = conv("prompts: ['{{ question | upper }}']\nproviders: [groq:llama-3.1-8b-instant]\ntests:\n  - vars: {question: q}\n    assert: [{type: is-json}]\n");
    assert!(one.unmapped.iter().any(|u| u.place == "prompts" && u.why.contains("filters")), "{:?}", one.unmapped);
    assert_eq!(one.file.target.as_ref().unwrap()["prompt"], "{{input}}", "no mappable prompt: the input alone");
}

#[test]
fn the_printed_eval_file_parses_back() {
    let c = conv(
        r#"
description: demo
tags: {team: a}
tests:
  - vars: {input: q, output: "4"}
    assert: [{type: equals, value: "4"}, {type: javascript, value: "true"}]
"#,
    );
    let text = c.to_toml().unwrap();
    assert!(text.contains("# NOT MAPPED: test 1: assert[1] javascript"), "{text}");
    let back = crate::evalcli::evalfile::parse(&text, Path::new("x.toml")).unwrap();
    assert_eq!(back.items.len(), 1);
    assert_eq!(back.name.as_deref(), Some("demo"));
    assert_eq!(back.labels["team"], "a");
}

#[test]
fn the_docs_example_maps_with_the_one_unmappable_assertion_reported() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/examples/promptfooconfig.yaml");
    let c = convert_file(&path).unwrap();
    assert_eq!(c.file.items.len(), 3);
    assert_eq!(c.file.target.as_ref().unwrap()["model"], "gpt-4o-mini");
    assert_eq!(c.unmapped.len(), 1, "{:?}", c.unmapped);
    assert!(c.unmapped[0].what.contains("javascript"));
}
