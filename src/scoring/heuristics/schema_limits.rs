//! What one `json_schema` scorer may cost, and the compiled schemas shared between runs.
//!
//! A validator compiled from a schema costs memory in proportion to the schema, and most of it goes to compiled
//! regular expressions (about 10 KiB each): a 9.5 MB schema of patterns once took a server from 15 MB to 1.5 GB.
//! So a schema is measured before it is compiled (compact size, number of patterns) against limits that are config
//! keys (`runs.max_schema_bytes`, `runs.max_schema_patterns`), and a refused one is a 400 naming the key.
//!
//! Runs that name the same stored scorer compile its schema once (see `json::JsonSchema::compile_shared`).

use std::io::Write;

use serde_json::Value;

use super::ConfigError;
use crate::config::DEFAULT_MAX_LEVENSHTEIN_CELLS;

/// What one heuristic may cost: a schema is checked against these before it is compiled, and an edit distance
/// before it is computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeuristicLimits {
    /// `runs.max_schema_bytes`.
    pub max_bytes: usize,
    /// `runs.max_schema_patterns`.
    pub max_patterns: usize,
    /// `runs.max_levenshtein_cells`: the largest edit-distance table (chars × chars of the parts that differ) one
    /// item may need. The table costs time in proportion (about 1–4 ns a cell), so two 60,000-char texts took 14 s.
    pub max_levenshtein_cells: u64,
}

impl HeuristicLimits {
    /// For a run already accepted under the limits of its day: it must finish even if they were lowered since.
    /// The edit-distance bound is per item, so it stays the current one.
    pub const ACCEPTED: HeuristicLimits = HeuristicLimits {
        max_bytes: usize::MAX,
        max_patterns: usize::MAX,
        max_levenshtein_cells: DEFAULT_MAX_LEVENSHTEIN_CELLS,
    };
}

impl Default for HeuristicLimits {
    /// The defaults of `config.example.toml`.
    fn default() -> Self {
        Self { max_bytes: 256 * 1024, max_patterns: 1000, max_levenshtein_cells: DEFAULT_MAX_LEVENSHTEIN_CELLS }
    }
}

/// Counts bytes written and stops the writer past a bound, so measuring a huge schema allocates nothing.
struct Measure {
    written: usize,
    bound: usize,
}

impl Write for Measure {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.written += buf.len();
        if self.written > self.bound {
            return Err(std::io::Error::other("over the bound"));
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Patterns in a schema: every string under a `pattern` key and every key of a `patternProperties` object. (A
/// `pattern` that is a property *name* inside `properties` is counted too: the bound errs on the safe side.)
fn patterns(schema: &Value) -> usize {
    let mut count = 0;
    let mut stack = vec![schema];
    while let Some(v) = stack.pop() {
        match v {
            Value::Object(map) => {
                for (k, child) in map {
                    match (k.as_str(), child) {
                        ("pattern", Value::String(_)) => count += 1,
                        ("patternProperties", Value::Object(props)) => count += props.len(),
                        _ => {}
                    }
                    stack.push(child);
                }
            }
            Value::Array(items) => stack.extend(items),
            _ => {}
        }
    }
    count
}

/// Refuses a schema over `limits`, naming the config key; returns its compact text otherwise.
pub(super) fn check(schema: &Value, limits: &HeuristicLimits) -> Result<String, ConfigError> {
    let mut m = Measure { written: 0, bound: limits.max_bytes };
    if serde_json::to_writer(&mut m, schema).is_err() {
        return Err(ConfigError::new(
            "config.schema",
            format!(
                "the schema is more than {} bytes of compact JSON (runs.max_schema_bytes); split it or raise the limit",
                limits.max_bytes
            ),
        ));
    }
    let n = patterns(schema);
    if n > limits.max_patterns {
        return Err(ConfigError::new(
            "config.schema",
            format!(
                "the schema holds {n} regular expressions (pattern, patternProperties); at most {} (runs.max_schema_patterns)",
                limits.max_patterns
            ),
        ));
    }
    // Within the bound, so the text is small.
    serde_json::to_string(schema).map_err(|e| ConfigError::new("config.schema", e.to_string()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use serde_json::json;

    use super::*;

    #[test]
    fn counts_patterns_and_pattern_properties() {
        let s = json!({"properties": {"a": {"pattern": "^x"}, "b": {"items": {"pattern": "y"}}},
                       "patternProperties": {"^p": {}, "^q": {"pattern": "z"}}});
        assert_eq!(patterns(&s), 5);
    }

    #[test]
    fn refuses_past_each_limit_naming_the_key() {
        let limits = HeuristicLimits { max_bytes: 64, max_patterns: 1, ..HeuristicLimits::default() };
        let big = json!({"description": "x".repeat(100)});
        assert!(check(&big, &limits).unwrap_err().message.contains("runs.max_schema_bytes"));
        let many = json!({"anyOf": [{"pattern": "a"}, {"pattern": "b"}]});
        assert!(check(&many, &limits).unwrap_err().message.contains("runs.max_schema_patterns"));
        assert_eq!(check(&json!({"pattern": "a"}), &limits).unwrap(), r#"{"pattern":"a"}"#);
    }
}
