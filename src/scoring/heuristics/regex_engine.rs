//! Bounded regular expressions for `regex_match` and for `pattern` in `json_schema`.
//!
//! Patterns come from API clients and are matched against model outputs of a megabyte or more, so matching time
//! must stay bounded:
//! 1. a pattern the `regex` crate accepts runs there (linear time in the output);
//! 2. a pattern with look-around is rewritten, where that keeps "is there a match" unchanged, into linear
//!    patterns: a leading look-behind `(?<=X)Y` matches exactly when `XY` does, a trailing look-ahead `Y(?=X)`
//!    exactly when `YX` does, and look-aheads right after a start anchor (`^(?=.*\d)(?!.*x).{8,}`) are separate
//!    checks at the start of the text;
//! 3. anything else (back-references, look-around elsewhere) runs on fancy-regex's backtracking engine with a
//!    step limit ([`BACKTRACK_LIMIT`]) and only on outputs up to [`BACKTRACK_MAX_INPUT`] bytes, because its search
//!    tries every start position and can be quadratic however small the step limit. Past either bound the
//!    match is [`LimitExceeded`], which scorers report as a `SCORER_LIMIT_EXCEEDED` error, never as a fail.

use std::cell::RefCell;

use fancy_regex::{Assertion, Expr, LookAround};
use regex::{Regex, RegexBuilder};

/// Compiled-program size allowed per regex (and the lazy DFA cache). Unicode classes are large once compiled
/// (`\w` alone is about 700 ranges), so `^\w{1,64}$` or `^\p{L}{2,100}$` need several MiB; the bound still
/// refuses abuse such as `(\w{100}){100}`.
pub(super) const REGEX_SIZE_LIMIT: usize = 64 << 20;
/// Longest pattern accepted, in bytes.
pub(super) const MAX_PATTERN_BYTES: usize = 16 * 1024;
/// Backtracking steps one match on the backtracking engine may take.
pub(super) const BACKTRACK_LIMIT: usize = 1_000_000;
/// Largest text, in bytes, matched on the backtracking engine (its search is quadratic in the worst case:
/// measured 7 s at 32 KiB and so about 0.5 s at this size, release build, for `(?!b)a*b` on "aaa…").
pub(super) const BACKTRACK_MAX_INPUT: usize = 8 * 1024;

/// A match that could not be decided within the bounds above.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct LimitExceeded(pub(super) String);

/// A compiled pattern and the engine it runs on.
pub(super) enum Bounded {
    Linear(Regex),
    /// Every `(regex, must_match)` must agree: the rewritten form of start-anchored look-aheads.
    AllOf(Vec<(Regex, bool)>),
    Backtracking(Box<fancy_regex::Regex>),
}

impl Bounded {
    /// Compiles `pattern` (flags given inline, e.g. `(?i)`). The error is a sentence for the user.
    pub(super) fn compile(pattern: &str) -> Result<Self, String> {
        if pattern.len() > MAX_PATTERN_BYTES {
            return Err(format!(
                "pattern is {} bytes long; the limit (MAX_PATTERN_BYTES) is {MAX_PATTERN_BYTES}",
                pattern.len()
            ));
        }
        match linear(pattern) {
            Ok(regex) => return Ok(Bounded::Linear(regex)),
            Err(regex::Error::CompiledTooBig(_)) => return Err(too_big()),
            // Only what the linear engine lacks goes on to the other engines; plain syntax errors are reported here.
            Err(regex::Error::Syntax(message)) if !message.contains("not supported") => {
                return Err(format!("invalid regular expression: {message}"));
            }
            Err(_) => {}
        }
        let tree = Expr::parse_tree(pattern).map_err(|error| format!("invalid regular expression: {error}"))?;
        if let Some(rewritten) = rewrite(&tree.expr) {
            return rewritten;
        }
        let regex = fancy_regex::RegexBuilder::new(pattern)
            .backtrack_limit(BACKTRACK_LIMIT)
            .delegate_size_limit(REGEX_SIZE_LIMIT)
            .delegate_dfa_size_limit(REGEX_SIZE_LIMIT)
            .build()
            .map_err(|error| match error {
                fancy_regex::Error::CompileError(inner) if inner.to_string().contains("too big") => too_big(),
                other => format!("invalid regular expression: {other}"),
            })?;
        Ok(Bounded::Backtracking(Box::new(regex)))
    }

