//! `gavel eval --from-promptfoo promptfooconfig.yaml`: a promptfoo config as a gavel evaluation, and a clear list
//! of what does not map. The mapping rules are in docs/eval-file.md ("From promptfoo").
//!
//! gavel runs every scorer on every item, while promptfoo asserts per test. So an assertion becomes a scorer when
//! every test has it: with one value for all tests that value goes into the scorer's config; with a value per test
//! (one such assertion per config) the value goes into each item's `expected`, which the scorer then reads. An
//! assertion that only some tests have is reported as unmappable rather than run where it was never asked for.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{json, Map, Value};

use super::evalfile::{EvalFile, InlineEntry, ScorerEntry};
use super::promptfoo_map::{map_assertion, provider_target, Mapped, Reference, CRITERION_RUBRIC};
use super::usage;

/// One assertion (or provider, prompt) that could not be mapped.
#[derive(Debug, Clone, PartialEq)]
pub struct Unmapped {
    /// `test 3 "capital of France"`, `defaultTest`, `providers`, `prompts`.
    pub place: String,
    /// `assert[1] javascript`.
    pub what: String,
    pub why: String,
}

/// A converted config: the evaluation, what did not map, and what maps only approximately.
#[derive(Debug, Clone)]
pub struct Converted {
    pub file: EvalFile,
    pub unmapped: Vec<Unmapped>,
    pub notes: Vec<String>,
}

/// Vars that are the item's input, in this order of preference; else the test's first var.
pub const INPUT_VARS: &[&str] = &["prompt", "input", "question", "query"];

/// The list of what did not map, one line each.
pub fn describe_unmapped(list: &[Unmapped]) -> String {
    let mut s = format!("{} part(s) of the promptfoo config do not map to gavel:", list.len());
    for u in list {
        s.push_str(&format!("\n  - {}: {}: {}", u.place, u.what, u.why));
    }
    s
}

/// YAML (or JSON) text to a JSON value; mappings keep their order in `order` lookups via [`var_order`].
fn yaml(text: &str, what: &Path) -> anyhow::Result<serde_norway::Value> {
    serde_norway::from_str(text).map_err(|e| usage(format!("{}: {e}", what.display())))
}

fn to_json(v: &serde_norway::Value) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

fn read(base: &Path, reference: &str) -> anyhow::Result<(std::path::PathBuf, String)> {
    let path = base.join(reference.strip_prefix("file://").unwrap_or(reference));
    let text = std::fs::read_to_string(&path).map_err(|e| usage(format!("reading {}: {e}", path.display())))?;
    Ok((path, text))
}

/// Read a promptfoo config file.
pub fn convert_file(path: &Path) -> anyhow::Result<Converted> {
    let text = std::fs::read_to_string(path).map_err(|e| usage(format!("reading {}: {e}", path.display())))?;
    let doc = yaml(&text, path)?;
    convert(&doc, path.parent().unwrap_or(Path::new("")))
}

/// One test: its vars in written order, its assertions, its description and metadata.
struct Test {
    vars: Vec<(String, Value)>,
    asserts: Vec<Value>,
    description: Option<String>,
    metadata: Map<String, Value>,
}

fn test_of(v: &serde_norway::Value) -> Test {
    let j = to_json(v);
    let vars = match v.get("vars") {
        Some(serde_norway::Value::Mapping(m)) => {
            m.iter().filter_map(|(k, v)| k.as_str().map(|k| (k.to_string(), to_json(v)))).collect()
        }
        _ => Vec::new(),
    };
    Test {
        vars,
        asserts: j["assert"].as_array().cloned().unwrap_or_default(),
        description: j["description"].as_str().map(str::to_string),
        metadata: j["metadata"].as_object().cloned().unwrap_or_default(),
    }
}

/// `tests`: an inline list, a file (YAML/JSON list, JSONL, CSV), or a list mixing both.
fn load_tests(v: Option<&serde_norway::Value>, base: &Path) -> anyhow::Result<Vec<Test>> {
    let mut out = Vec::new();
    let entries: Vec<serde_norway::Value> = match v {
        None => Vec::new(),
        Some(serde_norway::Value::Sequence(s)) => s.clone(),
        Some(other) => vec![other.clone()],
    };
    for e in entries {
        let Some(reference) = e.as_str() else {
            out.push(test_of(&e));
            continue;
        };
        let (path, text) = read(base, reference)?;
        match path.extension().and_then(|x| x.to_str()).unwrap_or("") {
            "csv" => out.extend(csv_tests(&text, &path)?),
            "jsonl" => {
                for line in text.lines().filter(|l| !l.trim().is_empty()) {
                    out.push(test_of(&yaml(line, &path)?));
                }
            }
            _ => match yaml(&text, &path)? {
                serde_norway::Value::Sequence(s) => out.extend(s.iter().map(test_of)),
                other => out.push(test_of(&other)),
            },
        }
    }
    Ok(out)
}

