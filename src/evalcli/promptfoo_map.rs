//! promptfoo assertion types → gavel scorers, one assertion at a time. Which scorers a whole config becomes (one
//! scorer runs on every item, so per-test values must line up) is decided in `promptfoo.rs`.

use serde_json::{json, Map, Value};

/// Where an assertion's per-test value goes in gavel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Reference {
    /// No value (is-json, answer-relevance, …).
    None,
    /// In the scorer's config under this key when all tests agree, else in the item's `expected`.
    ConfigOrExpected(&'static str),
    /// In the scorer's config under this key; a value that differs per test cannot be mapped.
    ConfigOnly(&'static str),
    /// Only in the item's `expected` (factuality's reference answer).
    ExpectedOnly,
}

/// One assertion mapped to a scorer type and config, its value kept apart.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Mapped {
    pub kind: String,
    pub config: Map<String, Value>,
    pub name: Option<String>,
    pub reference: Reference,
    pub value: Option<Value>,
    /// What is not exact about this mapping, said once per config.
    pub note: Option<String>,
}

/// The rubric of an `llm_judge` whose per-item criterion rides in the item's `expected` (our own wording).
pub(crate) const CRITERION_RUBRIC: &str = "The EXPECTED block holds this item's grading criterion, not a reference \
answer. Does the OUTPUT meet that criterion? Score 1.0 when it meets it fully, 0.5 when it meets it in part, 0.0 when \
it does not.";

/// Why a promptfoo type has no gavel equivalent (None: the type maps).
fn unmappable(kind: &str) -> Option<&'static str> {
    Some(match kind {
        "javascript" | "python" | "ruby" => "runs your code; gavel runs no user code: write it as a regex_match or json_schema, or score outside and send the outputs",
        "webhook" => "calls your webhook; gavel makes no calls to arbitrary URLs while scoring",
        "cost" | "latency" => "a per-call cost or latency bound; gavel reports cost and latency per run but does not gate items on them",
        "similar" => "embedding similarity; gavel has no embedding scorer (levenshtein or answer_correctness may serve)",
        "context-relevance" | "context-recall" => "a retrieval-quality metric; gavel has no such scorer",
        "moderation" => "calls OpenAI's moderation endpoint; gavel's `toxicity` metric is a judge, add it deliberately",
        "perplexity" | "perplexity-score" => "needs token log-probabilities, which gavel does not collect",
        "rouge-n" | "bleu" | "gleu" | "meteor" | "f-score" => "an n-gram overlap metric gavel does not have",
        "classifier" => "runs a HuggingFace classifier; gavel runs no local models",
        "select-best" | "max-score" => "compares the outputs of several prompts; use gavel compare or a matrix instead",
        "is-sql" | "contains-sql" | "is-xml" | "contains-xml" | "is-html" | "contains-html" => "gavel has no SQL/XML/HTML validator",
        "is-valid-openai-function-call" | "is-valid-openai-tools-call" | "is-valid-function-call" | "tool-call-f1" => {
            "checks tool calls; gavel scores text outputs"
        }
        "finish-reason" | "is-refusal" | "guardrails" | "trace-span-count" | "trace-span-duration" | "trace-error-spans" => {
            "needs provider response details gavel does not keep"
        }
        "assert-set" => "a nested set of assertions with its own threshold; list the assertions directly",
        "search-rubric" => "a judge with web search; gavel's judges have no network tools",
        "pi" => "scores with Pi Labs' scorer service",
        _ => return None,
    })
}

fn num(a: &Value, k: &str) -> Option<f64> {
    a.get(k).and_then(Value::as_f64)
}

/// A promptfoo `provider` on a model-graded assertion (the grader) as judge config.
fn grader(a: &Value, config: &mut Map<String, Value>) {
    let id = match a.get("provider") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Object(o)) => o.get("id").and_then(Value::as_str).unwrap_or("").to_string(),
        _ => return,
    };
    if let Some(t) = provider_target(&id) {
        config.insert("provider".into(), t["provider"].clone());
        config.insert("model".into(), t["model"].clone());
    }
}

