//! Hand-computed cases for every scorer, Unicode included.
#![allow(clippy::unwrap_used)]

use serde_json::{json, Value};

use super::*;

/// Compiles `kind` with `config` and scores one output against an optional expected value.
pub(super) fn run(kind: &str, config: Value, output: &str, expected: Option<Value>) -> Outcome {
    let scorer = Heuristic::compile(kind, &config).unwrap();
    scorer.score(&ItemView {
        input: "question",
        output,
        expected: expected.as_ref(),
        expected_exact: None,
        context: &[],
    })
}

fn passes(kind: &str, config: Value, output: &str, expected: Option<Value>) -> bool {
    let outcome = run(kind, config, output, expected);
    assert!(outcome.error.is_none(), "unexpected error: {outcome:?}");
    assert_eq!(outcome.score, if outcome.pass { 1.0 } else { 0.0 }, "{outcome:?}");
    outcome.pass
}

fn assert_close(actual: f64, expected: f64) {
    assert!((actual - expected).abs() < 1e-12, "{actual} != {expected}");
}

#[test]
fn levenshtein_refuses_a_table_past_runs_max_levenshtein_cells_and_names_the_key() {
    let limits = HeuristicLimits { max_levenshtein_cells: 10_000, ..HeuristicLimits::default() };
    let scorer = Heuristic::compile_limited("levenshtein", &json!({"value": "b".repeat(101)}), &limits).unwrap();
    let score = |output: &str| {
        scorer.score(&ItemView { input: "", output, expected: None, expected_exact: None, context: &[] })
    };
    // 101 × 100 differing chars: one row past the bound.
    let refused = score(&"a".repeat(100));
    let error = refused.error.as_ref().unwrap();
    assert_eq!(error.code, SCORER_LIMIT_EXCEEDED);
    assert!(error.message.contains("runs.max_levenshtein_cells") && error.message.contains("101 × 100"), "{error:?}");
    assert!(!refused.pass);
    // 100 × 100 fits; so do long texts that differ in few chars (the common prefix and suffix cost no table).
    assert!(score(&"a".repeat(99)).error.is_none());
    let long = format!("{}x{}", "b".repeat(50), "b".repeat(50));
    let near = score(&long);
    assert!(near.error.is_none() && near.pass, "{near:?}");
}

#[test]
fn levenshtein_similarity_hand_computed() {
    assert_close(levenshtein_similarity("café", "cafe"), 0.75);
    assert_close(levenshtein_similarity("kitten", "sitting"), 1.0 - 3.0 / 7.0);
    assert_close(levenshtein_similarity("", ""), 1.0);
    assert_close(levenshtein_similarity("東京", "京都"), 0.0);
    assert_close(levenshtein_similarity("東京", "東京都"), 1.0 - 1.0 / 3.0);
    assert_close(levenshtein_similarity("naïve", "naive"), 0.8);
    assert_close(levenshtein_similarity("", "abc"), 0.0);
    assert_close(levenshtein_similarity("abc", ""), 0.0);
    assert_close(levenshtein_similarity("flaw", "lawn"), 0.5);
    assert_close(levenshtein_similarity("same", "same"), 1.0);
    // 👍🏽 is two scalar values (thumbs up + skin tone modifier); one deletion.
    assert_close(levenshtein_similarity("👍🏽", "👍"), 0.5);
    assert_close(levenshtein_similarity("🎉 done", "🎊 done"), 1.0 - 1.0 / 6.0);
}