    pub(super) fn is_match(&self, text: &str) -> Result<bool, LimitExceeded> {
        match self {
            Bounded::Linear(regex) => Ok(regex.is_match(text)),
            Bounded::AllOf(parts) => Ok(parts.iter().all(|(regex, must)| regex.is_match(text) == *must)),
            Bounded::Backtracking(regex) => {
                if text.len() > BACKTRACK_MAX_INPUT {
                    return Err(LimitExceeded(format!(
                        "the pattern needs the backtracking engine (look-around or back-references), which gavel runs \
                         only on texts up to {BACKTRACK_MAX_INPUT} bytes (BACKTRACK_MAX_INPUT); this one has {}",
                        text.len()
                    )));
                }
                regex.is_match(text).map_err(|_| {
                    LimitExceeded(format!(
                        "the pattern took more than {BACKTRACK_LIMIT} backtracking steps (BACKTRACK_LIMIT) on this text"
                    ))
                })
            }
        }
    }

    /// Whether the pattern runs in linear time (for docs and tests).
    #[cfg(test)]
    pub(super) fn is_linear(&self) -> bool {
        !matches!(self, Bounded::Backtracking(_))
    }
}

fn too_big() -> String {
    format!(
        "pattern is too large: once compiled it would exceed {} MiB (REGEX_SIZE_LIMIT); use smaller repetition counts",
        REGEX_SIZE_LIMIT >> 20
    )
}

fn linear(pattern: &str) -> Result<Regex, regex::Error> {
    RegexBuilder::new(pattern).size_limit(REGEX_SIZE_LIMIT).dfa_size_limit(REGEX_SIZE_LIMIT).build()
}

/// Whether `expr` is plain regular syntax that `Expr::to_str` can print for the `regex` crate.
fn is_easy(expr: &Expr) -> bool {
    match expr {
        Expr::Empty | Expr::Any { .. } | Expr::Literal { .. } | Expr::Delegate { .. } => true,
        Expr::Assertion(assertion) => matches!(
            assertion,
            Assertion::StartText
                | Assertion::EndText
                | Assertion::StartLine { .. }
                | Assertion::EndLine { .. }
                | Assertion::WordBoundary
                | Assertion::NotWordBoundary
        ),
        Expr::Concat(children) | Expr::Alt(children) => children.iter().all(is_easy),
        Expr::Group(child) => is_easy(child),
        Expr::Repeat { child, .. } => is_easy(child),
        _ => false,
    }
}

fn print(exprs: &[&Expr]) -> String {
    let mut out = String::new();
    for expr in exprs {
        out.push_str("(?:");
        expr.to_str(&mut out, 0);
        out.push(')');
    }
    out
}

/// The linear forms described in the module doc, or `None` when the pattern has no such shape.
fn rewrite(expr: &Expr) -> Option<Result<Bounded, String>> {
    let items: Vec<&Expr> = match expr {
        Expr::Concat(children) => children.iter().collect(),
        other => vec![other],
    };
    fn look(expr: &Expr) -> Option<(&Expr, LookAround)> {
        match expr {
            Expr::LookAround(inner, kind) if is_easy(inner) => Some((inner.as_ref(), *kind)),
            _ => None,
        }
    }
    // `^` then look-aheads: each one is a check anchored at the start of the text.
    if let Some(Expr::Assertion(Assertion::StartText)) = items.first() {
        let aheads: Vec<(&Expr, LookAround)> = items[1..].iter().map_while(|item| look(item)).collect();
        let rest = &items[1 + aheads.len()..];
        let only_aheads =
            aheads.iter().all(|(_, kind)| matches!(kind, LookAround::LookAhead | LookAround::LookAheadNeg));
        if !aheads.is_empty() && only_aheads && rest.iter().all(|item| is_easy(item)) {
            let mut parts = Vec::new();
            for (inner, kind) in aheads {
                parts.push((format!("^{}", print(&[inner])), kind == LookAround::LookAhead));
            }
            parts.push((format!("^{}", print(rest)), true));
            let compiled: Result<Vec<(Regex, bool)>, String> = parts
                .into_iter()
                .map(|(text, must)| linear(&text).map(|regex| (regex, must)).map_err(|_| too_big()))
                .collect();
            return Some(compiled.map(Bounded::AllOf));
        }
    }
    // Leading positive look-behinds and trailing positive look-aheads become plain concatenation.
    let lead = items.iter().take_while(|item| matches!(look(item), Some((_, LookAround::LookBehind)))).count();
    let trail =
        items[lead..].iter().rev().take_while(|item| matches!(look(item), Some((_, LookAround::LookAhead)))).count();
    let middle = &items[lead..items.len() - trail];
    if lead + trail == 0 || !middle.iter().all(|item| is_easy(item)) {
        return None;
    }
    let unwrapped: Vec<&Expr> = items
        .iter()
        .map(|item| match look(item) {
            Some((inner, LookAround::LookBehind | LookAround::LookAhead)) => inner,
            _ => *item,
        })
        .collect();
    Some(linear(&print(&unwrapped)).map(Bounded::Linear).map_err(|_| too_big()))
}

