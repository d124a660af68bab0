//! A run's inline items held as their stored JSON text, from the request body until the pipeline scores them.
//!
//! A parsed [`Item`] costs about 320 bytes of memory (its `Value`s and their strings); its JSON text about a third
//! of that. A million-item run therefore reads its body straight into text, one item at a time (the body's
//! `dataset` array never becomes a list of parsed items), stores that text as it is, and the pipeline parses each
//! batch back just before scoring it, on the blocking pool. The text is the store's: the same encoding the engine
//! reads back when a run resumes, so a fresh run and a resumed one see the same items.

use serde::de::{Deserializer, SeqAccess, Visitor};

use super::model::Item;
use crate::error::{Error, Result};

/// One inline item: its JSON text as stored, and its matching key when it is certain without SQLite's reading of
/// the id (see [`usual_item_key`]).
#[derive(Clone)]
pub struct Encoded {
    pub text: Box<str>,
    pub key: Option<Box<str>>,
}

impl Encoded {
    /// Item number `idx` (its position, the key of an item without id).
    pub fn new(item: &Item, idx: usize) -> Result<Encoded> {
        let text = serde_json::to_string(item).map_err(Error::internal)?;
        let key = usual_item_key(item.id.as_ref(), idx as i64);
        Ok(Encoded { text: text.into_boxed_str(), key: key.map(String::into_boxed_str) })
    }

    /// The item back, for scoring.
    pub fn decode(&self) -> Result<Item> {
        serde_json::from_str(&self.text).map_err(Error::internal)
    }
}

/// A run's inline items, encoded.
#[derive(Clone, Default)]
pub struct Inline {
    pub items: Vec<Encoded>,
    /// The first item without an `output` (which only a run with a target may have).
    pub first_without_output: Option<usize>,
}

impl Inline {
    /// Encode parsed items (the kinds of run that build their items themselves). CPU work: on the blocking pool for
    /// large lists.
    pub fn encode(items: &[Item]) -> Result<Inline> {
        let mut out = Inline { items: Vec::with_capacity(items.len()), first_without_output: None };
        for (i, item) in items.iter().enumerate() {
            out.push(item, i)?;
        }
        Ok(out)
    }

    fn push(&mut self, item: &Item, idx: usize) -> Result<()> {
        if item.output.is_null() && self.first_without_output.is_none() {
            self.first_without_output = Some(idx);
        }
        self.items.push(Encoded::new(item, idx)?);
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Every item has an output (a run without target needs them): else the error naming the first without.
    pub fn require_outputs(&self) -> Result<()> {
        match self.first_without_output {
            None => Ok(()),
            Some(i) => Err(Error::field(
                &format!("dataset[{i}].output"),
                format!("item {i} has no output: give one, or a `target` that produces it"),
            )),
        }
    }
}

/// A body's `dataset` array read item by item into [`Inline`]: each item is parsed (so a bad one fails the body as
/// before), encoded, and dropped before the next is read.
impl<'de> serde::Deserialize<'de> for Inline {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Inline, D::Error> {
        struct Items;
        impl<'de> Visitor<'de> for Items {
            type Value = Inline;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an array of items")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<Inline, A::Error> {
                let mut out = Inline { items: Vec::with_capacity(seq.size_hint().unwrap_or(0)), ..Inline::default() };
                while let Some(item) = seq.next_element::<Item>()? {
                    let idx = out.items.len();
                    out.push(&item, idx).map_err(serde::de::Error::custom)?;
                }
                Ok(out)
            }
        }
        d.deserialize_seq(Items)
    }
}

/// The item key SQLite's `CAST(coalesce(json_extract(item, '$.id'), idx) AS TEXT)` gives, for the ids whose
/// reading is certain: none (the index), a string (itself), an integer that fits i64 (its digits).
pub(crate) fn usual_item_key(id: Option<&serde_json::Value>, idx: i64) -> Option<String> {
    match id {
        None | Some(serde_json::Value::Null) => Some(idx.to_string()),
        Some(serde_json::Value::String(s)) => Some(s.clone()),
        Some(serde_json::Value::Number(n)) => n.as_i64().map(|v| v.to_string()),
        Some(_) => None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn items_read_from_a_body_come_back_as_they_were() {
        let body = r#"[{"id":"a","input":"q","output":"x","expected":1.50},{"input":{"k":1},"output":null}]"#;
        let inline: Inline = serde_json::from_str(body).unwrap();
        assert_eq!(inline.len(), 2);
        assert_eq!(inline.first_without_output, Some(1));
        assert!(inline.require_outputs().unwrap_err().to_string().contains("item 1 has no output"));
        let first = inline.items[0].decode().unwrap();
        assert_eq!(first.id, Some(serde_json::json!("a")));
        assert_eq!(&*inline.items[0].text, r#"{"id":"a","input":"q","output":"x","expected":1.50}"#, "digits kept");
        assert_eq!(inline.items[0].key.as_deref(), Some("a"));
        assert_eq!(inline.items[1].key.as_deref(), Some("1"), "no id: the position");
        assert!(serde_json::from_str::<Inline>(r#"[{"output":"x"}]"#).is_err(), "an item needs an input");
    }
}
