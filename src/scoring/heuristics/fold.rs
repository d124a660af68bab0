//! How text scorers compare text: in Unicode NFC by default, so that "é" typed as one code point and as "e" plus a
//! combining accent are the same text, and, where case is ignored, by full Unicode case folding (CaseFolding.txt,
//! statuses C and F): "Straße" matches "STRASSE", "ΣΟΦΟΣ" matches "σοφος", "ſ" matches "s" and "ﬁ" matches "fi".
//! Lowercasing gets these wrong, and can make `icontains` fail where `contains` passes.
//!
//! Each text scorer takes `"normalize": false` to compare raw code points instead (NFC is skipped; case folding
//! still applies where case is ignored).

use std::borrow::Cow;

use unicode_normalization::{is_nfc_quick, IsNormalized, UnicodeNormalization};

/// `text` in NFC; borrowed when it already is (the common case, checked without allocating).
pub(super) fn nfc(text: &str) -> Cow<'_, str> {
    if text.is_ascii() || is_nfc_quick(text.chars()) == IsNormalized::Yes {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(text.nfc().collect())
    }
}

/// Full case folding; ASCII text folds by lowercasing, without an allocation per character.
pub(super) fn fold(text: &str) -> String {
    if text.is_ascii() {
        text.to_ascii_lowercase()
    } else {
        caseless::default_case_fold_str(text)
    }
}

/// One scorer's comparison settings, applied identically to the output and the reference.
#[derive(Debug, Clone, Copy)]
pub(super) struct TextForm {
    pub(super) normalize: bool,
    pub(super) ignore_case: bool,
}

impl TextForm {
    /// The form texts are compared in. Folding can leave text outside NFC (it decomposes some characters), so
    /// NFC is applied again after folding: equal texts stay equal and substrings stay substrings.
    pub(super) fn apply<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let text = if self.normalize { nfc(text) } else { Cow::Borrowed(text) };
        if !self.ignore_case {
            return text;
        }
        let folded = fold(&text);
        if self.normalize {
            Cow::Owned(nfc(&folded).into_owned())
        } else {
            Cow::Owned(folded)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FOLDED: TextForm = TextForm { normalize: true, ignore_case: true };

    #[test]
    fn case_folding_is_full() {
        for (a, b) in [
            ("Straße", "STRASSE"),
            ("ΣΟΦΟΣ", "σοφος"),
            ("σοφος", "σοφοσ"),
            ("ſ", "s"),
            ("ﬁle", "FILE"),
            ("İ", "i\u{307}"),
            ("Ǆ", "ǆ"),
            ("K", "k"),
        ] {
            assert_eq!(FOLDED.apply(a), FOLDED.apply(b), "{a} / {b}");
        }
        assert_ne!(FOLDED.apply("a"), FOLDED.apply("ä"));
    }

    #[test]
    fn nfc_joins_canonical_equivalents() {
        assert_eq!(nfc("e\u{301}"), "é");
        assert_eq!(nfc("\u{212B}"), "Å");
        assert!(matches!(nfc("plain"), Cow::Borrowed(_)));
        let raw = TextForm { normalize: false, ignore_case: false };
        assert_ne!(raw.apply("e\u{301}"), raw.apply("é"));
        // Folding "ǰ" gives "ǰ" in NFD form; the second NFC makes it compare equal to the composed text again.
        assert_eq!(FOLDED.apply("ǰ"), FOLDED.apply("J\u{30C}"));
    }
}
