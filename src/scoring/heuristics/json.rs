//! `json_valid` and `json_schema`.
//!
//! Both read the output with the same RFC 8259 reader (`json_read`), so they never disagree on what is JSON.
//!
//! gavel runs air-gapped, so schemas are compiled with a retriever that refuses every external resource: a remote
//! `$ref` fails at compile time with a message saying so, instead of hanging on a network call mid-run. `pattern`
//! runs on gavel's bounded regex engine (`schema_pattern`); `patternProperties` on the validator's fancy-regex
//! with a backtracking limit and size limits.
//!
//! The validator recurses once per level of the output (times the schema's longest in-place chain), so deep outputs
//! are validated on a thread whose stack is sized for them: no depth up to [`MAX_JSON_DEPTH`] can overflow a
//! worker's stack, and a deeper one is a `SCORER_LIMIT_EXCEEDED` error naming the limit.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, Weak};

use jsonschema::error::ValidationErrorKind;
use jsonschema::{Draft, PatternOptions, Retrieve, Validator};
use serde_json::Value;

use super::config::{type_name, Config};
use super::json_read::{self, ReadError, MAX_JSON_DEPTH};
use super::regex_engine::{take_schema_limit, BACKTRACK_LIMIT, REGEX_SIZE_LIMIT};
use super::schema_guard::{self, Offline};
use super::schema_limits::{self, HeuristicLimits};
use super::{quote, schema_pattern, truncate, ConfigError, ItemView, Outcome, QUOTE_LIMIT};

/// How many validation errors a failing reason lists.
const REPORTED_ERRORS: usize = 3;
/// Outputs up to this nesting are validated on the calling thread: measured on a debug build, the validator needs
/// about 3 KiB of stack per level and schema step, and worker threads have 2 MiB.
const INLINE_DEPTH: usize = 24;
/// Stack reserved per (level + 1) × (in-place chain + 1) when validating on a dedicated thread: twice the measured
/// need. Only touched pages are committed, so the reservation costs address space, not memory.
const STACK_PER_UNIT: usize = 8 << 10;
/// The largest stack a dedicated validation thread may reserve; bounds the depth × chain product.
const MAX_VALIDATION_STACK: usize = 1 << 30;

/// `json_valid`: passes when the output is JSON by RFC 8259.
pub(super) fn score_json_valid(item: &ItemView<'_>) -> Outcome {
    match json_read::read(item.output) {
        Ok(_) => Outcome::verdict(true, "output is valid JSON"),
        Err(ReadError::Invalid(error)) => Outcome::verdict(false, format!("output is not valid JSON: {error}")),
        Err(ReadError::TooDeep) => too_deep(),
    }
}

fn too_deep() -> Outcome {
    Outcome::limit_exceeded(
        "output nests too deeply to be read",
        format!("the output nests arrays/objects more than {MAX_JSON_DEPTH} levels deep (MAX_JSON_DEPTH)"),
    )
}

type Shared = Mutex<HashMap<String, Weak<JsonSchema>>>;

fn shared() -> &'static Shared {
    static SHARED: OnceLock<Shared> = OnceLock::new();
    SHARED.get_or_init(Default::default)
}

/// Compiled schemas are kept by their text behind weak references, so one in use is shared between runs, and one no
/// run holds any more is freed with the last run using it.
///
/// The compiled schema for `text` (a checked schema's compact text): the one already in use, or `compile()`'s.
/// The lock is not held while compiling; two runs compiling the same new schema at once both compile, and the
/// second keeps its own copy until it ends, which is rare and bounded.
fn share(
    text: String,
    compile: impl FnOnce() -> Result<JsonSchema, ConfigError>,
) -> Result<Arc<JsonSchema>, ConfigError> {
    if let Some(found) = shared().lock().ok().and_then(|m| m.get(&text).and_then(Weak::upgrade)) {
        return Ok(found);
    }
    let compiled = Arc::new(compile()?);
    if let Ok(mut m) = shared().lock() {
        m.retain(|_, w| w.strong_count() > 0);
        m.insert(text, Arc::downgrade(&compiled));
    }
    Ok(compiled)
}

pub(super) struct JsonSchema {
    validator: Validator,
    /// The schema's longest chain of schemas applied in place to one value; sizes the validation stack.
    chain: usize,
}

