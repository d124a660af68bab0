//! Reading a scorer's `config` object. Every heuristic goes through here so that unknown keys, wrong types and
//! out-of-range values are reported the same way, always naming the JSON path the API client has to fix.

use serde_json::{Map, Value};

use super::ConfigError;

/// A validated view of one scorer config. An explicit JSON `null` counts as "not given", because API clients
/// routinely serialise absent optionals as `null`.
pub(super) struct Config<'a> {
    map: Option<&'a Map<String, Value>>,
}

impl<'a> Config<'a> {
    /// Rejects anything but an object (or `null`) and any key outside `allowed`, so typos such as `treshold` are
    /// reported instead of silently falling back to a default.
    pub(super) fn new(kind: &str, config: &'a Value, allowed: &[&str]) -> Result<Self, ConfigError> {
        let map = match config {
            Value::Null => None,
            Value::Object(map) => Some(map),
            other => {
                return Err(ConfigError::new("config", format!("must be a JSON object, got {}", type_name(other))));
            }
        };
        if let Some((key, _)) = map.into_iter().flatten().find(|(key, _)| !allowed.contains(&key.as_str())) {
            let message = if allowed.is_empty() {
                format!("unknown key: {kind} takes no configuration")
            } else {
                format!("unknown key for {kind}; allowed keys: {}", allowed.join(", "))
            };
            return Err(ConfigError::new(format!("config.{key}"), message));
        }
        Ok(Self { map })
    }

    pub(super) fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.and_then(|map| map.get(key)).filter(|value| !value.is_null())
    }

    pub(super) fn bool(&self, key: &str, default: bool) -> Result<bool, ConfigError> {
        match self.get(key) {
            None => Ok(default),
            Some(Value::Bool(flag)) => Ok(*flag),
            Some(other) => Err(wrong_type(key, "a boolean", other)),
        }
    }

    pub(super) fn string(&self, key: &str) -> Result<Option<&'a str>, ConfigError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(text)) => Ok(Some(text)),
            Some(other) => Err(wrong_type(key, "a string", other)),
        }
    }

    pub(super) fn required_string(&self, key: &str) -> Result<&'a str, ConfigError> {
        self.string(key)?.ok_or_else(|| ConfigError::new(format!("config.{key}"), "is required"))
    }

    /// An array of strings; an empty one is refused because "contains none of nothing" is always a dataset bug.
    pub(super) fn string_list(&self, key: &str) -> Result<Option<Vec<String>>, ConfigError> {
        let items = match self.get(key) {
            None => return Ok(None),
            Some(Value::Array(items)) => items,
            Some(other) => return Err(wrong_type(key, "an array of strings", other)),
        };
        if items.is_empty() {
            return Err(ConfigError::new(format!("config.{key}"), "must not be empty"));
        }
        items
            .iter()
            .enumerate()
            .map(|(index, item)| match item {
                Value::String(text) => Ok(text.clone()),
                other => Err(wrong_type(&format!("{key}[{index}]"), "a string", other)),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    pub(super) fn number(&self, key: &str) -> Result<Option<f64>, ConfigError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Number(number)) => number
                .as_f64()
                .map(Some)
                .ok_or_else(|| wrong_type(key, "a finite number", &Value::Number(number.clone()))),
            Some(other) => Err(wrong_type(key, "a number", other)),
        }
    }
}

fn wrong_type(key: &str, wanted: &str, got: &Value) -> ConfigError {
    ConfigError::new(format!("config.{key}"), format!("must be {wanted}, got {}", type_name(got)))
}

/// Human wording for a JSON value's type, used in config and item-level error messages.
pub(super) fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
