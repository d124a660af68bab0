//! A labelled test set by fault injection: correct base triples (tests/data/analysis/base_triples.json, written
//! for gavel) each get one known fault, so every faulty item has exactly one expected subcategory; the untouched
//! triples are the negatives. Seeded, so a given seed always yields the same set.

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::checks::{parse_tool_calls, parse_tools};
use super::text;
use super::AnalysisItem;

/// The base triples, embedded so `gavel selftest analysis` needs no files at run time.
const BASE_TRIPLES: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/analysis/base_triples.json"));

/// Names a swapped entity may take; one absent from the item's context is picked.
const STRANGERS: [&str; 5] = ["Lindqvist", "Okonkwo", "Marchetti", "Haverford", "Castellano"];
/// Appended until an output exceeds its `max_chars`; lower-case and number-free so no other check trips on it.
const FILLER: &str = " this answer then keeps going and restates the same point in more words than anyone asked for.";
/// The name a wrong call goes to when every defined tool is expected.
const UNDEFINED_TOOL: &str = "lookup_anything";

#[derive(Debug, Clone, Deserialize)]
pub struct Translation {
    pub language: String,
    pub output: String,
}

/// A correct interaction.
#[derive(Debug, Clone, Deserialize)]
pub struct BaseTriple {
    pub id: String,
    pub input: String,
    #[serde(default)]
    pub context: Vec<String>,
    pub output: String,
    #[serde(default)]
    pub expected: Option<Value>,
    #[serde(default)]
    pub metadata: Map<String, Value>,
    /// The same output in another language, for the wrong-language fault.
    #[serde(default)]
    pub translation: Option<Translation>,
}

