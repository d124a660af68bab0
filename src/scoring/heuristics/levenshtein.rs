//! `levenshtein`: edit-distance similarity between the output and a reference text.
//!
//! This runs once per item on runs of 100,000 items, so the distance works on reusable per-thread buffers (no
//! allocation per call once warm), takes a byte fast path for ASCII, and strips the common prefix and suffix first,
//! which makes near-identical strings — the common case for a passing output — almost free.

use std::borrow::Cow;
use std::cell::RefCell;

use serde_json::Value;

use super::config::Config;
use super::fold::TextForm;
use super::{expected_text, ConfigError, ItemView, Outcome};

const DEFAULT_THRESHOLD: f64 = 0.8;
/// Similarities are ratios of small integers, so one that equals the threshold mathematically (4/5 against 0.8)
/// can land an ulp below it; this tolerance keeps such items passing.
const THRESHOLD_TOLERANCE: f64 = 1e-9;

/// Buffers above this many elements are released after use, so one huge item does not pin memory on every worker.
const KEEP_CAPACITY: usize = 1 << 16;

#[derive(Default)]
struct Scratch {
    left: Vec<char>,
    right: Vec<char>,
    row: Vec<usize>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// Levenshtein similarity as the contract defines it (chars). Public for property tests and reuse.
///
/// `1 − distance / max(len(a), len(b))` with lengths in Unicode scalar values, and 1 when both are empty, so the
/// value is comparable across scripts: `"東京"` vs `"京都"` is one edit per character, not per UTF-8 byte.
pub fn levenshtein_similarity(a: &str, b: &str) -> f64 {
    // The error cannot happen with no bound; 0 is the honest floor if it ever did.
    bounded_similarity(a, b, u64::MAX).unwrap_or(0.0)
}

/// [`levenshtein_similarity`], refusing to fill a table of more than `max_cells` cells; the error is the size
/// (chars × chars of the parts that differ) it would have needed.
fn bounded_similarity(a: &str, b: &str, max_cells: u64) -> Result<f64, TooLarge> {
    if a == b {
        return Ok(1.0);
    }
    let (distance, longest) = SCRATCH
        .try_with(|scratch| match scratch.try_borrow_mut() {
            Ok(mut scratch) => measure(a, b, max_cells, &mut scratch),
            Err(_) => measure(a, b, max_cells, &mut Scratch::default()),
        })
        .unwrap_or_else(|_| measure(a, b, max_cells, &mut Scratch::default()))?;
    Ok(if longest == 0 { 1.0 } else { 1.0 - distance as f64 / longest as f64 })
}

/// The table an item would need: `long × short` chars after the common prefix and suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct TooLarge {
    long: usize,
    short: usize,
}

/// Returns the distance and the longer length, both in chars.
fn measure(a: &str, b: &str, max_cells: u64, scratch: &mut Scratch) -> Result<(usize, usize), TooLarge> {
    let result = if a.is_ascii() && b.is_ascii() {
        distance(a.as_bytes(), b.as_bytes(), max_cells, &mut scratch.row).map(|d| (d, a.len().max(b.len())))
    } else {
        scratch.left.clear();
        scratch.left.extend(a.chars());
        scratch.right.clear();
        scratch.right.extend(b.chars());
        let longest = scratch.left.len().max(scratch.right.len());
        distance(&scratch.left, &scratch.right, max_cells, &mut scratch.row).map(|d| (d, longest))
    };
    for buffer in [&mut scratch.left, &mut scratch.right] {
        if buffer.capacity() > KEEP_CAPACITY {
            *buffer = Vec::new();
        }
    }
    if scratch.row.capacity() > KEEP_CAPACITY {
        scratch.row = Vec::new();
    }
    result
}

