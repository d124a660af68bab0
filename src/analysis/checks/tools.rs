//! Tool-use checks over `metadata.tools` (definitions), `metadata.tool_calls` and `metadata.expected_tools`.
//!
//! Definitions come in OpenAI's function-tool shape (`{type: "function", function: {name, parameters}}`), or flat
//! (`{name, parameters}`, or Anthropic's `{name, input_schema}`). Calls are `{name, arguments}` (arguments an object
//! or a JSON string, as OpenAI sends them) or `{function: {name, arguments}}`, optionally with `result` / `error`.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::super::schema::MAX_ARGUMENT_DEPTH;
use super::super::text::clip;
use super::super::types::Decision;
use super::{Precheck, Prepared};

/// Most tool calls of one item that are checked; the rest are ignored.
pub(super) const MAX_TOOL_CALLS: usize = 500;
/// Most tool definitions read from one item.
pub(super) const MAX_TOOLS: usize = 256;
/// Identical calls that make `redundant_calls` fail.
pub(super) const REDUNDANT_REPEATS: usize = 3;

/// Leading verbs of tool names that change the world; a wrong call to such a tool is a side effect.
const SIDE_EFFECT_VERBS: &[&str] = &[
    "delete", "remove", "send", "transfer", "pay", "purchase", "buy", "book", "cancel", "create", "update", "write",
    "post", "submit", "refund", "charge", "drop", "insert", "modify", "reset", "execute", "deploy", "email",
];

