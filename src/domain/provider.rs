//! The providers a call can go to. Shared by keys, adapters, the judge, the gateway and config.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A provider that judge calls can go to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Provider {
    Openai,
    Anthropic,
    AzureOpenai,
    Google,
    Groq,
    OpenaiCompatible,
}

impl Provider {
    pub const ALL: [Provider; 6] = [
        Provider::AzureOpenai,
        Provider::Anthropic,
        Provider::Openai,
        Provider::Google,
        Provider::Groq,
        Provider::OpenaiCompatible,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Openai => "openai",
            Provider::Anthropic => "anthropic",
            Provider::AzureOpenai => "azure_openai",
            Provider::Google => "google",
            Provider::Groq => "groq",
            Provider::OpenaiCompatible => "openai_compatible",
        }
    }

    pub fn parse(s: &str) -> Option<Provider> {
        Provider::ALL.into_iter().find(|p| p.as_str() == s)
    }
}