/// CSV tests: each column is a var, except `__expected` (`type: value`, or a plain value for `equals`) and
/// `__description`.
fn csv_tests(text: &str, path: &Path) -> anyhow::Result<Vec<Test>> {
    let mut r = csv::Reader::from_reader(text.as_bytes());
    let headers = r.headers().map_err(|e| usage(format!("{}: {e}", path.display())))?.clone();
    let mut out = Vec::new();
    for row in r.records() {
        let row = row.map_err(|e| usage(format!("{}: {e}", path.display())))?;
        let mut t = Test { vars: Vec::new(), asserts: Vec::new(), description: None, metadata: Map::new() };
        for (h, cell) in headers.iter().zip(row.iter()) {
            if h.starts_with("__expected") {
                if cell.is_empty() {
                    continue;
                }
                let known = ["contains", "icontains", "not-contains", "starts-with", "regex", "llm-rubric", "equals"];
                let a = match cell.split_once(':') {
                    Some((k, v)) if known.contains(&k.trim()) => json!({"type": k.trim(), "value": v.trim()}),
                    Some((k, v)) if k.trim() == "grade" => json!({"type": "llm-rubric", "value": v.trim()}),
                    Some((k, _)) if ["fn", "python", "javascript", "similar"].contains(&k.trim()) => {
                        json!({"type": if k.trim() == "fn" { "javascript" } else { k.trim() }})
                    }
                    _ => json!({"type": "equals", "value": cell}),
                };
                t.asserts.push(a);
            } else if h == "__description" {
                t.description = Some(cell.to_string());
            } else if !h.starts_with("__") {
                t.vars.push((h.to_string(), json!(cell)));
            }
        }
        out.push(t);
    }
    Ok(out)
}

