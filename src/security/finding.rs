//! The one result type every detector returns.

use serde::Serialize;

/// Which audit check a finding belongs to. The string forms are the contract's check names
/// (`POST /v1/projects/{project}/security/audit`), so the audit can use [`Check::as_str`] as is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Check {
    SecretLeak,
    PiiLeak,
    /// Instruction-override or role-switch phrasing. In an input it marks an injection attempt; in an
    /// output it suggests the model relayed or followed one, hence the contract name.
    #[serde(rename = "prompt_injection_followed")]
    PromptInjection,
    HiddenText,
    InsecureOutput,
    SystemPromptLeak,
}

impl Check {
    pub fn as_str(self) -> &'static str {
        match self {
            Check::SecretLeak => "secret_leak",
            Check::PiiLeak => "pii_leak",
            Check::PromptInjection => "prompt_injection_followed",
            Check::HiddenText => "hidden_text",
            Check::InsecureOutput => "insecure_output",
            Check::SystemPromptLeak => "system_prompt_leak",
        }
    }
}

/// How bad a finding is. Ordered, so gates can compare against `max_severity`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

/// One detection. `evidence` is already safe to store and show: secrets and PII are masked
/// (first 4 characters and a short SHA-256), leak findings carry figures, not the prompt. No field holds
/// the raw value, so the derived Debug cannot leak it either.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub check: Check,
    /// Stable rule or entity id, e.g. `github_pat`, `credit_card`, `instruction_override`.
    pub rule: &'static str,
    pub severity: Severity,
    /// 0..1: how sure the rule is (validated checksums score high, keyword-only matches lower).
    pub confidence: f64,
    /// Byte offsets `[start, end)` into the scanned text (on character boundaries).
    pub span: (usize, usize),
    pub evidence: String,
    /// When the finding was made inside decoded content: the decoding (`base64`, `hex`, `rot13`,
    /// `unicode_tags`, `variation_selectors`). The span is then the encoded run in the original text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via: Option<&'static str>,
}
