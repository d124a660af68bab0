//! Tool parameter schemas, compiled for `invalid_arguments`.
//!
//! Tool definitions arrive with the data (an item's `metadata.tools`), so they are outside input. `jsonschema`
//! compiles self-referential schemas (`{"$ref": "#"}`) and then recurses without end when validating, and would try
//! to fetch a remote `$ref`. Before compiling, a guard therefore refuses remote or anchor references, `$dynamicRef`,
//! nested `$id`, reference cycles, and schemas whose unfolded depth could exhaust a worker's stack. Real tool
//! schemas are flat objects, so the guard costs nothing in practice; a refused schema makes the check
//! `not_applicable` with the reason, never a crash.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use jsonschema::{Draft, PatternOptions, Retrieve, Uri, Validator};
use regex::{Regex, RegexBuilder};
use serde_json::Value;

/// Deepest JSON nesting of a tool schema.
pub(super) const MAX_SCHEMA_DEPTH: usize = 64;
/// Most JSON values in a tool schema.
pub(super) const MAX_SCHEMA_NODES: usize = 20_000;
/// Most `$ref`s in a tool schema.
pub(super) const MAX_SCHEMA_REFS: usize = 64;
/// Bound on schema depth × (longest reference chain + 1): how deep validation can recurse.
pub(super) const MAX_UNFOLDED_DEPTH: usize = 512;
/// Deepest nesting of a call's arguments that gets validated.
pub(super) const MAX_ARGUMENT_DEPTH: usize = 64;
/// Validation errors listed as evidence.
const REPORTED_ERRORS: usize = 3;
/// Compiled-size limit of a `constraints.pattern` regex.
pub(super) const PATTERN_SIZE_LIMIT: usize = 1 << 20;
/// Backtracking steps one schema `pattern` may take.
const BACKTRACK_LIMIT: usize = 1_000_000;

/// Refuses every remote resource: gavel runs without network access.
struct Offline;

impl Retrieve for Offline {
    fn retrieve(&self, uri: &Uri<String>) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        Err(format!("remote reference {} is not fetched (no network access)", uri.as_str()).into())
    }
}

/// Compiled schemas kept per analyzer; a dataset's items usually share their tool definitions, and compiling is by
/// far the costliest step of the deterministic stage.
pub(super) const MAX_CACHED_SCHEMAS: usize = 256;

/// Compiled schemas by their JSON text, shared by every item of a run (and by threads: the lock is held only to
/// look up and insert, never while compiling).
#[derive(Default)]
pub struct SchemaCache {
    map: Mutex<HashMap<String, Arc<Result<ToolSchema, String>>>>,
    /// `constraints.pattern` regexes, anchored, by pattern text (same bound).
    patterns: Mutex<HashMap<String, Arc<Result<Regex, String>>>>,
}

impl std::fmt::Debug for SchemaCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SchemaCache")
    }
}

impl SchemaCache {
    pub fn get(&self, schema: &Value) -> Arc<Result<ToolSchema, String>> {
        let key = schema.to_string();
        if let Some(hit) = self.map.lock().ok().and_then(|m| m.get(&key).cloned()) {
            return hit;
        }
        let compiled = Arc::new(ToolSchema::compile(schema));
        if let Ok(mut map) = self.map.lock() {
            if map.len() >= MAX_CACHED_SCHEMAS {
                map.clear();
            }
            map.insert(key, compiled.clone());
        }
        compiled
    }

    /// The anchored form of a `constraints.pattern`, compiled once per analyzer.
    pub fn pattern(&self, pattern: &str) -> Arc<Result<Regex, String>> {
        if let Some(hit) = self.patterns.lock().ok().and_then(|m| m.get(pattern).cloned()) {
            return hit;
        }
        let compiled = Arc::new(
            RegexBuilder::new(&format!("^(?:{pattern})$"))
                .size_limit(PATTERN_SIZE_LIMIT)
                .build()
                .map_err(|e| e.to_string()),
        );
        if let Ok(mut map) = self.patterns.lock() {
            if map.len() >= MAX_CACHED_SCHEMAS {
                map.clear();
            }
            map.insert(pattern.to_owned(), compiled.clone());
        }
        compiled
    }
}

