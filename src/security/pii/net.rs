//! The regex-found entities: e-mail, phone, IPv6, MAC, IBAN and UK NINO.

use std::net::Ipv6Addr;
use std::sync::LazyLock;

use regex::Regex;

use super::super::checksum;
use super::super::text::context_before;
use super::{has_keyword, Allow, Raw};
use crate::security::Severity;

/// Regexes run over the whole text (e-mail: the engine seeks the `@` literal) or anchored at candidate
/// starts found by a byte loop (phone, IBAN, NINO): a full regex pass per entity would cost more than all
/// the validation together.
struct Patterns {
    email: Regex,
    phone: Regex,
    iban: Regex,
    nino: Regex,
}

static PATTERNS: LazyLock<Option<Patterns>> = LazyLock::new(|| {
    Some(Patterns {
        email: Regex::new(r"[A-Za-z0-9._%+\-]{1,64}@[A-Za-z0-9\-]{1,63}(?:\.[A-Za-z0-9\-]{1,63}){0,8}\.[A-Za-z]{2,24}")
            .ok()?,
        phone: Regex::new(concat!(
            r"^(?:\+[1-9][0-9]{0,2}[ .\-]?(?:\([0-9]{1,4}\)[ .\-]?)?[0-9]{1,4}(?:[ .\-]?[0-9]{1,5}){1,5}",
            r"|\([2-9][0-9]{2}\) ?[2-9][0-9]{2}[ .\-][0-9]{4}",
            r"|[2-9][0-9]{2}[.\-][2-9][0-9]{2}[.\-][0-9]{4}",
            r"|0[1-9](?:[ .][0-9]{2}){4}",
            r"|0[1-9][0-9]{2,3} [0-9]{3} ?[0-9]{3,4})",
        ))
        .ok()?,
        iban: Regex::new(r"^[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]){11,32}").ok()?,
        nino: Regex::new(r"^[A-Z]{2} ?[0-9]{2} ?[0-9]{2} ?[0-9]{2} ?[A-D]").ok()?,
    })
});

/// Domains reserved for documentation (RFC 2606 / 6761): addresses there are examples, not people.
const RESERVED_EMAIL_DOMAINS: &[&str] =
    &["example.com", "example.org", "example.net", "test", "invalid", "localhost", "example"];
/// "TLDs" that are really file extensions (`icon@2x.png`).
const FILE_EXTENSIONS: &[&str] = &["png", "jpg", "jpeg", "gif", "svg", "webp", "js", "css", "ts", "py", "rs", "json"];
const PHONE_KEYWORDS: &[&str] =
    &["phone", "tel", "call", "mobile", "cell", "fax", "whatsapp", "telefon", "téléphone", "contact"];

fn boundary_ok(text: &str, s: usize, e: usize, cont: impl Fn(u8) -> bool) -> bool {
    let b = text.as_bytes();
    (s == 0 || !cont(b[s - 1])) && (e >= b.len() || !cont(b[e]))
}

pub(super) fn scan(text: &str, allow: &Allow<'_>, out: &mut Vec<Raw>) {
    let Some(p) = PATTERNS.as_ref() else { return };
    if text.contains('@') {
        for m in p.email.find_iter(text) {
            let (s, e) = (m.start(), m.end());
            let v = m.as_str();
            let Some((local, domain)) = v.split_once('@') else { continue };
            let domain_l = domain.to_ascii_lowercase();
            let tld = domain_l.rsplit('.').next().unwrap_or("");
            if local.starts_with('.') || local.ends_with('.') || local.contains("..") || FILE_EXTENSIONS.contains(&tld)
            {
                continue;
            }
            let reserved = |d: &&str| domain_l == *d || domain_l.ends_with(&format!(".{d}"));
            if RESERVED_EMAIL_DOMAINS.iter().any(reserved) || allow.email_domains.iter().any(reserved) {
                continue;
            }
            if !boundary_ok(text, s, e, |b| b.is_ascii_alphanumeric() || b == b'@') {
                continue;
            }
            out.push(Raw { entity: "email", span: (s, e), severity: Severity::Medium, confidence: 0.95 });
        }
    }
    candidates(text, p, out);
    colon_runs(text, out);
}

/// Longest phone number candidate looked at from one start (E.164 with separators fits).
const PHONE_MAX: usize = 32;
/// Longest IBAN with spaces.
const IBAN_MAX: usize = 48;

