//! Exact text checks: `equals`, the `contains` family and `starts_with`. Text is compared in NFC unless the
//! config says `"normalize": false`; ignoring case means full Unicode case folding (see `fold`).

use std::borrow::Cow;

use serde_json::Value;

use super::config::Config;
use super::fold::TextForm;
use super::json_read::{self, Node};
use super::{expected_text, expected_texts, quote, ConfigError, ItemView, Outcome};

/// `equals`: a string reference is compared as text; any other JSON reference is compared with the output read as
/// JSON, so `{"a": 1}` matches `{ "a" : 1.0 }` however the model spaced or formatted it. Numbers compare by exact
/// decimal value (never as floats), so two different 23-digit integers are never equal.
pub(super) struct Equals {
    value: Option<Value>,
    trim: bool,
    form: TextForm,
}

impl Equals {
    pub(super) fn compile(config: &Value) -> Result<Self, ConfigError> {
        let config = Config::new("equals", config, &["value", "trim", "ignore_case", "normalize"])?;
        Ok(Self {
            value: config.get("value").cloned(),
            trim: config.bool("trim", false)?,
            form: TextForm {
                normalize: config.bool("normalize", true)?,
                ignore_case: config.bool("ignore_case", false)?,
            },
        })
    }

    pub(super) fn score(&self, item: &ItemView<'_>) -> Outcome {
        let (target, exact) = match (&self.value, item.expected) {
            (Some(value), _) => (value, None),
            (None, Some(expected)) if !expected.is_null() => (expected, item.expected_exact),
            (None, _) => return Outcome::missing_value(),
        };
        if let Value::String(text) = target {
            return self.text_verdict(item.output, text);
        }
        // The reference as written when the item kept it (digits a double cannot hold), else as the value holds it.
        let reference = exact.and_then(|text| json_read::read(text).ok());
        let written = match exact {
            Some(text) => text.to_string(),
            None => target.to_string(),
        };
        let structurally_equal = json_read::read(item.output).is_ok_and(|document| match &reference {
            Some(reference) => nodes_equal(&document.root, &reference.root, self.form),
            None => node_equal(&document.root, target, self.form),
        });
        if structurally_equal {
            return Outcome::verdict(true, format!("output equals {} as JSON", quote(&written)));
        }
        self.text_verdict(item.output, &written)
    }

    fn text_verdict(&self, output: &str, target: &str) -> Outcome {
        let (left, right) = if self.trim { (output.trim(), target.trim()) } else { (output, target) };
        if self.form.apply(left) == self.form.apply(right) {
            Outcome::verdict(true, format!("output equals {}", quote(right)))
        } else {
            Outcome::verdict(false, format!("output {} does not equal {}", quote(left), quote(right)))
        }
    }
}

/// JSON equality: numbers by exact value (`1` equals `1.0`), strings in the scorer's text form. Object keys always
/// compare exactly: they are identifiers, not prose. A key the output repeats counts with its last value, as
/// JSON readers do. Recursion follows the reference, whose depth serde_json already bounded.
fn node_equal(node: &Node, value: &Value, form: TextForm) -> bool {
    match (node, value) {
        (Node::Null, Value::Null) => true,
        (Node::Bool(a), Value::Bool(b)) => a == b,
        (Node::Number(text), Value::Number(number)) => json_read::numbers_equal(text, &number.to_string()),
        (Node::String(a), Value::String(b)) => form.apply(a) == form.apply(b),
        (Node::Array(a), Value::Array(b)) => a.len() == b.len() && a.iter().zip(b).all(|(a, b)| node_equal(a, b, form)),
        (Node::Object(members), Value::Object(map)) => {
            let mut keys: Vec<&str> = members.iter().map(|(key, _)| key.as_str()).collect();
            keys.sort_unstable();
            keys.dedup();
            keys.len() == map.len()
                && map.iter().all(|(key, expected)| {
                    members
                        .iter()
                        .rev()
                        .find(|(name, _)| name == key)
                        .is_some_and(|(_, node)| node_equal(node, expected, form))
                })
        }
        _ => false,
    }
}