impl JsonSchema {
    /// Checked against `limits` first, then compiled, or shared with the runs already using the same schema.
    pub(super) fn compile_shared(config: &Value, limits: &HeuristicLimits) -> Result<Arc<Self>, ConfigError> {
        let text = match config.get("schema") {
            Some(schema) => schema_limits::check(schema, limits)?,
            None => String::new(),
        };
        share(text, || Self::compile_with(config, Offline))
    }

    /// [`JsonSchema::compile_shared`] without limits or sharing, with another retriever: the conformance suite serves its remote schemas this way.
    pub(super) fn compile_with(config: &Value, retriever: impl Retrieve + 'static) -> Result<Self, ConfigError> {
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
            .size_limit(REGEX_SIZE_LIMIT)
            .dfa_size_limit(REGEX_SIZE_LIMIT);
        let validator = jsonschema::options()
            .with_draft(draft)
            .with_retriever(retriever)
            .with_pattern_options(patterns)
            .with_keyword("pattern", schema_pattern::factory)
            .build(&schema)
            .map_err(|error| {
                let path = error.instance_path().as_str();
                let at = if path.is_empty() { String::new() } else { format!(" at {path}") };
                ConfigError::new("config.schema", format!("invalid schema{at}: {error}"))
            })?;
        let chain = schema_guard::in_place_chain(&schema, draft);
        Ok(Self { validator, chain })
    }

    pub(super) fn score(&self, item: &ItemView<'_>) -> Outcome {
        let document = match json_read::read(item.output) {
            Ok(document) => document,
            Err(ReadError::Invalid(error)) => {
                return Outcome::verdict(false, format!("output is not valid JSON: {error}"));
            }
            Err(ReadError::TooDeep) => return too_deep(),
        };
        let units = (document.depth + 1).saturating_mul(self.chain + 1);
        let stack = units.saturating_mul(STACK_PER_UNIT).saturating_add(1 << 20);
        if stack > MAX_VALIDATION_STACK {
            return Outcome::limit_exceeded(
                "output nests too deeply for this schema",
                format!(
                    "validating {} levels against a schema that applies up to {} schemas in place to one value needs                      more than the {} MiB validation stack (MAX_VALIDATION_STACK); flatten the schema or the output",
                    document.depth,
                    self.chain,
                    MAX_VALIDATION_STACK >> 20
                ),
            );
        }
        let instance = json_read::to_value(&document.root);
        drop(document);
        let validate = || {
            let outcome = self.validate(&instance);
            json_read::dismantle(instance);
            outcome
        };
        if units <= INLINE_DEPTH {
            return validate();
        }
        std::thread::scope(|scope| {
            match std::thread::Builder::new()
                .name("gavel-deep-json".into())
                .stack_size(stack)
                .spawn_scoped(scope, validate)
            {
                Ok(handle) => handle.join().unwrap_or_else(|_| {
                    Outcome::limit_exceeded("validation failed", "the schema validator stopped unexpectedly")
                }),
                Err(error) => Outcome::limit_exceeded(
                    "output nests too deeply to validate now",
                    format!(
                        "no thread with a {} MiB stack could be started for this deep output: {error}",
                        stack >> 20
                    ),
                ),
            }
        })
    }

    fn validate(&self, instance: &Value) -> Outcome {
        take_schema_limit();
        let mut errors = self.validator.iter_errors(instance);
        let mut listed: Vec<String> = Vec::new();
        let mut backtrack_limit = None;
        for error in errors.by_ref().take(REPORTED_ERRORS) {
            if matches!(error.kind(), ValidationErrorKind::BacktrackLimitExceeded { .. }) {
                backtrack_limit = Some(error.to_string());
            }
            let path = error.instance_path().as_str();
            let path = if path.is_empty() { "(root)" } else { path };
            listed.push(format!("{}: {}", truncate(path, QUOTE_LIMIT), truncate(&error.to_string(), QUOTE_LIMIT)));
        }
        let more = errors.next().is_some();
        drop(errors);
        if let Some(limit) = take_schema_limit().or(backtrack_limit) {
            return Outcome::limit_exceeded("cannot decide whether the output matches the schema", limit);
        }
        if listed.is_empty() {
            return Outcome::verdict(true, "output matches the schema");
        }
        let more = if more { "; …" } else { "" };
        Outcome::verdict(false, format!("output does not match the schema: {}{more}", listed.join("; ")))
    }
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
