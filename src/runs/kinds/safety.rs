//! The security module's detectors behind the failure analysis's safety seam ([`SafetyDetector`]): its ~45
//! secret rules and validated PII entities replace the analysis's built-in patterns for `secret_leak` and
//! `pii_leak`. A finding counts as deterministic proof (→ `critical`) when the detector rates it high or critical
//! with a confidence of at least [`CONFIRMED_CONFIDENCE`] (a provider key's exact format, a checksum-valid card,
//! IBAN or national id); an e-mail address or a keyword-anchored guess does not.

use crate::analysis::{SafetyDetector, SafetyFinding};
use crate::security::{self, Finding, Severity};

/// Confidence from which a high-severity detector finding confirms a leak.
pub const CONFIRMED_CONFIDENCE: f64 = 0.9;

/// See the module documentation. Injection keeps the analysis's own pre-check (it pairs the planted instruction
/// with its payload in the output, which the security markers alone do not).
#[derive(Debug, Clone, Copy, Default)]
pub struct SecuritySafety;

fn convert(f: Finding) -> SafetyFinding {
    SafetyFinding {
        kind: f.rule.to_owned(),
        span: f.span,
        masked: f.evidence,
        confirmed: f.severity >= Severity::High && f.confidence >= CONFIRMED_CONFIDENCE,
    }
}

impl SafetyDetector for SecuritySafety {
    fn secrets(&self, text: &str) -> Vec<SafetyFinding> {
        security::secrets::scan(security::scanned_prefix(text)).into_iter().map(convert).collect()
    }

    fn pii(&self, text: &str) -> Vec<SafetyFinding> {
        security::pii::scan(security::scanned_prefix(text), &security::pii::Allow::default())
            .into_iter()
            .map(convert)
            .collect()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn secrets_and_cards_confirm_emails_do_not() {
        let key = ["gsk_", "oV6vGTFN4g3AfCK9eVGViflxutnrYecpJbsNaUXkFVi3CzOkvgsO"].concat();
        let text = format!("token {key} card 4111 1111 1111 1111 mail jane.doe@acmecorp.net");
        let s = SecuritySafety.secrets(&text);
        assert!(s.iter().any(|f| f.confirmed), "{s:?}");
        assert!(s.iter().all(|f| !f.masked.contains(&key)));
        let p = SecuritySafety.pii(&text);
        let card = p.iter().find(|f| f.kind.contains("card")).unwrap();
        assert!(card.confirmed && !card.masked.contains("1111 1111"));
        assert!(p.iter().any(|f| f.kind == "email" && !f.confirmed));
    }
}