pub struct ToolSchema {
    validator: Validator,
}

impl std::fmt::Debug for ToolSchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ToolSchema")
    }
}

impl ToolSchema {
    pub fn compile(schema: &Value) -> Result<ToolSchema, String> {
        let mut schema = schema.clone();
        if let Some(map) = schema.as_object_mut() {
            // Tool schemas are read as draft 2020-12 whatever they declare, so `$schema` can never trigger a fetch.
            map.remove("$schema");
        } else if !schema.is_boolean() {
            return Err("the tool's parameters are not a JSON schema object".to_owned());
        }
        guard(&schema)?;
        let patterns = PatternOptions::fancy_regex().backtrack_limit(BACKTRACK_LIMIT);
        let validator = jsonschema::options()
            .with_draft(Draft::Draft202012)
            .with_retriever(Offline)
            .with_pattern_options(patterns)
            .build(&schema)
            .map_err(|e| format!("the tool's parameter schema does not compile: {e}"))?;
        Ok(ToolSchema { validator })
    }

    /// `Ok(())` when valid, else up to [`REPORTED_ERRORS`] problems.
    pub fn validate(&self, arguments: &Value) -> Result<(), Vec<String>> {
        if depth(arguments) > MAX_ARGUMENT_DEPTH {
            return Err(vec![format!("arguments nest deeper than {MAX_ARGUMENT_DEPTH} (MAX_ARGUMENT_DEPTH) levels")]);
        }
        let problems: Vec<String> = self
            .validator
            .iter_errors(arguments)
            .take(REPORTED_ERRORS)
            .map(|e| {
                let path = e.instance_path().as_str();
                let path = if path.is_empty() { "(root)" } else { path };
                format!("{path}: {e}")
            })
            .collect();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }
}

/// Nesting depth, without recursion.
pub(crate) fn depth(v: &Value) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(v, 0usize)];
    while let Some((v, d)) = stack.pop() {
        deepest = deepest.max(d);
        match v {
            Value::Array(a) => stack.extend(a.iter().map(|c| (c, d + 1))),
            Value::Object(m) => stack.extend(m.values().map(|c| (c, d + 1))),
            _ => {}
        }
    }
    deepest
}

fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// See the module comment. Walks iteratively, so the guard itself cannot overflow.
fn guard(schema: &Value) -> Result<(), String> {
    let mut refs: Vec<(String, String)> = Vec::new();
    let mut nodes = 0usize;
    let mut deepest = 0usize;
    let mut stack: Vec<(&Value, String, usize)> = vec![(schema, String::new(), 0)];
    while let Some((v, at, d)) = stack.pop() {
        nodes += 1;
        deepest = deepest.max(d);
        if nodes > MAX_SCHEMA_NODES {
            return Err(format!("the tool schema has more than {MAX_SCHEMA_NODES} (MAX_SCHEMA_NODES) values"));
        }
        if d > MAX_SCHEMA_DEPTH {
            return Err(format!("the tool schema nests deeper than {MAX_SCHEMA_DEPTH} (MAX_SCHEMA_DEPTH) levels"));
        }
        match v {
            Value::Object(map) => {
                for key in ["$dynamicRef", "$recursiveRef"] {
                    if map.get(key).is_some_and(Value::is_string) {
                        return Err(format!("`{key}` in tool schemas is not supported"));
                    }
                }
                if !at.is_empty() && map.get("$id").is_some_and(Value::is_string) {
                    return Err(format!("nested `$id` at {at} is not supported in tool schemas"));
                }
                if let Some(Value::String(r)) = map.get("$ref") {
                    if r != "#" && !r.starts_with("#/") {
                        return Err(format!("`$ref` {r:?} at {at}: only local references (#/...) are followed"));
                    }
                    refs.push((at.clone(), r[1..].to_owned()));
                    if refs.len() > MAX_SCHEMA_REFS {
                        return Err(format!("more than {MAX_SCHEMA_REFS} (MAX_SCHEMA_REFS) `$ref`s"));
                    }
                }
                stack.extend(map.iter().map(|(k, c)| (c, format!("{at}/{}", escape(k)), d + 1)));
            }
            Value::Array(a) => stack.extend(a.iter().enumerate().map(|(i, c)| (c, format!("{at}/{i}"), d + 1))),
            _ => {}
        }
    }
    for (at, target) in &refs {
        if schema.pointer(target).is_none() {
            return Err(format!("`$ref` #{target} at {at} points nowhere"));
        }
    }
    let chain = longest_chain(&refs)?;
    if deepest * (chain + 1) > MAX_UNFOLDED_DEPTH {
        return Err(format!("references unfold deeper than {MAX_UNFOLDED_DEPTH} (MAX_UNFOLDED_DEPTH) levels"));
    }
    Ok(())
}

