//! Deterministic security detectors for the security audit: secrets, PII, prompt-injection markers, smuggled
//! (hidden or encoded) text, insecure output and system-prompt leaks.
//!
//! Everything here is a pure function of its input: no provider call, no I/O, no clock. The audit runs these
//! first because they are cheap and certain where they fire; the model-graded checks cover what they cannot
//! (names, addresses, paraphrased harm). Secrets and PII are only ever reported masked ([`mask::mask`]).
//!
//! Work per call is bounded: at most [`MAX_SCAN_BYTES`] of a text are scanned (the rest is reported as
//! truncated, never silently), and decoding of encoded payloads is bounded by the limits in [`smuggling`].

pub mod checksum;
mod engine;
mod finding;
pub mod hazard;
pub mod injection;
pub mod jailbreak;
pub mod leak;
pub mod mask;
pub mod output;
pub mod pii;
pub mod redact;
pub mod secrets;
pub mod selftest;
pub mod smuggling;
mod text;

#[cfg(test)]
mod tests;

pub use finding::{Check, Finding, Severity};

/// Largest prefix of one text a detector looks at (1 MiB). Model outputs and dataset fields are far smaller;
/// the cap keeps a hostile multi-megabyte field from stalling an audit. Longer texts are scanned up to the
/// cap (cut at a character boundary) and [`ScanOutcome::truncated`] says so.
pub const MAX_SCAN_BYTES: usize = 1 << 20;

/// The prefix of `text` the detectors scan: at most [`MAX_SCAN_BYTES`], cut on a character boundary.
pub fn scanned_prefix(text: &str) -> &str {
    &text[..text::floor_char_boundary(text, MAX_SCAN_BYTES)]
}

/// What one `scan_all` call looks at. Only `text` is required; the rest narrows or enables detectors.
#[derive(Clone, Copy, Default)]
pub struct ScanInput<'a> {
    /// The text to audit (a model output, usually).
    pub text: &'a str,
    /// The application's hidden system prompt, when known: enables the prompt-leak overlap checks.
    pub system_prompt: Option<&'a str>,
    /// Planted canary strings that must never appear in an output.
    pub canaries: &'a [&'a str],
    /// Hosts markdown images and links may point at without being reported as exfiltration channels.
    pub allowed_hosts: &'a [&'a str],
    /// PII values and entities that are expected (a support address printed on purpose, say).
    pub pii_allow: pii::Allow<'a>,
}

impl<'a> ScanInput<'a> {
    /// Input with only the text set.
    pub fn new(text: &'a str) -> Self {
        ScanInput { text, ..Default::default() }
    }
}

impl std::fmt::Debug for ScanInput<'_> {
    /// The text, prompt and canaries may hold secrets: Debug shows sizes only.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScanInput")
            .field("text_bytes", &self.text.len())
            .field("system_prompt_bytes", &self.system_prompt.map(str::len))
            .field("canaries", &self.canaries.len())
            .field("allowed_hosts", &self.allowed_hosts)
            .finish()
    }
}

/// Findings of every detector over one text, sorted by span start.
#[derive(Debug, Clone, Default)]
pub struct ScanOutcome {
    pub findings: Vec<Finding>,
    /// Bytes actually scanned (≤ [`MAX_SCAN_BYTES`]).
    pub scanned_bytes: usize,
    /// True when the text was longer than [`MAX_SCAN_BYTES`] and its tail was not scanned.
    pub truncated: bool,
}

/// Runs every detector over `input.text` (secrets, PII, injection markers, smuggling with decoding and
/// re-scan, insecure output, and the leak checks when a system prompt or canaries are given).
pub fn scan_all(input: &ScanInput<'_>) -> ScanOutcome {
    let text = scanned_prefix(input.text);
    let mut findings = secrets::scan(text);
    findings.extend(pii::scan(text, &input.pii_allow));
    findings.extend(injection::scan(text));
    findings.extend(smuggling::scan(text));
    findings.extend(output::scan(text, input.allowed_hosts));
    if input.system_prompt.is_some() || !input.canaries.is_empty() {
        findings.extend(leak::scan(text, input.system_prompt, input.canaries));
    }
    findings.sort_by_key(|f| (f.span.0, f.span.1));
    ScanOutcome { findings, scanned_bytes: text.len(), truncated: text.len() < input.text.len() }
}