/// `{{ name }}` in an assertion value replaced with the test's var, as promptfoo renders values.
fn render(v: &Value, vars: &[(String, Value)]) -> Value {
    match v {
        Value::String(s) if s.contains("{{") => {
            let mut out = s.clone();
            for (k, val) in vars {
                let text = crate::domain::text_of(val).into_owned();
                for pat in [format!("{{{{{k}}}}}"), format!("{{{{ {k} }}}}")] {
                    out = out.replace(&pat, &text);
                }
            }
            Value::String(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(|x| render(x, vars)).collect()),
        other => other.clone(),
    }
}

/// A provider entry (`"openai:gpt-4o-mini"`, `{id, label, config}`) as a target, or why not.
fn provider_entry(v: &Value) -> Result<Value, String> {
    let (id, label, config) = match v {
        Value::String(s) => (s.as_str(), None, Map::new()),
        Value::Object(o) => (
            o.get("id").and_then(Value::as_str).unwrap_or(""),
            o.get("label").and_then(Value::as_str),
            o.get("config").and_then(Value::as_object).cloned().unwrap_or_default(),
        ),
        _ => return Err("not a provider id or object".into()),
    };
    let mut t = provider_target(id).ok_or_else(|| {
        format!("`{id}`: gavel targets are openai, anthropic, google, groq and azure_openai models, or an HTTP endpoint written by hand as {{url, body_template, response_path}}")
    })?;
    let mut params = Map::new();
    for (k, to) in [
        ("temperature", "temperature"),
        ("max_tokens", "max_tokens"),
        ("top_p", "top_p"),
        ("stop", "stop"),
        ("seed", "seed"),
    ] {
        if let Some(x) = config.get(k) {
            params.insert(to.into(), x.clone());
        }
    }
    if !params.is_empty() {
        t["params"] = Value::Object(params);
    }
    if let Some(l) = label {
        t["name"] = json!(l);
    }
    Ok(t)
}

/// A promptfoo prompt template with gavel's placeholders: the input var → `{{input}}`, `context` → `{{context}}`,
/// any other var → `{{metadata.NAME}}`.
fn prompt_template(p: &str, input_var: &str) -> Result<String, String> {
    if p.contains("{%") || p.contains("{#") {
        return Err("uses Nunjucks tags, which gavel templates do not have".into());
    }
    let mut out = String::new();
    let mut rest = p;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find("}}").ok_or("has an unclosed {{")?;
        let name = after[..end].trim();
        if !name.chars().all(|c| c.is_alphanumeric() || c == '_') {
            return Err(format!("uses `{{{{{name}}}}}`: filters and expressions do not map"));
        }
        out.push_str(&match name {
            n if n == input_var => "{{input}}".to_string(),
            "context" => "{{context}}".to_string(),
            n => format!("{{{{metadata.{n}}}}}"),
        });
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The item of one test: input, output and context from vars, the rest in metadata.
fn item_of(t: &Test, n: usize) -> (Map<String, Value>, String) {
    let input_var = INPUT_VARS
        .iter()
        .find(|k| t.vars.iter().any(|(v, _)| v == *k))
        .map(|s| s.to_string())
        .or_else(|| t.vars.iter().map(|(k, _)| k.clone()).find(|k| k != "context" && k != "output"))
        .unwrap_or_default();
    let mut item = Map::new();
    item.insert("id".into(), json!(t.description.clone().unwrap_or_else(|| format!("test-{n}"))));
    let mut meta = t.metadata.clone();
    for (k, v) in &t.vars {
        match k.as_str() {
            k if k == input_var => drop(item.insert("input".into(), v.clone())),
            "output" => drop(item.insert("output".into(), v.clone())),
            "context" => drop(item.insert("context".into(), v.clone())),
            _ => drop(meta.insert(k.clone(), v.clone())),
        }
    }
    item.entry("input").or_insert(json!(""));
    if !meta.is_empty() {
        item.insert("metadata".into(), Value::Object(meta));
    }
    (item, input_var)
}

/// Convert a parsed promptfoo config; `base` is its directory (for `file://` references).
pub fn convert(doc: &serde_norway::Value, base: &Path) -> anyhow::Result<Converted> {
    let mut unmapped = Vec::new();
    let mut notes: Vec<String> = Vec::new();
    let tests = load_tests(doc.get("tests"), base)?;
    if tests.is_empty() {
        return Err(usage("the promptfoo config has no tests"));
    }
    let default_asserts = match doc.get("defaultTest") {
        Some(serde_norway::Value::String(r)) => to_json(&yaml(&read(base, r)?.1, Path::new(r))?)["assert"].clone(),
        Some(d) => to_json(d)["assert"].clone(),
        None => Value::Null,
    };
    let default_asserts = default_asserts.as_array().cloned().unwrap_or_default();
    let mut items = Vec::new();
    let mut input_vars = Vec::new();
    // key (kind, config, name) → per test: its value (None: the test does not have it).
    let mut groups: Vec<(Mapped, Vec<Option<Option<Value>>>)> = Vec::new();
    for (n, t) in tests.iter().enumerate() {
        let (item, input_var) = item_of(t, n + 1);
        items.push(item);
        input_vars.push(input_var);
        let place = match &t.description {
            Some(d) => format!("test {} {d:?}", n + 1),
            None => format!("test {}", n + 1),
        };
        let all = default_asserts
            .iter()
            .map(|a| ("defaultTest".to_string(), a))
            .chain(t.asserts.iter().map(|a| (place.clone(), a)));
        for (i, (where_, a)) in all.enumerate() {
            let a = match a {
                Value::Object(o) => {
                    let mut o = o.clone();
                    if let Some(v) = o.get("value") {
                        let v = match v {
                            Value::String(s) if s.starts_with("file://") => {
                                let (p, text) = read(base, s)?;
                                if matches!(p.extension().and_then(|x| x.to_str()), Some("json" | "yaml" | "yml")) {
                                    to_json(&yaml(&text, &p)?)
                                } else {
                                    json!(text)
                                }
                            }
                            v => render(v, &t.vars),
                        };
                        o.insert("value".into(), v);
                    }
                    Value::Object(o)
                }
                other => other.clone(),
            };
            let ty = a["type"].as_str().unwrap_or("?").to_string();
            let idx = if where_ == "defaultTest" { i } else { i - default_asserts.len() };
            if a.get("weight").and_then(Value::as_f64).is_some_and(|w| w != 1.0) {
                notes.push(format!(
                    "{where_}: assert[{idx}] {ty}: `weight` ignored (a gavel item passes when all its scorers pass)"
                ));
            }
            match map_assertion(&a) {
                Err(why) => {
                    if where_ != "defaultTest" || n == 0 {
                        unmapped.push(Unmapped { place: where_.clone(), what: format!("assert[{idx}] {ty}"), why });
                    }
                }
                Ok(m) => {
                    if let Some(note) = &m.note {
                        if !notes.contains(note) {
                            notes.push(note.clone());
                        }
                    }
                    let key = |g: &Mapped| g.kind == m.kind && g.config == m.config && g.name == m.name;
                    let pos = match groups.iter().position(|(g, _)| key(g)) {
                        Some(p) => p,
                        None => {
                            groups.push((m.clone(), vec![None; tests.len()]));
                            groups.len() - 1
                        }
                    };
                    let slot = &mut groups[pos].1[n];
                    if slot.is_some() && *slot != Some(m.value.clone()) {
                        unmapped.push(Unmapped { place: where_.clone(), what: format!("assert[{idx}] {ty}"), why: "a second assertion of this type with another value in the same test; gavel has one scorer of each kind and config per run".into() });
                    } else {
                        *slot = Some(m.value.clone());
                    }
                }
            }
        }
    }
    let mut scorers = Vec::new();
    let mut expected_by: Option<String> = None;
    for (m, per_test) in groups {
        let label = m.name.clone().unwrap_or_else(|| m.kind.clone());
        let missing: Vec<usize> =
            per_test.iter().enumerate().filter(|(_, v)| v.is_none()).map(|(i, _)| i + 1).collect();
        if !missing.is_empty() {
            let on = tests.len() - missing.len();
            unmapped.push(Unmapped {
                place: format!("tests {}", list(&per_test, |v| v.is_some())),
                what: label,
                why: format!(
                    "on {on} of {} tests only: gavel runs every scorer on every item (missing on tests {})",
                    tests.len(),
                    join(&missing)
                ),
            });
            continue;
        }
        let values: Vec<Option<Value>> = per_test.into_iter().flatten().collect();
        let same = values.windows(2).all(|w| w[0] == w[1]);
        let mut config = m.config.clone();
        let to_expected = match m.reference {
            Reference::None => false,
            Reference::ConfigOrExpected(k) | Reference::ConfigOnly(k) if same => {
                config.insert(k.into(), values[0].clone().unwrap_or(Value::Null));
                false
            }
            Reference::ConfigOnly(_) => {
                unmapped.push(Unmapped {
                    place: "tests".into(),
                    what: label,
                    why: "its value differs per test, and this gavel scorer takes one value per run".into(),
                });
                continue;
            }
            Reference::ConfigOrExpected(_) | Reference::ExpectedOnly => true,
        };
        if to_expected {
            if let Some(other) = &expected_by {
                unmapped.push(Unmapped { place: "tests".into(), what: label, why: format!("its value differs per test, and only one per-test value can ride in an item's `expected` (taken by {other})") });
                continue;
            }
            expected_by = Some(label.clone());
            for (item, v) in items.iter_mut().zip(&values) {
                item.insert("expected".into(), v.clone().unwrap_or(Value::Null));
            }
            if m.kind == "llm_judge" {
                config.insert("rubric".into(), json!(CRITERION_RUBRIC));
                notes.push(format!(
                    "{label}: the per-test rubric is in each item's `expected`, graded by a criterion rubric"
                ));
            }
        }
        let config = (!config.is_empty()).then_some(Value::Object(config));
        scorers.push(if config.is_none() && m.name.is_none() {
            ScorerEntry::Name(m.kind)
        } else {
            ScorerEntry::Inline(InlineEntry { name: m.name, kind: m.kind, config })
        });
    }
    let has_output = items.iter().all(|i| i.contains_key("output"));
    let (target, targets) = if has_output {
        if doc.get("providers").is_some() {
            notes.push("every test has an `output` var: the providers are not called".into());
        }
        (None, None)
    } else {
        targets_of(doc, base, &input_vars, &mut unmapped)?
    };
    let labels: BTreeMap<String, String> = to_json(doc.get("tags").unwrap_or(&serde_norway::Value::Null))
        .as_object()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), crate::domain::text_of(v).into_owned())).collect())
        .unwrap_or_default();
    let file = EvalFile {
        name: doc.get("description").and_then(|d| d.as_str()).map(|s| s.chars().take(200).collect()),
        items: items.into_iter().map(Value::Object).collect(),
        scorers,
        target,
        targets,
        labels,
        ..Default::default()
    };
    Ok(Converted { file, unmapped, notes })
}