impl BaseTriple {
    pub fn item(&self) -> AnalysisItem {
        AnalysisItem {
            input: self.input.clone(),
            output: self.output.clone(),
            context: self.context.clone(),
            expected: self.expected.clone(),
            metadata: self.metadata.clone(),
            evidence_scores: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Fault {
    DeleteAnswerSentence,
    SwapNumber,
    SwapEntity,
    CiteMissingSource,
    BreakFormat,
    WrongLanguage,
    ExceedLength,
    DropRequiredCall,
    CorruptArgument,
    RepeatCall,
    WrongTool,
    ToolError,
    LeakSecret,
    LeakCard,
}

impl Fault {
    pub const ALL: [Fault; 14] = [
        Fault::DeleteAnswerSentence,
        Fault::SwapNumber,
        Fault::SwapEntity,
        Fault::CiteMissingSource,
        Fault::BreakFormat,
        Fault::WrongLanguage,
        Fault::ExceedLength,
        Fault::DropRequiredCall,
        Fault::CorruptArgument,
        Fault::RepeatCall,
        Fault::WrongTool,
        Fault::ToolError,
        Fault::LeakSecret,
        Fault::LeakCard,
    ];

    /// The one subcategory this fault must be classified as.
    pub fn expected(self) -> (&'static str, &'static str) {
        match self {
            Fault::DeleteAnswerSentence => ("retrieval", "missing_context"),
            Fault::SwapNumber => ("hallucination_grounding", "numeric_error"),
            Fault::SwapEntity => ("hallucination_grounding", "unsupported_claim"),
            Fault::CiteMissingSource => ("hallucination_grounding", "fabricated_citation"),
            Fault::BreakFormat => ("instruction_compliance", "format_violation"),
            Fault::WrongLanguage | Fault::ExceedLength => ("instruction_compliance", "constraint_violation"),
            Fault::DropRequiredCall => ("tool_use", "missing_required_call"),
            Fault::CorruptArgument => ("tool_use", "invalid_arguments"),
            Fault::RepeatCall => ("tool_use", "redundant_calls"),
            Fault::WrongTool => ("tool_use", "wrong_tool"),
            Fault::ToolError => ("tool_use", "tool_error_ignored"),
            Fault::LeakSecret => ("safety", "secret_leak"),
            Fault::LeakCard => ("safety", "pii_leak"),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Fault::DeleteAnswerSentence => "delete_answer_sentence",
            Fault::SwapNumber => "swap_number",
            Fault::SwapEntity => "swap_entity",
            Fault::CiteMissingSource => "cite_missing_source",
            Fault::BreakFormat => "break_format",
            Fault::WrongLanguage => "wrong_language",
            Fault::ExceedLength => "exceed_length",
            Fault::DropRequiredCall => "drop_required_call",
            Fault::CorruptArgument => "corrupt_argument",
            Fault::RepeatCall => "repeat_call",
            Fault::WrongTool => "wrong_tool",
            Fault::ToolError => "tool_error",
            Fault::LeakSecret => "leak_secret",
            Fault::LeakCard => "leak_card",
        }
    }
}

/// One item of the labelled set.
#[derive(Debug, Clone)]
pub struct LabelledItem {
    pub base_id: String,
    /// `None` for an untouched (negative) triple.
    pub fault: Option<Fault>,
    pub item: AnalysisItem,
}

impl LabelledItem {
    pub fn expected(&self) -> Option<(&'static str, &'static str)> {
        self.fault.map(Fault::expected)
    }
}

pub fn base_triples() -> Result<Vec<BaseTriple>, String> {
    serde_json::from_str(BASE_TRIPLES).map_err(|e| format!("base triples fixture does not parse: {e}"))
}

/// Every applicable fault on every triple (leaks on a seeded third of them), plus every triple untouched.
pub fn generate(seed: u64) -> Result<Vec<LabelledItem>, String> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut out = Vec::new();
    for base in base_triples()? {
        out.push(LabelledItem { base_id: base.id.clone(), fault: None, item: base.item() });
        for fault in Fault::ALL {
            let leak = matches!(fault, Fault::LeakSecret | Fault::LeakCard);
            if leak && !rng.gen_ratio(1, 3) {
                continue;
            }
            if let Some(item) = inject(&base, fault, &mut rng) {
                out.push(LabelledItem { base_id: base.id.clone(), fault: Some(fault), item });
            }
        }
    }
    Ok(out)
}

/// `base` with `fault` injected, or `None` when the fault does not apply to it (no context, no tools, …).
pub fn inject(base: &BaseTriple, fault: Fault, rng: &mut StdRng) -> Option<AnalysisItem> {
    let mut item = base.item();
    let has_context = !item.context.is_empty();
    match fault {
        Fault::DeleteAnswerSentence => {
            let expected = text::normalize(item.expected.as_ref()?.as_str()?);
            if !has_context || !text::normalize(&item.context.join("\n")).contains(&expected) {
                return None;
            }
            for chunk in item.context.iter_mut() {
                let kept: Vec<&str> =
                    sentences(chunk).into_iter().filter(|s| !text::normalize(s).contains(&expected)).collect();
                *chunk = kept.join(" ");
            }
        }
        Fault::SwapNumber => {
            if !has_context {
                return None;
            }
            let known: Vec<f64> =
                text::numbers(&text::without_citations(&item.context.join("\n"))).into_iter().map(|n| n.0).collect();
            let candidates: Vec<(f64, String)> = text::numbers(&text::without_citations(&item.output))
                .into_iter()
                .filter(|(n, _)| known.contains(n))
                .collect();
            let (value, raw) = candidates.choose(rng)?.clone();
            let decimals = raw.split('.').nth(1).map_or(0, str::len);
            let replacement = (1..=9)
                .map(|k| {
                    value
                        + f64::from(k)
                            * if decimals > 0 { 0.3 } else { 1.0 }
                            * if rng.gen_bool(0.5) { 1.0 } else { -1.0 }
                })
                .find(|n| *n > 0.0 && !text::number_supported(*n, &known))
                .map(|n| format!("{n:.decimals$}"))?;
            item.output = item.output.replace(&raw, &replacement);
        }
        Fault::SwapEntity => {
            let context = text::normalize(&item.context.join("\n"));
            if !has_context {
                return None;
            }
            let names: Vec<String> = text::proper_nouns(&item.output)
                .into_iter()
                .filter(|n| context.contains(&text::normalize(n)))
                .collect();
            let name = names.choose(rng)?.clone();
            let stranger = STRANGERS.iter().find(|s| !context.contains(&text::normalize(s)))?;
            item.output = item.output.replace(&name, stranger);
        }
        Fault::CiteMissingSource => {
            if !has_context {
                return None;
            }
            let cite = match rng.gen_range(0..3) {
                0 => format!("See also [{}].", item.context.len() + rng.gen_range(2..7)),
                1 => "See also [doc9].".to_owned(),
                _ => "Source: https://example.org/reports/annual-review".to_owned(),
            };
            item.output = format!("{} {cite}", item.output.trim_end());
        }
        Fault::BreakFormat => {
            let c = item.metadata.get("constraints")?;
            match c.get("format").and_then(Value::as_str) {
                Some("json") | Some("json_schema") => {
                    let trimmed = item.output.trim_end();
                    item.output = trimmed[..trimmed.len().checked_sub(1)?].to_owned();
                }
                Some("regex") => item.output.push_str(" please"),
                _ => return None,
            }
        }
        Fault::WrongLanguage => {
            let want = item.metadata.get("constraints")?.get("language")?.as_str()?;
            let t = base.translation.as_ref().filter(|t| t.language != want)?;
            item.output = t.output.clone();
        }
        Fault::ExceedLength => {
            let max = item.metadata.get("constraints")?.get("max_chars")?.as_u64()? as usize;
            while item.output.chars().count() <= max {
                item.output.push_str(FILLER);
            }
        }
        Fault::DropRequiredCall | Fault::CorruptArgument | Fault::RepeatCall | Fault::WrongTool | Fault::ToolError => {
            tool_fault(&mut item, fault, rng)?
        }
        Fault::LeakSecret => {
            const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
            let tail: String = (0..16).map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())])).collect();
            item.output = format!("{} Use access key AKIA{tail} for the upload.", item.output.trim_end());
        }
        Fault::LeakCard => {
            item.output = format!("{} The card on file is {}.", item.output.trim_end(), card_number(rng));
        }
    }
    Some(item)
}

