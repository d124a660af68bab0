//! Custom buckets: a project's own failure classes next to (or instead of) the built-ins.
//!
//! `{name, definition, rubric?, examples?: [{input, output, verdict}], rules?: [..], severity}`. A custom bucket has
//! one subcategory with the bucket's own name. Rules decide deterministically (any matching rule is a `fail`);
//! a bucket with a rubric (or with no rules at all) is judged, with its definition and examples in the prompt.
//! Unknown fields are ignored (stored buckets may carry ids and timestamps); every error names the field.

use regex::RegexBuilder;
use serde_json::Value;

use super::taxonomy::{Bucket, Method, Subcategory};
use super::types::Severity;
pub use super::types::{CompiledRule, Example, PathStep};
use super::AnalysisItem;

/// Most custom buckets one analysis may carry.
pub const MAX_CUSTOM_BUCKETS: usize = 50;
/// Longest bucket name; names are `[a-z][a-z0-9_]*` so they work as JSON keys and metric labels.
pub const MAX_NAME_LEN: usize = 64;
/// Longest definition, in characters.
pub const MAX_DEFINITION_CHARS: usize = 2_000;
/// Longest rubric, in characters.
pub const MAX_RUBRIC_CHARS: usize = 4_000;
/// Most examples per bucket (they all go into the judge prompt).
pub const MAX_EXAMPLES: usize = 10;
/// Longest example input or output, in characters.
pub const MAX_EXAMPLE_CHARS: usize = 2_000;
/// Most rules per bucket.
pub const MAX_RULES: usize = 50;
/// Most keywords in one keywords rule.
pub const MAX_KEYWORDS: usize = 200;
/// Longest regex pattern or JSON path, in characters.
pub const MAX_PATTERN_CHARS: usize = 1_000;
/// Compiled-size limit of a rule's regex, so a pattern cannot bloat memory.
pub const REGEX_SIZE_LIMIT: usize = 1 << 20;
/// Most steps in a JSON path.
pub const MAX_PATH_STEPS: usize = 32;

/// Fields a rule may look at.
pub const RULE_FIELDS: [&str; 5] = ["output", "input", "context", "expected", "system_prompt"];

/// A configuration error, naming the offending field (`buckets[1].rules[0].pattern`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct SpecError {
    pub field: String,
    pub message: String,
}

impl SpecError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        SpecError { field: field.into(), message: message.into() }
    }
}

/// Parses and validates the `buckets` array of a request (or the stored buckets of a project).
pub fn parse_buckets(value: &Value, builtin_names: &[&str]) -> Result<Vec<Bucket>, SpecError> {
    let list = value.as_array().ok_or_else(|| SpecError::new("buckets", "must be an array"))?;
    if list.len() > MAX_CUSTOM_BUCKETS {
        return Err(SpecError::new("buckets", format!("at most {MAX_CUSTOM_BUCKETS} (MAX_CUSTOM_BUCKETS) buckets")));
    }
    let mut out: Vec<Bucket> = Vec::with_capacity(list.len());
    for (i, spec) in list.iter().enumerate() {
        let at = format!("buckets[{i}]");
        let bucket = parse_bucket(spec, &at)?;
        if builtin_names.contains(&bucket.name.as_str()) {
            return Err(SpecError::new(
                format!("{at}.name"),
                format!(
                    "`{}` is a built-in bucket; pick another name, or send builtin: false to replace the built-ins",
                    bucket.name
                ),
            ));
        }
        if out.iter().any(|b| b.name == bucket.name) {
            return Err(SpecError::new(
                format!("{at}.name"),
                format!("`{}` is used by an earlier bucket", bucket.name),
            ));
        }
        out.push(bucket);
    }
    Ok(out)
}

