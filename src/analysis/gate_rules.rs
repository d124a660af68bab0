//! The gate rules the non-eval run kinds share (failure analysis, security audit, red team): a map of names to
//! rates, `no_regression` and `baseline`. Each kind says which names it knows; the checks and messages are one.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::custom::SpecError;

/// `gate.KEY`: an object of NAME → rate from 0 to 1, every NAME one `known` accepts (`unknown` says why not;
/// `shape` names the object's entries in the error, e.g. "bucket → share").
pub fn rates(
    gate: &Map<String, Value>,
    key: &str,
    known: impl Fn(&str) -> bool,
    unknown: &str,
    shape: &str,
) -> Result<BTreeMap<String, f64>, SpecError> {
    let mut out = BTreeMap::new();
    match gate.get(key) {
        None | Some(Value::Null) => {}
        Some(Value::Object(m)) => {
            for (name, rate) in m {
                let field = format!("gate.{key}.{name}");
                if !known(name) {
                    return Err(SpecError::new(field, unknown));
                }
                match rate.as_f64() {
                    Some(x) if (0.0..=1.0).contains(&x) => {
                        out.insert(name.clone(), x);
                    }
                    _ => return Err(SpecError::new(field, "must be a number from 0 to 1")),
                }
            }
        }
        Some(_) => return Err(SpecError::new(format!("gate.{key}"), format!("must be an object of {shape}"))),
    }
    Ok(out)
}

/// `gate.no_regression` (default false).
pub fn no_regression(gate: &Map<String, Value>) -> Result<bool, SpecError> {
    match gate.get("no_regression") {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(SpecError::new("gate.no_regression", "must be a boolean")),
    }
}

/// `gate.baseline`: a run id or `label=KEY:VALUE`, resolved later against the project's runs.
pub fn baseline(gate: &Map<String, Value>) -> Result<Option<String>, SpecError> {
    match gate.get("baseline") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(SpecError::new("gate.baseline", "must be a string: a run id or label=key:value")),
    }
}
