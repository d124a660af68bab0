//! Shape classifiers with check digits: cards, national identifiers, IPv4, dates of birth, crypto addresses.
//! Each returns the entity when the chunk's shape fits and its check digits (or structure plus a keyword
//! before it, for numbers whose checksum alone passes too often) confirm it. First match wins, so the
//! strongest validations come first.

use super::super::checksum::{base58check, bech32_ok, iso7064_mod11_10, luhn, mod_decimal, verhoeff, weighted_sum};
use super::super::text::context_before;
use super::chunk::Chunk;
use super::{has_keyword, num2, valid_date, Raw};
use crate::security::Severity::{self, High, Low, Medium};

/// Bytes before a chunk searched for an entity's keyword ("SSN:", "NHS number").
const KEYWORD_WINDOW: usize = 48;

type Classifier = fn(&Chunk<'_>, &mut Ctx) -> Option<(&'static str, Severity, f64)>;

/// Lazily computed context of a chunk: most chunks never need it.
pub(crate) struct Ctx {
    before: Option<String>,
}

impl Ctx {
    fn kw(&mut self, c: &Chunk<'_>, keywords: &[&str]) -> bool {
        let before = self.before.get_or_insert_with(|| context_before(c.source, c.start, KEYWORD_WINDOW));
        has_keyword(before, keywords)
    }
}

const CLASSIFIERS: &[Classifier] = &[
    cn_resident_id,
    credit_card,
    ch_ahv,
    br_cpf,
    br_cnpj,
    be_national_number,
    fr_nir,
    fi_hetu,
    it_codice_fiscale,
    es_nif_nie,
    in_pan,
    us_ssn_itin,
    se_personnummer,
    dk_cpr,
    no_fodselsnummer,
    pl_pesel,
    ro_cnp,
    de_tax_id,
    nl_bsn,
    ca_sin,
    au_tfn,
    pt_nif,
    uk_nhs,
    us_aba_routing,
    in_aadhaar,
    ie_pps,
    date_of_birth,
    ipv4,
    crypto,
];

pub(super) fn classify(c: &Chunk<'_>) -> Option<Raw> {
    let mut ctx = Ctx { before: None };
    CLASSIFIERS.iter().find_map(|f| f(c, &mut ctx)).map(|(entity, severity, confidence)| Raw {
        entity,
        span: (c.start, c.end),
        severity,
        confidence,
    })
}

/// A numeric chunk of `n` digits that is either one bare group (then a keyword is required) or exactly
/// one of the `shapes` with separators from `seps`. Returns whether it was formatted.
fn numeric_form(c: &Chunk<'_>, ctx: &mut Ctx, n: usize, shapes: &[&[u8]], seps: &[u8], kw: &[&str]) -> Option<bool> {
    if !c.numeric() || c.n_digits != n {
        return None;
    }
    if c.n_groups == 1 {
        return ctx.kw(c, kw).then_some(false);
    }
    let formatted = shapes.iter().any(|s| c.shape(s)) && c.seps().iter().all(|s| seps.contains(s));
    formatted.then_some(true)
}

fn credit_card(c: &Chunk<'_>, _: &mut Ctx) -> Option<(&'static str, Severity, f64)> {
    let d = c.digits();
    if !c.numeric() || !(12..=19).contains(&d.len()) || !luhn(d) {
        return None;
    }
    let g = c.groups();
    let formatted = c.n_groups > 1;
    let shape_ok = !formatted
        || ((c.seps_all(b' ') || c.seps_all(b'-'))
            && (g.iter().take(g.len() - 1).all(|&l| l == 4) && g[g.len() - 1] <= 4
                || g == [4, 6, 5]
                || g == [4, 6, 4]));
    if !shape_ok || !iin_ok(d) {
        return None;
    }
    Some(("credit_card", High, if formatted { 0.95 } else { 0.85 }))
}

