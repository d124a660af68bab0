//! Text helpers the deterministic checks share: normalisation, numbers, citations, proper nouns, refusals and a
//! small stop-word language guesser. All linear in the text (bounded where they are not).

use std::sync::LazyLock;

use regex::Regex;

/// Most context numbers combined pairwise when looking for a derived number (60² pairs at most per output number).
pub(super) const MAX_NUMBERS_FOR_DERIVATION: usize = 60;
/// Relative tolerance for a derived number to match (rounding to a few digits in prose).
const DERIVED_TOLERANCE: f64 = 0.005;

#[allow(clippy::expect_used)]
fn re(pattern: &str) -> Regex {
    // Only literal patterns of this module reach here; a typo fails every test at once.
    Regex::new(pattern).expect("built-in pattern compiles")
}

static NUMBER: LazyLock<Regex> = LazyLock::new(|| re(r"(?:^|[^\w.,])(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"));
static BRACKET_REF: LazyLock<Regex> = LazyLock::new(|| {
    re(r"\[(?:(?i:source|doc|ref|chunk|ctx)\s*[:#]\s*)?([A-Za-z][A-Za-z_-]{0,20}\d+[A-Za-z0-9_-]{0,20}|\d{1,3})\]")
});
static URL: LazyLock<Regex> = LazyLock::new(|| re(r#"https?://[^\s)\]>"'<]+"#));
static QUOTE: LazyLock<Regex> = LazyLock::new(|| re(r#""([^"\n]{20,300})"|“([^”\n]{20,300})”"#));
static PROPER: LazyLock<Regex> = LazyLock::new(|| re(r"\b[A-Z][a-z]{2,}\b"));

/// Lower-cased, every run of non-alphanumerics one space, padded with spaces so ` word ` finds whole words.
pub(super) fn normalize(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push(' ');
    let mut space = true;
    for c in s.chars() {
        if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
            space = false;
        } else if !space {
            out.push(' ');
            space = true;
        }
    }
    if !space {
        out.push(' ');
    }
    out
}

/// `needle` (already normalised) occurs as whole words in `hay` (already normalised).
pub(super) fn contains_words(hay: &str, needle: &str) -> bool {
    needle.trim().is_empty() || hay.contains(needle)
}

const STOP: &[&str] = &[
    "a", "an", "the", "of", "in", "on", "at", "to", "and", "or", "is", "are", "was", "were", "be", "by", "for", "with",
    "it", "its", "as", "that", "this", "from",
];

/// The content words of a text (normalised, stop words dropped).
pub(super) fn content_words(s: &str) -> Vec<String> {
    normalize(s).split_whitespace().filter(|w| !STOP.contains(w)).map(str::to_owned).collect()
}

/// Share of `needle`'s content words that occur in `hay` (normalised); 1.0 for an empty needle.
pub(super) fn coverage(needle: &[String], hay: &str) -> f64 {
    if needle.is_empty() {
        return 1.0;
    }
    let found = needle.iter().filter(|w| hay.contains(&format!(" {w} "))).count();
    found as f64 / needle.len() as f64
}

/// Text with citation markers blanked, so `[doc1]` is not read as the number 1.
pub(super) fn without_citations(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut last = 0;
    for m in bracket_refs(s).filter_map(|c| c.get(0)) {
        out.push_str(&s[last..m.start()]);
        out.push(' ');
        last = m.end();
    }
    out.push_str(&s[last..]);
    out
}

/// Bracketed references that are not the text of a Markdown link (`[1](url)`).
fn bracket_refs(s: &str) -> impl Iterator<Item = regex::Captures<'_>> + '_ {
    BRACKET_REF.captures_iter(s).filter(|c| c.get(0).is_some_and(|m| !s[m.end()..].starts_with('(')))
}

/// Numbers written in a text (`1,234.5` → 1234.5); single digits are skipped: they count list items and steps far
/// more often than they state facts.
pub(super) fn numbers(s: &str) -> Vec<(f64, String)> {
    NUMBER
        .captures_iter(s)
        .filter_map(|c| c.get(1))
        .filter_map(|m| {
            let raw = m.as_str();
            let value: f64 = raw.replace(',', "").parse().ok()?;
            (raw.len() > 1).then(|| (value, raw.to_owned()))
        })
        .collect()
}

fn close(a: f64, b: f64, tolerance: f64) -> bool {
    (a - b).abs() <= tolerance * a.abs().max(b.abs()).max(1e-9)
}

/// `n` is one of `known`, or a sum, difference, product, ratio or percentage of two of them.
pub(super) fn number_supported(n: f64, known: &[f64]) -> bool {
    if known.iter().any(|k| close(n, *k, 1e-9)) {
        return true;
    }
    let pool = &known[..known.len().min(MAX_NUMBERS_FOR_DERIVATION)];
    pool.iter().enumerate().any(|(i, a)| {
        pool.iter().enumerate().any(|(j, b)| {
            i != j
                && (close(n, a + b, DERIVED_TOLERANCE)
                    || close(n, a - b, DERIVED_TOLERANCE)
                    || close(n, a * b, DERIVED_TOLERANCE)
                    || (*b != 0.0
                        && (close(n, a / b, DERIVED_TOLERANCE) || close(n, a / b * 100.0, DERIVED_TOLERANCE))))
        })
    })
}

/// A citation an output makes.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Citation {
    /// `[3]`: the third context chunk.
    Index(usize),
    /// `[doc2]`, `[source: kb-17]`.
    Id(String),
    Url(String),
    Quote(String),
}

impl Citation {
    pub(super) fn describe(&self) -> String {
        match self {
            Citation::Index(n) => format!("[{n}]"),
            Citation::Id(id) => format!("[{id}]"),
            Citation::Url(u) => u.clone(),
            Citation::Quote(q) => format!("\"{q}\""),
        }
    }
}

pub(super) fn citations(s: &str) -> Vec<Citation> {
    let mut out = Vec::new();
    for c in bracket_refs(s) {
        if let Some(m) = c.get(1) {
            let id = m.as_str();
            out.push(match id.parse::<usize>() {
                Ok(n) => Citation::Index(n),
                Err(_) => Citation::Id(id.to_owned()),
            });
        }
    }
    for m in URL.find_iter(s) {
        out.push(Citation::Url(m.as_str().trim_end_matches(['.', ',', ';', ':', '!', '?']).to_owned()));
    }
    for c in QUOTE.captures_iter(s) {
        if let Some(m) = c.get(1).or_else(|| c.get(2)) {
            if m.as_str().split_whitespace().count() >= 4 {
                out.push(Citation::Quote(m.as_str().to_owned()));
            }
        }
    }
    out
}

/// Capitalised words that do not open a sentence: a cheap stand-in for named entities.
pub(super) fn proper_nouns(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    for m in PROPER.find_iter(s) {
        let before = s[..m.start()].trim_end();
        let opens_sentence = before.is_empty()
            || before.ends_with(['.', '!', '?', ':', '\n', '"', '(', '*', '-', '“'])
            || before.ends_with("\n\n");
        if !opens_sentence {
            out.push(m.as_str().to_owned());
        }
    }
    out
}

const REFUSALS: &[&str] = &[
    "i can't help",
    "i cannot help",
    "i can't assist",
    "i cannot assist",
    "i can't provide",
    "i cannot provide",
    "i can't answer",
    "i cannot answer",
    "i'm unable to",
    "i am unable to",
    "i'm not able to",
    "i am not able to",
    "i won't be able to",
    "i must decline",
    "i'm sorry, but i can",
    "as an ai",
    "i don't have enough information",
    "i do not have enough information",
    "i don't know",
];

/// The refusal phrase the text contains, if any (typographic apostrophes folded).
pub(super) fn refusal(s: &str) -> Option<&'static str> {
    let lower = s.to_lowercase().replace('\u{2019}', "'");
    REFUSALS.iter().copied().find(|p| lower.contains(p))
}

/// Stop words that identify a language (languages with ISO 639-1 codes).
const LANGUAGES: &[(&str, &[&str])] = &[
    (
        "en",
        &[
            "the", "and", "is", "of", "was", "in", "to", "it", "that", "with", "for", "are", "this", "by", "on", "at",
            "has", "from",
        ],
    ),
    (
        "fr",
        &[
            "le", "la", "les", "et", "est", "des", "une", "un", "du", "en", "dans", "que", "pour", "sur", "a", "été",
            "au",
        ],
    ),
    ("de", &["der", "die", "das", "und", "ist", "ein", "eine", "von", "mit", "den", "im", "zu", "wurde", "auf", "für"]),
    ("es", &["el", "la", "los", "las", "y", "es", "de", "un", "una", "en", "que", "por", "con", "fue", "del"]),
    ("it", &["il", "lo", "la", "gli", "e", "è", "di", "un", "una", "che", "per", "con", "del", "della", "fu", "nel"]),
    ("pt", &["o", "os", "as", "e", "é", "de", "um", "uma", "que", "em", "com", "do", "da", "foi", "no", "na"]),
    ("nl", &["de", "het", "een", "en", "is", "van", "in", "dat", "met", "voor", "op", "werd", "zijn", "niet"]),
];

/// Fewest stop-word hits before a language is named.
const MIN_LANGUAGE_HITS: usize = 2;

pub(super) fn supported_language(code: &str) -> bool {
    LANGUAGES.iter().any(|(c, _)| *c == code)
}

/// The best-scoring language, or `None` when the text is too short or two languages tie.
pub(super) fn guess_language(s: &str) -> Option<&'static str> {
    let words: Vec<String> =
        s.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase).collect();
    let mut scores: Vec<(&'static str, usize)> = LANGUAGES
        .iter()
        .map(|(code, stops)| (*code, words.iter().filter(|w| stops.contains(&w.as_str())).count()))
        .collect();
    scores.sort_by_key(|s| std::cmp::Reverse(s.1));
    match scores.as_slice() {
        [(code, best), (_, second), ..] if *best >= MIN_LANGUAGE_HITS && *best > *second => Some(code),
        _ => None,
    }
}

