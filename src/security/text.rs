//! Small text helpers shared by the detectors: char boundaries, windows, entropy, previews.

/// Largest char boundary ≤ `at` (std's `floor_char_boundary` is newer than our MSRV).
pub(crate) fn floor_char_boundary(s: &str, at: usize) -> usize {
    if at >= s.len() {
        return s.len();
    }
    let mut i = at;
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Smallest char boundary ≥ `at`.
pub(crate) fn ceil_char_boundary(s: &str, at: usize) -> usize {
    if at >= s.len() {
        return s.len();
    }
    let mut i = at;
    while !s.is_char_boundary(i) {
        i += 1;
    }
    i
}

/// How far a window edge may move to reach whitespace before it is cut hard.
const SNAP_SLACK: usize = 128;

/// Start of a window that should begin near `at`: moved back to just after ASCII whitespace when one is
/// within [`SNAP_SLACK`] bytes, so tokens are not cut and `^` in a pattern sees a real token start.
pub(crate) fn snap_back(s: &str, at: usize) -> usize {
    let b = s.as_bytes();
    let at = at.min(b.len());
    let lo = at.saturating_sub(SNAP_SLACK);
    let mut i = at;
    while i > lo {
        if b[i - 1].is_ascii_whitespace() {
            return i;
        }
        i -= 1;
    }
    if lo == 0 {
        0
    } else {
        floor_char_boundary(s, at)
    }
}

/// End of a window that should end near `at`: moved forward to ASCII whitespace within [`SNAP_SLACK`].
pub(crate) fn snap_fwd(s: &str, at: usize) -> usize {
    let b = s.as_bytes();
    if at >= b.len() {
        return b.len();
    }
    let hi = (at + SNAP_SLACK).min(b.len());
    let mut i = at;
    while i < hi {
        if b[i].is_ascii_whitespace() {
            return i;
        }
        i += 1;
    }
    if hi == b.len() {
        hi
    } else {
        ceil_char_boundary(s, at)
    }
}

/// Shannon entropy in bits per character of `s`, over bytes (the tokens we measure are ASCII).
pub(crate) fn shannon_entropy(s: &str) -> f64 {
    if s.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for &b in s.as_bytes() {
        counts[b as usize] += 1;
    }
    let n = s.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum()
}

/// Characters shown of non-secret evidence (an injection phrase, a script tag).
pub(crate) const PREVIEW_CHARS: usize = 80;

/// The first [`PREVIEW_CHARS`] characters of `s`, with control characters made visible.
pub(crate) fn preview(s: &str) -> String {
    let mut out = String::new();
    for (n, c) in s.chars().enumerate() {
        if n == PREVIEW_CHARS {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// Lower-cased ASCII bytes of the `n` bytes before `at`: the context keyword checks look at.
pub(crate) fn context_before(s: &str, at: usize, n: usize) -> String {
    let lo = floor_char_boundary(s, at.saturating_sub(n));
    s[lo..at.min(s.len())].to_ascii_lowercase()
}

/// ROT13 of the ASCII letters of `s`; everything else unchanged.
pub(crate) fn rot13(s: &str) -> String {
    // Byte-wise: only ASCII letters change, so multi-byte sequences stay intact and the result is UTF-8.
    let bytes: Vec<u8> = s
        .bytes()
        .map(|c| match c {
            b'a'..=b'z' => (c - b'a' + 13) % 26 + b'a',
            b'A'..=b'Z' => (c - b'A' + 13) % 26 + b'A',
            _ => c,
        })
        .collect();
    String::from_utf8(bytes).unwrap_or_default()
}