/// [`node_equal`] between two readings, for a reference kept as written. Object keys follow the same rules; the
/// reference's depth is bounded by the JSON reader.
fn nodes_equal(node: &Node, reference: &Node, form: TextForm) -> bool {
    match (node, reference) {
        (Node::Null, Node::Null) => true,
        (Node::Bool(a), Node::Bool(b)) => a == b,
        (Node::Number(a), Node::Number(b)) => json_read::numbers_equal(a, b),
        (Node::String(a), Node::String(b)) => form.apply(a) == form.apply(b),
        (Node::Array(a), Node::Array(b)) => a.len() == b.len() && a.iter().zip(b).all(|(a, b)| nodes_equal(a, b, form)),
        (Node::Object(members), Node::Object(wanted)) => {
            let wanted_keys = distinct_keys(wanted);
            distinct_keys(members) == wanted_keys
                && wanted_keys.iter().all(|key| match (last_member(members, key), last_member(wanted, key)) {
                    (Some(a), Some(b)) => nodes_equal(a, b, form),
                    _ => false,
                })
        }
        _ => false,
    }
}

fn distinct_keys(members: &[(String, Node)]) -> Vec<&str> {
    let mut keys: Vec<&str> = members.iter().map(|(key, _)| key.as_str()).collect();
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// A repeated key counts with its last value, as JSON readers do.
fn last_member<'a>(members: &'a [(String, Node)], key: &str) -> Option<&'a Node> {
    members.iter().rev().find(|(name, _)| name == key).map(|(_, node)| node)
}

/// Which member of the `contains` family a [`Contains`] implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ContainsKind {
    Contains,
    IContains,
    NotContains,
}

impl ContainsKind {
    fn name(self) -> &'static str {
        match self {
            ContainsKind::Contains => "contains",
            ContainsKind::IContains => "icontains",
            ContainsKind::NotContains => "not_contains",
        }
    }
}

/// `contains`, `icontains`, `not_contains`. With several values, `mode` says whether every value ("all", the
/// default) or at least one ("any") must satisfy the check; for `not_contains` the check is "is absent", so "all"
/// means none may appear. The score is binary: partial credit would hide which value failed.
pub(super) struct Contains {
    kind: ContainsKind,
    /// Configured values as written (for reasons) and in the compared form, prepared once here rather than per item.
    values: Option<Vec<(String, String)>>,
    any: bool,
    form: TextForm,
}

impl Contains {
    pub(super) fn compile(kind: ContainsKind, config: &Value) -> Result<Self, ConfigError> {
        let config = Config::new(kind.name(), config, &["value", "values", "mode", "normalize"])?;
        let form =
            TextForm { normalize: config.bool("normalize", true)?, ignore_case: kind == ContainsKind::IContains };
        let single = config.string("value")?;
        let several = config.string_list("values")?;
        let values = match (single, several) {
            (Some(_), Some(_)) => {
                return Err(ConfigError::new("config.values", "give either `value` or `values`, not both"));
            }
            (Some(value), None) => Some(vec![value.to_owned()]),
            (None, several) => several,
        };
        let any = match config.string("mode")? {
            None | Some("all") => false,
            Some("any") => true,
            Some(other) => {
                return Err(ConfigError::new(
                    "config.mode",
                    format!("must be \"all\" or \"any\", got {}", quote(other)),
                ));
            }
        };
        let values = values.map(|values| {
            values
                .into_iter()
                .map(|value| {
                    let needle = form.apply(&value).into_owned();
                    (value, needle)
                })
                .collect()
        });
        Ok(Self { kind, values, any, form })
    }

