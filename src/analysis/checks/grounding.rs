//! Grounding, retrieval and arithmetic pre-checks: what the output says against what the context holds.

use std::sync::LazyLock;

use regex::Regex;

use super::super::text::{self, Citation};
use super::super::types::Decision;
use super::{Precheck, Prepared};

/// Share of the expected answer's content words that must be present for it to count as present.
const PRESENT: f64 = 0.8;
/// Below this share it counts as absent; in between the rule is unsure and leaves it to the judge.
const ABSENT: f64 = 0.5;
/// Relative tolerance when recomputing an equation written in the output.
const ARITHMETIC_TOLERANCE: f64 = 0.005;

#[allow(clippy::expect_used)]
static EQUATION: LazyLock<Regex> = LazyLock::new(|| {
    // A literal pattern: a typo fails every test at once.
    Regex::new(r"(\d[\d,]*(?:\.\d+)?)\s*([+\-−×x*/÷])\s*(\d[\d,]*(?:\.\d+)?)\s*=\s*(-?\d[\d,]*(?:\.\d+)?)")
        .expect("built-in pattern compiles")
});

fn num(s: &str) -> Option<f64> {
    s.replace(',', "").parse().ok()
}

/// Explicit equations in a text with their recomputed value: `(written, lhs, rhs result, computed)`.
fn equations(s: &str) -> Vec<(String, f64, f64)> {
    EQUATION
        .captures_iter(s)
        .filter_map(|c| {
            let a = num(c.get(1)?.as_str())?;
            let b = num(c.get(3)?.as_str())?;
            let written = num(c.get(4)?.as_str())?;
            let computed = match c.get(2)?.as_str() {
                "+" => a + b,
                "-" | "−" => a - b,
                "×" | "x" | "*" => a * b,
                _ if b != 0.0 => a / b,
                _ => return None,
            };
            Some((c.get(0)?.as_str().to_owned(), written, computed))
        })
        .collect()
}

pub(super) fn arithmetic_error(p: &Prepared<'_>) -> Precheck {
    let output = &p.item.output;
    if !output.chars().any(|c| c.is_ascii_digit()) {
        return Precheck::na("the output has no numbers");
    }
    let wrong: Vec<String> = equations(output)
        .into_iter()
        .filter(|(_, written, computed)| (written - computed).abs() > ARITHMETIC_TOLERANCE * computed.abs().max(1.0))
        .map(|(eq, _, computed)| format!("`{eq}` (it is {computed})"))
        .collect();
    if wrong.is_empty() {
        Precheck::open()
    } else {
        Precheck::fail(0.95, format!("wrong calculation: {}", wrong.join(", ")))
    }
}

pub(super) fn numeric_error(p: &Prepared<'_>) -> Precheck {
    if !p.has_context {
        return Precheck::na("no context given");
    }
    let output = text::without_citations(&p.item.output);
    let results: Vec<f64> = equations(&output).into_iter().map(|(_, written, _)| written).collect();
    let stated: Vec<(f64, String)> = text::numbers(&output).into_iter().filter(|(n, _)| !results.contains(n)).collect();
    if stated.is_empty() {
        return Precheck::na("the output states no numbers (single digits aside)");
    }
    let mut known: Vec<f64> = text::numbers(&text::without_citations(&p.item.context.join("\n")))
        .into_iter()
        .chain(text::numbers(&p.item.input))
        .map(|(n, _)| n)
        .collect();
    known.dedup();
    let unsupported: Vec<String> =
        stated.into_iter().filter(|(n, _)| !text::number_supported(*n, &known)).map(|(_, raw)| raw).collect();
    if unsupported.is_empty() {
        Precheck::pass(0.85, "every number in the output is in, or follows from, the context or input")
    } else {
        Precheck::tentative(
            Decision::Fail,
            0.8,
            format!("numbers not found in the context or input: {}", unsupported.join(", ")),
        )
    }
}

pub(super) fn unsupported_claim(p: &Prepared<'_>) -> Precheck {
    if !p.has_context {
        return Precheck::na("no context given");
    }
    let mut unknown: Vec<String> = text::proper_nouns(&p.item.output)
        .into_iter()
        .filter(|name| {
            let n = text::normalize(name);
            !p.context_norm.contains(&n) && !p.input_norm.contains(&n)
        })
        .collect();
    unknown.dedup();
    if unknown.is_empty() {
        Precheck::open()
    } else {
        Precheck::tentative(
            Decision::Fail,
            0.6,
            format!("names not found in the context or input: {}", unknown.join(", ")),
        )
    }
}