/// Map one assertion (`value` already rendered with the test's vars). Err: why it cannot be mapped.
pub(crate) fn map_assertion(a: &Value) -> Result<Mapped, String> {
    let Some(full) = a.get("type").and_then(Value::as_str) else {
        return Err("has no `type`".into());
    };
    if a.get("transform").is_some() {
        return Err("has a `transform`, which is JavaScript; gavel runs no user code".into());
    }
    let (negated, kind) = match full.strip_prefix("not-") {
        Some(k) => (true, k),
        None => (false, full),
    };
    if let Some(why) = unmappable(kind) {
        return Err(why.into());
    }
    let value = a.get("value").cloned().filter(|v| !v.is_null());
    let mut config = Map::new();
    let mut note = None;
    let (gavel, reference) = match (kind, negated) {
        ("equals", false) => ("equals", Reference::ConfigOrExpected("value")),
        ("contains", false) => ("contains", Reference::ConfigOrExpected("value")),
        ("contains", true) => ("not_contains", Reference::ConfigOrExpected("value")),
        ("icontains", false) => ("icontains", Reference::ConfigOrExpected("value")),
        ("icontains", true) => return Err("gavel's not_contains is case-sensitive: no case-blind negation".into()),
        ("contains-all" | "icontains-all" | "contains-any" | "icontains-any", _) => {
            let any = kind.ends_with("-any");
            let case_blind = kind.starts_with('i');
            // not-contains-all: at least one is absent (not_contains, any); not-contains-any: all are absent.
            let (gavel, mode) = match (negated, case_blind) {
                (false, false) => ("contains", if any { "any" } else { "all" }),
                (false, true) => ("icontains", if any { "any" } else { "all" }),
                (true, false) => ("not_contains", if any { "all" } else { "any" }),
                (true, true) => return Err("gavel's not_contains is case-sensitive: no case-blind negation".into()),
            };
            config.insert("mode".into(), json!(mode));
            (gavel, Reference::ConfigOrExpected("values"))
        }
        ("starts-with", false) => ("starts_with", Reference::ConfigOrExpected("value")),
        ("regex", false) => {
            note = Some("regex: promptfoo uses JavaScript regular expressions, gavel the Rust `regex` syntax (with look-around rewritten); most patterns mean the same".into());
            ("regex_match", Reference::ConfigOnly("pattern"))
        }
        ("levenshtein", false) => return levenshtein(a, value),
        ("is-json" | "contains-json", false) => {
            if kind == "contains-json" {
                note = Some("contains-json: gavel's json_valid/json_schema need the whole output to be JSON, stricter than promptfoo's JSON-anywhere-in-the-text".into());
            }
            match value {
                None => return Ok(Mapped::plain("json_valid", config, a, note)),
                Some(_) => ("json_schema", Reference::ConfigOnly("schema")),
            }
        }
        ("llm-rubric" | "model-graded-closedqa" | "g-eval", false) => {
            if kind != "llm-rubric" {
                note = Some(format!(
                    "{kind}: graded by gavel's judge prompt with the criterion as rubric, not promptfoo's own prompt"
                ));
            }
            if let Some(t) = num(a, "threshold") {
                config.insert("pass_threshold".into(), json!(t));
            }
            grader(a, &mut config);
            ("llm_judge", Reference::ConfigOrExpected("rubric"))
        }
        ("factuality", false) => {
            note = Some("factuality: mapped to answer_correctness, a judge of the output against the reference in `expected`; promptfoo's A–E categories are not reproduced".into());
            grader(a, &mut config);
            ("answer_correctness", Reference::ExpectedOnly)
        }
        ("answer-relevance" | "context-faithfulness", false) => {
            if let Some(t) = num(a, "threshold") {
                config.insert("pass_threshold".into(), json!(t));
            }
            grader(a, &mut config);
            let g = if kind == "answer-relevance" { "relevance" } else { "faithfulness" };
            return Ok(Mapped::plain(g, config, a, None));
        }
        (_, true) if unmappable(kind).is_none() && known(kind) => {
            return Err(format!("gavel has no negation of {kind}"));
        }
        _ => return Err(format!("`{full}` is not an assertion type gavel knows how to map")),
    };
    if value.is_none() && reference != Reference::None {
        return Err("has no `value`".into());
    }
    Ok(Mapped { kind: gavel.into(), config, name: metric(a), reference, value, note })
}

