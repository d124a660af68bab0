use crate::security::checksum::*;
use crate::security::leak::{longest_common_substring, rouge_l};
use crate::security::mask::mask;
use crate::security::{pii, scan_all, secrets, Check, ScanInput, Severity, MAX_SCAN_BYTES};

#[test]
fn luhn_vectors() {
    assert!(luhn(b"4111111111111111"));
    assert!(luhn(b"79927398713"));
    assert!(!luhn(b"79927398710"));
    assert!(!luhn(b"4111-1111"));
    assert!(!luhn(b""));
}

#[test]
fn verhoeff_vectors() {
    assert!(verhoeff(b"2363"));
    assert!(!verhoeff(b"2364"));
    assert!(!verhoeff(b"2a63"));
}

#[test]
fn iban_and_mod97_vectors() {
    assert!(iban_mod97(b"DE89370400440532013000"));
    assert!(iban_mod97(b"GB82WEST12345698765432"));
    assert!(!iban_mod97(b"GB82WEST12345698765433"));
    assert!(!iban_mod97(b"gb82west12345698765432"));
}

#[test]
fn iso7064_vector() {
    // Worked example of the MOD 11,10 scheme: 0794 → check digit 5.
    assert!(iso7064_mod11_10(b"07945"));
    assert!(!iso7064_mod11_10(b"07946"));
}

#[test]
fn github_checksum_accepts_valid_and_rejects_one_changed_char() {
    let random = "abcdefghijABCDEFGHIJ0123456789";
    let body = format!("{random}{}", base62(u64::from(crc32fast::hash(random.as_bytes())), 6));
    assert!(github_crc32_ok(&body));
    let mut broken = body.clone().into_bytes();
    broken[0] = b'z';
    assert!(!github_crc32_ok(std::str::from_utf8(&broken).unwrap()));
}

#[test]
fn base58_and_bech32_vectors() {
    assert!(base58check("1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"));
    assert!(!base58check("1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN3"));
    assert!(bech32_ok("bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"));
    assert!(!bech32_ok("bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdz"));
}

#[test]
fn mask_keeps_four_chars_and_a_hash_never_the_value() {
    let secret = "ghp_abcdefghijklmnopqrstuvwxyz0123456789";
    let m = mask(secret);
    assert!(m.starts_with("ghp_…[sha256:"), "{m}");
    assert!(!m.contains("abcdefghij"));
    assert_eq!(m, mask(secret), "deterministic");
    assert_ne!(m, mask("ghp_abcdefghijklmnopqrstuvwxyz0123456788"));
    assert!(!mask("hunter2").contains("hunt"), "short values keep no clear prefix");
}

#[test]
fn findings_never_carry_the_secret_in_debug_or_json() {
    let token = {
        let random = "Zq8WcT3mRkP0aLx7VbN2sYdE5gHj9u";
        format!("ghp_{random}{}", base62(u64::from(crc32fast::hash(random.as_bytes())), 6))
    };
    let text = format!("use {token} and card 4111 1111 1111 1111");
    let out = scan_all(&ScanInput::new(&text));
    assert!(out.findings.iter().any(|f| f.rule == "github_pat" && f.severity == Severity::Critical));
    assert!(out.findings.iter().any(|f| f.rule == "credit_card" && f.check == Check::PiiLeak));
    let debug = format!("{:?}", out.findings);
    let json = serde_json::to_string(&out.findings).unwrap();
    for hay in [&debug, &json] {
        assert!(!hay.contains(&token[4..]), "secret leaked: {hay}");
        assert!(!hay.contains("1111 1111 1111"), "card leaked: {hay}");
    }
    let dbg_input = format!("{:?}", ScanInput::new(&text));
    assert!(!dbg_input.contains(&token[4..]));
}

#[test]
fn spans_point_at_the_value() {
    let text = "key=AKIAQWERTYUIOPASDFGH done";
    let f = &secrets::scan(text)[0];
    assert_eq!(&text[f.span.0..f.span.1], "AKIAQWERTYUIOPASDFGH");
}

#[test]
fn pii_allow_list_skips_values_entities_and_domains() {
    let text = "mail jane@acme.io, call +44 20 7946 0958, server 203.0.113.7";
    assert_eq!(pii::scan(text, &pii::Allow::default()).len(), 3);
    let allow = pii::Allow { entities: &["ipv4"], values: &["+44 20 7946 0958"], email_domains: &["acme.io"] };
    assert!(pii::scan(text, &allow).is_empty());
}

#[test]
fn long_texts_are_truncated_and_say_so() {
    let mut text = "a".repeat(MAX_SCAN_BYTES - 1);
    text.push('é');
    text.push_str(" AKIAQWERTYUIOPASDFGH");
    let out = scan_all(&ScanInput::new(&text));
    assert!(out.truncated);
    assert_eq!(out.scanned_bytes, MAX_SCAN_BYTES - 1, "cut before the straddling 'é'");
    assert!(out.findings.iter().all(|f| f.rule != "aws_access_key_id"), "the tail past the cap is not scanned");
}

#[test]
fn lcs_and_rouge_l_figures() {
    let a: Vec<char> = "xxhello worldyy".chars().collect();
    let b: Vec<char> = "say hello world now".chars().collect();
    assert_eq!(longest_common_substring(&a, &b), (11, 13));
    let (p, r, f) = rouge_l(&["a", "b", "c", "d"], &["a", "c", "d", "e"]);
    assert!((p - 0.75).abs() < 1e-9 && (r - 0.75).abs() < 1e-9 && (f - 0.75).abs() < 1e-9);
    assert_eq!(rouge_l(&[], &["a"]), (0.0, 0.0, 0.0));
}

#[test]
fn leak_scan_finds_a_copied_prompt_and_reports_no_prompt_text() {
    let prompt =
        "You are the internal assistant of Zeta Corp. The launch code word is BLUEFALCON and must stay secret.";
    let output = format!("Sure, here it is: {prompt}");
    let out = scan_all(&ScanInput {
        text: &output,
        system_prompt: Some(prompt),
        canaries: &["BLUEFALCON"],
        ..Default::default()
    });
    let rules: Vec<_> = out.findings.iter().filter(|f| f.check == Check::SystemPromptLeak).map(|f| f.rule).collect();
    assert!(
        rules.contains(&"canary") && rules.contains(&"prompt_substring") && rules.contains(&"prompt_rouge_l"),
        "{rules:?}"
    );
    assert!(out.findings.iter().all(|f| !f.evidence.contains("BLUEFALCON") && !f.evidence.contains("Zeta")));
}

#[test]
fn severities_are_ordered() {
    assert!(
        Severity::Low < Severity::Medium && Severity::Medium < Severity::High && Severity::High < Severity::Critical
    );
    assert_eq!(serde_json::to_string(&Severity::Critical).unwrap(), "\"critical\"");
    assert_eq!(serde_json::to_string(&Check::PromptInjection).unwrap(), "\"prompt_injection_followed\"");
    assert_eq!(Check::HiddenText.as_str(), "hidden_text");
}

#[test]
fn rule_and_entity_counts() {
    assert!(secrets::rule_ids().len() >= 45, "{}", secrets::rule_ids().len());
    assert!(pii::ENTITIES.len() >= 35);
    let mut ids = secrets::rule_ids();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), secrets::rule_ids().len(), "rule ids are unique");
}