/// Longest chain of references starting at the root, or the cycle that makes it endless. A reference at `at` is
/// reached from target `t` when `at` lies inside `t`'s subtree.
fn longest_chain(refs: &[(String, String)]) -> Result<usize, String> {
    fn inside(at: &str, target: &str) -> bool {
        at == target || at.starts_with(&format!("{target}/")) || target.is_empty()
    }
    // Depth-first over targets, memoised (a ladder of shared definitions would otherwise be exponential);
    // refs.len() ≤ MAX_SCHEMA_REFS keeps it tiny.
    fn visit(
        target: &str,
        refs: &[(String, String)],
        on_path: &mut Vec<String>,
        memo: &mut HashMap<String, usize>,
    ) -> Result<usize, String> {
        if let Some(known) = memo.get(target) {
            return Ok(*known);
        }
        if on_path.iter().any(|t| t == target) {
            return Err(format!("`$ref` cycle through #{target}: recursive tool schemas are not supported"));
        }
        on_path.push(target.to_owned());
        let mut best = 0;
        for (_, next) in refs.iter().filter(|(at, _)| inside(at, target)) {
            best = best.max(1 + visit(next, refs, on_path, memo)?);
        }
        on_path.pop();
        memo.insert(target.to_owned(), best);
        Ok(best)
    }
    visit("", refs, &mut Vec::new(), &mut HashMap::new())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn recursive_and_remote_schemas_are_refused() {
        assert!(ToolSchema::compile(&json!({"$ref": "#"})).unwrap_err().contains("cycle"));
        let tree = json!({"$defs": {"n": {"type": "object", "properties": {"kids": {"items": {"$ref": "#/$defs/n"}}}}}, "$ref": "#/$defs/n"});
        assert!(ToolSchema::compile(&tree).unwrap_err().contains("cycle"));
        assert!(ToolSchema::compile(&json!({"$ref": "https://example.org/s.json"})).unwrap_err().contains("local"));
        assert!(ToolSchema::compile(&json!({"$ref": "#/$defs/missing"})).unwrap_err().contains("nowhere"));
    }

    #[test]
    fn plain_schemas_validate() {
        let s = ToolSchema::compile(&json!({
            "type": "object", "required": ["city"], "additionalProperties": false,
            "$defs": {"unit": {"enum": ["c", "f"]}},
            "properties": {"city": {"type": "string"}, "unit": {"$ref": "#/$defs/unit"}}
        }))
        .unwrap();
        assert!(s.validate(&json!({"city": "Oslo", "unit": "c"})).is_ok());
        let errors = s.validate(&json!({"unit": "k", "extra": 1})).unwrap_err();
        assert!(!errors.is_empty() && errors.len() <= REPORTED_ERRORS);
    }
}
