//! `regex_match`: the output must match a pattern from the scorer config.
//!
//! Patterns come from API clients, so they are compiled with the `regex` crate (linear-time matching, no
//! backtracking) under explicit size limits: a hostile pattern is refused at compile time instead of eating memory.

use regex::{Regex, RegexBuilder};
use serde_json::Value;

use super::config::Config;
use super::{quote, truncate, ConfigError, ItemView, Outcome, QUOTE_LIMIT};

/// Upper bound for the compiled program and for the lazy DFA cache, per regex.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

pub(super) struct RegexMatch {
    regex: Regex,
    pattern: String,
    full_match: bool,
}

#[derive(Default)]
struct Flags {
    case_insensitive: bool,
    multi_line: bool,
    dot_all: bool,
    extended: bool,
}

impl Flags {
    fn parse(flags: &str) -> Result<Self, ConfigError> {
        let mut parsed = Flags::default();
        for flag in flags.chars() {
            match flag {
                'i' => parsed.case_insensitive = true,
                'm' => parsed.multi_line = true,
                's' => parsed.dot_all = true,
                'x' => parsed.extended = true,
                other => {
                    return Err(ConfigError::new(
                        "config.flags",
                        format!("unknown flag {}; allowed flags are i, m, s and x", quote(&other.to_string())),
                    ));
                }
            }
        }
        Ok(parsed)
    }

    fn build(&self, pattern: &str) -> Result<Regex, regex::Error> {
        RegexBuilder::new(pattern)
            .case_insensitive(self.case_insensitive)
            .multi_line(self.multi_line)
            .dot_matches_new_line(self.dot_all)
            .ignore_whitespace(self.extended)
            .size_limit(REGEX_SIZE_LIMIT)
            .dfa_size_limit(REGEX_SIZE_LIMIT)
            .build()
    }
}

impl RegexMatch {
    pub(super) fn compile(config: &Value) -> Result<Self, ConfigError> {
        let config = Config::new("regex_match", config, &["pattern", "flags", "full_match"])?;
        let pattern = config.required_string("pattern")?;
        let flags = Flags::parse(config.string("flags")?.unwrap_or(""))?;
        let full_match = config.bool("full_match", false)?;
        let regex = flags.build(pattern).map_err(pattern_error)?;
        let regex = if full_match { anchored(&flags, pattern)? } else { regex };
        Ok(Self { regex, pattern: pattern.to_owned(), full_match })
    }

    pub(super) fn score(&self, item: &ItemView<'_>) -> Outcome {
        let matched = self.regex.is_match(item.output);
        let pattern = truncate(&self.pattern, QUOTE_LIMIT);
        let reason = match (matched, self.full_match) {
            (true, false) => format!("output matches /{pattern}/"),
            (true, true) => format!("output fully matches /{pattern}/"),
            (false, false) => format!("output does not match /{pattern}/"),
            (false, true) => format!("output does not fully match /{pattern}/"),
        };
        Outcome::verdict(matched, reason)
    }
}

/// Wraps an already valid pattern so that it must span the whole output. Leftmost-first search cannot decide that
/// by itself (`a|ab` finds "a" in "ab"), hence the anchors. If the pattern ends inside an `x`-mode comment, the
/// comment would swallow the closing `)`; only then does the plain wrap fail, and a newline ending the comment
/// (insignificant whitespace in `x` mode) fixes it.
fn anchored(flags: &Flags, pattern: &str) -> Result<Regex, ConfigError> {
    flags
        .build(&format!(r"\A(?:{pattern})\z"))
        .or_else(|first| flags.build(&format!("\\A(?:{pattern}\n)\\z")).map_err(|_| first))
        .map_err(pattern_error)
}

fn pattern_error(error: regex::Error) -> ConfigError {
    let message = match error {
        regex::Error::CompiledTooBig(limit) => {
            format!("pattern is too large: once compiled it would exceed the {limit}-byte limit")
        }
        other => format!("invalid regular expression: {other}"),
    };
    ConfigError::new("config.pattern", message)
}