    pub(super) fn score(&self, item: &ItemView<'_>) -> Outcome {
        let ignore_case = self.kind == ContainsKind::IContains;
        let from_expected: Vec<(Cow<'_, str>, Cow<'_, str>)>;
        let values: Vec<(&str, &str)> = match &self.values {
            Some(values) => values.iter().map(|(shown, needle)| (shown.as_str(), needle.as_str())).collect(),
            None => {
                from_expected = match expected_texts(self.kind.name(), item.expected) {
                    Ok(texts) => texts
                        .into_iter()
                        .map(|text| {
                            let needle = Cow::Owned(self.form.apply(&text).into_owned());
                            (text, needle)
                        })
                        .collect(),
                    Err(outcome) => return outcome,
                };
                from_expected.iter().map(|(shown, needle)| (shown.as_ref(), needle.as_ref())).collect()
            }
        };
        let haystack = self.form.apply(item.output);
        let present = |needle: &str| haystack.contains(needle);
        let first_present = values.iter().find(|(_, needle)| present(needle)).map(|(shown, _)| *shown);
        let first_absent = values.iter().find(|(_, needle)| !present(needle)).map(|(shown, _)| *shown);
        let count = values.len();
        let suffix = if ignore_case { " (ignoring case)" } else { "" };
        let contains_one = |shown: &str| format!("output contains {}{suffix}", quote(shown));
        let lacks_one = |shown: &str| format!("output does not contain {}{suffix}", quote(shown));
        let (pass, reason) = match (self.kind == ContainsKind::NotContains, self.any) {
            // Every value must be present.
            (false, false) => match first_absent {
                None if count == 1 => (true, contains_one(values.first().map_or("", |(shown, _)| shown))),
                None => (true, format!("output contains all {count} values{suffix}")),
                Some(shown) => (false, lacks_one(shown)),
            },
            // At least one value must be present.
            (false, true) => match first_present {
                Some(shown) => (true, contains_one(shown)),
                None if count == 1 => (false, lacks_one(values.first().map_or("", |(shown, _)| shown))),
                None => (false, format!("output contains none of the {count} values{suffix}")),
            },
            // Every value must be absent.
            (true, false) => match first_present {
                None if count == 1 => (true, lacks_one(values.first().map_or("", |(shown, _)| shown))),
                None => (true, format!("output contains none of the {count} values")),
                Some(shown) => (false, contains_one(shown)),
            },
            // At least one value must be absent.
            (true, true) => match first_absent {
                Some(shown) => (true, lacks_one(shown)),
                None if count == 1 => (false, contains_one(values.first().map_or("", |(shown, _)| shown))),
                None => (false, format!("output contains all {count} values")),
            },
        };
        Outcome::verdict(pass, reason)
    }
}

/// `starts_with`: case-sensitive prefix check (in NFC unless `normalize` is false); `trim` ignores the output's
/// leading whitespace, which models often emit before the answer.
pub(super) struct StartsWith {
    value: Option<String>,
    trim: bool,
    form: TextForm,
}

impl StartsWith {
    pub(super) fn compile(config: &Value) -> Result<Self, ConfigError> {
        let config = Config::new("starts_with", config, &["value", "trim", "normalize"])?;
        Ok(Self {
            value: config.string("value")?.map(str::to_owned),
            trim: config.bool("trim", false)?,
            form: TextForm { normalize: config.bool("normalize", true)?, ignore_case: false },
        })
    }

    pub(super) fn score(&self, item: &ItemView<'_>) -> Outcome {
        let prefix = match &self.value {
            Some(value) => Cow::Borrowed(value.as_str()),
            None => match expected_text("starts_with", item.expected) {
                Ok(text) => text,
                Err(outcome) => return outcome,
            },
        };
        let output = self.form.apply(if self.trim { item.output.trim_start() } else { item.output });
        let output = output.as_ref();
        if output.starts_with(self.form.apply(&prefix).as_ref()) {
            return Outcome::verdict(true, format!("output starts with {}", quote(&prefix)));
        }
        // Show as much of the output's start as the expected prefix is long, so the mismatch is visible.
        let shown_len = prefix.chars().count().max(1);
        let start = output.char_indices().nth(shown_len).map_or(output, |(cut, _)| &output[..cut]);
        Outcome::verdict(false, format!("output starts with {}, not {}", quote(start), quote(&prefix)))
    }
}
