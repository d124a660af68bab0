//! `pattern` inside `json_schema`, run on gavel's bounded engine instead of the validator's own, so that a schema
//! pattern gets the same guarantees as `regex_match`: linear time wherever the pattern allows it, and a
//! `SCORER_LIMIT_EXCEEDED` error (never a silent verdict) when the backtracking engine's bounds are reached.
//!
//! The keyword cannot return "undecided", so it records the limit in a thread-local that the scorer reads after
//! validating (on the same thread) and turns into the error; whatever the keyword answered is then ignored.

use jsonschema::paths::Location;
use jsonschema::{Keyword, ValidationError};
use serde_json::{Map, Value};

use super::regex_engine::{note_schema_limit, Bounded};

struct SchemaPattern {
    regex: Bounded,
    pattern: String,
}

/// Builds the keyword: ECMA-262 syntax is first translated to the `regex` crate's (as the validator itself does),
/// and only a pattern that translation refuses (look-around, back-references) is read in fancy-regex syntax.
pub(super) fn factory<'a>(
    _parent: &'a Map<String, Value>,
    value: &'a Value,
    _path: Location,
) -> Result<Box<dyn for<'i> Keyword<'i>>, ValidationError<'a>> {
    let Value::String(pattern) = value else {
        return Err(ValidationError::custom("`pattern` must be a string"));
    };
    let translated = jsonschema_regex::to_rust_regex(pattern).ok().and_then(|rust| Bounded::compile(&rust).ok());
    let regex = match translated {
        Some(regex) => regex,
        None => Bounded::compile(pattern)
            .map_err(|message| ValidationError::custom(format!("`pattern` {pattern:?}: {message}")))?,
    };
    Ok(Box::new(SchemaPattern { regex, pattern: pattern.clone() }))
}

impl<'i> Keyword<'i> for SchemaPattern {
    fn validate(&self, instance: &'i Value) -> Result<(), ValidationError<'i>> {
        if self.is_valid(instance) {
            Ok(())
        } else {
            Err(ValidationError::custom(format!("does not match {:?}", self.pattern)))
        }
    }

    fn is_valid(&self, instance: &'i Value) -> bool {
        let Value::String(text) = instance else { return true };
        match self.regex.is_match(text) {
            Ok(matched) => matched,
            Err(limit) => {
                note_schema_limit(limit);
                false
            }
        }
    }
}