/// Issuer identification number ranges and the lengths each network issues.
fn iin_ok(d: &[u8]) -> bool {
    let n = d.len();
    let p = |k: usize| -> u32 { d[..k].iter().fold(0, |a, &x| a * 10 + u32::from(x - b'0')) };
    let (p1, p2, p3, p4) = (p(1), p(2), p(3), p(4));
    (p1 == 4 && matches!(n, 13 | 16 | 19))
        || (((51..=55).contains(&p2) || (2221..=2720).contains(&p4)) && n == 16)
        || ((p2 == 34 || p2 == 37) && n == 15)
        || ((p4 == 6011 || (644..=649).contains(&p3) || p2 == 65) && (16..=19).contains(&n))
        || ((3528..=3589).contains(&p4) && (16..=19).contains(&n))
        || (((300..=305).contains(&p3) || p2 == 36 || p2 == 38 || p2 == 39) && (14..=19).contains(&n))
        || (p2 == 62 && (16..=19).contains(&n))
        || ([5018, 5020, 5038, 5893, 6304, 6759, 6761, 6762, 6763].contains(&p4) && (12..=19).contains(&n))
}

fn cn_resident_id(c: &Chunk<'_>, _: &mut Ctx) -> Option<(&'static str, Severity, f64)> {
    let t = c.text.as_bytes();
    if c.n_groups != 1 || t.len() != 18 || !t[..17].iter().all(u8::is_ascii_digit) {
        return None;
    }
    if !(t[17].is_ascii_digit() || t[17] == b'X' || t[17] == b'x') {
        return None;
    }
    let y = num2(t, 6) * 100 + num2(t, 8);
    if !valid_date(y, num2(t, 10), num2(t, 12)) {
        return None;
    }
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let check = b"10X98765432"[(weighted_sum(&t[..17], &W) % 11) as usize];
    (check == t[17].to_ascii_uppercase()).then_some(("cn_resident_id", High, 0.95))
}

fn ch_ahv(c: &Chunk<'_>, ctx: &mut Ctx) -> Option<(&'static str, Severity, f64)> {
    let formatted = numeric_form(c, ctx, 13, &[&[3, 4, 4, 2]], b".", &["ahv", "avs", "sozialversicherung"])?;
    let d = c.digits();
    if &d[..3] != b"756" {
        return None;
    }
    let sum: u32 = d[..12].iter().enumerate().map(|(i, &x)| u32::from(x - b'0') * if i % 2 == 0 { 1 } else { 3 }).sum();
    ((10 - sum % 10) % 10 == u32::from(d[12] - b'0')).then_some(("ch_ahv", High, if formatted { 0.95 } else { 0.9 }))
}

/// Brazilian mod-11 check digit over `d` with descending weights starting at `top`.
fn br_digit(d: &[u8], weights: &[u32]) -> u8 {
    let r = weighted_sum(d, weights) % 11;
    if r < 2 {
        b'0'
    } else {
        b'0' + (11 - r) as u8
    }
}

fn br_cpf(c: &Chunk<'_>, ctx: &mut Ctx) -> Option<(&'static str, Severity, f64)> {
    numeric_form(c, ctx, 11, &[&[3, 3, 3, 2]], b".-", &["cpf"])?;
    let d = c.digits();
    if d.iter().all(|&x| x == d[0]) || (c.n_groups > 1 && c.seps() != b"..-") {
        return None;
    }
    let ok = br_digit(&d[..9], &[10, 9, 8, 7, 6, 5, 4, 3, 2]) == d[9]
        && br_digit(&d[..10], &[11, 10, 9, 8, 7, 6, 5, 4, 3, 2]) == d[10];
    ok.then_some(("br_cpf", High, 0.95))
}

fn br_cnpj(c: &Chunk<'_>, ctx: &mut Ctx) -> Option<(&'static str, Severity, f64)> {
    numeric_form(c, ctx, 14, &[&[2, 3, 3, 4, 2]], b"./-", &["cnpj"])?;
    let d = c.digits();
    if d.iter().all(|&x| x == d[0]) {
        return None;
    }
    let ok = br_digit(&d[..12], &[5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2]) == d[12]
        && br_digit(&d[..13], &[6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2]) == d[13];
    ok.then_some(("br_cnpj", Medium, 0.95))
}

