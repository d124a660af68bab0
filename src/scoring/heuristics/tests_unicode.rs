//! Regression tests for text comparison (NFC, case folding), exact numbers in `equals`, and regex limits.
#![allow(clippy::unwrap_used)]

use serde_json::{json, Value};

use super::*;

fn run(kind: &str, config: Value, output: &str, expected: Option<Value>) -> Outcome {
    let scorer = Heuristic::compile(kind, &config).unwrap();
    scorer.score(&ItemView { input: "", output, expected: expected.as_ref(), expected_exact: None, context: &[] })
}

#[test]
fn nfc_and_nfd_spellings_match_by_default() {
    let (composed, decomposed) = ("café", "cafe\u{301}");
    for kind in ["equals", "contains", "icontains", "starts_with"] {
        assert!(run(kind, json!({"value": composed}), decomposed, None).pass, "{kind}");
        assert!(!run(kind, json!({"value": composed, "normalize": false}), decomposed, None).pass, "{kind} raw");
    }
    assert!(!run("not_contains", json!({"value": composed}), decomposed, None).pass);
    let similar = run("levenshtein", json!({"value": "é"}), "e\u{301}", None);
    assert_eq!(similar.score, 1.0);
    let raw = run("levenshtein", json!({"value": "é", "normalize": false}), "e\u{301}", None);
    assert!(raw.score < 0.6, "{raw:?}");
    assert!(run("regex_match", json!({"pattern": "^café$"}), decomposed, None).pass);
    assert!(!run("regex_match", json!({"pattern": "^café$", "normalize": false}), decomposed, None).pass);
}

#[test]
fn ignoring_case_is_full_case_folding() {
    for (needle, haystack) in
        [("STRASSE", "die Straße"), ("σοφος", "Ο ΣΟΦΟΣ"), ("file", "ﬁle"), ("s", "ſ"), ("ΣΟΦΟΣ", "σοφος")]
    {
        assert!(run("icontains", json!({"value": needle}), haystack, None).pass, "{needle} in {haystack}");
    }
    assert!(run("equals", json!({"value": "MASSE", "ignore_case": true}), "Maße", None).pass);
    assert!(run("levenshtein", json!({"value": "STRASSE", "ignore_case": true}), "straße", None).score == 1.0);
    // Whatever contains finds, icontains finds.
    for (needle, haystack) in [("İ", "İstanbul"), ("ß", "Fuß"), ("ǅ", "ǅemal")] {
        assert!(run("contains", json!({"value": needle}), haystack, None).pass);
        assert!(run("icontains", json!({"value": needle}), haystack, None).pass, "{needle} in {haystack}");
    }
}

#[test]
fn equals_compares_numbers_exactly() {
    // Two different 23-digit integers that are the same double.
    let expected: Value = serde_json::from_str("[12345678901234567890123]").unwrap();
    assert!(!run("equals", Value::Null, "[12345678901234567890124]", Some(expected.clone())).pass);
    assert!(!run("equals", json!({"value": {"n": 9007199254740993u64}}), "{\"n\": 9007199254740992}", None).pass);
    assert!(run("equals", json!({"value": {"n": 9007199254740993u64}}), "{\"n\": 9007199254740993}", None).pass);
    assert!(run("equals", json!({"value": [1, 0.1, -2]}), "[1.0, 1e-1, -2.00]", None).pass);
    assert!(run("equals", json!({"value": 1e300}), "1E+300", None).pass);
    assert!(
        run("equals", json!({"value": {"a": "x", "b": [true, null]}}), "{\"b\": [true, null], \"a\": \"x\"}", None)
            .pass
    );
    assert!(!run("equals", json!({"value": {"a": 1}}), "{\"a\": 1, \"b\": 2}", None).pass);
}

#[test]
fn regex_match_is_bounded_and_says_so() {
    let megabyte = "a".repeat(1 << 20);
    let started = std::time::Instant::now();
    assert!(!run("regex_match", json!({"pattern": r"(?<=a)a*b"}), &megabyte, None).pass);
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
    let outcome = run("regex_match", json!({"pattern": r"(?!b)a*b"}), &megabyte, None);
    let error = outcome.error.unwrap();
    assert_eq!(error.code, SCORER_LIMIT_EXCEEDED);
    assert!(error.message.contains("BACKTRACK_MAX_INPUT") && error.message.contains("8192"), "{}", error.message);
    assert!(run("regex_match", json!({"pattern": r"(\w+) \1", "full_match": true}), "hey hey", None).pass);
    assert!(run("regex_match", json!({"pattern": r"^\w{1,64}$"}), "naïve_wörd", None).pass);
    assert!(run("regex_match", json!({"pattern": r"^\p{L}{2,100}$"}), "Ελληνικά", None).pass);
    let email = r"^[\w.+-]+@[\w-]+(\.[\w-]+)*\.\w{2,}$";
    assert!(run("regex_match", json!({"pattern": email}), "zoë.o+x@mail.example.org", None).pass);
    let error = Heuristic::compile("regex_match", &json!({"pattern": r"(\w{100}){100}"})).unwrap_err();
    assert!(error.message.contains("REGEX_SIZE_LIMIT"), "{}", error.message);
}
