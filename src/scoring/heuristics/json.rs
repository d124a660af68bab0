//! `json_valid` and `json_schema`.
//!
//! gavel runs air-gapped, so schemas are compiled with a retriever that refuses every external resource: a remote
//! `$ref` fails at compile time with a message saying so, instead of hanging on a network call mid-run. Patterns
//! inside schemas run on fancy-regex (ECMA-262 features such as look-around are common in schemas) with a
//! backtracking limit and size limits, so a hostile `pattern` cannot stall or bloat a run.

use std::borrow::Cow;

use jsonschema::{Draft, PatternOptions, Retrieve, Uri, Validator};
use serde::de::IgnoredAny;
use serde_json::Value;

use super::config::{type_name, Config};
use super::{quote, schema_guard, truncate, ConfigError, ItemView, Outcome, QUOTE_LIMIT};

/// How many validation errors a failing reason lists.
const REPORTED_ERRORS: usize = 3;
/// Backtracking steps one `pattern` evaluation may take before the instance is reported as failing.
const BACKTRACK_LIMIT: usize = 1_000_000;
/// Compiled-size and DFA-cache limit for each schema regex.
const SCHEMA_REGEX_SIZE_LIMIT: usize = 1 << 20;
/// The validator recurses once per schema applied in place and once per level of the instance, so stack use grows
/// with (instance depth + 1) × (longest in-place chain + 1). Measured on a debug build, a 2 MiB thread (tokio's
/// blocking-pool default) overflows at about 2,900 such units; this keeps a wide margin.
const STACK_BUDGET: usize = 1000;

/// `json_valid`: passes when the output parses as JSON. Parsing into [`IgnoredAny`] checks the full grammar without
/// building a tree.
pub(super) fn score_json_valid(item: &ItemView<'_>) -> Outcome {
    match serde_json::from_str::<IgnoredAny>(item.output) {
        Ok(_) => Outcome::verdict(true, "output is valid JSON"),
        Err(error) => Outcome::verdict(false, format!("output is not valid JSON: {error}")),
    }
}

pub(super) struct JsonSchema {
    validator: Validator,
    /// Deepest output nesting this schema may be validated against without risking the worker's stack.
    max_depth: usize,
}

impl JsonSchema {
    pub(super) fn compile(config: &Value) -> Result<Self, ConfigError> {
        let config = Config::new("json_schema", config, &["schema"])?;
        let schema = config.get("schema").ok_or_else(|| ConfigError::new("config.schema", "is required"))?;
        if !matches!(schema, Value::Object(_) | Value::Bool(_)) {
            return Err(ConfigError::new(
                "config.schema",
                format!("must be a JSON object or boolean, got {}", type_name(schema)),
            ));
        }
        let (draft, schema) = detect_draft(schema)?;
        let patterns = PatternOptions::fancy_regex()
            .backtrack_limit(BACKTRACK_LIMIT)
            .size_limit(SCHEMA_REGEX_SIZE_LIMIT)
            .dfa_size_limit(SCHEMA_REGEX_SIZE_LIMIT);
        let validator = jsonschema::options()
            .with_draft(draft)
            .with_retriever(Offline)
            .with_pattern_options(patterns)
            .build(&schema)
            .map_err(|error| {
                let path = error.instance_path.as_str();
                let at = if path.is_empty() { String::new() } else { format!(" at {path}") };
                ConfigError::new("config.schema", format!("invalid schema{at}: {error}"))
            })?;
        let chain = schema_guard::in_place_chain(&schema, draft)
            .map_err(|problem| ConfigError::new("config.schema", problem))?;
        Ok(Self { validator, max_depth: (STACK_BUDGET / (chain + 1)).saturating_sub(1) })
    }