#[test]
fn equals_compares_text_case_sensitively() {
    assert!(passes("equals", Value::Null, "Paris", Some(json!("Paris"))));
    assert!(!passes("equals", Value::Null, "paris", Some(json!("Paris"))));
    assert!(passes("equals", json!({"ignore_case": true}), "paris", Some(json!("Paris"))));
    assert!(passes("equals", json!({"ignore_case": true}), "CAFÉ", Some(json!("café"))));
    assert!(!passes("equals", Value::Null, " Paris\n", Some(json!("Paris"))));
    assert!(passes("equals", json!({"trim": true}), " Paris\n", Some(json!("Paris"))));
    assert!(passes("equals", Value::Null, "東京", Some(json!("東京"))));
    assert!(passes("equals", json!({"value": "Lyon"}), "Lyon", Some(json!("Paris"))));
    let outcome = run("equals", Value::Null, "Lyon", Some(json!("Paris")));
    assert_eq!(outcome.reason, "output \"Lyon\" does not equal \"Paris\"");
}

#[test]
fn equals_compares_non_string_values_structurally() {
    let expected = json!({"a": 1, "b": [1, "x"]});
    assert!(passes("equals", Value::Null, "{ \"b\": [1.0, \"x\"], \"a\": 1 }", Some(expected.clone())));
    assert!(!passes("equals", Value::Null, "{\"a\": 2, \"b\": [1, \"x\"]}", Some(expected.clone())));
    assert!(!passes("equals", Value::Null, "not json", Some(expected)));
    assert!(passes("equals", Value::Null, "42", Some(json!(42))));
    assert!(passes("equals", Value::Null, "42.0", Some(json!(42))));
    assert!(!passes("equals", Value::Null, "forty-two", Some(json!(42))));
    assert!(passes("equals", Value::Null, "true", Some(json!(true))));
    assert!(passes("equals", json!({"value": [1, 2]}), "[1,2]", None));
    assert!(!passes("equals", Value::Null, "{\"city\": \"PARIS\"}", Some(json!({"city": "paris"}))));
    assert!(passes("equals", json!({"ignore_case": true}), "{\"city\": \"PARIS\"}", Some(json!({"city": "paris"}))));
    // Integers beyond f64 precision still compare exactly.
    assert!(!passes("equals", Value::Null, "9007199254740993", Some(json!(9_007_199_254_740_992_u64))));
}

#[test]
fn missing_expected_is_an_item_error() {
    for kind in ["equals", "contains", "icontains", "not_contains", "starts_with", "levenshtein"] {
        for expected in [None, Some(Value::Null)] {
            let outcome = run(kind, Value::Null, "anything", expected);
            assert_eq!((outcome.score, outcome.pass), (0.0, false), "{kind}");
            let error = outcome.error.unwrap();
            assert_eq!(error.code, "VALIDATION_FAILED");
            assert_eq!(error.message, "the item has no `expected` and the scorer config gives no `value`");
        }
    }
}

#[test]
fn unusable_expected_is_an_item_error() {
    for (kind, expected) in [
        ("contains", json!({"a": 1})),
        ("contains", json!([])),
        ("contains", json!(["ok", {"a": 1}])),
        ("starts_with", json!(["a"])),
        ("levenshtein", json!({"a": 1})),
    ] {
        let outcome = run(kind, Value::Null, "anything", Some(expected));
        assert!(!outcome.pass);
        assert_eq!(outcome.error.unwrap().code, "VALIDATION_FAILED", "{kind}");
    }
}

#[test]
fn contains_family() {
    let output = "The capital of France is Paris. 東京 is in Japan 🎉";
    assert!(passes("contains", Value::Null, output, Some(json!("Paris"))));
    assert!(!passes("contains", Value::Null, output, Some(json!("paris"))));
    assert!(passes("icontains", Value::Null, output, Some(json!("PARIS"))));
    assert!(passes("icontains", json!({"value": "café"}), "Le CAFÉ est ouvert", None));
    assert!(passes("contains", json!({"value": "東京"}), output, None));
    assert!(passes("contains", json!({"value": "🎉"}), output, None));
    assert!(passes("not_contains", json!({"value": "London"}), output, None));
    assert!(!passes("not_contains", json!({"value": "Paris"}), output, None));
    assert!(passes("contains", Value::Null, "answer: 42", Some(json!(42))));
    let outcome = run("contains", Value::Null, "Lyon", Some(json!("Paris")));
    assert_eq!(outcome.reason, "output does not contain \"Paris\"");
    let outcome = run("not_contains", json!({"value": "Lyon"}), "Lyon", None);
    assert_eq!(outcome.reason, "output contains \"Lyon\"");
}

