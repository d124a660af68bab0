//! PII detection with validators: payment cards, IBANs, e-mail, phone numbers, IP and MAC addresses,
//! dates of birth, crypto addresses and national identifiers with their check digits.
//!
//! Names and street addresses are not detected here: telling "Paris Hilton" from "Paris, Hilton hotel"
//! needs a model, and a pattern list would be loud and wrong. The audit's model-graded `pii_leak` check
//! covers them.
//!
//! Numbers are found by one linear pass that cuts the text into "chunks" (alphanumeric runs joined by
//! `-` `.` `/`, and by spaces between digits); each chunk with enough digits is classified by its shape and
//! accepted only when a check digit (or a strict structure plus a nearby keyword) confirms it. Formats
//! that need letters and spaces (IBAN, UK NINO), e-mail, phone, IPv6 and MAC addresses use their own
//! regexes.

mod chunk;
mod ids;
mod net;

use super::engine::dedup_overlaps;
use super::mask::mask;
use super::{Check, Finding, Severity};

/// What a caller expects to see and does not want reported.
#[derive(Debug, Clone, Copy, Default)]
pub struct Allow<'a> {
    /// Entity ids to skip entirely (`"ipv4"`, `"email"`, …; see [`ENTITIES`]).
    pub entities: &'a [&'a str],
    /// Exact values to skip (compared after removing spaces, `-` and `.`), e.g. a published support number.
    pub values: &'a [&'a str],
    /// E-mail domains to skip (the application's own `support@yourcompany.com`).
    pub email_domains: &'a [&'a str],
}

/// Every entity id this module can report.
pub const ENTITIES: &[&str] = &[
    "credit_card",
    "iban",
    "email",
    "phone",
    "ipv4",
    "ipv6",
    "mac_address",
    "date_of_birth",
    "btc_address",
    "eth_address",
    "us_ssn",
    "us_itin",
    "us_aba_routing",
    "uk_nino",
    "uk_nhs",
    "ca_sin",
    "in_aadhaar",
    "in_pan",
    "de_tax_id",
    "es_nif",
    "es_nie",
    "it_codice_fiscale",
    "fr_nir",
    "pl_pesel",
    "nl_bsn",
    "be_national_number",
    "se_personnummer",
    "fi_hetu",
    "no_fodselsnummer",
    "dk_cpr",
    "br_cpf",
    "br_cnpj",
    "ch_ahv",
    "cn_resident_id",
    "ie_pps",
    "ro_cnp",
    "pt_nif",
    "au_tfn",
];

/// A detection before masking and allow-listing.
pub(crate) struct Raw {
    pub entity: &'static str,
    pub span: (usize, usize),
    pub severity: Severity,
    pub confidence: f64,
}

/// All PII in `text` (scanned up to [`super::MAX_SCAN_BYTES`]) that `allow` does not exempt, masked.
pub fn scan(text: &str, allow: &Allow<'_>) -> Vec<Finding> {
    let text = super::scanned_prefix(text);
    let mut raw = Vec::new();
    // The shape classifiers are handed in, so chunking does not depend on them (nor they on it but for `Chunk`).
    chunk::scan(text, &mut raw, ids::classify);
    net::scan(text, allow, &mut raw);
    let out = raw
        .into_iter()
        .filter(|r| !allow.entities.contains(&r.entity))
        .filter(|r| {
            let v = normalise(&text[r.span.0..r.span.1]);
            !allow.values.iter().any(|a| normalise(a) == v)
        })
        .map(|r| Finding {
            check: Check::PiiLeak,
            rule: r.entity,
            severity: r.severity,
            confidence: r.confidence,
            span: r.span,
            evidence: mask(&text[r.span.0..r.span.1]),
            via: None,
        })
        .collect();
    dedup_overlaps(out)
}

fn normalise(s: &str) -> String {
    s.chars().filter(|c| !matches!(c, ' ' | '-' | '.')).flat_map(char::to_lowercase).collect()
}

/// Whether the lower-cased context before a value names one of `keywords`.
pub(crate) fn has_keyword(ctx: &str, keywords: &[&str]) -> bool {
    keywords.iter().any(|k| ctx.contains(k))
}

/// Whether `y-m-d` is a calendar date (years 1800..=2199).
pub(crate) fn valid_date(y: u32, m: u32, d: u32) -> bool {
    if !(1800..=2199).contains(&y) || !(1..=12).contains(&m) || d == 0 {
        return false;
    }
    let leap = (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400);
    let days = match m {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    d <= days
}

/// Two ASCII digits at `i` as a number (caller guarantees digits).
pub(crate) fn num2(d: &[u8], i: usize) -> u32 {
    u32::from(d[i] - b'0') * 10 + u32::from(d[i + 1] - b'0')
}