fn join(v: &[usize]) -> String {
    v.iter().map(usize::to_string).collect::<Vec<_>>().join(", ")
}

fn list<T>(v: &[T], f: impl Fn(&T) -> bool) -> String {
    join(&v.iter().enumerate().filter(|(_, x)| f(x)).map(|(i, _)| i + 1).collect::<Vec<_>>())
}

/// `prompts` × `providers` as `target` (one) or `targets` (a matrix).
#[allow(clippy::type_complexity)]
fn targets_of(
    doc: &serde_norway::Value,
    base: &Path,
    input_vars: &[String],
    unmapped: &mut Vec<Unmapped>,
) -> anyhow::Result<(Option<Value>, Option<Vec<Value>>)> {
    let input_var = input_vars.first().cloned().unwrap_or_default();
    let mut prompts = Vec::new();
    let raw: Vec<Value> = match to_json(doc.get("prompts").unwrap_or(&serde_norway::Value::Null)) {
        Value::Array(a) => a,
        Value::Null => Vec::new(),
        other => vec![other],
    };
    for (i, p) in raw.iter().enumerate() {
        let text = match p {
            Value::String(s) if s.starts_with("file://") => {
                let (path, text) = read(base, s)?;
                if matches!(path.extension().and_then(|x| x.to_str()), Some("json" | "yaml" | "yml" | "js" | "py")) {
                    unmapped.push(Unmapped { place: "prompts".into(), what: format!("prompts[{i}] {s}"), why: "chat-message and code prompts do not map; gavel's target takes a `prompt` and a `system_prompt`".into() });
                    continue;
                }
                text
            }
            Value::String(s) => s.clone(),
            Value::Object(o) => o.get("raw").and_then(Value::as_str).unwrap_or("").to_string(),
            _ => String::new(),
        };
        match prompt_template(&text, &input_var) {
            Ok(t) => prompts.push(t),
            Err(why) => unmapped.push(Unmapped { place: "prompts".into(), what: format!("prompts[{i}]"), why }),
        }
    }
    let providers: Vec<Value> = match to_json(doc.get("providers").unwrap_or(&serde_norway::Value::Null)) {
        Value::Array(a) => a,
        Value::Null => Vec::new(),
        Value::Object(o) => o.into_iter().map(|(id, cfg)| json!({"id": id, "config": cfg["config"]})).collect(),
        other => vec![other],
    };
    let mut mapped = Vec::new();
    for (i, p) in providers.iter().enumerate() {
        match provider_entry(p) {
            Ok(t) => mapped.push(t),
            Err(why) => unmapped.push(Unmapped { place: "providers".into(), what: format!("providers[{i}]"), why }),
        }
    }
    if mapped.is_empty() {
        unmapped.push(Unmapped { place: "tests".into(), what: "outputs".into(), why: "the tests have no `output` var and no provider maps to a gavel target, so nothing would produce the outputs".into() });
        return Ok((None, None));
    }
    let prompts = if prompts.is_empty() { vec!["{{input}}".to_string()] } else { prompts };
    let mut all = Vec::new();
    for t in &mapped {
        for (j, p) in prompts.iter().enumerate() {
            let mut t = t.clone();
            t["prompt"] = json!(p);
            if prompts.len() > 1 || mapped.len() > 1 {
                let who = t["name"].as_str().map(str::to_string).unwrap_or_else(|| {
                    format!("{}/{}", t["provider"].as_str().unwrap_or(""), t["model"].as_str().unwrap_or(""))
                });
                t["name"] = json!(if prompts.len() > 1 { format!("{who} prompt {}", j + 1) } else { who });
            }
            all.push(t);
        }
    }
    Ok(if all.len() == 1 { (all.pop(), None) } else { (None, Some(all)) })
}

impl Converted {
    /// The equivalent gavel.eval.toml, with what did not map as comments at the top.
    pub fn to_toml(&self) -> anyhow::Result<String> {
        let mut s =
            String::from("# Converted by `gavel eval --from-promptfoo`. Add `project = \"…\"` (or pass --project).\n");
        for n in &self.notes {
            s.push_str(&format!("# note: {}\n", n.replace('\n', " ")));
        }
        for u in &self.unmapped {
            s.push_str(&format!("# NOT MAPPED: {}: {}: {}\n", u.place, u.what, u.why.replace('\n', " ")));
        }
        s.push('\n');
        s.push_str(&toml::to_string(&self.file).map_err(|e| usage(format!("writing the evaluation file: {e}")))?);
        Ok(s)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
#[path = "tests_promptfoo.rs"]
mod tests;