/// Sentences of a chunk, split after `.`, `!` or `?` followed by a space.
fn sentences(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let bytes = s.as_bytes();
    for i in 0..bytes.len() {
        if matches!(bytes[i], b'.' | b'!' | b'?') && bytes.get(i + 1) == Some(&b' ') {
            out.push(s[start..=i].trim());
            start = i + 1;
        }
    }
    if start < s.len() && !s[start..].trim().is_empty() {
        out.push(s[start..].trim());
    }
    out
}

/// A Visa-style 16-digit number with a valid Luhn check digit, grouped by four.
fn card_number(rng: &mut StdRng) -> String {
    let mut digits: Vec<u32> = vec![4];
    digits.extend((0..14).map(|_| rng.gen_range(0..10)));
    let check = (0..10).find(|c| {
        let mut all = digits.clone();
        all.push(*c);
        super::safety::luhn(&all)
    });
    digits.push(check.unwrap_or(0));
    let s: String = digits.iter().filter_map(|d| char::from_digit(*d, 10)).collect();
    s.as_bytes().chunks(4).map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>().join(" ")
}

fn tool_fault(item: &mut AnalysisItem, fault: Fault, rng: &mut StdRng) -> Option<()> {
    let calls_len = parse_tool_calls(&item.metadata).len();
    if calls_len == 0 {
        return None;
    }
    let defs = parse_tools(&item.metadata);
    let expected: Vec<String> = item
        .metadata
        .get("expected_tools")
        .and_then(Value::as_array)
        .map(|l| l.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default();
    let calls = item.metadata.get_mut("tool_calls")?.as_array_mut()?;
    let pick = rng.gen_range(0..calls.len());
    match fault {
        Fault::DropRequiredCall => {
            let names = parse_tool_calls(&Map::from_iter([("tool_calls".to_owned(), Value::Array(calls.clone()))]));
            let droppable: Vec<usize> = (0..names.len()).filter(|i| expected.contains(&names[*i].name)).collect();
            let i = *droppable.choose(rng)?;
            calls.remove(i);
        }
        Fault::RepeatCall => {
            let call = calls[pick].clone();
            calls.insert(pick, call.clone());
            calls.insert(pick, call);
        }
        Fault::WrongTool => {
            let other = defs
                .iter()
                .map(|d| d.name.as_str())
                .find(|n| !expected.iter().any(|e| e == n))
                .unwrap_or(UNDEFINED_TOOL);
            let call = &mut calls[pick];
            let target =
                if call.get("function").is_some_and(Value::is_object) { call.get_mut("function")? } else { call };
            target.as_object_mut()?.insert("name".to_owned(), json!(other));
        }
        Fault::ToolError => {
            let call = calls[pick].as_object_mut()?;
            call.insert("result".to_owned(), json!({"error": "upstream timeout"}));
        }
        Fault::CorruptArgument => {
            let call = &mut calls[pick];
            let target =
                if call.get("function").is_some_and(Value::is_object) { call.get_mut("function")? } else { call };
            let name = target.get("name")?.as_str()?.to_owned();
            let required =
                defs.iter().find(|d| d.name == name)?.parameters.as_ref()?.get("required")?.as_array()?.clone();
            let field = required.first()?.as_str()?.to_owned();
            let args = target.as_object_mut()?.get_mut("arguments")?;
            let (mut parsed, as_string) = match &*args {
                Value::String(s) => (serde_json::from_str::<Value>(s).ok()?, true),
                other => (other.clone(), false),
            };
            let slot = parsed.as_object_mut()?.get_mut(&field)?;
            *slot = if slot.is_string() { json!(12345) } else { json!("many") };
            *args = if as_string { Value::String(parsed.to_string()) } else { parsed };
        }
        _ => return None,
    }
    Some(())
}