fn be_national_number(c: &Chunk<'_>, ctx: &mut Ctx) -> Option<(&'static str, Severity, f64)> {
    let kw = ["rijksregister", "registre national", "national number", "numéro national", "insz", "niss"];
    numeric_form(c, ctx, 11, &[&[2, 2, 2, 3, 2]], b".-", &kw)?;
    let d = c.digits();
    let body = mod_decimal(&d[..9], 97)?;
    let check = u64::from(num2(d, 9));
    let mut with2 = vec![b'2'];
    with2.extend_from_slice(&d[..9]);
    let ok = 97 - body == check || 97 - mod_decimal(&with2, 97)? == check;
    (ok && num2(d, 2) <= 12 && num2(d, 4) <= 31).then_some(("be_national_number", High, 0.9))
}

fn fr_nir(c: &Chunk<'_>, ctx: &mut Ctx) -> Option<(&'static str, Severity, f64)> {
    let kw = ["nir", "sécurité sociale", "securite sociale", "insee", "social security", "carte vitale"];
    let mut t = c.compact();
    if t.len() != 15 || c.letters > 1 {
        return None;
    }
    // Corsica: département 2A / 2B count as 19 / 18 in the key computation.
    let corsica = match (t[5], t[6]) {
        (b'2', b'A') => Some(19u64),
        (b'2', b'B') => Some(18),
        _ => None,
    };
    if corsica.is_some() {
        t[6] = b'0';
    }
    if !t.iter().all(u8::is_ascii_digit) || !matches!(t[0], b'1' | b'2' | b'3' | b'4' | b'7' | b'8') {
        return None;
    }
    let shaped = c.shape(&[1, 2, 2, 2, 3, 3, 2]) && c.seps_all(b' ');
    if !(shaped || (c.n_groups == 1 && ctx.kw(c, &kw))) {
        return None;
    }
    let m = num2(&t, 3);
    if !((1..=12).contains(&m) || m == 20 || (30..=42).contains(&m) || (50..=99).contains(&m)) {
        return None;
    }
    let mut n = mod_decimal(&t[..13], 97)?;
    if let Some(sub) = corsica {
        // Replace the 7th digit (index 6, set to 0 above) contribution: 2A → 19, 2B → 18 as digits 5..7.
        let mut alt = t[..13].to_vec();
        alt[5] = b'0' + (sub / 10) as u8;
        alt[6] = b'0' + (sub % 10) as u8;
        n = mod_decimal(&alt, 97)?;
    }
    (97 - n == u64::from(num2(&t, 13))).then_some(("fr_nir", High, 0.95))
}

fn fi_hetu(c: &Chunk<'_>, _: &mut Ctx) -> Option<(&'static str, Severity, f64)> {
    let t = c.text.as_bytes();
    if t.len() != 11 || !t[..6].iter().all(u8::is_ascii_digit) || !t[7..10].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let century = match t[6] {
        b'+' => 1800,
        b'-' | b'U'..=b'Y' => 1900,
        b'A'..=b'F' => 2000,
        _ => return None,
    };
    if !valid_date(century + num2(t, 4), num2(t, 2), num2(t, 0)) {
        return None;
    }
    let mut nine = t[..6].to_vec();
    nine.extend_from_slice(&t[7..10]);
    let check = b"0123456789ABCDEFHJKLMNPRSTUVWXY"[mod_decimal(&nine, 31)? as usize];
    (check == t[10]).then_some(("fi_hetu", High, 0.95))
}

fn it_codice_fiscale(c: &Chunk<'_>, _: &mut Ctx) -> Option<(&'static str, Severity, f64)> {
    let t = c.text.as_bytes();
    if c.n_groups != 1 || t.len() != 16 || !t.iter().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()) {
        return None;
    }
    // Letters at 0-5, 8, 11, 15; digits (or their omocodia letters) elsewhere.
    let omocodia = |b: u8| b.is_ascii_digit() || b"LMNPQRSTUV".contains(&b);
    let letter_pos = [0, 1, 2, 3, 4, 5, 8, 11, 15];
    for (i, &b) in t.iter().enumerate() {
        let ok = if letter_pos.contains(&i) { b.is_ascii_uppercase() } else { omocodia(b) };
        if !ok {
            return None;
        }
    }
    if !b"ABCDEHLMPRST".contains(&t[8]) {
        return None;
    }
    const ODD: [u32; 26] =
        [1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23];
    let val = |b: u8| if b.is_ascii_digit() { usize::from(b - b'0') } else { usize::from(b - b'A') };
    let sum: u32 = t[..15].iter().enumerate().map(|(i, &b)| if i % 2 == 0 { ODD[val(b)] } else { val(b) as u32 }).sum();
    (b'A' + (sum % 26) as u8 == t[15]).then_some(("it_codice_fiscale", High, 0.95))
}