thread_local! {
    /// Set when a `pattern` inside a schema could not be decided; read after each validation on the same thread.
    static SCHEMA_LIMIT: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Records that a schema pattern hit a limit during the current validation.
pub(super) fn note_schema_limit(limit: LimitExceeded) {
    SCHEMA_LIMIT.with(|slot| {
        if let Ok(mut slot) = slot.try_borrow_mut() {
            slot.get_or_insert(limit.0);
        }
    });
}

/// The first limit a schema pattern hit since the last call (and clears the record).
pub(super) fn take_schema_limit() -> Option<String> {
    SCHEMA_LIMIT.with(|slot| slot.try_borrow_mut().ok().and_then(|mut slot| slot.take()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn look_around_runs_linear_where_the_shape_allows() {
        let cases = [
            (r"(?<=a)a*b", "xaab", true, true),
            (r"(?<=a)a*b", "b", false, true),
            (r"a+(?=c)", "aac", true, true),
            (r"a+(?=c)", "aab", false, true),
            (r"^(?=.*\d)(?=.*[a-z])(?!.*\s).{8,}$", "abcdefg1", true, true),
            (r"^(?=.*\d)(?=.*[a-z])(?!.*\s).{8,}$", "abcd efg1", false, true),
            (r"^(?=.*\d)(?=.*[a-z]).{8,}$", "abcdefgh", false, true),
            (r"(?!b)a*b", "aab", true, false),
            (r"(\w)\1", "abccd", true, false),
            (r"(\w)\1", "abcd", false, false),
        ];
        for (pattern, text, expected, linear) in cases {
            let regex = Bounded::compile(pattern).unwrap();
            assert_eq!(regex.is_match(text), Ok(expected), "{pattern} on {text}");
            assert_eq!(regex.is_linear(), linear, "{pattern}");
            let reference = fancy_regex::Regex::new(pattern).unwrap().is_match(text).unwrap();
            assert_eq!(reference, expected, "{pattern} on {text} (reference)");
        }
    }

    #[test]
    fn backtracking_is_bounded() {
        let regex = Bounded::compile(r"(?!b)a*b").unwrap();
        let long = "a".repeat(BACKTRACK_MAX_INPUT + 1);
        let error = regex.is_match(&long).unwrap_err();
        assert!(error.0.contains("BACKTRACK_MAX_INPUT"), "{}", error.0);
        let explosive = Bounded::compile(r"(\w+)\1b").unwrap();
        let error = explosive.is_match(&"a".repeat(BACKTRACK_MAX_INPUT - 1)).unwrap_err();
        assert!(error.0.contains("BACKTRACK_LIMIT"), "{}", error.0);
    }

    #[test]
    fn realistic_unicode_patterns_fit_and_abuse_does_not() {
        for pattern in
            [r"^\w{1,64}$", r"^\p{L}{2,100}$", r"^[\w.+-]+@[\w-]+(\.[\w-]+)*\.\w{2,}$", r"(?i)^[\p{L}\p{M}' -]{1,200}$"]
        {
            assert!(Bounded::compile(pattern).is_ok(), "{pattern}");
        }
        let error = Bounded::compile(r"(\w{100}){100}").err().unwrap();
        assert!(error.contains("REGEX_SIZE_LIMIT") && error.contains("64 MiB"), "{error}");
        let error = Bounded::compile(&"a".repeat(MAX_PATTERN_BYTES + 1)).err().unwrap();
        assert!(error.contains("MAX_PATTERN_BYTES"), "{error}");
    }
}
