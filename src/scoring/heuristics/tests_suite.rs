//! `json_schema` against the whole official JSON-Schema-Test-Suite (every required test of every draft gavel
//! supports; see tests/data/json-schema-suite/README.md), plus the recursion and depth guarantees.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use jsonschema::{Retrieve, Uri};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::json::JsonSchema;
use super::*;

/// Cases where gavel knowingly disagrees with the suite, as prefixes of "draft / file / group / case". The test
/// fails if one of them starts passing (so the list stays true) or any other case fails.
///
/// `vocabulary.json` (5 cases per draft) uses custom meta-schemas (`$schema` pointing at the suite's remotes):
/// gavel accepts only the five official drafts' meta-schemas as `$schema`, so that a schema's dialect is never
/// fetched from elsewhere, and refuses the others at compile time with a message saying so.
const KNOWN_DISAGREEMENTS: &[&str] = &["draft2020-12 / vocabulary / ", "draft2019-09 / vocabulary / "];

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

fn suite_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/json-schema-suite")
}

/// Serves the suite's `remotes/` directory for `http://localhost:1234/…`, as the suite's own runners do.
struct SuiteRemotes;

impl Retrieve for SuiteRemotes {
    fn retrieve(&self, uri: &Uri<String>) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        let path = uri
            .as_str()
            .strip_prefix("http://localhost:1234/")
            .ok_or_else(|| format!("not a suite remote: {}", uri.as_str()))?;
        let text = std::fs::read_to_string(suite_dir().join("remotes").join(path))?;
        Ok(serde_json::from_str(&text)?)
    }
}

/// Runs one draft's directory and returns (passed, total, failures).
fn run_draft(draft: &str, meta_schema: &str) -> (usize, usize, Vec<String>) {
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(suite_dir().join(draft)).unwrap().map(|entry| entry.unwrap().path()).collect();
    files.sort();
    let (mut passed, mut total, mut failures) = (0, 0, Vec::new());
    for file in files {
        let name = file.file_stem().unwrap().to_string_lossy().into_owned();
        let groups: Vec<Group> = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        for group in groups {
            let mut schema = group.schema;
            // Drafts 4 to 7 of the suite leave `$schema` out; gavel reads a schema without it as 2020-12.
            if let Value::Object(map) = &mut schema {
                map.entry("$schema").or_insert_with(|| Value::String(meta_schema.to_owned()));
            }
            let scorer = JsonSchema::compile_with(&json!({"schema": schema}), SuiteRemotes);
            for case in group.tests {
                total += 1;
                let label = format!("{draft} / {name} / {} / {}", group.description, case.description);
                let verdict = match &scorer {
                    Ok(scorer) => {
                        let output = case.data.to_string();
                        let outcome = scorer.score(&ItemView {
                            input: "",
                            output: &output,
                            expected: None,
                            expected_exact: None,
                            context: &[],
                        });
                        if outcome.error.is_some() {
                            Err(format!("{outcome:?}"))
                        } else {
                            Ok(outcome.pass)
                        }
                    }
                    Err(error) => Err(format!("does not compile: {error}")),
                };
                match verdict {
                    Ok(pass) if pass == case.valid => passed += 1,
                    Ok(pass) => failures.push(format!("{label}: gave {pass}, suite says {}", case.valid)),
                    Err(why) => failures.push(format!("{label}: {why}")),
                }
            }
        }
    }
    (passed, total, failures)
}

#[test]
fn the_whole_official_suite() {
    let drafts = [
        ("draft2020-12", "https://json-schema.org/draft/2020-12/schema"),
        ("draft2019-09", "https://json-schema.org/draft/2019-09/schema"),
        ("draft7", "http://json-schema.org/draft-07/schema#"),
        ("draft6", "http://json-schema.org/draft-06/schema#"),
        ("draft4", "http://json-schema.org/draft-04/schema#"),
    ];
    let mut unexpected = Vec::new();
    let mut known_seen = Vec::new();
    for (draft, meta) in drafts {
        let (passed, total, failures) = run_draft(draft, meta);
        println!("{draft}: {passed}/{total} agree");
        assert!(total > 600, "{draft}: only {total} cases found");
        for failure in failures {
            match KNOWN_DISAGREEMENTS.iter().find(|known| failure.starts_with(**known)) {
                Some(known) => known_seen.push(*known),
                None => unexpected.push(failure),
            }
        }
    }
    assert!(unexpected.is_empty(), "{} disagreements:\n{}", unexpected.len(), unexpected.join("\n"));
    let fixed: Vec<&&str> = KNOWN_DISAGREEMENTS.iter().filter(|known| !known_seen.contains(known)).collect();
    assert!(fixed.is_empty(), "listed as known disagreements but now agreeing: {fixed:?}");
}