const ES_LETTERS: &[u8; 23] = b"TRWAGMYFPDXBNJZSQVHLCKE";

fn es_nif_nie(c: &Chunk<'_>, _: &mut Ctx) -> Option<(&'static str, Severity, f64)> {
    let t = c.compact();
    if t.len() != 9 || !t[8].is_ascii_uppercase() || !t[1..8].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let (entity, lead) = match t[0] {
        b'X' => ("es_nie", b'0'),
        b'Y' => ("es_nie", b'1'),
        b'Z' => ("es_nie", b'2'),
        d if d.is_ascii_digit() => ("es_nif", d),
        _ => return None,
    };
    let mut digits = vec![lead];
    digits.extend_from_slice(&t[1..8]);
    (ES_LETTERS[mod_decimal(&digits, 23)? as usize] == t[8]).then_some((entity, High, 0.9))
}

fn in_pan(c: &Chunk<'_>, _: &mut Ctx) -> Option<(&'static str, Severity, f64)> {
    let t = c.text.as_bytes();
    let ok = c.n_groups == 1
        && t.len() == 10
        && t[..5].iter().all(u8::is_ascii_uppercase)
        && t[5..9].iter().all(u8::is_ascii_digit)
        && t[9].is_ascii_uppercase()
        && b"ABCFGHLJPT".contains(&t[3]);
    ok.then_some(("in_pan", High, 0.8))
}

fn us_ssn_itin(c: &Chunk<'_>, ctx: &mut Ctx) -> Option<(&'static str, Severity, f64)> {
    let kw = ["ssn", "social security", "itin", "taxpayer"];
    let formatted = numeric_form(c, ctx, 9, &[&[3, 2, 4]], b"- ", &kw)?;
    if formatted && !(c.seps_all(b'-') || c.seps_all(b' ')) {
        return None;
    }
    let d = c.digits();
    let area = u32::from(d[0] - b'0') * 100 + num2(d, 1);
    let group = num2(d, 3);
    let serial = num2(d, 5) * 100 + num2(d, 7);
    if group == 0 || serial == 0 || d == b"078051120" || d == b"123456789" {
        return None;
    }
    let conf = if ctx.kw(c, &kw) { 0.95 } else { 0.8 };
    if area >= 900 {
        let itin_group = (50..=65).contains(&group)
            || (70..=88).contains(&group)
            || (90..=92).contains(&group)
            || (94..=99).contains(&group);
        return itin_group.then_some(("us_itin", High, conf));
    }
    (area != 0 && area != 666).then_some(("us_ssn", High, conf))
}

fn se_personnummer(c: &Chunk<'_>, ctx: &mut Ctx) -> Option<(&'static str, Severity, f64)> {
    if !c.numeric() {
        return None;
    }
    let d = c.digits();
    let shaped = (c.shape(&[6, 4]) || c.shape(&[8, 4])) && (c.seps_all(b'-'));
    let bare = c.n_groups == 1 && (d.len() == 10 || d.len() == 12) && ctx.kw(c, &["personnummer", "personnr"]);
    if !(shaped || bare) {
        return None;
    }
    let ten = &d[d.len() - 10..];
    let day = num2(ten, 4);
    let day = if day > 60 { day - 60 } else { day };
    let year = if d.len() == 12 { num2(d, 0) * 100 + num2(d, 2) } else { 1900 + num2(ten, 0) };
    (valid_date(year, num2(ten, 2), day) && luhn(ten)).then_some(("se_personnummer", High, 0.9))
}

fn dk_cpr(c: &Chunk<'_>, ctx: &mut Ctx) -> Option<(&'static str, Severity, f64)> {
    numeric_form(c, ctx, 10, &[&[6, 4]], b"-", &["cpr"])?;
    if !ctx.kw(c, &["cpr"]) {
        return None;
    }
    let d = c.digits();
    valid_date(1900 + num2(d, 4), num2(d, 2), num2(d, 0)).then_some(("dk_cpr", High, 0.85))
}

