//! `json_valid` and `json_schema`.
//!
//! gavel runs air-gapped, so schemas are compiled with a retriever that refuses every external resource: a remote
//! `$ref` fails at compile time with a message saying so, instead of hanging on a network call mid-run. Patterns
//! inside schemas run on fancy-regex (ECMA-262 features such as look-around are common in schemas) with a
//! backtracking limit and size limits, so a hostile `pattern` cannot stall or bloat a run.

use jsonschema::{Draft, PatternOptions, Retrieve, Uri, Validator};
use serde::de::IgnoredAny;
use serde_json::Value;

use super::config::{type_name, Config};
use super::{truncate, ConfigError, ItemView, Outcome, QUOTE_LIMIT};

/// How many validation errors a failing reason lists.
const REPORTED_ERRORS: usize = 3;
/// Backtracking steps one `pattern` evaluation may take before the instance is reported as failing.
const BACKTRACK_LIMIT: usize = 1_000_000;
/// Compiled-size and DFA-cache limit for each schema regex.
const SCHEMA_REGEX_SIZE_LIMIT: usize = 1 << 20;

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
        let patterns = PatternOptions::fancy_regex()
            .backtrack_limit(BACKTRACK_LIMIT)
            .size_limit(SCHEMA_REGEX_SIZE_LIMIT)
            .dfa_size_limit(SCHEMA_REGEX_SIZE_LIMIT);
        let validator = jsonschema::options()
            .with_draft(detect_draft(schema)?)
            .with_retriever(Offline)
            .with_pattern_options(patterns)
            .build(schema)
            .map_err(|error| {
                let path = error.instance_path.as_str();
                let at = if path.is_empty() { String::new() } else { format!(" at {path}") };
                ConfigError::new("config.schema", format!("invalid schema{at}: {error}"))
            })?;
        Ok(Self { validator })
    }

    pub(super) fn score(&self, item: &ItemView<'_>) -> Outcome {
        let instance = match serde_json::from_str::<Value>(item.output) {
            Ok(instance) => instance,
            Err(error) => return Outcome::verdict(false, format!("output is not valid JSON: {error}")),
        };
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

/// The draft named by `$schema`, 2020-12 when absent. Done here rather than by the crate so that an unknown
/// `$schema` is a clear config error (and never a fetch), and so `http`/`https` and a trailing `#` are tolerated.
fn detect_draft(schema: &Value) -> Result<Draft, ConfigError> {
    let declared = match schema.get("$schema") {
        None => return Ok(Draft::Draft202012),
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
    match normalised {
        Some("json-schema.org/draft/2020-12/schema") => Ok(Draft::Draft202012),
        Some("json-schema.org/draft/2019-09/schema") => Ok(Draft::Draft201909),
        Some("json-schema.org/draft-07/schema") => Ok(Draft::Draft7),
        Some("json-schema.org/draft-06/schema") => Ok(Draft::Draft6),
        Some("json-schema.org/draft-04/schema") => Ok(Draft::Draft4),
        _ => Err(ConfigError::new(
            "config.schema",
            format!(
                "unsupported `$schema` {}: use draft 2020-12, 2019-09, 7, 6 or 4 (or omit it for 2020-12)",
                super::quote(declared)
            ),
        )),
    }
}

/// Refuses every external resource: the appliance has no network access by design, so a remote `$ref` must be
/// inlined (under `$defs`) rather than fetched.
struct Offline;

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
