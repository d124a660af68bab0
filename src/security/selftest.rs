//! The shipped detector corpora, compiled into the binary, and their precision and recall per detector.
//! `gavel selftest security` prints [`SelftestReport`]'s `Display` table.
//!
//! Corpus lines: `+rule<TAB>text` must be reported with that rule by the detector (a true positive),
//! `-<TAB>text` must not be reported at all (a true negative). The leak corpus adds `<TAB>system
//! prompt<TAB>canary` (`~` for none). Escapes: `\n`, `\t`, `\\`, `\u{HEX}`. All values are synthetic.

use std::fmt;

use super::{injection, leak, output, pii, secrets, smuggling, Finding};

/// Hosts the output corpus treats as allowed.
pub const SELFTEST_ALLOWED_HOSTS: &[&str] = &["docs.example.org", "gavel.dev"];

/// The corpora: (detector name, file text).
pub const CORPORA: &[(&str, &str)] = &[
    ("secrets", include_str!("corpus/secrets.txt")),
    ("pii", include_str!("corpus/pii.txt")),
    ("injection", include_str!("corpus/injection.txt")),
    ("smuggling", include_str!("corpus/smuggling.txt")),
    ("output", include_str!("corpus/output.txt")),
    ("leak", include_str!("corpus/leak.txt")),
];

/// One corpus line, unescaped.
#[derive(Debug, Clone)]
pub struct Case {
    pub line: usize,
    /// The rule that must be reported, or `None` for a negative.
    pub expect: Option<String>,
    pub text: String,
    pub system_prompt: Option<String>,
    pub canary: Option<String>,
}

/// Undoes the corpus escapes.
pub fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match it.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('\\') => out.push('\\'),
            Some('u') if it.peek() == Some(&'{') => {
                it.next();
                let hex: String = it.by_ref().take_while(|&h| h != '}').collect();
                if let Some(ch) = u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                    out.push(ch);
                }
            }
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// Parses one corpus file.
pub fn parse(corpus: &str) -> Vec<Case> {
    let field = |s: Option<&str>| s.filter(|v| *v != "~" && !v.is_empty()).map(unescape);
    corpus
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|(i, l)| {
            let mut parts = l.split('\t');
            let head = parts.next()?;
            let expect = head.strip_prefix('+').map(str::to_string);
            if expect.is_none() && head != "-" {
                return None;
            }
            let text = unescape(parts.next()?);
            Some(Case { line: i + 1, expect, text, system_prompt: field(parts.next()), canary: field(parts.next()) })
        })
        .collect()
}

/// Runs the named detector on one case.
pub fn run_detector(detector: &str, case: &Case) -> Vec<Finding> {
    match detector {
        "secrets" => secrets::scan(&case.text),
        "pii" => pii::scan(&case.text, &pii::Allow::default()),
        "injection" => injection::scan(&case.text),
        "smuggling" => smuggling::scan(&case.text),
        "output" => output::scan(&case.text, SELFTEST_ALLOWED_HOSTS),
        "leak" => {
            let canaries: Vec<&str> = case.canary.as_deref().into_iter().collect();
            leak::scan(&case.text, case.system_prompt.as_deref(), &canaries)
        }
        _ => Vec::new(),
    }
}

/// Precision and recall of one detector over its corpus.
#[derive(Debug, Clone)]
pub struct DetectorScore {
    pub detector: &'static str,
    pub positives: usize,
    pub negatives: usize,
    pub true_positives: usize,
    pub false_negatives: usize,
    pub false_positives: usize,
    /// Corpus lines that failed, with what was expected and what was reported (rule ids only).
    pub failures: Vec<String>,
}

impl DetectorScore {
    /// TP / (TP + FP); 1 when nothing was reported.
    pub fn precision(&self) -> f64 {
        let d = self.true_positives + self.false_positives;
        if d == 0 {
            1.0
        } else {
            self.true_positives as f64 / d as f64
        }
    }
    /// TP / (TP + FN); 1 when there were no positives.
    pub fn recall(&self) -> f64 {
        let d = self.true_positives + self.false_negatives;
        if d == 0 {
            1.0
        } else {
            self.true_positives as f64 / d as f64
        }
    }
}

/// Scores of every detector.
#[derive(Debug, Clone)]
pub struct SelftestReport {
    pub detectors: Vec<DetectorScore>,
}

impl SelftestReport {
    /// Whether every corpus line behaved as labelled.
    pub fn all_passed(&self) -> bool {
        self.detectors.iter().all(|d| d.failures.is_empty())
    }
}

/// Runs every shipped corpus through its detector.
pub fn run() -> SelftestReport {
    let detectors = CORPORA
        .iter()
        .map(|(name, corpus)| {
            let mut s = DetectorScore {
                detector: name,
                positives: 0,
                negatives: 0,
                true_positives: 0,
                false_negatives: 0,
                false_positives: 0,
                failures: Vec::new(),
            };
            for case in parse(corpus) {
                let found = run_detector(name, &case);
                let rules: Vec<&str> = found.iter().map(|f| f.rule).collect();
                match &case.expect {
                    Some(rule) => {
                        s.positives += 1;
                        if rules.contains(&rule.as_str()) {
                            s.true_positives += 1;
                        } else {
                            s.false_negatives += 1;
                            s.failures.push(format!("line {}: expected {rule}, got {rules:?}", case.line));
                        }
                    }
                    None => {
                        s.negatives += 1;
                        if !rules.is_empty() {
                            s.false_positives += 1;
                            s.failures.push(format!("line {}: expected nothing, got {rules:?}", case.line));
                        }
                    }
                }
            }
            s
        })
        .collect();
    SelftestReport { detectors }
}

impl fmt::Display for SelftestReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<10} {:>9} {:>9} {:>4} {:>4} {:>4} {:>9} {:>7}",
            "detector", "positives", "negatives", "tp", "fn", "fp", "precision", "recall"
        )?;
        for d in &self.detectors {
            writeln!(
                f,
                "{:<10} {:>9} {:>9} {:>4} {:>4} {:>4} {:>9.3} {:>7.3}",
                d.detector,
                d.positives,
                d.negatives,
                d.true_positives,
                d.false_negatives,
                d.false_positives,
                d.precision(),
                d.recall()
            )?;
        }
        for d in &self.detectors {
            for fail in &d.failures {
                writeln!(f, "  {}: {fail}", d.detector)?;
            }
        }
        Ok(())
    }
}