fn no_fodselsnummer(c: &Chunk<'_>, ctx: &mut Ctx) -> Option<(&'static str, Severity, f64)> {
    let kw = ["fødselsnummer", "fodselsnummer", "f.nr", "fnr", "personnummer"];
    numeric_form(c, ctx, 11, &[&[6, 5]], b" ", &kw)?;
    let d = c.digits();
    let k1 = 11 - weighted_sum(&d[..9], &[3, 7, 6, 1, 8, 9, 4, 5, 2]) % 11;
    let k2 = 11 - weighted_sum(&d[..10], &[5, 4, 3, 2, 7, 6, 5, 4, 3, 2]) % 11;
    let norm = |k: u32| if k == 11 { 0 } else { k };
    let (day, month) = (num2(d, 0) % 40, num2(d, 2) % 40);
    let ok = norm(k1) == u32::from(d[9] - b'0') && norm(k2) == u32::from(d[10] - b'0') && k1 != 10 && k2 != 10;
    (ok && valid_date(1900 + num2(d, 4), month, day)).then_some(("no_fodselsnummer", High, 0.9))
}

fn pl_pesel(c: &Chunk<'_>, ctx: &mut Ctx) -> Option<(&'static str, Severity, f64)> {
    numeric_form(c, ctx, 11, &[], b"", &["pesel"])?;
    let d = c.digits();
    let check = (10 - weighted_sum(&d[..10], &[1, 3, 7, 9, 1, 3, 7, 9, 1, 3]) % 10) % 10;
    let m = num2(d, 2);
    let (century, month) = match m {
        1..=12 => (1900, m),
        21..=32 => (2000, m - 20),
        41..=52 => (2100, m - 40),
        61..=72 => (2200, m - 60),
        81..=92 => (1800, m - 80),
        _ => return None,
    };
    let ok = check == u32::from(d[10] - b'0') && valid_date((century + num2(d, 0)).min(2199), month, num2(d, 4));
    ok.then_some(("pl_pesel", High, 0.95))
}

fn ro_cnp(c: &Chunk<'_>, ctx: &mut Ctx) -> Option<(&'static str, Severity, f64)> {
    numeric_form(c, ctx, 13, &[], b"", &["cnp", "cod numeric personal"])?;
    let d = c.digits();
    if !(b'1'..=b'8').contains(&d[0]) || !valid_date(1900 + num2(d, 1), num2(d, 3), num2(d, 5)) {
        return None;
    }
    let r = weighted_sum(&d[..12], &[2, 7, 9, 1, 4, 6, 3, 5, 8, 2, 7, 9]) % 11;
    let check = if r == 10 { 1 } else { r };
    (check == u32::from(d[12] - b'0')).then_some(("ro_cnp", High, 0.95))
}

fn de_tax_id(c: &Chunk<'_>, ctx: &mut Ctx) -> Option<(&'static str, Severity, f64)> {
    let kw = ["steuer", "tax id", "idnr", "identifikationsnummer", "tin"];
    let formatted = numeric_form(c, ctx, 11, &[&[2, 3, 3, 3]], b" ", &kw)?;
    let d = c.digits();
    if d[0] == b'0' || !iso7064_mod11_10(d) {
        return None;
    }
    // In the first ten digits exactly one digit repeats (twice or three times); the rest occur once.
    let mut counts = [0u8; 10];
    for &x in &d[..10] {
        counts[usize::from(x - b'0')] += 1;
    }
    let repeated = counts.iter().filter(|&&n| n >= 2).count();
    let ok = repeated == 1 && counts.iter().all(|&n| n <= 3);
    let conf = if formatted && !ctx.kw(c, &kw) { 0.7 } else { 0.9 };
    ok.then_some(("de_tax_id", High, conf))
}

fn nl_bsn(c: &Chunk<'_>, ctx: &mut Ctx) -> Option<(&'static str, Severity, f64)> {
    let kw = ["bsn", "burgerservicenummer", "sofinummer", "sofi"];
    numeric_form(c, ctx, 9, &[&[4, 2, 3], &[3, 3, 3]], b". ", &kw)?;
    if !ctx.kw(c, &kw) {
        return None;
    }
    let d = c.digits();
    let s = weighted_sum(&d[..8], &[9, 8, 7, 6, 5, 4, 3, 2]) as i64 - i64::from(d[8] - b'0');
    (s % 11 == 0 && s > 0).then_some(("nl_bsn", High, 0.9))
}