/// One byte loop finds where a phone number (`+`, `(` or a digit at a token start) or an IBAN / NINO (two
/// upper-case letters at a token start, then a digit) may begin; the anchored regexes run only there.
fn candidates(text: &str, p: &Patterns, out: &mut Vec<Raw>) {
    let b = text.as_bytes();
    let n = b.len();
    let mut i = 0;
    while i < n {
        let c = b[i];
        let token_start = i == 0 || !b[i - 1].is_ascii_alphanumeric();
        if !token_start || !(c.is_ascii_digit() || c == b'+' || c == b'(' || c.is_ascii_uppercase()) {
            i += 1;
            continue;
        }
        if c.is_ascii_uppercase() {
            let two = i + 3 < n && b[i + 1].is_ascii_uppercase();
            if two && (b[i + 2].is_ascii_digit() || (b[i + 2] == b' ' && b[i + 3].is_ascii_digit())) {
                if let Some(span) = anchored(&p.iban, text, i, IBAN_MAX).and_then(|(s, e)| iban_at(text, s, e)) {
                    out.push(Raw { entity: "iban", span, severity: Severity::High, confidence: 0.97 });
                    i = span.1;
                    continue;
                }
                if let Some((s, e)) = anchored(&p.nino, text, i, 14) {
                    let compact: Vec<u8> = text[s..e].bytes().filter(|b| *b != b' ').collect();
                    if nino_ok(&compact) && boundary_ok(text, s, e, |b| b.is_ascii_alphanumeric()) {
                        out.push(Raw { entity: "uk_nino", span: (s, e), severity: Severity::High, confidence: 0.9 });
                        i = e;
                        continue;
                    }
                }
            }
            i += 1;
            continue;
        }
        if c == b'(' || c == b'+' || (i == 0 || !matches!(b[i - 1], b'+' | b'(')) {
            if let Some((s, e)) = anchored(&p.phone, text, i, PHONE_MAX) {
                if let Some(raw) = phone(text, s, e) {
                    out.push(raw);
                    i = e;
                    continue;
                }
            }
        }
        // Skip the rest of this token: a phone number starts at a token start.
        i += 1;
        while i < n && b[i].is_ascii_alphanumeric() {
            i += 1;
        }
    }
}

/// The match of an `^`-anchored regex at `at`, looking at most `max` bytes ahead.
fn anchored(re: &Regex, text: &str, at: usize, max: usize) -> Option<(usize, usize)> {
    let end = super::super::text::floor_char_boundary(text, at + max);
    re.find(&text[at..end]).map(|m| (at + m.start(), at + m.end()))
}

fn phone(text: &str, s: usize, e: usize) -> Option<Raw> {
    let v = &text[s..e];
    let digits = v.bytes().filter(u8::is_ascii_digit).count();
    if !(7..=15).contains(&digits) || !boundary_ok(text, s, e, |b| b.is_ascii_alphanumeric() || b == b'+') {
        return None;
    }
    let e164 = v.starts_with('+');
    if e164 && digits < 8 {
        return None;
    }
    let kw = has_keyword(&context_before(text, s, 40), PHONE_KEYWORDS);
    let confidence = if e164 { 0.85 } else { 0.7 } + if kw { 0.1 } else { 0.0 };
    Some(Raw { entity: "phone", span: (s, e), severity: Severity::Medium, confidence })
}

/// Longest run of hex digits and colons considered (a full IPv6 address is 39 characters).
const COLON_RUN_MAX: usize = 45;

/// IPv6 and colon-separated MAC addresses: every `:` (found with the SIMD `find`) is grown into its run of
/// hex digits and colons, and the run is parsed.
fn colon_runs(text: &str, out: &mut Vec<Raw>) {
    let b = text.as_bytes();
    let run_byte = |c: u8| c.is_ascii_hexdigit() || c == b':';
    let mut from = 0;
    while let Some(k) = text[from..].find(':').map(|k| k + from) {
        let mut s = k;
        while s > 0 && run_byte(b[s - 1]) && k - s < COLON_RUN_MAX {
            s -= 1;
        }
        let mut e = k + 1;
        while e < b.len() && run_byte(b[e]) && e - s < COLON_RUN_MAX {
            e += 1;
        }
        from = e;
        let v = &text[s..e];
        if v.len() < 3 || !boundary_ok(text, s, e, |c| c.is_ascii_alphanumeric() || c == b':' || c == b'.') {
            continue;
        }
        if v.len() == 17 && v.split(':').count() == 6 && v.split(':').all(|g| g.len() == 2) {
            let l = v.to_ascii_lowercase();
            if !l.bytes().all(|c| c == b'0' || c == b':') && !l.bytes().all(|c| c == b'f' || c == b':') {
                out.push(Raw { entity: "mac_address", span: (s, e), severity: Severity::Low, confidence: 0.8 });
            }
            continue;
        }
        let groups = v.split(':').filter(|g| !g.is_empty()).count();
        let hex = v.bytes().filter(u8::is_ascii_hexdigit).count();
        if groups < 2 || hex < 4 || !v.bytes().any(|c| c.is_ascii_digit()) {
            continue;
        }
        let Ok(addr) = v.parse::<Ipv6Addr>() else { continue };
        if addr.is_loopback() || addr.is_unspecified() {
            continue;
        }
        let local = (addr.segments()[0] & 0xffc0) == 0xfe80 || (addr.segments()[0] & 0xfe00) == 0xfc00;
        let severity = if local { Severity::Low } else { Severity::Medium };
        out.push(Raw { entity: "ipv6", span: (s, e), severity, confidence: 0.9 });
    }
}