/// Classic two-row dynamic programme over the parts that differ; `row` is caller-owned so it can be reused.
/// The table's size is checked before it is filled: it is the whole cost, and it grows with the product.
fn distance<T: PartialEq>(a: &[T], b: &[T], max_cells: u64, row: &mut Vec<usize>) -> Result<usize, TooLarge> {
    let prefix = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let (a, b) = (&a[prefix..], &b[prefix..]);
    let suffix = a.iter().rev().zip(b.iter().rev()).take_while(|(x, y)| x == y).count();
    let (a, b) = (&a[..a.len() - suffix], &b[..b.len() - suffix]);
    // Keep the row as short as possible.
    let (long, short) = if a.len() >= b.len() { (a, b) } else { (b, a) };
    if short.is_empty() {
        return Ok(long.len());
    }
    if (long.len() as u64).saturating_mul(short.len() as u64) > max_cells {
        return Err(TooLarge { long: long.len(), short: short.len() });
    }
    row.clear();
    row.extend(0..=short.len());
    for (i, x) in long.iter().enumerate() {
        // `diagonal` is the previous row's value at j, `row[j]` already holds this row's value at j.
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, y) in short.iter().enumerate() {
            let above = row[j + 1];
            let substitution = if x == y { diagonal } else { diagonal + 1 };
            row[j + 1] = substitution.min(above + 1).min(row[j] + 1);
            diagonal = above;
        }
    }
    Ok(row[short.len()])
}

pub(super) struct Levenshtein {
    /// The configured reference, already in the compared form.
    value: Option<String>,
    threshold: f64,
    form: TextForm,
    /// `runs.max_levenshtein_cells`.
    max_cells: u64,
}

impl Levenshtein {
    pub(super) fn compile(config: &Value, max_cells: u64) -> Result<Self, ConfigError> {
        let config = Config::new("levenshtein", config, &["value", "threshold", "ignore_case", "normalize"])?;
        let threshold = config.number("threshold")?.unwrap_or(DEFAULT_THRESHOLD);
        if !(0.0..=1.0).contains(&threshold) {
            return Err(ConfigError::new("config.threshold", format!("must be between 0 and 1, got {threshold}")));
        }
        let form =
            TextForm { normalize: config.bool("normalize", true)?, ignore_case: config.bool("ignore_case", false)? };
        let value = config.string("value")?.map(|value| form.apply(value).into_owned());
        Ok(Self { value, threshold, form, max_cells })
    }

    /// Both texts are compared in NFC (unless `normalize` is false) so that canonically equivalent spellings, such
    /// as "é" and "e\u{301}", have similarity 1 instead of counting as edits.
    pub(super) fn score(&self, item: &ItemView<'_>) -> Outcome {
        let reference: Cow<'_, str> = match &self.value {
            Some(value) => Cow::Borrowed(value.as_str()),
            None => match expected_text("levenshtein", item.expected) {
                Ok(text) => Cow::Owned(self.form.apply(&text).into_owned()),
                Err(outcome) => return outcome,
            },
        };
        let output = self.form.apply(item.output);
        let similarity = match bounded_similarity(&output, &reference, self.max_cells) {
            Ok(similarity) => similarity,
            Err(TooLarge { long, short }) => {
                return Outcome::limit_exceeded(
                    "the texts are too long to compare by edit distance",
                    format!(
                        "comparing {long} × {short} differing chars needs a table of more than {} cells \
                         (runs.max_levenshtein_cells); shorten the texts or raise the limit",
                        self.max_cells
                    ),
                )
            }
        };
        let pass = similarity >= self.threshold - THRESHOLD_TOLERANCE;
        Outcome { score: similarity, pass, reason: similarity_reason(similarity, self.threshold, pass), error: None }
    }
}

/// "similarity 0.83 ≥ 0.80"; more decimals only when two decimals would show equal numbers with a failing verdict.
fn similarity_reason(similarity: f64, threshold: f64, pass: bool) -> String {
    let sign = if pass { "≥" } else { "<" };
    let (shown, limit) = (format!("{similarity:.2}"), format!("{threshold:.2}"));
    if !pass && shown == limit {
        format!("similarity {similarity:.4} {sign} {threshold:.4}")
    } else {
        format!("similarity {shown} {sign} {limit}")
    }
}
