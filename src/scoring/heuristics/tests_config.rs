//! Configuration validation: every problem is reported against the field the API client has to fix.
#![allow(clippy::unwrap_used)]

use serde_json::{json, Value};

use super::*;

fn field_of(kind: &str, config: Value) -> String {
    Heuristic::compile(kind, &config).unwrap_err().field
}

#[test]
fn each_problem_names_its_field() {
    let cases = [
        ("regex_match", json!({"pattern": "(unclosed"}), "config.pattern"),
        ("regex_match", json!({"pattern": "[z-a]"}), "config.pattern"),
        ("regex_match", json!({}), "config.pattern"),
        ("regex_match", Value::Null, "config.pattern"),
        ("regex_match", json!({"pattern": 5}), "config.pattern"),
        ("regex_match", json!({"pattern": "a", "flags": "ig"}), "config.flags"),
        ("regex_match", json!({"pattern": "a", "flags": "u"}), "config.flags"),
        ("regex_match", json!({"pattern": "a", "full_match": "yes"}), "config.full_match"),
        ("levenshtein", json!({"threshold": 1.5}), "config.threshold"),
        ("levenshtein", json!({"threshold": -0.1}), "config.threshold"),
        ("levenshtein", json!({"threshold": "high"}), "config.threshold"),
        ("levenshtein", json!({"value": 3}), "config.value"),
        ("equals", json!({"valeu": "x"}), "config.valeu"),
        ("equals", json!({"trim": "yes"}), "config.trim"),
        ("json_valid", json!({"strict": true}), "config.strict"),
        ("json_schema", json!({"schema": {"type": 12}}), "config.schema"),
        ("json_schema", json!({"schema": {"minLength": -1}}), "config.schema"),
        ("json_schema", json!({}), "config.schema"),
        ("json_schema", json!({"schema": "object"}), "config.schema"),
        (
            "json_schema",
            json!({"schema": {"$schema": "http://example.com/my-meta", "type": "string"}}),
            "config.schema",
        ),
        ("json_schema", json!({"schema": {"type": "string"}, "draft": 7}), "config.draft"),
        ("contains", json!({"value": "a", "values": ["b"]}), "config.values"),
        ("contains", json!({"values": []}), "config.values"),
        ("contains", json!({"values": ["a", 1]}), "config.values[1]"),
        ("icontains", json!({"mode": "some"}), "config.mode"),
        ("not_contains", json!({"value": ["a"]}), "config.value"),
        ("starts_with", json!({"value": "a", "ignore_case": true}), "config.ignore_case"),
        ("equals", json!([1, 2]), "config"),
        ("fuzzy_match", Value::Null, "type"),
        ("", Value::Null, "type"),
    ];
    for (kind, config, field) in cases {
        assert_eq!(field_of(kind, config.clone()), field, "{kind} {config}");
    }
}

#[test]
fn messages_explain_the_problem() {
    let error = Heuristic::compile("regex_match", &json!({"pattern": "(unclosed"})).unwrap_err();
    assert!(error.message.contains("unclosed group"), "{}", error.message);
    let error = Heuristic::compile("levenshtein", &json!({"threshold": 1.5})).unwrap_err();
    assert_eq!(error.to_string(), "config.threshold: must be between 0 and 1, got 1.5");
    let error = Heuristic::compile("equals", &json!({"valeu": "x"})).unwrap_err();
    assert_eq!(error.message, "unknown key for equals; allowed keys: value, trim, ignore_case, normalize");
    let error = Heuristic::compile("fuzzy", &Value::Null).unwrap_err();
    assert!(error.message.contains("levenshtein"), "lists the known types: {}", error.message);
    let error = Heuristic::compile("json_schema", &json!({"schema": {"type": 12}})).unwrap_err();
    assert!(error.message.starts_with("invalid schema at /type"), "{}", error.message);
}

#[test]
fn hostile_regexes_are_refused_not_compiled() {
    let error = Heuristic::compile("regex_match", &json!({"pattern": r"\w{1000}{1000}"})).unwrap_err();
    assert_eq!(error.field, "config.pattern");
    assert!(error.message.contains("too large"), "{}", error.message);
    let huge = "(a|b)".repeat(200_000);
    assert_eq!(field_of("regex_match", json!({"pattern": huge})), "config.pattern");
}

#[test]
fn remote_references_fail_fast() {
    for schema in [
        json!({"$ref": "http://example.com/schema.json"}),
        json!({"$ref": "https://example.com/schema.json#/$defs/a"}),
        json!({"$id": "http://example.com/root.json", "items": {"$ref": "item.json"}}),
        json!({"$ref": "file:///etc/passwd"}),
        json!({"$ref": "other.json"}),
    ] {
        let started = std::time::Instant::now();
        let error = Heuristic::compile("json_schema", &json!({"schema": schema})).unwrap_err();
        assert_eq!(error.field, "config.schema");
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }
    let error =
        Heuristic::compile("json_schema", &json!({"schema": {"$ref": "http://example.com/s.json"}})).unwrap_err();
    assert!(error.message.contains("not fetched"), "{}", error.message);
}

#[test]
fn defaults_compile_for_every_type() {
    let configs = [
        ("equals", Value::Null),
        ("contains", Value::Null),
        ("icontains", json!({})),
        ("not_contains", Value::Null),
        ("starts_with", Value::Null),
        ("regex_match", json!({"pattern": "x"})),
        ("levenshtein", Value::Null),
        ("json_valid", Value::Null),
        ("json_schema", json!({"schema": {}})),
    ];
    assert_eq!(configs.len(), HEURISTIC_TYPES.len());
    for ((kind, config), listed) in configs.into_iter().zip(HEURISTIC_TYPES) {
        assert_eq!(kind, *listed);
        assert!(is_heuristic(kind));
        assert_eq!(Heuristic::compile(kind, &config).unwrap().kind(), kind);
    }
    assert!(!is_heuristic("llm_judge"));
    assert!(!is_heuristic("Equals"));
    // An explicit null means "not given".
    assert!(Heuristic::compile("levenshtein", &json!({"threshold": null, "value": null})).is_ok());
}
