//! Heuristic scorers: deterministic checks that need no LLM, so they are cheap enough to run on every item of every
//! run and give the same verdict every time.
//!
//! A run compiles each configured scorer once with [`Heuristic::compile`] (that is where bad configuration becomes a
//! 400 naming the field) and then calls [`Heuristic::score`] for every item, possibly from many threads at once.
//!
//! Conventions shared by all scorers:
//! - scores are 1 (pass) or 0 (fail), except `levenshtein`, whose score is the similarity itself;
//! - where a scorer needs a reference value and its config gives none, it uses the item's `expected`; an absent or
//!   `null` expected then yields a failed outcome carrying a `VALIDATION_FAILED` error rather than a silent 0;
//! - an explicit `null` for a config key means "not given";
//! - text quoted in reasons is cut to [`QUOTE_LIMIT`] characters so a long model output cannot bloat a result row.

mod config;
mod fold;
mod json;
mod json_read;
mod levenshtein;
mod pattern;
mod regex_engine;
mod schema_guard;
mod schema_limits;
mod schema_pattern;
mod text;

pub use schema_limits::HeuristicLimits;

#[cfg(test)]
mod tests_config;
#[cfg(test)]
mod tests_props;
#[cfg(test)]
mod tests_scorers;
#[cfg(test)]
mod tests_suite;
#[cfg(test)]
mod tests_unicode;

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use serde_json::Value;

pub use levenshtein::levenshtein_similarity;

/// Borrowed view of one dataset item, as the run pipeline hands it over. `output` is the model output as text
/// (the pipeline serialises non-string JSON outputs to compact JSON text before calling you).
#[derive(Debug, Clone, Copy)]
pub struct ItemView<'a> {
    pub input: &'a str,
    pub output: &'a str,
    pub expected: Option<&'a Value>,
    /// `expected` as written, when it holds a number a `Value` cannot hold exactly (see `Item::expected_exact`):
    /// `equals` compares against this text so no digit is lost.
    pub expected_exact: Option<&'a str>,
    pub context: &'a [String],
}

/// The result of one scorer on one item.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Outcome {
    pub score: f64,
    pub pass: bool,
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ScoreError>,
}

/// Why an item could not be scored at all, as opposed to scoring 0: lets the UI tell dataset bugs from bad outputs.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ScoreError {
    pub code: String,
    pub message: String,
}

/// A configuration problem: `field` is the JSON path inside the scorer config, e.g. "config.pattern" or
/// "config.schema", so the API can answer 400 VALIDATION_FAILED pointing at what to fix.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ConfigError {
    pub field: String,
    pub message: String,
}

impl ConfigError {
    /// Shorthand so call sites stay one line.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into() }
    }
}

/// Names of the heuristic types, for validation/listing.
pub const HEURISTIC_TYPES: &[&str] = &[
    "equals",
    "contains",
    "icontains",
    "not_contains",
    "starts_with",
    "regex_match",
    "levenshtein",
    "json_valid",
    "json_schema",
];

/// Lets the API route a scorer type to this module or to the LLM judge without compiling anything.
pub fn is_heuristic(kind: &str) -> bool {
    HEURISTIC_TYPES.contains(&kind)
}

/// Error code carried by item-level problems (no `expected`, `expected` of an unusable type).
pub const VALIDATION_FAILED: &str = "VALIDATION_FAILED";

/// Error code of an item gavel could not score within one of its documented limits (regex backtracking, JSON
/// nesting): the outcome is an error rather than a silent fail, and the message names the limit.
pub const SCORER_LIMIT_EXCEEDED: &str = "SCORER_LIMIT_EXCEEDED";

/// How many characters of any quoted text a reason keeps, so reasons stay readable in a table cell.
pub const QUOTE_LIMIT: usize = 80;

/// A compiled scorer: regexes and schema validators are built once per run, not per item. It is Send + Sync (it
/// is shared across threads) and scoring takes `&self`, so many threads can call it at once.
pub struct Heuristic {
    kind: &'static str,
    scorer: Scorer,
}

enum Scorer {
    Equals(text::Equals),
    Contains(text::Contains),
    StartsWith(text::StartsWith),
    Regex(pattern::RegexMatch),
    Levenshtein(levenshtein::Levenshtein),
    JsonValid,
    JsonSchema(Arc<json::JsonSchema>),
}

impl Heuristic {
    /// Validate and compile `config` (a JSON object; `Value::Null` means all defaults) for `kind`.
    /// Unknown config keys are an error naming them (config.<key>). Unknown kind → ConfigError{field:"type"}.
    pub fn compile(kind: &str, config: &Value) -> Result<Heuristic, ConfigError> {
        Self::compile_limited(kind, config, &HeuristicLimits::default())
    }

    /// [`Heuristic::compile`] with the server's schema limits (`runs.max_schema_bytes`, `runs.max_schema_patterns`).
    pub fn compile_limited(kind: &str, config: &Value, limits: &HeuristicLimits) -> Result<Heuristic, ConfigError> {
        let (kind, scorer) = match kind {
            "equals" => ("equals", Scorer::Equals(text::Equals::compile(config)?)),
            "contains" => {
                ("contains", Scorer::Contains(text::Contains::compile(text::ContainsKind::Contains, config)?))
            }
            "icontains" => {
                ("icontains", Scorer::Contains(text::Contains::compile(text::ContainsKind::IContains, config)?))
            }
            "not_contains" => {
                ("not_contains", Scorer::Contains(text::Contains::compile(text::ContainsKind::NotContains, config)?))
            }
            "starts_with" => ("starts_with", Scorer::StartsWith(text::StartsWith::compile(config)?)),
            "regex_match" => ("regex_match", Scorer::Regex(pattern::RegexMatch::compile(config)?)),
            "levenshtein" => (
                "levenshtein",
                Scorer::Levenshtein(levenshtein::Levenshtein::compile(config, limits.max_levenshtein_cells)?),
            ),
            "json_valid" => {
                config::Config::new("json_valid", config, &[])?;
                ("json_valid", Scorer::JsonValid)
            }
            "json_schema" => ("json_schema", Scorer::JsonSchema(json::JsonSchema::compile_shared(config, limits)?)),
            other => {
                return Err(ConfigError::new(
                    "type",
                    format!("unknown heuristic type {}; known types: {}", quote(other), HEURISTIC_TYPES.join(", ")),
                ));
            }
        };
        Ok(Heuristic { kind, scorer })
    }

