//! `regex_match`: the output must match a pattern from the scorer config.
//!
//! Patterns come from API clients, so they run on [`Bounded`]: the `regex` crate (linear time) wherever the pattern
//! allows, a bounded backtracking engine otherwise (look-around, back-references), under the limits named in
//! `regex_engine`. A match that cannot be decided within them is a `SCORER_LIMIT_EXCEEDED` error, never a fail.
//! The output is compared in NFC unless `normalize` is false (the pattern is used as written).

use serde_json::Value;

use super::config::Config;
use super::fold::nfc;
use super::regex_engine::Bounded;
use super::{quote, truncate, ConfigError, ItemView, Outcome, QUOTE_LIMIT};

pub(super) struct RegexMatch {
    regex: Bounded,
    pattern: String,
    full_match: bool,
    normalize: bool,
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

    /// The flags as an inline group, understood the same way by both engines.
    fn inline(&self) -> String {
        let set: String =
            [(self.case_insensitive, 'i'), (self.multi_line, 'm'), (self.dot_all, 's'), (self.extended, 'x')]
                .iter()
                .filter_map(|(on, flag)| on.then_some(*flag))
                .collect();
        if set.is_empty() {
            set
        } else {
            format!("(?{set})")
        }
    }

    fn build(&self, pattern: &str) -> Result<Bounded, ConfigError> {
        Bounded::compile(&format!("{}{pattern}", self.inline()))
            .map_err(|message| ConfigError::new("config.pattern", message))
    }
}

impl RegexMatch {
    pub(super) fn compile(config: &Value) -> Result<Self, ConfigError> {
        let config = Config::new("regex_match", config, &["pattern", "flags", "full_match", "normalize"])?;
        let pattern = config.required_string("pattern")?;
        let flags = Flags::parse(config.string("flags")?.unwrap_or(""))?;
        let full_match = config.bool("full_match", false)?;
        let normalize = config.bool("normalize", true)?;
        let regex = flags.build(pattern)?;
        let regex = if full_match { anchored(&flags, pattern)? } else { regex };
        Ok(Self { regex, pattern: pattern.to_owned(), full_match, normalize })
    }

    pub(super) fn score(&self, item: &ItemView<'_>) -> Outcome {
        let output = if self.normalize { nfc(item.output) } else { item.output.into() };
        let pattern = truncate(&self.pattern, QUOTE_LIMIT);
        let matched = match self.regex.is_match(&output) {
            Ok(matched) => matched,
            Err(limit) => {
                return Outcome::limit_exceeded(
                    format!("cannot decide whether the output matches /{pattern}/"),
                    limit.0,
                )
            }
        };
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
fn anchored(flags: &Flags, pattern: &str) -> Result<Bounded, ConfigError> {
    flags
        .build(&format!(r"\A(?:{pattern})\z"))
        .or_else(|first| flags.build(&format!("\\A(?:{pattern}\n)\\z")).map_err(|_| first))
}