fn ca_sin(c: &Chunk<'_>, ctx: &mut Ctx) -> Option<(&'static str, Severity, f64)> {
    let kw = ["sin", "social insurance", "nas", "assurance sociale"];
    numeric_form(c, ctx, 9, &[&[3, 3, 3]], b" -", &kw)?;
    let d = c.digits();
    (ctx.kw(c, &kw) && d[0] != b'0' && d[0] != b'8' && luhn(d)).then_some(("ca_sin", High, 0.9))
}

fn au_tfn(c: &Chunk<'_>, ctx: &mut Ctx) -> Option<(&'static str, Severity, f64)> {
    let kw = ["tfn", "tax file"];
    numeric_form(c, ctx, 9, &[&[3, 3, 3]], b" ", &kw)?;
    let d = c.digits();
    let ok = ctx.kw(c, &kw) && weighted_sum(d, &[1, 4, 3, 7, 5, 8, 6, 9, 10]).is_multiple_of(11);
    ok.then_some(("au_tfn", High, 0.9))
}

fn pt_nif(c: &Chunk<'_>, ctx: &mut Ctx) -> Option<(&'static str, Severity, f64)> {
    let kw = ["nif", "contribuinte"];
    numeric_form(c, ctx, 9, &[&[3, 3, 3]], b" ", &kw)?;
    let d = c.digits();
    if !ctx.kw(c, &kw) || !b"1235689".contains(&d[0]) {
        return None;
    }
    let r = 11 - weighted_sum(&d[..8], &[9, 8, 7, 6, 5, 4, 3, 2]) % 11;
    let check = if r >= 10 { 0 } else { r };
    (check == u32::from(d[8] - b'0')).then_some(("pt_nif", High, 0.9))
}

fn uk_nhs(c: &Chunk<'_>, ctx: &mut Ctx) -> Option<(&'static str, Severity, f64)> {
    numeric_form(c, ctx, 10, &[&[3, 3, 4]], b" -", &["nhs"])?;
    if !ctx.kw(c, &["nhs"]) {
        return None;
    }
    let d = c.digits();
    let r = 11 - weighted_sum(&d[..9], &[10, 9, 8, 7, 6, 5, 4, 3, 2]) % 11;
    let check = if r == 11 { 0 } else { r };
    (check != 10 && check == u32::from(d[9] - b'0')).then_some(("uk_nhs", High, 0.95))
}

fn us_aba_routing(c: &Chunk<'_>, ctx: &mut Ctx) -> Option<(&'static str, Severity, f64)> {
    let kw = ["routing", "aba", "rtn"];
    numeric_form(c, ctx, 9, &[], b"", &kw)?;
    let d = c.digits();
    let p = num2(d, 0);
    let prefix_ok = p <= 12 || (21..=32).contains(&p) || (61..=72).contains(&p) || p == 80;
    let ok = prefix_ok && weighted_sum(d, &[3, 7, 1, 3, 7, 1, 3, 7, 1]).is_multiple_of(10);
    ok.then_some(("us_aba_routing", Medium, 0.85))
}

fn in_aadhaar(c: &Chunk<'_>, ctx: &mut Ctx) -> Option<(&'static str, Severity, f64)> {
    let kw = ["aadhaar", "aadhar", "uidai", "uid"];
    let formatted = numeric_form(c, ctx, 12, &[&[4, 4, 4]], b" -", &kw)?;
    let d = c.digits();
    if d[0] < b'2' || !verhoeff(d) {
        return None;
    }
    let conf = if ctx.kw(c, &kw) {
        0.95
    } else if formatted {
        0.7
    } else {
        0.0
    };
    (conf > 0.0).then_some(("in_aadhaar", High, conf))
}

