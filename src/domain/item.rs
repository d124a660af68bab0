//! A dataset item, the unit every run, analysis and audit works on.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

/// One dataset item: what the model was asked, what it answered, and what it should have answered.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Item {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Any JSON value; strings and numbers are usual.
    #[schema(value_type = Option<serde_json::Value>)]
    pub id: Option<Value>,
    /// What the model was asked: usually a string, any JSON value is accepted (scorers see it as text).
    #[schema(value_type = serde_json::Value)]
    pub input: Value,
    /// What the model answered: usually a string, any JSON value is accepted.
    #[schema(value_type = serde_json::Value)]
    pub output: Value,
    #[serde(default, skip_serializing_if = "Vec::is_empty", deserialize_with = "context_list")]
    pub context: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<serde_json::Value>)]
    pub expected: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Map<String, Value>>,
}

impl Item {
    /// An empty item, left behind when a batch takes an item out of a run's list.
    pub fn placeholder() -> Item {
        Item { id: None, input: Value::Null, output: Value::Null, context: Vec::new(), expected: None, metadata: None }
    }
}

/// `context` is a string or a list of strings.
fn context_list<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Ctx {
        One(String),
        Many(Vec<String>),
        Null(()),
    }
    Ok(
        match Ctx::deserialize(d)
            .map_err(|_| serde::de::Error::custom("context must be a string or an array of strings"))?
        {
            Ctx::One(s) => vec![s],
            Ctx::Many(v) => v,
            Ctx::Null(()) => Vec::new(),
        },
    )
}

/// Text of a JSON value as scorers see it: strings as they are, anything else as compact JSON.
pub fn text_of(v: &Value) -> std::borrow::Cow<'_, str> {
    match v {
        Value::String(s) => std::borrow::Cow::Borrowed(s.as_str()),
        Value::Null => std::borrow::Cow::Borrowed(""),
        other => std::borrow::Cow::Owned(other.to_string()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn context_is_a_string_or_a_list() {
        let a: Item = serde_json::from_str(r#"{"input":"q","output":"a","context":"c"}"#).unwrap();
        assert_eq!(a.context, vec!["c"]);
        let b: Item = serde_json::from_str(r#"{"input":"q","output":"a","context":["c","d"]}"#).unwrap();
        assert_eq!(b.context.len(), 2);
        assert!(serde_json::from_str::<Item>(r#"{"input":"q","output":"a","context":5}"#).is_err());
        assert!(serde_json::from_str::<Item>(r#"{"input":"q"}"#).is_err());
        assert!(serde_json::from_str::<Item>(r#"{"input":"q","output":"a","extra":1}"#).is_err());
        assert_eq!(text_of(&serde_json::json!({"a":1})), r#"{"a":1}"#);
    }
}