fn known(kind: &str) -> bool {
    matches!(
        kind,
        "equals"
            | "icontains"
            | "starts-with"
            | "regex"
            | "levenshtein"
            | "is-json"
            | "contains-json"
            | "llm-rubric"
            | "model-graded-closedqa"
            | "g-eval"
            | "factuality"
            | "answer-relevance"
            | "context-faithfulness"
    )
}

fn metric(a: &Value) -> Option<String> {
    a.get("metric").and_then(Value::as_str).map(str::to_string)
}

impl Mapped {
    fn plain(kind: &str, config: Map<String, Value>, a: &Value, note: Option<String>) -> Mapped {
        Mapped { kind: kind.into(), config, name: metric(a), reference: Reference::None, value: None, note }
    }
}

/// promptfoo's default levenshtein threshold (an edit distance) when the assertion gives none.
pub(crate) const PROMPTFOO_LEVENSHTEIN_DEFAULT: f64 = 5.0;

/// promptfoo passes when distance ≤ d; gavel when similarity = 1 − distance / max(len(out), len(value)) ≥ t.
/// With t = 1 − d / L (L = the value's length) every output within d edits passes in gavel too, and, when
/// L > d·(d + 1), no output beyond d edits does (a longer output needs at least len − L edits, which makes its
/// similarity fall below t), so the two agree exactly; for shorter values some long outputs may pass in gavel only.
fn levenshtein(a: &Value, value: Option<Value>) -> Result<Mapped, String> {
    let Some(Value::String(v)) = value else {
        return Err("levenshtein needs a string `value`".into());
    };
    let d = num(a, "threshold").unwrap_or(PROMPTFOO_LEVENSHTEIN_DEFAULT);
    let len = v.chars().count() as f64;
    if !d.is_finite() || d < 0.0 || d >= len {
        return Err(format!(
            "levenshtein: an edit distance of {d} is not below the value's length {len}; gavel's similarity cannot say that"
        ));
    }
    let t = 1.0 - d / len;
    let exact = len > d * (d + 1.0);
    let mut config = Map::new();
    config.insert("value".into(), json!(v));
    config.insert("threshold".into(), json!((t * 1e6).floor() / 1e6));
    config.insert("normalize".into(), json!(false));
    let note = (!exact).then(|| {
        format!("levenshtein {v:?}: distance ≤ {d} became similarity ≥ {t:.4}; exact only for values longer than d·(d+1) = {} characters, so some much longer outputs may pass in gavel and not in promptfoo", d * (d + 1.0))
    });
    Ok(Mapped { kind: "levenshtein".into(), config, name: metric(a), reference: Reference::None, value: None, note })
}

/// A promptfoo provider id as a gavel target `{provider, model}` (None: not mappable).
pub(crate) fn provider_target(id: &str) -> Option<Value> {
    let parts: Vec<&str> = id.split(':').collect();
    let (provider, model) = match parts.as_slice() {
        ["openai", "chat" | "responses", m @ ..] | ["openai", m @ ..] if !m.is_empty() && m[0] != "completion" => {
            ("openai", m.join(":"))
        }
        ["anthropic", "messages", m @ ..] | ["anthropic", m @ ..] if !m.is_empty() => ("anthropic", m.join(":")),
        ["google", m @ ..] if !m.is_empty() => ("google", m.join(":")),
        ["groq", m @ ..] if !m.is_empty() => ("groq", m.join(":")),
        ["azure" | "azureopenai", "chat", m @ ..] if !m.is_empty() => ("azure_openai", m.join(":")),
        _ => return None,
    };
    Some(json!({"provider": provider, "model": model}))
}
