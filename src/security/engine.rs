//! The keyword-gated rule engine shared by the secret, injection and output detectors.
//!
//! Running dozens of regexes over every text would cost one full pass each. Instead every rule names
//! keywords; one Aho-Corasick pass over the text finds all keyword hits at once, and a rule's regex runs only
//! in small windows around its own hits. Texts without any keyword cost that single pass.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use regex::Regex;

use super::text::{snap_back, snap_fwd};

/// Where a rule's regex looks, relative to a keyword hit.
#[derive(Clone, Copy)]
pub(crate) enum Anchor {
    /// The keyword starts the token (`ghp_`, `AKIA`): the window runs from the hit forward `n` bytes.
    Prefix(usize),
    /// The keyword is context near the value (`aws … secret = …`): `n` bytes either side of the hit.
    Around(usize),
    /// `back` bytes before the hit and `fwd` bytes after it.
    Range(usize, usize),
}

/// Characters that continue a token, for boundary checks around a match (a `ghp_` token glued to more
/// letters is something else).
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Charset {
    /// No boundary check.
    Any,
    /// `[A-Za-z0-9]`
    Alnum,
    /// `[A-Za-z0-9_-]`
    Base64Url,
    /// `[A-Za-z0-9+/]`, and `=` after a value (padding); `=` before one is an assignment.
    Base64,
}

impl Charset {
    fn continues(self, b: u8, after: bool) -> bool {
        match self {
            Charset::Any => false,
            Charset::Alnum => b.is_ascii_alphanumeric(),
            Charset::Base64Url => b.is_ascii_alphanumeric() || b == b'_' || b == b'-',
            Charset::Base64 => b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || (after && b == b'='),
        }
    }
}

/// A compiled rule set: the keyword automaton and per-rule regexes.
pub(crate) struct Engine {
    ac: AhoCorasick,
    /// Keyword pattern index → the rules it triggers.
    owner: Vec<Vec<usize>>,
    regexes: Vec<Regex>,
    anchors: Vec<Anchor>,
    charsets: Vec<Charset>,
}

/// One regex match of a rule: the whole match and the value (the first capture group that took part, or
/// the whole match).
pub(crate) struct Hit<'t> {
    pub rule: usize,
    pub whole: (usize, usize),
    pub value: (usize, usize),
    pub text: &'t str,
}

impl<'t> Hit<'t> {
    pub(super) fn value_str(&self) -> &'t str {
        &self.text[self.value.0..self.value.1]
    }
    pub(super) fn whole_str(&self) -> &'t str {
        &self.text[self.whole.0..self.whole.1]
    }
}

/// What the engine needs of one rule.
pub(crate) struct RuleSpec<'a> {
    pub keywords: &'a [&'static str],
    pub pattern: &'a str,
    pub anchor: Anchor,
    pub charset: Charset,
}

impl Engine {
    /// Compiles the rules. Patterns are our own constants, so a bad one is a programming error caught by the
    /// tests (`every_rule_compiles`); here it is reported as an `Err` naming the rule index.
    pub(super) fn build(rules: &[RuleSpec<'_>]) -> Result<Engine, String> {
        // Unique keywords (ASCII case folded); each triggers every rule naming it or a keyword it contains,
        // so the non-overlapping search below loses no rule when keywords nest ("ignore" ⊃ "ignor").
        let mut keywords: Vec<String> = Vec::new();
        let mut regexes = Vec::new();
        for (i, r) in rules.iter().enumerate() {
            for k in r.keywords {
                let k = k.to_ascii_lowercase();
                if !keywords.contains(&k) {
                    keywords.push(k);
                }
            }
            regexes.push(Regex::new(r.pattern).map_err(|e| format!("rule {i}: {e}"))?);
        }
        let owner: Vec<Vec<usize>> = keywords
            .iter()
            .map(|k| {
                (0..rules.len())
                    .filter(|&i| rules[i].keywords.iter().any(|rk| k.contains(&rk.to_ascii_lowercase())))
                    .collect()
            })
            .collect();
        let ac = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            // Leftmost-longest, non-overlapping: lets the automaton use its fast search loop; overlapping
            // search ran at a few tens of MB/s, the slowest step of a scan. A full DFA: the sets are small.
            .match_kind(MatchKind::LeftmostLongest)
            .kind(Some(AhoCorasickKind::DFA))
            .build(&keywords)
            .map_err(|e| e.to_string())?;
        Ok(Engine {
            ac,
            owner,
            regexes,
            anchors: rules.iter().map(|r| r.anchor).collect(),
            charsets: rules.iter().map(|r| r.charset).collect(),
        })
    }

    /// Every match of every rule whose keyword occurs in `text`, boundary-checked, deduplicated per rule.
    pub(super) fn hits<'t>(&self, text: &'t str) -> Vec<Hit<'t>> {
        let mut windows: Vec<Vec<(usize, usize)>> = vec![Vec::new(); self.regexes.len()];
        for m in self.ac.find_iter(text) {
            for &rule in &self.owner[m.pattern().as_usize()] {
                let w = match self.anchors[rule] {
                    Anchor::Prefix(n) => (m.start(), snap_fwd(text, m.start() + n)),
                    Anchor::Around(n) => (snap_back(text, m.start().saturating_sub(n)), snap_fwd(text, m.end() + n)),
                    Anchor::Range(b, f) => (snap_back(text, m.start().saturating_sub(b)), snap_fwd(text, m.end() + f)),
                };
                windows[rule].push(w);
            }
        }
        for w in &mut windows {
            merge_windows(w);
        }
        let bytes = text.as_bytes();
        let mut out = Vec::new();
        for (rule, ws) in windows.iter().enumerate() {
            for &(lo, hi) in ws {
                for caps in self.regexes[rule].captures_iter(&text[lo..hi]) {
                    let Some(whole) = caps.get(0) else { continue };
                    let value = (1..caps.len()).find_map(|i| caps.get(i)).unwrap_or(whole);
                    let (vs, ve) = (lo + value.start(), lo + value.end());
                    let cs = self.charsets[rule];
                    if (vs > 0 && cs.continues(bytes[vs - 1], false))
                        || (ve < bytes.len() && cs.continues(bytes[ve], true))
                    {
                        continue;
                    }
                    out.push(Hit { rule, whole: (lo + whole.start(), lo + whole.end()), value: (vs, ve), text });
                }
            }
        }
        out
    }
}

/// Sorts and merges overlapping windows so no stretch of text is searched twice by one rule.
fn merge_windows(w: &mut Vec<(usize, usize)>) {
    if w.len() < 2 {
        return;
    }
    w.sort_unstable();
    let mut out: Vec<(usize, usize)> = Vec::with_capacity(w.len());
    for &(lo, hi) in w.iter() {
        match out.last_mut() {
            Some(last) if lo <= last.1 => last.1 = last.1.max(hi),
            _ => out.push((lo, hi)),
        }
    }
    *w = out;
}

/// Drops findings whose span overlaps a stronger one (higher severity, then confidence, then longer), so one
/// value reported by two rules shows once.
pub(crate) fn dedup_overlaps(mut v: Vec<super::Finding>) -> Vec<super::Finding> {
    v.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(b.confidence.total_cmp(&a.confidence))
            .then((b.span.1 - b.span.0).cmp(&(a.span.1 - a.span.0)))
    });
    let mut kept: Vec<super::Finding> = Vec::with_capacity(v.len());
    for f in v {
        if !kept.iter().any(|k| k.check == f.check && k.span.0 < f.span.1 && f.span.0 < k.span.1) {
            kept.push(f);
        }
    }
    kept.sort_by_key(|f| f.span);
    kept
}