#[test]
fn contains_with_several_values() {
    let output = "Paris is the capital of France";
    let all = json!({"values": ["Paris", "France"]});
    assert!(passes("contains", all, output, None));
    assert!(!passes("contains", json!({"values": ["Paris", "Germany"]}), output, None));
    assert!(passes("contains", json!({"values": ["Berlin", "France"], "mode": "any"}), output, None));
    assert!(!passes("contains", json!({"values": ["Berlin", "Germany"], "mode": "any"}), output, None));
    assert!(passes("contains", Value::Null, output, Some(json!(["Paris", "capital"]))));
    assert!(passes("icontains", Value::Null, output, Some(json!(["PARIS", "FRANCE"]))));
    assert!(passes("not_contains", json!({"values": ["Berlin", "Germany"]}), output, None));
    assert!(!passes("not_contains", json!({"values": ["Berlin", "France"]}), output, None));
    assert!(passes("not_contains", json!({"values": ["Berlin", "France"], "mode": "any"}), output, None));
    assert!(!passes("not_contains", json!({"values": ["Paris", "France"], "mode": "any"}), output, None));
    let outcome = run("contains", json!({"values": ["Paris", "Germany", "Berlin"]}), output, None);
    assert_eq!(outcome.reason, "output does not contain \"Germany\"");
}

#[test]
fn starts_with() {
    assert!(passes("starts_with", Value::Null, "Paris is nice", Some(json!("Paris"))));
    assert!(!passes("starts_with", Value::Null, "paris is nice", Some(json!("Paris"))));
    assert!(!passes("starts_with", Value::Null, "  Paris", Some(json!("Paris"))));
    assert!(passes("starts_with", json!({"trim": true}), " \n Paris", Some(json!("Paris"))));
    assert!(passes("starts_with", json!({"value": "東京"}), "東京タワー", None));
    assert!(passes("starts_with", json!({"value": "naïve"}), "naïve approach", None));
    let outcome = run("starts_with", Value::Null, "Lyon is nice", Some(json!("Paris")));
    assert_eq!(outcome.reason, "output starts with \"Lyon \", not \"Paris\"");
}

#[test]
fn regex_match() {
    assert!(passes("regex_match", json!({"pattern": r"\d{3}"}), "abc123", None));
    assert!(!passes("regex_match", json!({"pattern": r"\d+", "full_match": true}), "abc123", None));
    assert!(passes("regex_match", json!({"pattern": r"\d+", "full_match": true}), "123", None));
    // Full match must consider every alternative, not only the leftmost-first one.
    assert!(passes("regex_match", json!({"pattern": "a|ab", "full_match": true}), "ab", None));
    assert!(!passes("regex_match", json!({"pattern": "hello"}), "HELLO", None));
    assert!(passes("regex_match", json!({"pattern": "hello", "flags": "i"}), "HELLO", None));
    assert!(passes("regex_match", json!({"pattern": "café", "flags": "i"}), "CAFÉ", None));
    assert!(!passes("regex_match", json!({"pattern": "a.b"}), "a\nb", None));
    assert!(passes("regex_match", json!({"pattern": "a.b", "flags": "s"}), "a\nb", None));
    assert!(!passes("regex_match", json!({"pattern": "^b$"}), "a\nb", None));
    assert!(passes("regex_match", json!({"pattern": "^b$", "flags": "m"}), "a\nb", None));
    assert!(passes(
        "regex_match",
        json!({"pattern": "a b c # letters", "flags": "x", "full_match": true}),
        "abc",
        None
    ));
    assert!(passes("regex_match", json!({"pattern": "(?x) a b c # letters", "full_match": true}), "abc", None));
    assert!(passes("regex_match", json!({"pattern": r"^\p{Han}+$"}), "東京", None));
    assert!(passes("regex_match", json!({"pattern": "^.{5}$"}), "naïve", None));
    let outcome = run("regex_match", json!({"pattern": r"\d+"}), "none", None);
    assert_eq!(outcome.reason, r"output does not match /\d+/");
}