fn parse_bucket(spec: &Value, at: &str) -> Result<Bucket, SpecError> {
    let obj = spec.as_object().ok_or_else(|| SpecError::new(at, "must be an object"))?;
    let name = required_str(obj.get("name"), &format!("{at}.name"))?;
    let valid = name.len() <= MAX_NAME_LEN
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !valid {
        return Err(SpecError::new(
            format!("{at}.name"),
            format!("must match [a-z][a-z0-9_]* and be at most {MAX_NAME_LEN} (MAX_NAME_LEN) characters"),
        ));
    }
    let definition = required_str(obj.get("definition"), &format!("{at}.definition"))?;
    limit_chars(&definition, MAX_DEFINITION_CHARS, "MAX_DEFINITION_CHARS", &format!("{at}.definition"))?;
    let rubric = match obj.get("rubric") {
        None | Some(Value::Null) => String::new(),
        Some(v) => {
            let r = required_str(Some(v), &format!("{at}.rubric"))?;
            limit_chars(&r, MAX_RUBRIC_CHARS, "MAX_RUBRIC_CHARS", &format!("{at}.rubric"))?;
            r
        }
    };
    let severity = match obj.get("severity") {
        Some(Value::String(s)) => Severity::parse(s)
            .ok_or_else(|| SpecError::new(format!("{at}.severity"), "must be one of low, medium, high, critical"))?,
        Some(_) => {
            return Err(SpecError::new(format!("{at}.severity"), "must be a string: low, medium, high or critical"))
        }
        None => return Err(SpecError::new(format!("{at}.severity"), "is required")),
    };
    let examples = parse_examples(obj.get("examples"), at)?;
    let rules = parse_rules(obj.get("rules"), at)?;
    let method = match (rules.is_empty(), rubric.is_empty()) {
        (true, _) => Method::Judge,
        (false, true) => Method::Deterministic,
        (false, false) => Method::DeterministicThenJudge,
    };
    let rubric = if method != Method::Deterministic && rubric.is_empty() {
        format!("Fail when the answer shows this problem: {definition}")
    } else {
        rubric
    };
    Ok(Bucket {
        name: name.clone(),
        definition: definition.clone(),
        builtin: false,
        subcategories: vec![Subcategory {
            bucket: name.clone(),
            name,
            definition,
            rubric,
            severity,
            method,
            examples,
            rules,
            builtin: false,
        }],
    })
}

fn required_str(v: Option<&Value>, field: &str) -> Result<String, SpecError> {
    match v {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.trim().to_owned()),
        Some(Value::String(_)) => Err(SpecError::new(field, "must not be empty")),
        Some(_) => Err(SpecError::new(field, "must be a string")),
        None => Err(SpecError::new(field, "is required")),
    }
}

fn limit_chars(s: &str, max: usize, name: &str, field: &str) -> Result<(), SpecError> {
    if s.chars().count() > max {
        return Err(SpecError::new(field, format!("at most {max} ({name}) characters")));
    }
    Ok(())
}

fn parse_examples(v: Option<&Value>, at: &str) -> Result<Vec<Example>, SpecError> {
    let list = match v {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(list)) => list,
        Some(_) => return Err(SpecError::new(format!("{at}.examples"), "must be an array")),
    };
    if list.len() > MAX_EXAMPLES {
        return Err(SpecError::new(
            format!("{at}.examples"),
            format!("at most {MAX_EXAMPLES} (MAX_EXAMPLES) examples"),
        ));
    }
    let mut out = Vec::with_capacity(list.len());
    for (j, ex) in list.iter().enumerate() {
        let ex_at = format!("{at}.examples[{j}]");
        let obj = ex.as_object().ok_or_else(|| SpecError::new(&ex_at, "must be an object"))?;
        let input = required_str(obj.get("input"), &format!("{ex_at}.input"))?;
        let output = required_str(obj.get("output"), &format!("{ex_at}.output"))?;
        for (s, f) in [(&input, "input"), (&output, "output")] {
            limit_chars(s, MAX_EXAMPLE_CHARS, "MAX_EXAMPLE_CHARS", &format!("{ex_at}.{f}"))?;
        }
        let verdict = match obj.get("verdict") {
            Some(Value::Bool(true)) => "pass".to_owned(),
            Some(Value::Bool(false)) => "fail".to_owned(),
            Some(Value::String(s)) if matches!(s.trim().to_ascii_lowercase().as_str(), "pass" | "fail") => {
                s.trim().to_ascii_lowercase()
            }
            Some(_) => return Err(SpecError::new(format!("{ex_at}.verdict"), "must be \"pass\" or \"fail\"")),
            None => return Err(SpecError::new(format!("{ex_at}.verdict"), "is required")),
        };
        out.push(Example { input, output, verdict });
    }
    Ok(out)
}

