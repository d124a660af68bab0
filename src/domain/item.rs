//! A dataset item, the unit every run, analysis and audit works on.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use utoipa::ToSchema;

/// One dataset item: what the model was asked, what it answered, and what it should have answered.
///
/// `expected` is held as a `Value`, whose numbers are 64-bit integers or doubles; a reference such as
/// `12345678901234567890123` or `0.1000000000000000000001` would lose digits there, and `equals` would then compare
/// against the wrong number. So when `expected` holds a number that is not a 64-bit integer, its JSON text as
/// written is kept beside it ([`Item::expected_exact`]), written back verbatim on serialisation (the store and the
/// API keep every digit) and compared by exact decimal value.
#[derive(Clone, Debug, Deserialize, PartialEq, ToSchema)]
#[serde(deny_unknown_fields, try_from = "ItemWire")]
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
    /// Retrieved passages: one string or a list of strings (answers always carry the list).
    #[serde(default, skip_serializing_if = "Vec::is_empty", deserialize_with = "context_list")]
    #[schema(schema_with = context_schema)]
    pub context: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<serde_json::Value>)]
    pub expected: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Map<String, Value>>,
    /// The JSON text of `expected` as written, kept only when it holds a number a `Value` cannot hold exactly.
    #[serde(skip)]
    pub expected_exact: Option<ExactJson>,
}

/// JSON text kept verbatim (validated JSON: it came through the JSON reader).
#[derive(Clone, Debug)]
pub struct ExactJson(Box<RawValue>);

impl ExactJson {
    pub fn text(&self) -> &str {
        self.0.get()
    }
}

impl PartialEq for ExactJson {
    fn eq(&self, other: &Self) -> bool {
        self.text() == other.text()
    }
}

impl Item {
    /// An empty item, left behind when a batch takes an item out of a run's list.
    pub fn placeholder() -> Item {
        Item {
            id: None,
            input: Value::Null,
            output: Value::Null,
            context: Vec::new(),
            expected: None,
            metadata: None,
            expected_exact: None,
        }
    }
}

/// The wire form of an item: `expected` read as raw JSON text first, so its digits survive.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ItemWire {
    #[serde(default)]
    id: Option<Value>,
    input: Value,
    /// Absent (or null) when the run's target is to produce it.
    #[serde(default)]
    output: Value,
    #[serde(default, deserialize_with = "context_list")]
    context: Vec<String>,
    #[serde(default)]
    expected: Option<Box<RawValue>>,
    #[serde(default)]
    metadata: Option<Map<String, Value>>,
}

impl TryFrom<ItemWire> for Item {
    type Error = String;

    fn try_from(wire: ItemWire) -> Result<Self, Self::Error> {
        let (expected, expected_exact) = match wire.expected {
            None => (None, None),
            Some(raw) => {
                let value: Value = serde_json::from_str(raw.get()).map_err(|e| format!("expected: {e}"))?;
                let keep = has_inexact_number(&value);
                // `"expected": null` reads as absent, as it did before the raw reading.
                (Some(value).filter(|v| !v.is_null()), keep.then_some(ExactJson(raw)))
            }
        };
        Ok(Item {
            id: wire.id,
            input: wire.input,
            output: wire.output,
            context: wire.context,
            expected,
            metadata: wire.metadata,
            expected_exact,
        })
    }
}

/// Whether a value holds a number serde_json read as a double (anything that is not a 64-bit integer), which may
/// differ from the number as written. Recursion follows the value, whose depth serde_json bounded on reading.
fn has_inexact_number(value: &Value) -> bool {
    match value {
        Value::Number(n) => n.is_f64(),
        Value::Array(items) => items.iter().any(has_inexact_number),
        Value::Object(map) => map.values().any(has_inexact_number),
        _ => false,
    }
}

/// The item as written out: `expected` from its exact text when there is one, so the store and the API keep every
/// digit.
#[derive(Serialize)]
struct ItemOut<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a Value>,
    input: &'a Value,
    output: &'a Value,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    context: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    expected: Option<Expected<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    metadata: Option<&'a Map<String, Value>>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum Expected<'a> {
    Exact(&'a RawValue),
    Value(&'a Value),
}

impl Serialize for Item {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let expected = match (&self.expected_exact, &self.expected) {
            (Some(exact), _) => Some(Expected::Exact(&exact.0)),
            (None, Some(value)) => Some(Expected::Value(value)),
            (None, None) => None,
        };
        ItemOut {
            id: self.id.as_ref(),
            input: &self.input,
            output: &self.output,
            context: &self.context,
            expected,
            metadata: self.metadata.as_ref(),
        }
        .serialize(s)
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

/// `context` as the contract has it: a string or a list of strings (null, like absent, is none).
fn context_schema() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, OneOfBuilder, SchemaType, Type};
    let text = || ObjectBuilder::new().schema_type(SchemaType::Type(Type::String));
    let null = ObjectBuilder::new().schema_type(SchemaType::Type(Type::Null));
    OneOfBuilder::new().item(text()).item(ArrayBuilder::new().items(text())).item(null).into()
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
        let waiting: Item = serde_json::from_str(r#"{"input":"q"}"#).unwrap();
        assert!(waiting.output.is_null(), "an item may wait for a target's output");
        assert!(serde_json::from_str::<Item>(r#"{"output":"a"}"#).is_err());
        assert!(serde_json::from_str::<Item>(r#"{"input":"q","output":"a","extra":1}"#).is_err());
        assert_eq!(text_of(&serde_json::json!({"a":1})), r#"{"a":1}"#);
    }

    #[test]
    fn expected_keeps_the_digits_a_double_cannot_hold() {
        let text = r#"{"input":"q","output":"a","expected":{"n":12345678901234567890123,"k":[1,2.50]}}"#;
        let item: Item = serde_json::from_str(text).unwrap();
        assert_eq!(item.expected_exact.as_ref().unwrap().text(), r#"{"n":12345678901234567890123,"k":[1,2.50]}"#);
        assert_eq!(item.expected.as_ref().unwrap()["k"][0], 1);
        // Written back verbatim: the store and the API keep every digit, and reading it again keeps them too.
        let again: Item = serde_json::from_str(&serde_json::to_string(&item).unwrap()).unwrap();
        assert_eq!(again, item);
        assert!(serde_json::to_string(&item).unwrap().contains("12345678901234567890123"));
        // Integers and text need nothing kept; null is absent.
        let plain: Item = serde_json::from_str(r#"{"input":"q","output":"a","expected":{"n":5,"s":"x"}}"#).unwrap();
        assert!(plain.expected_exact.is_none());
        let null: Item = serde_json::from_str(r#"{"input":"q","output":"a","expected":null}"#).unwrap();
        assert_eq!(null.expected, None);
        assert_eq!(serde_json::to_string(&null).unwrap(), r#"{"input":"q","output":"a"}"#);
    }
}
