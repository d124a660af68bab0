use proptest::prelude::*;

use crate::security::checksum::*;
use crate::security::{injection, output, pii, scan_all, secrets, smuggling, ScanInput};

/// Bulk negatives: thousands of UUIDs, git hashes, hex digests, a base64 image and lorem ipsum produce no
/// secret and no hidden-text finding.
#[test]
fn bulk_negative_corpus_is_silent() {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut text = String::new();
    for _ in 0..2000 {
        let (a, b) = (next(), next());
        text.push_str(&format!(
            "id {:08x}-{:04x}-4{:03x}-a{:03x}-{:012x} commit {:016x}{:016x}{:08x} sha256 {:016x}{:016x}{:016x}{:016x}\n",
            a >> 32, a & 0xffff, b & 0xfff, (b >> 12) & 0xfff, b >> 16, a, b, a as u32, b, a, b.rotate_left(7), a.rotate_left(9)
        ));
    }
    let mut png = vec![0x89u8, b'P', b'N', b'G', 13, 10, 26, 10];
    png.extend((0..30_000).map(|_| (next() & 0xff) as u8));
    use base64::Engine as _;
    text.push_str(&format!(
        "![img](data:image/png;base64,{})\n",
        base64::engine::general_purpose::STANDARD.encode(&png)
    ));
    for _ in 0..200 {
        text.push_str("Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris nisi ut aliquip ex ea commodo consequat.\n");
    }
    assert_eq!(secrets::scan(&text), vec![]);
    assert_eq!(smuggling::scan(&text), vec![]);
    assert_eq!(injection::scan(&text), vec![]);
    assert_eq!(output::scan(&text, &[]).into_iter().filter(|f| f.rule != "markdown_image").count(), 0);
    let pii_rules: Vec<_> = pii::scan(&text, &pii::Allow::default()).into_iter().map(|f| f.rule).collect();
    assert!(pii_rules.is_empty(), "{pii_rules:?}");
}

fn luhn_complete(prefix: &str) -> String {
    (0..10).map(|d| format!("{prefix}{d}")).find(|c| luhn(c.as_bytes())).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    /// No input makes any detector panic, and every span lies on character boundaries inside the text.
    #[test]
    fn scan_all_never_panics_and_spans_are_valid(s in "\\PC{0,300}", prompt in "\\PC{0,80}") {
        let out = scan_all(&ScanInput { text: &s, system_prompt: Some(&prompt), canaries: &["CANARY-123456"], ..Default::default() });
        for f in &out.findings {
            prop_assert!(f.span.0 <= f.span.1 && f.span.1 <= s.len());
            prop_assert!(s.is_char_boundary(f.span.0) && s.is_char_boundary(f.span.1));
            prop_assert!((0.0..=1.0).contains(&f.confidence));
        }
    }

    /// Token-shaped noise (the characters secrets are made of) does not crash the engine either.
    #[test]
    fn token_noise_never_panics(s in "[A-Za-z0-9_\\-=+/:.@ ]{0,400}") {
        let _ = scan_all(&ScanInput::new(&s));
    }

    /// Every Luhn-valid Visa number in the usual 4-4-4-4 form is found, with a masked evidence.
    #[test]
    fn generated_visa_cards_are_found(body in "[0-9]{14}") {
        let card = luhn_complete(&format!("4{body}"));
        let text = format!("paid with {} {} {} {} today", &card[..4], &card[4..8], &card[8..12], &card[12..]);
        let found = pii::scan(&text, &pii::Allow::default());
        prop_assert!(found.iter().any(|f| f.rule == "credit_card"), "{:?}", found);
        prop_assert!(found.iter().all(|f| !f.evidence.contains(&card[4..12])));
    }

    /// One changed digit breaks a card's Luhn check, so it is not reported as a card.
    #[test]
    fn a_changed_digit_is_not_a_card(body in "[0-9]{14}", pos in 1usize..15, delta in 1u8..10) {
        let card = luhn_complete(&format!("4{body}"));
        let mut b = card.clone().into_bytes();
        b[pos] = b'0' + (b[pos] - b'0' + delta) % 10;
        let bad = String::from_utf8(b).unwrap();
        let found = pii::scan(&format!("card {bad} ok"), &pii::Allow::default());
        prop_assert!(found.iter().all(|f| f.rule != "credit_card"));
    }

    /// GitHub tokens with a valid checksum are found; the same with a broken checksum are not.
    #[test]
    fn github_tokens_follow_their_checksum(random in "[A-Za-z0-9]{30}") {
        let check = base62(u64::from(crc32fast::hash(random.as_bytes())), 6);
        let good = format!("ghp_{random}{check}");
        prop_assume!(!crate::security::secrets::is_placeholder(&good));
        let found_good = secrets::scan(&format!("token {good}"));
        prop_assert!(found_good.iter().any(|f| f.rule == "github_pat"));
        let wrong = if check.starts_with('0') { "1" } else { "0" };
        let bad = format!("ghp_{random}{wrong}{}", &check[1..]);
        let found_bad = secrets::scan(&format!("token {bad}"));
        prop_assert!(found_bad.is_empty());
    }

    /// IBAN check digits: recomputed ones validate, any other pair does not.
    #[test]
    fn iban_check_digits(bban in "[0-9]{18}", other in 2u32..99) {
        let rem = (2..=98).find(|k| iban_mod97(format!("DE{k:02}{bban}").as_bytes()));
        let k = rem.unwrap();
        prop_assume!(other != k);
        let wrong = format!("DE{other:02}{bban}");
        prop_assert!(!iban_mod97(wrong.as_bytes()));
    }
}
