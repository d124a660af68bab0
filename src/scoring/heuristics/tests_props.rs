//! Property tests: the similarity against a naive reference, and "no scorer panics" on arbitrary inputs.
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use serde_json::{json, Value};

use super::*;

/// Textbook full-matrix Levenshtein distance over chars, deliberately written without any of the optimisations.
fn reference_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut matrix = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in matrix.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in matrix[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let substitution = matrix[i - 1][j - 1] + usize::from(a[i - 1] != b[j - 1]);
            matrix[i][j] = substitution.min(matrix[i - 1][j] + 1).min(matrix[i][j - 1] + 1);
        }
    }
    matrix[a.len()][b.len()]
}

fn reference_similarity(a: &str, b: &str) -> f64 {
    let longest = a.chars().count().max(b.chars().count());
    if longest == 0 {
        1.0
    } else {
        1.0 - reference_distance(a, b) as f64 / longest as f64
    }
}

/// Short strings over a small mixed alphabet, so that shared prefixes, suffixes and repeats are common.
fn small_alphabet() -> impl Strategy<Value = String> {
    "[abcé東京👍🏽 ]{0,16}"
}

fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![small_alphabet(), any::<String>(), "\\PC{0,40}"]
}

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        any_text().prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(any_text(), inner, 0..6)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

/// Outputs that are often valid JSON too, so the structural and schema paths get exercised.
fn any_output() -> impl Strategy<Value = String> {
    prop_oneof![any_text(), any_json().prop_map(|value| value.to_string())]
}

fn all_scorers() -> Vec<Heuristic> {
    let configs = [
        ("equals", Value::Null),
        ("equals", json!({"trim": true, "ignore_case": true})),
        ("equals", json!({"value": {"a": [1, "é"]}})),
        ("contains", Value::Null),
        ("contains", json!({"values": ["a", "東京"], "mode": "any"})),
        ("icontains", Value::Null),
        ("icontains", json!({"value": "CAFÉ"})),
        ("not_contains", Value::Null),
        ("not_contains", json!({"values": ["x", "👍"], "mode": "any"})),
        ("starts_with", Value::Null),
        ("starts_with", json!({"value": "é", "trim": true})),
        ("regex_match", json!({"pattern": r"^\p{L}+\d*$", "flags": "im"})),
        ("regex_match", json!({"pattern": "(a|b)*c # tail", "flags": "xs", "full_match": true})),
        ("levenshtein", Value::Null),
        ("levenshtein", json!({"value": "naïve café", "ignore_case": true, "threshold": 0.5})),
        ("json_valid", Value::Null),
        (
            "json_schema",
            json!({"schema": {"type": "object", "required": ["a"], "properties": {"a": {"pattern": "^[a-z]+$"}}}}),
        ),
        (
            "json_schema",
            json!({"schema": {"items": {"$ref": "#"}, "uniqueItems": true, "anyOf": [{"type": "array"}, {"minLength": 2}]}}),
        ),
    ];
    configs.iter().map(|(kind, config)| Heuristic::compile(kind, config).unwrap()).collect()
}

proptest! {
    #[test]
    fn similarity_matches_the_reference(a in any_text(), b in any_text()) {
        let expected = reference_similarity(&a, &b);
        prop_assert!((levenshtein_similarity(&a, &b) - expected).abs() < 1e-12);
    }

    #[test]
    fn similarity_matches_the_reference_on_near_duplicates(a in small_alphabet(), b in small_alphabet()) {
        let left = format!("{a}{b}");
        let right = format!("{b}{a}{a}");
        prop_assert!((levenshtein_similarity(&left, &right) - reference_similarity(&left, &right)).abs() < 1e-12);
        prop_assert_eq!(reference_distance(&a, &b), strsim::levenshtein(&a, &b));
    }

    #[test]
    fn similarity_is_symmetric_bounded_and_reflexive(a in any_text(), b in any_text()) {
        let forward = levenshtein_similarity(&a, &b);
        prop_assert_eq!(forward, levenshtein_similarity(&b, &a));
        prop_assert!((0.0..=1.0).contains(&forward));
        prop_assert_eq!(levenshtein_similarity(&a, &a), 1.0);
        prop_assert_eq!(forward == 1.0, a == b);
    }

    #[test]
    fn no_scorer_panics(output in any_output(), expected in proptest::option::of(any_json())) {
        for scorer in all_scorers() {
            let item = ItemView { input: "", output: &output, expected: expected.as_ref(), expected_exact: None, context: &[] };
            let outcome = scorer.score(&item);
            prop_assert!((0.0..=1.0).contains(&outcome.score), "{} gave {:?}", scorer.kind(), outcome);
            prop_assert!(!outcome.reason.is_empty());
            if scorer.kind() != "levenshtein" {
                prop_assert_eq!(outcome.score, if outcome.pass { 1.0 } else { 0.0 });
            }
            if outcome.error.is_some() {
                prop_assert!(!outcome.pass);
            }
        }
    }

    #[test]
    fn no_scorer_panics_on_configured_values(value in any_text(), output in any_output()) {
        for kind in ["equals", "contains", "icontains", "not_contains", "starts_with", "levenshtein"] {
            let scorer = Heuristic::compile(kind, &json!({"value": value})).unwrap();
            let outcome = scorer.score(&ItemView { input: "", output: &output, expected: None, expected_exact: None, context: &[] });
            prop_assert!(outcome.error.is_none());
        }
        // Arbitrary text as a pattern either compiles or is a config error naming the pattern; never a panic.
        if let Err(error) = Heuristic::compile("regex_match", &json!({"pattern": value, "full_match": true})) {
            prop_assert_eq!(error.field, "config.pattern");
        }
    }

    #[test]
    fn arbitrary_schemas_compile_or_fail_cleanly(schema in any_json(), output in any_output()) {
        match Heuristic::compile("json_schema", &json!({"schema": schema})) {
            Ok(scorer) => {
                let outcome = scorer.score(&ItemView { input: "", output: &output, expected: None, expected_exact: None, context: &[] });
                prop_assert!(outcome.score == 0.0 || outcome.score == 1.0);
            }
            Err(error) => prop_assert_eq!(error.field, "config.schema"),
        }
    }
}