/// At most `max` characters of `s`, marking a cut with `…`.
pub(super) fn clip(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s.to_owned(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn numbers_skip_citations_digits_and_words() {
        let s = without_citations("It opened in 1889 [doc1] and is 330 m tall; GPT4 has 3 parts and 1,234.5 more.");
        let got: Vec<f64> = numbers(&s).into_iter().map(|n| n.0).collect();
        assert_eq!(got, vec![1889.0, 330.0, 1234.5]);
    }

    #[test]
    fn derived_numbers_are_supported() {
        assert!(number_supported(12.0, &[5.0, 7.0]));
        assert!(number_supported(25.0, &[50.0, 200.0]), "a percentage");
        assert!(!number_supported(13.0, &[5.0, 7.0]));
    }

    #[test]
    fn citations_of_every_kind() {
        let c = citations("See [2] and [doc7], [source: kb-12], https://x.org/a. \"the tower was painted every seven years\" [link](u)");
        assert_eq!(
            c,
            vec![
                Citation::Index(2),
                Citation::Id("doc7".into()),
                Citation::Id("kb-12".into()),
                Citation::Url("https://x.org/a".into()),
                Citation::Quote("the tower was painted every seven years".into()),
            ]
        );
    }

    #[test]
    fn languages() {
        assert_eq!(guess_language("The tower was finished in 1889 and it is in Paris."), Some("en"));
        assert_eq!(guess_language("La tour a été achevée en 1889 et elle est à Paris."), Some("fr"));
        assert_eq!(guess_language("Der Turm wurde 1889 fertiggestellt und ist in Paris."), Some("de"));
        assert_eq!(guess_language("Paris."), None);
    }

    #[test]
    fn proper_nouns_skip_sentence_starts() {
        assert_eq!(
            proper_nouns("The tower. It was built by Gustave Eiffel in Paris."),
            vec!["Gustave", "Eiffel", "Paris"]
        );
    }
}