    /// The canonical type name, so callers can label results without keeping the config around.
    pub fn kind(&self) -> &str {
        self.kind
    }

    /// Score one item. Never panics on any input.
    pub fn score(&self, item: &ItemView<'_>) -> Outcome {
        match &self.scorer {
            Scorer::Equals(scorer) => scorer.score(item),
            Scorer::Contains(scorer) => scorer.score(item),
            Scorer::StartsWith(scorer) => scorer.score(item),
            Scorer::Regex(scorer) => scorer.score(item),
            Scorer::Levenshtein(scorer) => scorer.score(item),
            Scorer::JsonValid => json::score_json_valid(item),
            Scorer::JsonSchema(scorer) => scorer.score(item),
        }
    }
}

impl fmt::Debug for Heuristic {
    // Compiled validators are opaque; the kind is what helps when a test or log prints a scorer.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Heuristic").field("kind", &self.kind).finish_non_exhaustive()
    }
}

impl Outcome {
    /// A binary verdict: heuristics other than `levenshtein` have no partial credit.
    fn verdict(pass: bool, reason: impl Into<String>) -> Self {
        Outcome { score: if pass { 1.0 } else { 0.0 }, pass, reason: reason.into(), error: None }
    }

    /// The item cannot be scored by this scorer: a failed outcome that says so instead of a misleading plain 0.
    fn invalid_item(reason: impl Into<String>, message: impl Into<String>) -> Self {
        Outcome {
            score: 0.0,
            pass: false,
            reason: reason.into(),
            error: Some(ScoreError { code: VALIDATION_FAILED.to_owned(), message: message.into() }),
        }
    }

    /// A limit stopped the scorer: neither pass nor a real fail.
    fn limit_exceeded(reason: impl Into<String>, message: impl Into<String>) -> Self {
        Outcome {
            score: 0.0,
            pass: false,
            reason: reason.into(),
            error: Some(ScoreError { code: SCORER_LIMIT_EXCEEDED.to_owned(), message: message.into() }),
        }
    }

    fn missing_value() -> Self {
        Outcome::invalid_item(
            "no reference value: the item has no `expected`",
            "the item has no `expected` and the scorer config gives no `value`",
        )
    }
}

/// Cuts `text` to `limit` characters (never inside a UTF-8 sequence), marking the cut with an ellipsis.
fn truncate(text: &str, limit: usize) -> Cow<'_, str> {
    match text.char_indices().nth(limit) {
        None => Cow::Borrowed(text),
        Some((cut, _)) => Cow::Owned(format!("{}…", &text[..cut])),
    }
}

/// Quotes text for a reason: truncated, with control characters and quotes escaped so a reason stays on one line.
fn quote(text: &str) -> String {
    format!("{:?}", truncate(text, QUOTE_LIMIT).as_ref())
}

/// The reference text for single-value scorers (`starts_with`, `levenshtein`): the item's `expected` when the config
/// gives no value. Numbers and booleans count as their JSON text, since datasets often store `"expected": 42`.
fn expected_text<'a>(kind: &str, expected: Option<&'a Value>) -> Result<Cow<'a, str>, Outcome> {
    match expected {
        None | Some(Value::Null) => Err(Outcome::missing_value()),
        Some(Value::String(text)) => Ok(Cow::Borrowed(text)),
        Some(scalar @ (Value::Number(_) | Value::Bool(_))) => Ok(Cow::Owned(scalar.to_string())),
        Some(other) => Err(unusable_expected(kind, "a string", other)),
    }
}

/// The reference texts for the `contains` family: a string, or an array of strings (scalars count as their text).
fn expected_texts<'a>(kind: &str, expected: Option<&'a Value>) -> Result<Vec<Cow<'a, str>>, Outcome> {
    const WANTED: &str = "a string or a non-empty array of strings";
    match expected {
        Some(Value::Array(items)) if !items.is_empty() => items
            .iter()
            .map(|item| match item {
                Value::String(text) => Ok(Cow::Borrowed(text.as_str())),
                scalar @ (Value::Number(_) | Value::Bool(_)) => Ok(Cow::Owned(scalar.to_string())),
                other => Err(unusable_expected(kind, WANTED, other)),
            })
            .collect(),
        Some(array @ Value::Array(_)) => Err(unusable_expected(kind, WANTED, array)),
        other => expected_text(kind, other).map(|text| vec![text]).map_err(|outcome| match other {
            Some(value @ Value::Object(_)) => unusable_expected(kind, WANTED, value),
            _ => outcome,
        }),
    }
}

fn unusable_expected(kind: &str, wanted: &str, got: &Value) -> Outcome {
    let got = match got {
        Value::Array(items) if items.is_empty() => "an empty array",
        other => config::type_name(other),
    };
    Outcome::invalid_item(
        format!("cannot score: the item's `expected` is {got}"),
        format!("{kind} needs the item's `expected` to be {wanted} (or a `value` in the scorer config), got {got}"),
    )
}