#[test]
fn multiple_of_is_exact_for_decimals_and_negatives() {
    let scorer = |step: f64| Heuristic::compile("json_schema", &json!({"schema": {"multipleOf": step}})).unwrap();
    let verdict = |scorer: &Heuristic, output: &str| {
        scorer.score(&ItemView { input: "", output, expected: None, expected_exact: None, context: &[] }).pass
    };
    let (cents, half) = (scorer(0.01), scorer(1.5));
    for output in ["64.68", "0.07", "1.1", "-19.99", "1000000.01", "0"] {
        assert!(verdict(&cents, output), "{output} is a multiple of 0.01");
    }
    assert!(!verdict(&cents, "1.005"));
    for output in ["-4.5", "4.5", "-1.5", "0", "-0"] {
        assert!(verdict(&half, output), "{output} is a multiple of 1.5");
    }
    assert!(!verdict(&half, "-4"));
}

#[test]
fn self_recursive_schemas_validate_without_crashing() {
    // jsonschema 0.33 overflowed the stack on these (the process aborted); 0.61 ends on its own, so gavel no longer
    // refuses them. Run on a 2 MiB thread, like a worker of tokio's blocking pool.
    let worker = std::thread::Builder::new().stack_size(2 << 20).spawn(|| {
        let schemas = [
            json!({"$ref": "#"}),
            json!({"allOf": [{"$ref": "#"}]}),
            json!({"$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"$ref": "#/$defs/a"}}, "$ref": "#/$defs/a"}),
            json!({"$defs": {"a": {"if": true, "then": {"anyOf": [{"$ref": "#/$defs/a"}]}}}, "oneOf": [{"$ref": "#/$defs/a"}]}),
            json!({"$dynamicAnchor": "n", "anyOf": [{"$dynamicRef": "#n"}]}),
            json!({"$schema": "http://json-schema.org/draft-07/schema#", "definitions": {"a": {"allOf": [{"$ref": "#"}]}},
                   "allOf": [{"$ref": "#/definitions/a"}]}),
        ];
        for schema in schemas {
            let scorer = Heuristic::compile("json_schema", &json!({"schema": schema})).unwrap();
            for output in ["1", "[1, {\"a\": [2]}]", &format!("{}1{}", "[".repeat(500), "]".repeat(500))] {
                let outcome = scorer.score(&ItemView { input: "", output, expected: None, expected_exact: None, context: &[] });
                assert!(outcome.error.is_none(), "{outcome:?}");
            }
        }
    });
    worker.unwrap().join().unwrap();
    // Recursion through `properties`/`items` consumes the instance and validates as usual.
    let tree = json!({"schema": {"properties": {"children": {"items": {"$ref": "#"}}}, "required": ["name"]}});
    let scorer = Heuristic::compile("json_schema", &tree).unwrap();
    let item = |output| ItemView { input: "", output, expected: None, expected_exact: None, context: &[] };
    assert!(scorer.score(&item("{\"name\": 1, \"children\": [{\"name\": 2, \"children\": []}]}")).pass);
    assert!(!scorer.score(&item("{\"name\": 1, \"children\": [{\"children\": []}]}")).pass);
}

/// A chain of `length` definitions each applying the next in place, ending in a schema that recurses into arrays.
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
fn deep_outputs_are_validated_not_refused_and_never_overflow() {
    let worker = std::thread::Builder::new().stack_size(2 << 20).spawn(|| {
        for (length, depth) in [(1, 129), (1, 5_000), (12, 300), (31, 127)] {
            let scorer = Heuristic::compile("json_schema", &json!({"schema": chained_schema(length)})).unwrap();
            let output = format!("{}1{}", "[".repeat(depth), "]".repeat(depth));
            let outcome = scorer.score(&ItemView {
                input: "",
                output: &output,
                expected: None,
                expected_exact: None,
                context: &[],
            });
            assert!(outcome.pass, "{length}/{depth}: {outcome:?}");
            // json_valid reads the same text the same way.
            let valid = Heuristic::compile("json_valid", &Value::Null).unwrap();
            assert!(
                valid
                    .score(&ItemView { input: "", output: &output, expected: None, expected_exact: None, context: &[] })
                    .pass
            );
        }
        let scorer = Heuristic::compile("json_schema", &json!({"schema": {"type": "array"}})).unwrap();
        let depth = json_read::MAX_JSON_DEPTH + 1;
        let output = format!("{}1{}", "[".repeat(depth), "]".repeat(depth));
        let outcome =
            scorer.score(&ItemView { input: "", output: &output, expected: None, expected_exact: None, context: &[] });
        let error = outcome.error.unwrap();
        assert_eq!(error.code, SCORER_LIMIT_EXCEEDED);
        assert!(error.message.contains("MAX_JSON_DEPTH") && error.message.contains("10000"), "{}", error.message);
    });
    worker.unwrap().join().unwrap();
}

#[test]
fn json_valid_and_json_schema_agree_on_rfc_8259() {
    let valid = Heuristic::compile("json_valid", &Value::Null).unwrap();
    let any = Heuristic::compile("json_schema", &json!({"schema": true})).unwrap();
    let number = Heuristic::compile("json_schema", &json!({"schema": {"type": "number", "minimum": 1e300}})).unwrap();
    let string = Heuristic::compile("json_schema", &json!({"schema": {"type": "string", "maxLength": 1}})).unwrap();
    let item = |output| ItemView { input: "", output, expected: None, expected_exact: None, context: &[] };
    for output in ["1e400", "\"\\ud800\"", "[\"\\udfff\", 1]", "-0", "{\"a\": {\"a\": {}}}"] {
        assert!(valid.score(&item(output)).pass, "{output}");
        assert!(any.score(&item(output)).pass, "{output}");
    }
    assert!(number.score(&item("1e400")).pass);
    assert!(!number.score(&item("-1e400")).pass);
    assert!(string.score(&item("\"\\ud800\"")).pass);
    for output in ["{\"a\": 1,}", "NaN", "'x'", "[1] [2]"] {
        assert!(!valid.score(&item(output)).pass, "{output}");
        assert!(!any.score(&item(output)).pass, "{output}");
    }
}

#[test]
fn schema_patterns_are_bounded() {
    let schema = |pattern: &str| {
        Heuristic::compile("json_schema", &json!({"schema": {"type": "string", "pattern": pattern}})).unwrap()
    };
    let megabyte = format!("\"{}\"", "a".repeat(1 << 20));
    let item = |output| ItemView { input: "", output, expected: None, expected_exact: None, context: &[] };
    // Linear after rewriting: answered, and quickly.
    let started = std::time::Instant::now();
    assert!(!schema(r"(?<=a)a*b").score(&item(&megabyte)).pass);
    assert!(schema(r"^(?=.*a)(?!.*b).+$").score(&item(&megabyte)).pass);
    assert!(started.elapsed() < std::time::Duration::from_secs(20), "{:?}", started.elapsed());
    // Needs backtracking: an error naming the limit, never a verdict.
    let outcome = schema(r"(?!b)a*b").score(&item(&megabyte));
    let error = outcome.error.unwrap();
    assert_eq!(error.code, SCORER_LIMIT_EXCEEDED);
    assert!(error.message.contains("BACKTRACK_MAX_INPUT"), "{}", error.message);
    // Inside `not`, an undecided match must not turn into "valid".
    let negated = json!({"schema": {"not": {"pattern": "(?!b)a*b"}}});
    let outcome = Heuristic::compile("json_schema", &negated).unwrap().score(&item(&megabyte));
    assert_eq!(outcome.error.unwrap().code, SCORER_LIMIT_EXCEEDED);
    // Short texts still get an answer from the backtracking engine.
    assert!(schema(r"(?!b)a*b").score(&item("\"aab\"")).pass);
}