#[test]
fn levenshtein_scorer() {
    let outcome = run("levenshtein", json!({"value": "kitten"}), "sitting", None);
    assert_close(outcome.score, 1.0 - 3.0 / 7.0);
    assert!(!outcome.pass);
    assert_eq!(outcome.reason, "similarity 0.57 < 0.80");
    let outcome = run("levenshtein", json!({"threshold": 0.5}), "sitting", Some(json!("kitten")));
    assert!(outcome.pass);
    assert_eq!(outcome.reason, "similarity 0.57 ≥ 0.50");
    // Exactly at the threshold passes.
    let outcome = run("levenshtein", Value::Null, "naive", Some(json!("naïve")));
    assert!(outcome.pass, "{outcome:?}");
    let outcome = run("levenshtein", json!({"ignore_case": true}), "CAFÉ", Some(json!("café")));
    assert_close(outcome.score, 1.0);
    let outcome = run("levenshtein", Value::Null, "CAFÉ", Some(json!("café")));
    assert_close(outcome.score, 0.0);
    let outcome = run("levenshtein", json!({"threshold": 0}), "", Some(json!("")));
    assert!(outcome.pass);
    assert_close(outcome.score, 1.0);
}

#[test]
fn json_valid() {
    assert!(passes("json_valid", Value::Null, "{\"a\": [1, 2.5, null]}", None));
    assert!(passes("json_valid", json!({}), "  \"東京\"  ", None));
    assert!(!passes("json_valid", Value::Null, "", None));
    assert!(!passes("json_valid", Value::Null, "NaN", None));
    assert!(!passes("json_valid", Value::Null, "{\"a\": 1} trailing", None));
    let outcome = run("json_valid", Value::Null, "{\"a\": }", None);
    assert_eq!(outcome.reason, "output is not valid JSON: expected value at line 1 column 7");
}

#[test]
fn json_schema() {
    let schema = json!({"schema": {
        "type": "object",
        "required": ["name", "age"],
        "properties": {"name": {"type": "string", "minLength": 2}, "tags": {"items": {"type": "integer"}}}
    }});
    assert!(passes("json_schema", schema.clone(), "{\"name\": \"東京\", \"age\": 3}", None));
    let outcome = run("json_schema", schema.clone(), "{\"name\": \"x\", \"age\": 1}", None);
    assert_eq!(outcome.reason, "output does not match the schema: /name: \"x\" is shorter than 2 characters");
    let outcome = run("json_schema", schema.clone(), "{\"name\": 1, \"tags\": [1, \"a\", \"b\", \"c\"]}", None);
    assert!(!outcome.pass);
    assert!(outcome.reason.contains("/name: 1 is not of type \"string\""), "{}", outcome.reason);
    assert!(outcome.reason.contains("/tags/1"), "{}", outcome.reason);
    assert!(outcome.reason.ends_with("; …"), "more than three errors are elided: {}", outcome.reason);
    let outcome = run("json_schema", schema, "{name: 1}", None);
    assert!(!outcome.pass);
    assert!(outcome.reason.starts_with("output is not valid JSON: "), "{}", outcome.reason);
    assert!(!passes("json_schema", json!({"schema": false}), "1", None));
    assert!(passes("json_schema", json!({"schema": true}), "[]", None));
}