#[derive(Debug, Clone, PartialEq)]
pub struct ToolDef {
    pub name: String,
    pub parameters: Option<Value>,
    /// Declared (`side_effects: true|false`) or guessed from a leading verb such as `send_` or `delete`.
    pub side_effects: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ToolCall {
    pub name: String,
    /// The arguments, or why they are not a JSON value.
    pub arguments: Result<Value, String>,
    pub error: Option<String>,
}

fn guessed_side_effects(name: &str) -> bool {
    // The leading word of `send_email`, `sendEmail`, `SendEmail` or `delete`.
    let mut chars = name.chars();
    let first: String = chars
        .next()
        .map(|c| c.to_ascii_lowercase())
        .into_iter()
        .chain(chars.take_while(char::is_ascii_lowercase))
        .collect();
    SIDE_EFFECT_VERBS.contains(&first.as_str())
}

pub fn parse_tools(metadata: &Map<String, Value>) -> Vec<ToolDef> {
    let Some(list) = metadata.get("tools").and_then(Value::as_array) else { return Vec::new() };
    list.iter()
        .take(MAX_TOOLS)
        .filter_map(|t| {
            let f = t.get("function").filter(|f| f.is_object()).unwrap_or(t);
            let name = f.get("name")?.as_str()?.to_owned();
            let parameters = f.get("parameters").or_else(|| f.get("input_schema")).cloned();
            let declared = f.get("side_effects").or_else(|| t.get("side_effects")).and_then(Value::as_bool);
            let side_effects = declared.unwrap_or_else(|| guessed_side_effects(&name));
            Some(ToolDef { name, parameters, side_effects })
        })
        .collect()
}

pub fn parse_tool_calls(metadata: &Map<String, Value>) -> Vec<ToolCall> {
    let Some(list) = metadata.get("tool_calls").and_then(Value::as_array) else { return Vec::new() };
    list.iter()
        .take(MAX_TOOL_CALLS)
        .filter_map(|c| {
            let f = c.get("function").filter(|f| f.is_object()).unwrap_or(c);
            let name = f.get("name")?.as_str()?.to_owned();
            let arguments = match f.get("arguments") {
                None | Some(Value::Null) => Ok(Value::Object(Map::new())),
                Some(Value::String(s)) => serde_json::from_str(s).map_err(|e| format!("arguments are not JSON: {e}")),
                Some(v) => Ok(v.clone()),
            };
            let error = match c.get("error") {
                Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
                Some(Value::Object(o)) => Some(Value::Object(o.clone()).to_string()),
                Some(Value::Bool(true)) => Some("error".to_owned()),
                _ => c.get("result").and_then(result_error),
            };
            Some(ToolCall { name, arguments, error })
        })
        .collect()
}

/// A tool result that reports failure: `{error: …}`, `{ok: false}`, `{status: "error"|"failed"}`.
fn result_error(result: &Value) -> Option<String> {
    let o = result.as_object()?;
    if let Some(e) = o.get("error").filter(|e| !e.is_null() && *e != &Value::Bool(false)) {
        return Some(clip(&e.to_string(), 200));
    }
    if o.get("ok") == Some(&Value::Bool(false)) || o.get("success") == Some(&Value::Bool(false)) {
        return Some("the tool reported failure".to_owned());
    }
    match o.get("status").and_then(Value::as_str) {
        Some(s) if matches!(s.to_ascii_lowercase().as_str(), "error" | "failed" | "failure") => {
            Some(format!("status {s}"))
        }
        _ => None,
    }
}

/// `expected_tools` as names (strings or `{name}` objects); `None` when absent.
fn expected(metadata: &Map<String, Value>) -> Option<Vec<String>> {
    let list = metadata.get("expected_tools")?.as_array()?;
    Some(
        list.iter()
            .filter_map(|e| e.as_str().or_else(|| e.get("name").and_then(Value::as_str)))
            .map(str::to_owned)
            .collect(),
    )
}

fn side_effect(defs: &[ToolDef], name: &str) -> bool {
    defs.iter().find(|d| d.name == name).map_or_else(|| guessed_side_effects(name), |d| d.side_effects)
}

fn with_side_effect(check: Precheck, yes: bool) -> Precheck {
    if yes {
        check.critical()
    } else {
        check
    }
}

pub(super) fn wrong_tool(p: &Prepared<'_>) -> Precheck {
    let calls = &p.calls;
    if calls.is_empty() {
        return Precheck::na("no tool calls");
    }
    let defs = &p.tools;
    let expected = expected(&p.item.metadata);
    if defs.is_empty() && expected.is_none() {
        return Precheck::na("neither tools nor expected_tools given");
    }
    let mut wrong: Vec<String> = Vec::new();
    let mut effects = false;
    for call in calls {
        let undefined = !defs.is_empty() && !defs.iter().any(|d| d.name == call.name);
        let unexpected = expected.as_ref().is_some_and(|e| !e.contains(&call.name));
        if undefined || unexpected {
            let why = if undefined { "not a defined tool" } else { "not among expected_tools" };
            wrong.push(format!("`{}` ({why})", call.name));
            effects |= side_effect(defs, &call.name);
        }
    }
    wrong.dedup();
    if !wrong.is_empty() {
        let effect = if effects { "; it has side effects" } else { "" };
        return with_side_effect(Precheck::fail(1.0, format!("called {}{effect}", wrong.join(", "))), effects);
    }
    if expected.is_some() {
        return Precheck::pass(1.0, "every call goes to an expected tool");
    }
    Precheck::Open { hint: Some("every called tool is defined; does each fit the request?".into()) }
}

pub(super) fn invalid_arguments(p: &Prepared<'_>) -> Precheck {
    let calls = &p.calls;
    let defs = &p.tools;
    let mut checked = 0;
    let mut refused: Vec<String> = Vec::new();
    let mut problems: Vec<String> = Vec::new();
    let mut effects = false;
    for call in calls {
        let Some(def) = defs.iter().find(|d| d.name == call.name) else { continue };
        let Some(schema) = &def.parameters else { continue };
        let compiled = p.schemas.get(schema);
        let schema = match compiled.as_ref() {
            Ok(s) => s,
            Err(e) => {
                refused.push(format!("`{}`: {e}", def.name));
                continue;
            }
        };
        checked += 1;
        let outcome = match &call.arguments {
            Err(e) => Err(vec![e.clone()]),
            Ok(args) => schema.validate(args),
        };
        if let Err(errs) = outcome {
            problems.push(format!("`{}`: {}", call.name, errs.join("; ")));
            effects |= def.side_effects;
        }
    }
    refused.dedup();
    if checked == 0 {
        return match refused.is_empty() {
            true => Precheck::na("no call to a defined tool with a parameter schema"),
            false => Precheck::na(format!("tool schemas not usable: {}", refused.join("; "))),
        };
    }
    if problems.is_empty() {
        return Precheck::pass(1.0, format!("{checked} calls match their tool schemas"));
    }
    let effect = if effects { " (a tool with side effects)" } else { "" };
    with_side_effect(Precheck::fail(1.0, format!("invalid arguments{effect}: {}", problems.join(" | "))), effects)
}

pub(super) fn missing_required_call(p: &Prepared<'_>) -> Precheck {
    let Some(expected) = expected(&p.item.metadata) else { return Precheck::na("no expected_tools") };
    if expected.is_empty() {
        return Precheck::na("expected_tools is empty: no call is required");
    }
    let mut made: HashMap<String, usize> = HashMap::new();
    for call in &p.calls {
        *made.entry(call.name.clone()).or_default() += 1;
    }
    let mut missing = Vec::new();
    for name in &expected {
        match made.get_mut(name) {
            Some(n) if *n > 0 => *n -= 1,
            _ => missing.push(format!("`{name}`")),
        }
    }
    if missing.is_empty() {
        Precheck::pass(1.0, "every expected tool was called")
    } else {
        Precheck::fail(1.0, format!("expected but not called: {}", missing.join(", ")))
    }
}

const ACKNOWLEDGES: &[&str] = &[
    "error",
    "fail",
    "unable",
    "couldn't",
    "could not",
    "cannot",
    "can't",
    "unavailable",
    "not available",
    "problem",
    "issue",
    "sorry",
    "try again",
    "didn't work",
    "did not work",
    "timed out",
    "timeout",
];

pub(super) fn tool_error_ignored(p: &Prepared<'_>) -> Precheck {
    let errors: Vec<String> = p
        .calls
        .iter()
        .filter_map(|c| c.error.as_ref().map(|e| format!("`{}` returned {}", c.name, clip(e, 120))))
        .collect();
    if errors.is_empty() {
        return Precheck::na("no tool returned an error");
    }
    let lower = p.item.output.to_lowercase().replace('\u{2019}', "'");
    match ACKNOWLEDGES.iter().find(|w| lower.contains(*w)) {
        Some(w) => Precheck::pass(0.8, format!("{}; the output acknowledges it (\"{w}\")", errors.join(", "))),
        None => Precheck::tentative(
            Decision::Fail,
            0.7,
            format!("{}; the output does not mention any failure", errors.join(", ")),
        ),
    }
}

/// A call's identity: its name and its arguments with object keys sorted (whatever serde_json's map order is).
fn call_key(call: &ToolCall) -> String {
    fn canonical(v: &Value, out: &mut String) {
        match v {
            Value::Object(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                out.push('{');
                for k in keys {
                    out.push_str(&Value::String(k.clone()).to_string());
                    out.push(':');
                    if let Some(child) = m.get(k) {
                        canonical(child, out);
                    }
                    out.push(',');
                }
                out.push('}');
            }
            Value::Array(a) => {
                out.push('[');
                for child in a {
                    canonical(child, out);
                    out.push(',');
                }
                out.push(']');
            }
            other => out.push_str(&other.to_string()),
        }
    }
    let mut key = format!("{}(", call.name);
    match &call.arguments {
        // Depth-checked first, so the recursion above stays shallow.
        Ok(v) if super::super::schema::depth(v) <= MAX_ARGUMENT_DEPTH => canonical(v, &mut key),
        Ok(v) => key.push_str(&v.to_string()),
        Err(e) => key.push_str(e),
    }
    key.push(')');
    key
}

pub(super) fn redundant_calls(p: &Prepared<'_>) -> Precheck {
    let calls = &p.calls;
    if calls.is_empty() {
        return Precheck::na("no tool calls");
    }
    let mut counts: Vec<(String, usize, &str)> = Vec::new();
    for call in calls {
        let key = call_key(call);
        match counts.iter_mut().find(|(k, _, _)| *k == key) {
            Some(entry) => entry.1 += 1,
            None => counts.push((key, 1, call.name.as_str())),
        }
    }
    let repeated: Vec<&(String, usize, &str)> = counts.iter().filter(|(_, n, _)| *n >= REDUNDANT_REPEATS).collect();
    if repeated.is_empty() {
        return Precheck::pass(1.0, format!("no call repeated {REDUNDANT_REPEATS} times"));
    }
    let defs = &p.tools;
    let effects = repeated.iter().any(|(_, _, name)| side_effect(defs, name));
    let listed: Vec<String> = repeated.iter().map(|(k, n, _)| format!("{} ×{n}", clip(k, 120))).collect();
    let effect = if effects { " (a tool with side effects)" } else { "" };
    with_side_effect(Precheck::fail(1.0, format!("identical calls{effect}: {}", listed.join(", "))), effects)
}