pub(super) fn fabricated_citation(p: &Prepared<'_>) -> Precheck {
    if !p.has_context {
        return Precheck::na("no context given");
    }
    let cited = text::citations(&p.item.output);
    if cited.is_empty() {
        return Precheck::na("the output cites nothing");
    }
    let raw_context = p.item.context.join("\n");
    let missing: Vec<String> = cited
        .iter()
        .filter(|c| match c {
            Citation::Index(n) => *n == 0 || *n > p.item.context.len(),
            Citation::Id(id) => !p.context_norm.contains(&text::normalize(id)),
            Citation::Url(u) => !raw_context.contains(u.trim_end_matches('/')),
            Citation::Quote(q) => {
                let n = text::normalize(q);
                !p.context_norm.contains(&n) && !p.input_norm.contains(&n)
            }
        })
        .map(Citation::describe)
        .collect();
    if missing.is_empty() {
        Precheck::pass(0.9, format!("all {} citations are found in the context", cited.len()))
    } else {
        Precheck::tentative(Decision::Fail, 0.85, format!("cited but not in the context: {}", missing.join(", ")))
    }
}

/// Content words up to which an expected answer counts as short (a name, a number with its unit): then every
/// word must be there, since half a name ("Austen" for "Jane Austen") is not the answer.
const SHORT_ANSWER_WORDS: usize = 3;

/// How present the best of the expected answers is in a normalised text: 1.0 verbatim, else word coverage (all or
/// nothing for short answers).
fn presence(expected: &[String], hay: &str) -> f64 {
    expected
        .iter()
        .map(|e| {
            let n = text::normalize(e);
            if text::contains_words(hay, &n) {
                return 1.0;
            }
            let words = text::content_words(e);
            let share = text::coverage(&words, hay);
            if words.len() <= SHORT_ANSWER_WORDS && share < 1.0 {
                0.0
            } else {
                share
            }
        })
        .fold(0.0, f64::max)
}

pub(super) fn missing_context(p: &Prepared<'_>) -> Precheck {
    if !p.has_context {
        return Precheck::na("no context given");
    }
    if p.expected.is_empty() {
        return Precheck::Open {
            hint: Some("no expected answer: judge whether the context can answer the input".into()),
        };
    }
    let share = presence(&p.expected, &p.context_norm);
    if share >= 1.0 {
        Precheck::pass(0.95, "the expected answer is in the context")
    } else if share >= PRESENT {
        Precheck::pass(0.8, format!("{:.0}% of the expected answer's words are in the context", share * 100.0))
    } else if share < ABSENT {
        Precheck::tentative(
            Decision::Fail,
            0.8,
            format!("no chunk holds the expected answer ({:.0}% of its words found)", share * 100.0),
        )
    } else {
        Precheck::tentative(
            Decision::Unsure,
            0.5,
            format!("{:.0}% of the expected answer's words are in the context", share * 100.0),
        )
    }
}

pub(super) fn not_extracted(p: &Prepared<'_>) -> Precheck {
    if !p.has_context || p.expected.is_empty() {
        return Precheck::na("needs both context and an expected answer");
    }
    if presence(&p.expected, &p.context_norm) < PRESENT {
        return Precheck::na("the context does not hold the expected answer (see missing_context)");
    }
    let share = presence(&p.expected, &p.output_norm);
    if share >= 1.0 {
        Precheck::pass(0.95, "the output carries the expected answer")
    } else if share >= PRESENT {
        Precheck::pass(0.8, format!("{:.0}% of the expected answer's words are in the output", share * 100.0))
    } else if share < ABSENT {
        Precheck::tentative(
            Decision::Fail,
            0.75,
            format!(
                "the context holds the expected answer but the output lacks it ({:.0}% of its words)",
                share * 100.0
            ),
        )
    } else {
        Precheck::tentative(
            Decision::Unsure,
            0.5,
            format!("{:.0}% of the expected answer's words are in the output", share * 100.0),
        )
    }
}