    pub(super) fn score(&self, item: &ItemView<'_>) -> Outcome {
        let instance = match serde_json::from_str::<Value>(item.output) {
            Ok(instance) => instance,
            Err(error) => return Outcome::verdict(false, format!("output is not valid JSON: {error}")),
        };
        let depth = nesting_depth(&instance);
        if depth > self.max_depth {
            return Outcome::verdict(
                false,
                format!(
                    "output nests {depth} levels deep; with this schema gavel validates at most {} levels",
                    self.max_depth
                ),
            );
        }
        let mut errors = self.validator.iter_errors(&instance);
        let listed: Vec<String> = errors
            .by_ref()
            .take(REPORTED_ERRORS)
            .map(|error| {
                let path = error.instance_path.as_str();
                let path = if path.is_empty() { "(root)" } else { path };
                format!("{}: {}", truncate(path, QUOTE_LIMIT), truncate(&error.to_string(), QUOTE_LIMIT))
            })
            .collect();
        if listed.is_empty() {
            return Outcome::verdict(true, "output matches the schema");
        }
        let more = if errors.next().is_some() { "; …" } else { "" };
        Outcome::verdict(false, format!("output does not match the schema: {}{more}", listed.join("; ")))
    }
}

/// Container nesting of a JSON value (`1` → 0, `[1]` → 1), computed without recursion.
fn nesting_depth(value: &Value) -> usize {
    let mut deepest = 0;
    let mut pending = vec![(value, 0)];
    while let Some((value, depth)) = pending.pop() {
        let children: Box<dyn Iterator<Item = &Value>> = match value {
            Value::Array(items) => Box::new(items.iter()),
            Value::Object(map) => Box::new(map.values()),
            _ => continue,
        };
        deepest = deepest.max(depth + 1);
        pending.extend(children.map(|child| (child, depth + 1)));
    }
    deepest
}

/// The draft named by `$schema` (2020-12 when absent) and the schema with that `$schema` spelled canonically. Done
/// here rather than by the crate so that an unknown `$schema` is a clear config error (and never a fetch), and so
/// `http`/`https` and a trailing `#` are tolerated: the crate only knows each meta-schema by its canonical URI.
fn detect_draft(schema: &Value) -> Result<(Draft, Cow<'_, Value>), ConfigError> {
    let declared = match schema.get("$schema") {
        None => return Ok((Draft::Draft202012, Cow::Borrowed(schema))),
        Some(Value::String(declared)) => declared,
        Some(other) => {
            return Err(ConfigError::new(
                "config.schema",
                format!("`$schema` must be a string, got {}", type_name(other)),
            ));
        }
    };
    let normalised = declared.trim().trim_end_matches('#');
    let normalised = normalised.strip_prefix("https://").or_else(|| normalised.strip_prefix("http://"));
    let (draft, canonical) = match normalised {
        Some("json-schema.org/draft/2020-12/schema") => {
            (Draft::Draft202012, "https://json-schema.org/draft/2020-12/schema")
        }
        Some("json-schema.org/draft/2019-09/schema") => {
            (Draft::Draft201909, "https://json-schema.org/draft/2019-09/schema")
        }
        Some("json-schema.org/draft-07/schema") => (Draft::Draft7, "http://json-schema.org/draft-07/schema#"),
        Some("json-schema.org/draft-06/schema") => (Draft::Draft6, "http://json-schema.org/draft-06/schema#"),
        Some("json-schema.org/draft-04/schema") => (Draft::Draft4, "http://json-schema.org/draft-04/schema#"),
        _ => {
            return Err(ConfigError::new(
                "config.schema",
                format!(
                    "unsupported `$schema` {}: use draft 2020-12, 2019-09, 7, 6 or 4 (or omit it for 2020-12)",
                    quote(declared)
                ),
            ));
        }
    };
    if declared == canonical {
        return Ok((draft, Cow::Borrowed(schema)));
    }
    let mut schema = schema.clone();
    if let Some(map) = schema.as_object_mut() {
        map.insert("$schema".to_owned(), Value::String(canonical.to_owned()));
    }
    Ok((draft, Cow::Owned(schema)))
}

/// Refuses every external resource: the appliance has no network access by design, so a remote `$ref` must be
/// inlined (under `$defs`) rather than fetched.
pub(super) struct Offline;

impl Retrieve for Offline {
    fn retrieve(&self, uri: &Uri<String>) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        Err(format!(
            "remote references are not fetched (gavel runs without network access): {}; inline the referenced \
             schema under `$defs` instead",
            uri.as_str()
        )
        .into())
    }
}
