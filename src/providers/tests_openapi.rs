//! The chat-completions bodies we build must be valid `CreateChatCompletionRequest`s according to OpenAI's own
//! published OpenAPI document, so a typo or a wrong type fails here rather than as a 400 on a customer's key.
#![allow(clippy::unwrap_used)]

use serde_json::{json, Value};

use super::{openai_body, ChatRequest};
use crate::domain::Provider;

/// OpenAI's published OpenAPI document is reference data that lives outside the repository, so these tests are
/// `#[ignore]`d and run explicitly (`.ci/run` does) with `GAVEL_OPENAI_SPEC` naming the file.
const SPEC_ENV: &str = "GAVEL_OPENAI_SPEC";
const TARGET: &str = "#/components/schemas/CreateChatCompletionRequest";

#[allow(clippy::disallowed_methods)] // The test is told where the reference document is.
fn spec() -> Value {
    let path = std::env::var(SPEC_ENV)
        .unwrap_or_else(|_| panic!("set {SPEC_ENV} to the path of OpenAI's OpenAPI document (openai-openapi.json)"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!("OpenAI's OpenAPI document is needed to validate request bodies but {path} cannot be read: {e}")
    });
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path} is not JSON: {e}"))
}

/// A validator whose root is the spec document itself, pointed at the request schema with a root `$ref`, so every
/// `#/components/...` reference inside the spec resolves against the spec.
fn validator(spec: &Value) -> jsonschema::Validator {
    let mut root = spec.clone();
    root["$ref"] = Value::from(TARGET);
    jsonschema::options().with_draft(jsonschema::Draft::Draft202012).build(&root).unwrap()
}

fn request(model: &str, schema: Option<Value>) -> ChatRequest {
    ChatRequest {
        model: model.into(),
        system: "You are a strict judge.".into(),
        user: "Question: 2+2? Answer: 4".into(),
        max_tokens: 256,
        temperature: 0.0,
        json_schema: schema,
        sampling: Default::default(),
        history: Vec::new(),
    }
}

fn verdict_schema() -> Value {
    json!({
        "type": "object",
        "properties": {"score": {"type": "number", "minimum": 0, "maximum": 1}, "pass": {"type": "boolean"},
                       "reason": {"type": "string"}},
        "required": ["score", "pass", "reason"],
        "additionalProperties": false
    })
}

/// Top-level property names the schema declares, through its `allOf` and `$ref`s.
fn declared(spec: &Value, schema: &Value, out: &mut Vec<String>) {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        declared(spec, spec.pointer(r.trim_start_matches('#')).unwrap(), out);
    }
    if let Some(props) = schema.get("properties").and_then(Value::as_object) {
        out.extend(props.keys().cloned());
    }
    for part in schema.get("allOf").and_then(Value::as_array).into_iter().flatten() {
        declared(spec, part, out);
    }
}

#[test]
#[ignore = "needs GAVEL_OPENAI_SPEC (OpenAI's OpenAPI document); .ci/run runs it"]
fn openai_spec_chat_completion_bodies_validate_against_openais_openapi_spec() {
    let spec = spec();
    assert!(spec.pointer(TARGET.trim_start_matches('#')).is_some(), "the spec has no {TARGET}");
    let validator = validator(&spec);
    let mut known = Vec::new();
    declared(&spec, spec.pointer(TARGET.trim_start_matches('#')).unwrap(), &mut known);
    assert!(known.iter().any(|k| k == "messages") && known.iter().any(|k| k == "response_format"));

    let cases = [
        (Provider::Openai, "gpt-4o-mini", None),
        (Provider::Openai, "gpt-4o-mini", Some(verdict_schema())),
        (Provider::Openai, "o3-mini", Some(verdict_schema())),
        (Provider::Groq, "llama-3.3-70b-versatile", None),
        (Provider::Groq, "llama-3.3-70b-versatile", Some(verdict_schema())),
        (Provider::OpenaiCompatible, "qwen2.5:7b", Some(verdict_schema())),
    ];
    for (provider, model, schema) in cases {
        let with_schema = schema.is_some();
        let body = openai_body(provider, &request(model, schema));
        let errors: Vec<String> =
            validator.iter_errors(&body).map(|e| format!("{} at {}", e, e.instance_path())).collect();
        assert!(
            errors.is_empty(),
            "{} body (schema: {with_schema}) is invalid: {errors:#?}\n{body:#}",
            provider.as_str()
        );
        // The spec allows unknown properties, so check for typos separately.
        for key in body.as_object().unwrap().keys() {
            assert!(known.contains(key), "{} sends {key:?}, which the spec does not declare", provider.as_str());
        }
    }
    // A run target's sampling parameters (top_p, stop, seed) travel in fields the spec declares, with its types.
    let mut req = request("gpt-4o-mini", None);
    req.temperature = 0.7;
    req.sampling = super::Sampling { top_p: Some(0.9), stop: vec!["END".into(), "\n\n".into()], seed: Some(42) };
    let body = openai_body(Provider::Openai, &req);
    assert_eq!(
        (body["top_p"].clone(), body["seed"].clone(), body["stop"].clone()),
        (json!(0.9), json!(42), json!(["END", "\n\n"]))
    );
    let errors: Vec<String> = validator.iter_errors(&body).map(|e| format!("{} at {}", e, e.instance_path())).collect();
    assert!(errors.is_empty(), "a target body is invalid: {errors:#?}\n{body:#}");
    for key in body.as_object().unwrap().keys() {
        assert!(known.contains(key), "a target body sends {key:?}, which the spec does not declare");
    }
}

#[test]
#[ignore = "needs GAVEL_OPENAI_SPEC (OpenAI's OpenAPI document); .ci/run runs it"]
fn openai_spec_the_validator_rejects_what_openai_would_reject() {
    let spec = spec();
    let validator = validator(&spec);
    let good = openai_body(Provider::Openai, &request("gpt-4o-mini", Some(verdict_schema())));
    assert!(validator.is_valid(&good));
    for broken in [
        json!({"model": "gpt-4o-mini"}),
        json!({"model": "gpt-4o-mini", "messages": []}),
        json!({"model": "gpt-4o-mini", "messages": [{"role": "judge", "content": "x"}]}),
        json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x"}], "temperature": "0"}),
        json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x"}],
               "response_format": {"type": "json_schema"}}),
    ] {
        assert!(!validator.is_valid(&broken), "accepted {broken}");
    }
}
