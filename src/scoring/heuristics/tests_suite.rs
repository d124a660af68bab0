//! `json_schema` against a sample of the official JSON-Schema-Test-Suite, plus the crash guards it relies on.
#![allow(clippy::unwrap_used)]

use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::*;

const DRAFT_2020_12: &str = include_str!("../../../tests/data/json-schema-suite/draft2020-12.json");
const DRAFT_7: &str = include_str!("../../../tests/data/json-schema-suite/draft7.json");

#[derive(Deserialize)]
struct Group {
    description: String,
    schema: Value,
    tests: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    description: String,
    data: Value,
    valid: bool,
}

/// Runs every case of a suite file and returns how many ran; all failures are reported together.
fn run_suite(name: &str, text: &str) -> usize {
    let groups: Vec<Group> = serde_json::from_str(text).unwrap();
    let mut failures = Vec::new();
    let mut count = 0;
    for group in &groups {
        let scorer = match Heuristic::compile("json_schema", &json!({"schema": group.schema})) {
            Ok(scorer) => scorer,
            Err(error) => {
                failures.push(format!("{name} / {}: does not compile: {error}", group.description));
                continue;
            }
        };
        for case in &group.tests {
            count += 1;
            let output = case.data.to_string();
            let outcome = scorer.score(&ItemView { input: "", output: &output, expected: None, context: &[] });
            if outcome.pass != case.valid || outcome.score != if case.valid { 1.0 } else { 0.0 } {
                failures.push(format!("{name} / {} / {}: {outcome:?}", group.description, case.description));
            }
        }
    }
    assert!(failures.is_empty(), "{} failing cases:\n{}", failures.len(), failures.join("\n"));
    count
}

#[test]
fn draft_2020_12_sample() {
    assert!(run_suite("draft2020-12", DRAFT_2020_12) >= 60);
}

#[test]
fn draft_7_sample() {
    assert!(run_suite("draft7", DRAFT_7) >= 60);
}

#[test]
fn endless_recursion_is_refused() {
    for schema in [
        json!({"$ref": "#"}),
        json!({"allOf": [{"$ref": "#"}]}),
        json!({"$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"$ref": "#/$defs/a"}}, "$ref": "#/$defs/a"}),
        json!({"$defs": {"a": {"not": {"$ref": "#/$defs/a"}}}, "$ref": "#/$defs/a"}),
        json!({"$defs": {"a": {"if": true, "then": {"anyOf": [{"$ref": "#/$defs/a"}]}}}, "oneOf": [{"$ref": "#/$defs/a"}]}),
        json!({"$id": "http://x.test/root", "$defs": {"o": {"$id": "other", "anyOf": [{"$ref": "root"}]}}, "$ref": "other"}),
        json!({"$dynamicAnchor": "n", "anyOf": [{"$dynamicRef": "#n"}]}),
        json!({"$schema": "http://json-schema.org/draft-07/schema#", "definitions": {"a": {"allOf": [{"$ref": "#"}]}},
               "allOf": [{"$ref": "#/definitions/a"}]}),
    ] {
        let error = Heuristic::compile("json_schema", &json!({"schema": schema})).unwrap_err();
        assert_eq!(error.field, "config.schema");
        assert!(error.message.contains("recurses forever"), "{schema}: {}", error.message);
    }
    // Recursion through `properties`/`items` consumes the instance, so it always ends and is fine.
    let tree = json!({"schema": {"properties": {"children": {"items": {"$ref": "#"}}}, "required": ["name"]}});
    let scorer = Heuristic::compile("json_schema", &tree).unwrap();
    let item = |output| ItemView { input: "", output, expected: None, context: &[] };
    assert!(scorer.score(&item("{\"name\": 1, \"children\": [{\"name\": 2, \"children\": []}]}")).pass);
    assert!(!scorer.score(&item("{\"name\": 1, \"children\": [{\"children\": []}]}")).pass);
}

/// A chain of `depth` definitions each applying the next in place, ending in a schema that recurses into arrays.
fn chained_schema(length: usize) -> Value {
    let mut defs = Map::new();
    for index in 0..length {
        let next = if index + 1 < length {
            json!({"allOf": [{"$ref": format!("#/$defs/d{}", index + 1)}], "anyOf": [{"type": "array"}, {"type": "integer"}]})
        } else {
            json!({"items": {"$ref": "#"}, "unevaluatedItems": false})
        };
        defs.insert(format!("d{index}"), next);
    }
    json!({"$defs": defs, "$ref": "#/$defs/d0"})
}

#[test]
fn deep_outputs_cannot_overflow_a_small_worker_stack() {
    // Run where tokio's blocking pool would: a 2 MiB stack. Without the depth limit this aborts the process.
    let worker = std::thread::Builder::new().stack_size(2 << 20).spawn(|| {
        let mut verdicts = Vec::new();
        for length in [1, 4, 12, 31] {
            let scorer = Heuristic::compile("json_schema", &json!({"schema": chained_schema(length)})).unwrap();
            for depth in [5, 40, 127] {
                let output = format!("{}1{}", "[".repeat(depth), "]".repeat(depth));
                let outcome = scorer.score(&ItemView { input: "", output: &output, expected: None, context: &[] });
                verdicts.push((length, depth, outcome.pass, outcome.reason));
            }
        }
        verdicts
    });
    let verdicts = worker.unwrap().join().unwrap();
    for (length, depth, pass, reason) in verdicts {
        if !pass {
            assert!(depth > 5 && reason.contains("levels deep"), "{length}/{depth}: {reason}");
        }
    }
    // Too long an in-place chain is refused outright.
    let error = Heuristic::compile("json_schema", &json!({"schema": chained_schema(40)})).unwrap_err();
    assert!(error.message.contains("flatten"), "{}", error.message);
}