/// IBAN lengths per country (ISO 13616 registry).
fn iban_length(cc: &[u8]) -> Option<usize> {
    const TABLE: &[(&[u8; 2], usize)] = &[
        (b"AD", 24),
        (b"AE", 23),
        (b"AL", 28),
        (b"AT", 20),
        (b"AZ", 28),
        (b"BA", 20),
        (b"BE", 16),
        (b"BG", 22),
        (b"BH", 22),
        (b"BR", 29),
        (b"BY", 28),
        (b"CH", 21),
        (b"CR", 22),
        (b"CY", 28),
        (b"CZ", 24),
        (b"DE", 22),
        (b"DK", 18),
        (b"DO", 28),
        (b"EE", 20),
        (b"EG", 29),
        (b"ES", 24),
        (b"FI", 18),
        (b"FO", 18),
        (b"FR", 27),
        (b"GB", 22),
        (b"GE", 22),
        (b"GI", 23),
        (b"GL", 18),
        (b"GR", 27),
        (b"GT", 28),
        (b"HR", 21),
        (b"HU", 28),
        (b"IE", 22),
        (b"IL", 23),
        (b"IQ", 23),
        (b"IS", 26),
        (b"IT", 27),
        (b"JO", 30),
        (b"KW", 30),
        (b"KZ", 20),
        (b"LB", 28),
        (b"LC", 32),
        (b"LI", 21),
        (b"LT", 20),
        (b"LU", 20),
        (b"LV", 21),
        (b"MC", 27),
        (b"MD", 24),
        (b"ME", 22),
        (b"MK", 19),
        (b"MR", 27),
        (b"MT", 31),
        (b"MU", 30),
        (b"NL", 18),
        (b"NO", 15),
        (b"PK", 24),
        (b"PL", 28),
        (b"PS", 29),
        (b"PT", 25),
        (b"QA", 29),
        (b"RO", 24),
        (b"RS", 22),
        (b"SA", 24),
        (b"SC", 31),
        (b"SE", 24),
        (b"SI", 19),
        (b"SK", 24),
        (b"SM", 27),
        (b"ST", 25),
        (b"SV", 28),
        (b"TL", 23),
        (b"TN", 24),
        (b"TR", 26),
        (b"UA", 29),
        (b"VA", 22),
        (b"VG", 24),
        (b"XK", 20),
    ];
    TABLE.iter().find(|(c, _)| c.as_slice() == cc).map(|(_, n)| *n)
}

/// The IBAN starting at `s`: cut at its country's length (the regex may run into following words), then
/// mod-97 checked. Returns its byte span.
fn iban_at(text: &str, s: usize, e: usize) -> Option<(usize, usize)> {
    let b = text.as_bytes();
    if s > 0 && b[s - 1].is_ascii_alphanumeric() {
        return None;
    }
    let len = iban_length(&b[s..s + 2])?;
    let mut compact = Vec::with_capacity(len);
    let mut end = s;
    for (i, &c) in b[s..e].iter().enumerate() {
        if c != b' ' {
            compact.push(c);
            end = s + i + 1;
        }
        if compact.len() == len {
            break;
        }
    }
    if compact.len() != len || (end < b.len() && b[end].is_ascii_alphanumeric()) {
        return None;
    }
    checksum::iban_mod97(&compact).then_some((s, end))
}

/// UK National Insurance number: prefix letters from the allowed sets, minus the never-issued pairs.
fn nino_ok(c: &[u8]) -> bool {
    if c.len() != 9 {
        return false;
    }
    const BAD_FIRST: &[u8] = b"DFIQUV";
    const BAD_SECOND: &[u8] = b"DFIQUVO";
    const BAD_PAIRS: &[&[u8]] = &[b"BG", b"GB", b"KN", b"NK", b"NT", b"TN", b"ZZ"];
    !BAD_FIRST.contains(&c[0]) && !BAD_SECOND.contains(&c[1]) && !BAD_PAIRS.contains(&&c[..2])
}