fn parse_rules(v: Option<&Value>, at: &str) -> Result<Vec<CompiledRule>, SpecError> {
    let list = match v {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(list)) => list,
        Some(_) => return Err(SpecError::new(format!("{at}.rules"), "must be an array")),
    };
    if list.len() > MAX_RULES {
        return Err(SpecError::new(format!("{at}.rules"), format!("at most {MAX_RULES} (MAX_RULES) rules")));
    }
    list.iter().enumerate().map(|(j, rule)| parse_rule(rule, &format!("{at}.rules[{j}]"))).collect()
}

fn parse_field(obj: &serde_json::Map<String, Value>, at: &str) -> Result<String, SpecError> {
    match obj.get("field") {
        None | Some(Value::Null) => Ok("output".to_owned()),
        Some(Value::String(f)) if RULE_FIELDS.contains(&f.as_str()) => Ok(f.clone()),
        Some(_) => Err(SpecError::new(format!("{at}.field"), format!("must be one of {}", RULE_FIELDS.join(", ")))),
    }
}

fn parse_rule(rule: &Value, at: &str) -> Result<CompiledRule, SpecError> {
    let obj = rule.as_object().ok_or_else(|| SpecError::new(at, "must be an object"))?;
    let kind = required_str(obj.get("type"), &format!("{at}.type"))?;
    match kind.as_str() {
        "keywords" => {
            let field = parse_field(obj, at)?;
            let list = obj
                .get("keywords")
                .and_then(Value::as_array)
                .ok_or_else(|| SpecError::new(format!("{at}.keywords"), "must be an array of strings"))?;
            if list.is_empty() || list.len() > MAX_KEYWORDS {
                return Err(SpecError::new(
                    format!("{at}.keywords"),
                    format!("needs 1 to {MAX_KEYWORDS} (MAX_KEYWORDS) keywords"),
                ));
            }
            let mut keywords = Vec::with_capacity(list.len());
            for (k, kw) in list.iter().enumerate() {
                let kw = required_str(Some(kw), &format!("{at}.keywords[{k}]"))?;
                limit_chars(&kw, MAX_PATTERN_CHARS, "MAX_PATTERN_CHARS", &format!("{at}.keywords[{k}]"))?;
                keywords.push(kw.to_lowercase());
            }
            Ok(CompiledRule::Keywords { keywords, field })
        }
        "regex" => {
            let field = parse_field(obj, at)?;
            let pattern = required_str(obj.get("pattern"), &format!("{at}.pattern"))?;
            limit_chars(&pattern, MAX_PATTERN_CHARS, "MAX_PATTERN_CHARS", &format!("{at}.pattern"))?;
            let regex = RegexBuilder::new(&pattern)
                .size_limit(REGEX_SIZE_LIMIT)
                .dfa_size_limit(REGEX_SIZE_LIMIT)
                .build()
                .map_err(|e| SpecError::new(format!("{at}.pattern"), format!("invalid regex: {e}")))?;
            Ok(CompiledRule::Regex { regex, field })
        }
        "json_path" => {
            let path = required_str(obj.get("path"), &format!("{at}.path"))?;
            limit_chars(&path, MAX_PATTERN_CHARS, "MAX_PATTERN_CHARS", &format!("{at}.path"))?;
            let steps = parse_path(&path).map_err(|m| SpecError::new(format!("{at}.path"), m))?;
            let equals =
                obj.get("equals").cloned().ok_or_else(|| SpecError::new(format!("{at}.equals"), "is required"))?;
            Ok(CompiledRule::JsonPath { path, steps, equals })
        }
        other => Err(SpecError::new(
            format!("{at}.type"),
            format!("unknown rule type `{other}`; expected keywords, regex or json_path"),
        )),
    }
}

