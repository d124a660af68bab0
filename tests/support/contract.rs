//! Every answer the integration tests receive is checked against the served OpenAPI document: the route and
//! method must be documented, the status must be one of the operation's documented responses, and a JSON body
//! must validate against the documented schema. Clients generated from the document rely on exactly this, and a
//! check here fails at the request that drifted, with the path, status, body and schema error in the message.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::{Map, Value};

type Validators = Mutex<HashMap<String, Option<Arc<jsonschema::Validator>>>>;

fn validators() -> &'static Validators {
    static V: OnceLock<Validators> = OnceLock::new();
    V.get_or_init(Default::default)
}

/// The documented path template that `path` (no query) matches; literal segments win over `{param}` ones.
pub fn template_for<'a>(doc: &'a Value, path: &str) -> Option<&'a str> {
    let parts: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    let mut best: Option<(&str, usize)> = None;
    for template in doc["paths"].as_object()?.keys() {
        let t: Vec<&str> = template.split('/').collect();
        if t.len() != parts.len() {
            continue;
        }
        let mut literal = 0;
        let fits = t.iter().zip(&parts).all(|(a, b)| {
            if a.starts_with('{') && a.ends_with('}') {
                !b.is_empty()
            } else {
                literal += 1;
                a == b
            }
        });
        if fits && best.is_none_or(|(_, l)| literal > l) {
            best = Some((template, literal));
        }
    }
    best.map(|(t, _)| t)
}

/// A validator for the JSON schema of one documented response, `$ref`s resolved against the document's components.
fn validator(doc: &Value, key: &str, schema: &Value) -> Option<Arc<jsonschema::Validator>> {
    let mut cache = validators().lock().unwrap();
    cache
        .entry(key.to_string())
        .or_insert_with(|| {
            let mut root = match schema {
                Value::Object(m) => m.clone(),
                other => {
                    let mut m = Map::new();
                    m.insert("allOf".into(), Value::Array(vec![other.clone()]));
                    m
                }
            };
            root.insert("components".into(), doc["components"].clone());
            let v = jsonschema::options()
                .with_draft(jsonschema::Draft::Draft202012)
                .build(&Value::Object(root))
                .unwrap_or_else(|e| panic!("the documented schema of {key} does not compile: {e}"));
            Some(Arc::new(v))
        })
        .clone()
}

/// Check one answer against the document; panics with what differs. `path` may carry a query string.
pub fn check(doc: &Value, method: &str, path: &str, status: u16, content_type: Option<&str>, body: &Value) {
    let path = path.split('?').next().unwrap_or(path);
    let method = method.to_ascii_lowercase();
    let Some(template) = template_for(doc, path) else {
        // Unknown routes are answered 404 (or 405 for a known path with another method) by the server's default
        // service; those answers are covered by tests/api/errors.rs, not by any operation.
        assert!(matches!(status, 404 | 405), "{method} {path} answered {status} but is not in the OpenAPI document");
        return;
    };
    let Some(op) = doc["paths"][template].get(&method) else {
        assert!(
            matches!(status, 404 | 405),
            "{method} {template} answered {status} but the document has no {method} operation there"
        );
        return;
    };
    let responses = &op["responses"];
    let status_key = status.to_string();
    let Some(resp) = responses.get(&status_key).or_else(|| responses.get("default")) else {
        let documented: Vec<&String> = responses.as_object().map(|m| m.keys().collect()).unwrap_or_default();
        panic!(
            "{method} {template} answered {status}, which is not documented (documented: {documented:?}); body: {body}"
        );
    };
    let is_json = content_type.is_some_and(|c| c.starts_with("application/json"));
    if !is_json || body.is_null() {
        return;
    }
    let Some(schema) = resp["content"]["application/json"].get("schema") else {
        let kinds: Vec<&String> = resp["content"].as_object().map(|m| m.keys().collect()).unwrap_or_default();
        panic!(
            "{method} {template} {status} answered JSON, but the document gives no JSON schema (content: {kinds:?})"
        );
    };
    let key = format!("{method} {template} {status_key}");
    let Some(v) = validator(doc, &format!("{doc:p} {key}"), schema) else { return };
    let errors: Vec<String> = v.iter_errors(body).take(5).map(|e| format!("{} at {}", e, e.instance_path())).collect();
    if !errors.is_empty() {
        let mut shown = body.to_string();
        if shown.len() > 2000 {
            let mut cut = 2000;
            while !shown.is_char_boundary(cut) {
                cut -= 1;
            }
            shown.truncate(cut);
            shown.push('…');
        }
        panic!("{key}: the answer does not match the documented schema:\n  {}\nbody: {shown}", errors.join("\n  "));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc() -> Value {
        json!({
            "paths": {
                "/v1/runs/{id}": {"get": {"responses": {"200": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Run"}}}}}}},
                "/v1/runs/compare": {"get": {"responses": {"200": {"content": {"application/json": {"schema": {"type": "object"}}}}}}}
            },
            "components": {"schemas": {"Run": {"type": "object", "required": ["id"], "properties": {"id": {"type": "string"}}}}}
        })
    }

    #[test]
    fn literal_segments_win_and_templates_match() {
        let d = doc();
        assert_eq!(template_for(&d, "/v1/runs/compare"), Some("/v1/runs/compare"));
        assert_eq!(template_for(&d, "/v1/runs/run_1"), Some("/v1/runs/{id}"));
        assert_eq!(template_for(&d, "/v1/runs/run_1/x"), None);
    }

    #[test]
    fn a_matching_answer_passes() {
        check(&doc(), "GET", "/v1/runs/r1?x=1", 200, Some("application/json"), &json!({"id": "r1"}));
    }

    #[test]
    #[should_panic(expected = "does not match the documented schema")]
    fn a_body_that_breaks_the_schema_fails() {
        check(&doc(), "GET", "/v1/runs/r2", 200, Some("application/json"), &json!({"id": 7}));
    }

    #[test]
    #[should_panic(expected = "not documented")]
    fn an_undocumented_status_fails() {
        check(&doc(), "GET", "/v1/runs/r3", 500, Some("application/json"), &json!({}));
    }
}