#[test]
fn json_schema_detects_the_draft() {
    // Array-form `items` is a tuple in draft 7 ...
    let draft7 =
        json!({"schema": {"$schema": "http://json-schema.org/draft-07/schema#", "items": [{"type": "string"}]}});
    assert!(passes("json_schema", draft7.clone(), "[\"a\", 1]", None));
    assert!(!passes("json_schema", draft7, "[1]", None));
    // ... and not a valid schema at all in 2020-12, the default.
    let error = Heuristic::compile("json_schema", &json!({"schema": {"items": [{"type": "string"}]}})).unwrap_err();
    assert_eq!(error.field, "config.schema");
    // Non-canonical spellings of a known meta-schema are accepted without any fetch.
    let https7 = json!({"schema": {"$schema": "https://json-schema.org/draft-07/schema", "type": "string"}});
    assert!(passes("json_schema", https7, "\"x\"", None));
}

#[test]
fn reasons_truncate_on_char_boundaries() {
    let long = "東".repeat(300);
    let outcome = run("equals", Value::Null, &long, Some(json!("x")));
    assert!(outcome.reason.contains('…'));
    assert!(outcome.reason.chars().count() < 200, "{}", outcome.reason);
    let emoji = "👍🏽".repeat(100);
    let outcome = run("contains", json!({"value": emoji}), "", None);
    assert!(outcome.reason.chars().count() < 120, "{}", outcome.reason);
    assert_eq!(truncate("abc", 3), "abc");
    assert_eq!(truncate("abcd", 3), "abc…");
    assert_eq!(truncate("né東👍x", 4), "né東👍…");
}

#[test]
fn outcome_serialises_without_absent_error() {
    let outcome = run("contains", Value::Null, "Paris", Some(json!("Paris")));
    assert_eq!(
        serde_json::to_value(&outcome).unwrap(),
        json!({"score": 1.0, "pass": true, "reason": "output contains \"Paris\""})
    );
    let outcome = run("contains", Value::Null, "Paris", None);
    assert_eq!(serde_json::to_value(&outcome).unwrap()["error"]["code"], "VALIDATION_FAILED");
}

#[test]
fn heuristics_are_shareable_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Heuristic>();
    let scorer = Heuristic::compile("levenshtein", &json!({"value": "kitten"})).unwrap();
    std::thread::scope(|scope| {
        for output in ["kitten", "sitting", "東京", ""] {
            let scorer = &scorer;
            scope.spawn(move || {
                let item = ItemView { input: "", output, expected: None, expected_exact: None, context: &[] };
                for _ in 0..200 {
                    assert_eq!(scorer.score(&item), scorer.score(&item));
                }
            });
        }
    });
}

/// Scores `output` against an item read from its JSON text, as datasets and runs are, so `expected` keeps its digits.
fn equals_item(output: &str, item_json: &str) -> bool {
    let item: crate::domain::Item = serde_json::from_str(item_json).unwrap();
    let scorer = Heuristic::compile("equals", &Value::Null).unwrap();
    let view = ItemView {
        input: "q",
        output,
        expected: item.expected.as_ref(),
        expected_exact: item.expected_exact.as_ref().map(|e| e.text()),
        context: &[],
    };
    scorer.score(&view).pass
}

#[test]
fn equals_compares_big_numbers_exactly_as_written() {
    let big = r#"{"input": "q", "output": "", "expected": 12345678901234567890123}"#;
    assert!(equals_item("12345678901234567890123", big));
    assert!(!equals_item("12345678901234567890124", big), "two different 23-digit integers");
    assert!(equals_item("1.2345678901234567890123e22", big));
    let fraction = r#"{"input": "q", "output": "", "expected": {"p": 0.1000000000000000000001}}"#;
    assert!(!equals_item(r#"{"p": 0.1}"#, fraction));
    assert!(equals_item(r#"{ "p" : 1.000000000000000000001E-1 }"#, fraction));
    let hundred = r#"{"input": "q", "output": "", "expected": 1e2}"#;
    assert!(equals_item("100", hundred) && equals_item("100.0", hundred) && !equals_item("100.5", hundred));
    // A string reference is text: exact by nature, digit for digit.
    let text = r#"{"input": "q", "output": "", "expected": "12345678901234567890123"}"#;
    assert!(equals_item("12345678901234567890123", text) && !equals_item("12345678901234567890124", text));
}