fn ie_pps(c: &Chunk<'_>, ctx: &mut Ctx) -> Option<(&'static str, Severity, f64)> {
    let t = c.text.as_bytes();
    if c.n_groups != 1 || !(8..=9).contains(&t.len()) || !t[..7].iter().all(u8::is_ascii_digit) {
        return None;
    }
    if !t[7..].iter().all(u8::is_ascii_uppercase) || !ctx.kw(c, &["pps", "personal public service"]) {
        return None;
    }
    let mut sum = weighted_sum(&t[..7], &[8, 7, 6, 5, 4, 3, 2]);
    if t.len() == 9 && t[8] != b'W' {
        sum += u32::from(t[8] - b'A' + 1) * 9;
    }
    (b"WABCDEFGHIJKLMNOPQRSTUV"[(sum % 23) as usize] == t[7]).then_some(("ie_pps", High, 0.9))
}

const DOB_KEYWORDS: &[&str] = &[
    "dob",
    "d.o.b",
    "date of birth",
    "born",
    "birth date",
    "birthdate",
    "birthday",
    "geburtsdatum",
    "geboren",
    "né le",
    "née le",
    "date de naissance",
    "fecha de nacimiento",
    "data di nascita",
];

fn date_of_birth(c: &Chunk<'_>, ctx: &mut Ctx) -> Option<(&'static str, Severity, f64)> {
    if !c.numeric() || c.n_groups != 3 || !(c.seps_all(b'/') || c.seps_all(b'-') || c.seps_all(b'.')) {
        return None;
    }
    let d = c.digits();
    let g = c.groups();
    let date_ok = match g {
        [4, 2, 2] => valid_date(num2(d, 0) * 100 + num2(d, 2), num2(d, 4), num2(d, 6)),
        [2, 2, 4] | [1, 2, 4] | [2, 1, 4] | [1, 1, 4] => {
            let (a, b) = (u32::from(g[0]), u32::from(g[1]));
            let first = c.text[..a as usize].parse::<u32>().ok()?;
            let second = c.text[a as usize + 1..(a + 1 + b) as usize].parse::<u32>().ok()?;
            let year = c.text[(a + b + 2) as usize..].parse::<u32>().ok()?;
            valid_date(year, second, first) || valid_date(year, first, second)
        }
        _ => false,
    };
    (date_ok && ctx.kw(c, DOB_KEYWORDS)).then_some(("date_of_birth", Medium, 0.8))
}

fn ipv4(c: &Chunk<'_>, ctx: &mut Ctx) -> Option<(&'static str, Severity, f64)> {
    if !c.numeric() || c.n_groups != 4 || !c.seps_all(b'.') || c.groups().iter().any(|&l| l > 3) {
        return None;
    }
    let mut o = [0u32; 4];
    for (i, part) in c.text.split('.').enumerate() {
        if part.len() > 1 && part.starts_with('0') {
            return None;
        }
        o[i] = part.parse().ok()?;
    }
    if o.iter().any(|&x| x > 255) || o.iter().all(|&x| x < 10) || o[0] == 0 || o[0] == 127 || o == [255; 4] {
        return None;
    }
    // "version 10.2.1.4", "v1.20.3.4" are versions, not hosts.
    let b = c.source.as_bytes();
    if (c.start > 0 && (b[c.start - 1] == b'v' || b[c.start - 1] == b'V'))
        || ctx.kw(c, &["version", "release", "build"])
    {
        return None;
    }
    let private = o[0] == 10
        || (o[0] == 172 && (16..=31).contains(&o[1]))
        || (o[0] == 192 && o[1] == 168)
        || (o[0] == 169 && o[1] == 254);
    Some(("ipv4", if private { Low } else { Medium }, 0.85))
}

fn crypto(c: &Chunk<'_>, _: &mut Ctx) -> Option<(&'static str, Severity, f64)> {
    let t = c.text;
    if c.n_groups != 1 {
        return None;
    }
    if (t.starts_with('1') || t.starts_with('3')) && (26..=35).contains(&t.len()) && base58check(t) {
        return Some(("btc_address", Medium, 0.95));
    }
    if (t.starts_with("bc1") || t.starts_with("BC1"))
        && (14..=74).contains(&t.len())
        && bech32_ok(&t.to_ascii_lowercase())
    {
        return Some(("btc_address", Medium, 0.95));
    }
    let eth = t.len() == 42 && t.starts_with("0x") && t.as_bytes()[2..].iter().all(u8::is_ascii_hexdigit);
    eth.then_some(("eth_address", Low, 0.6))
}
