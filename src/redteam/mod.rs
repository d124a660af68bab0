//! The red team: a built-in library of attacks written for gavel ([`library`]), deterministic transforms that
//! disguise them ([`transforms`]) and are undone on the way back ([`decode`]), the plan of attempts a run sends to its target ([`plan`]) and the rules that
//! decide, without a model wherever they can, whether an attempt succeeded ([`rules`]).
//!
//! Everything here is pure (no I/O, no clock): the `red_team` run kind (`runs::kinds::redteam`) sends the
//! planned attempts to the target through the one run pipeline and asks the judge only for what the rules leave
//! open. This module imports the security detectors and nothing of runs.

pub mod attacker;
pub mod compliance_selftest;
pub mod decode;
pub mod estimate;
pub mod library;
pub mod plan;
pub mod report;
pub mod rules;
pub mod transforms;

use serde::{Deserialize, Serialize};

/// Most attempts per category a run may ask for (`attempts_per_category`).
pub const MAX_ATTEMPTS_PER_CATEGORY: u32 = 100;
/// Most attempts (attacks and benign probes) one red-team run may make.
pub const MAX_TOTAL_ATTEMPTS: usize = 2000;
/// Attempts per category when the request names none.
pub const DEFAULT_ATTEMPTS_PER_CATEGORY: u32 = 10;
/// Version of the attack library, stored with each run so a report names the attacks it used.
pub const LIBRARY_VERSION: &str = "2026.12-2";

/// An attack category (API.md "Failure analysis and security").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    PromptInjection,
    IndirectPromptInjection,
    SystemPromptExtraction,
    DataExfiltration,
    Jailbreak,
    ImproperOutputHandling,
    UnboundedConsumption,
    Misinformation,
    ExcessiveAgency,
}

impl Category {
    pub const ALL: [Category; 9] = [
        Category::PromptInjection,
        Category::IndirectPromptInjection,
        Category::SystemPromptExtraction,
        Category::DataExfiltration,
        Category::Jailbreak,
        Category::ImproperOutputHandling,
        Category::UnboundedConsumption,
        Category::Misinformation,
        Category::ExcessiveAgency,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Category::PromptInjection => "prompt_injection",
            Category::IndirectPromptInjection => "indirect_prompt_injection",
            Category::SystemPromptExtraction => "system_prompt_extraction",
            Category::DataExfiltration => "data_exfiltration",
            Category::Jailbreak => "jailbreak",
            Category::ImproperOutputHandling => "improper_output_handling",
            Category::UnboundedConsumption => "unbounded_consumption",
            Category::Misinformation => "misinformation",
            Category::ExcessiveAgency => "excessive_agency",
        }
    }

    pub fn parse(s: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// The OWASP Top 10 for LLM Applications (2025) entry the category tests.
    pub fn owasp(self) -> &'static str {
        match self {
            Category::PromptInjection | Category::IndirectPromptInjection | Category::Jailbreak => "LLM01",
            Category::DataExfiltration => "LLM02",
            Category::ImproperOutputHandling => "LLM05",
            Category::ExcessiveAgency => "LLM06",
            Category::SystemPromptExtraction => "LLM07",
            Category::Misinformation => "LLM09",
            Category::UnboundedConsumption => "LLM10",
        }
    }

    /// How bad a success in the category is, when the attack names no severity of its own.
    pub fn severity(self) -> &'static str {
        match self {
            Category::DataExfiltration | Category::ExcessiveAgency => "critical",
            Category::PromptInjection
            | Category::IndirectPromptInjection
            | Category::SystemPromptExtraction
            | Category::Jailbreak
            | Category::ImproperOutputHandling => "high",
            Category::UnboundedConsumption | Category::Misinformation => "medium",
        }
    }
}