/// The JSON path subset rules accept: `$`, then `.name`, `['name']` or `[index]` steps. It addresses the item as
/// `{input, output, context, expected, metadata}`, where `output` is the parsed output when it is JSON.
pub fn parse_path(path: &str) -> Result<Vec<PathStep>, String> {
    let rest = path.strip_prefix('$').ok_or("must start with `$`")?;
    let chars: Vec<char> = rest.chars().collect();
    let mut steps = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '.' => {
                let start = i + 1;
                let mut end = start;
                while end < chars.len() && (chars[end].is_alphanumeric() || chars[end] == '_' || chars[end] == '-') {
                    end += 1;
                }
                if end == start {
                    return Err(format!("empty name after `.` at character {}", i + 1));
                }
                steps.push(PathStep::Key(chars[start..end].iter().collect()));
                i = end;
            }
            '[' => {
                let close = chars[i..].iter().position(|c| *c == ']').ok_or("unclosed `[`")? + i;
                let inner: String = chars[i + 1..close].iter().collect();
                let inner = inner.trim();
                let quoted = inner.len() >= 2
                    && ((inner.starts_with('\'') && inner.ends_with('\''))
                        || (inner.starts_with('"') && inner.ends_with('"')));
                if quoted {
                    steps.push(PathStep::Key(inner[1..inner.len() - 1].to_owned()));
                } else {
                    let n = inner
                        .parse::<usize>()
                        .map_err(|_| format!("`[{inner}]` is neither an index nor a quoted name"))?;
                    steps.push(PathStep::Index(n));
                }
                i = close + 1;
            }
            c => return Err(format!("unexpected `{c}` at character {}", i + 1)),
        }
        if steps.len() > MAX_PATH_STEPS {
            return Err(format!("at most {MAX_PATH_STEPS} (MAX_PATH_STEPS) steps"));
        }
    }
    Ok(steps)
}

/// The text a rule's `field` names.
fn field_text(item: &AnalysisItem, field: &str) -> String {
    match field {
        "input" => item.input.clone(),
        "context" => item.context.join("\n"),
        "expected" => match &item.expected {
            Some(Value::String(s)) => s.clone(),
            Some(v) => v.to_string(),
            None => String::new(),
        },
        "system_prompt" => item.metadata.get("system_prompt").and_then(Value::as_str).unwrap_or_default().to_owned(),
        _ => item.output.clone(),
    }
}

fn lookup<'a>(root: &'a Value, steps: &[PathStep]) -> Option<&'a Value> {
    steps.iter().try_fold(root, |v, step| match step {
        PathStep::Key(k) => v.get(k.as_str()),
        PathStep::Index(n) => v.get(*n),
    })
}

/// Runs a bucket's rules on an item: the first matching rule's description, or `None` when no rule matches.
pub fn first_match(rules: &[CompiledRule], item: &AnalysisItem) -> Option<String> {
    let mut doc: Option<Value> = None;
    for rule in rules {
        match rule {
            CompiledRule::Keywords { keywords, field } => {
                let text = field_text(item, field).to_lowercase();
                if let Some(k) = keywords.iter().find(|k| text.contains(k.as_str())) {
                    return Some(format!("keyword `{k}` found in {field}"));
                }
            }
            CompiledRule::Regex { regex, field } => {
                let text = field_text(item, field);
                if let Some(m) = regex.find(&text) {
                    let found: String = m.as_str().chars().take(80).collect();
                    return Some(format!("pattern `{}` matched `{found}` in {field}", regex.as_str()));
                }
            }
            CompiledRule::JsonPath { path, steps, equals } => {
                let root = doc.get_or_insert_with(|| {
                    let output = serde_json::from_str::<Value>(&item.output)
                        .unwrap_or_else(|_| Value::String(item.output.clone()));
                    serde_json::json!({
                        "input": item.input, "output": output, "context": item.context,
                        "expected": item.expected, "metadata": item.metadata,
                    })
                });
                if lookup(root, steps) == Some(equals) {
                    return Some(format!("{path} equals {equals}"));
                }
            }
        }
    }
    None
}
