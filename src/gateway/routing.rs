//! Which provider and model serve a gateway request's `model`.
//!
//! Three spellings, tried in this order: an alias (org settings first, then config; an alias names an ordered list
//! of targets tried on retryable failures), `provider/model` (split at the first `/`, so Groq's own slashed names
//! work as `groq/openai/gpt-oss-120b`; a bare `openai/gpt-oss-120b` means OpenAI), and a native model name recognised by its family prefix. Azure deployments
//! and OpenAI-compatible servers have no recognisable names: they are reached by alias or `provider/model` only.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::error::GatewayError;

/// The providers of the contract, local to the gateway so the lead maps them to the shared type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProviderName {
    Openai,
    Anthropic,
    AzureOpenai,
    Google,
    Groq,
    OpenaiCompatible,
}

impl ProviderName {
    pub const ALL: [ProviderName; 6] = [
        ProviderName::Openai,
        ProviderName::Anthropic,
        ProviderName::AzureOpenai,
        ProviderName::Google,
        ProviderName::Groq,
        ProviderName::OpenaiCompatible,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ProviderName::Openai => "openai",
            ProviderName::Anthropic => "anthropic",
            ProviderName::AzureOpenai => "azure_openai",
            ProviderName::Google => "google",
            ProviderName::Groq => "groq",
            ProviderName::OpenaiCompatible => "openai_compatible",
        }
    }

    /// The contract's names, and nothing else: a typo must not route a key somewhere unexpected.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == name)
    }

    /// Which translation the provider needs: Azure, Groq and compatible servers speak OpenAI's shape.
    pub fn wire(self) -> Wire {
        match self {
            ProviderName::Anthropic => Wire::Anthropic,
            ProviderName::Google => Wire::Gemini,
            ProviderName::Openai | ProviderName::AzureOpenai | ProviderName::Groq | ProviderName::OpenaiCompatible => {
                Wire::OpenAi
            }
        }
    }
}

/// The wire format a provider speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wire {
    OpenAi,
    Anthropic,
    Gemini,
}

/// One place a request can be served: config `[gateway.models]` and org `model_aliases` entries have this shape.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteTarget {
    pub provider: ProviderName,
    pub model: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
}

impl RouteTarget {
    pub fn new(provider: ProviderName, model: impl Into<String>) -> Self {
        Self { provider, model: model.into(), key_id: None }
    }
}

/// alias → ordered targets.
pub type AliasTable = BTreeMap<String, Vec<RouteTarget>>;

/// The most targets one alias may list; each is a full provider call on failure, so a long list multiplies the
/// latency and cost of one request.
pub const MAX_ALIAS_TARGETS: usize = 8;
/// The longest `model` string accepted; real model names are well under 100 characters.
pub const MAX_MODEL_NAME_LEN: usize = 256;

/// Native families, by prefix. Embedding names are listed because `text-embedding-004` is Google's while
/// `text-embedding-3-small` is OpenAI's; the more specific prefixes come first.
const NATIVE_PREFIXES: &[(&str, ProviderName)] = &[
    ("text-embedding-00", ProviderName::Google),
    ("gemini-", ProviderName::Google),
    ("gemma-", ProviderName::Google),
    ("embedding-", ProviderName::Google),
    ("models/", ProviderName::Google),
    ("claude-", ProviderName::Anthropic),
    ("gpt-", ProviderName::Openai),
    ("chatgpt-", ProviderName::Openai),
    ("o1", ProviderName::Openai),
    ("o3", ProviderName::Openai),
    ("o4", ProviderName::Openai),
    ("text-embedding-", ProviderName::Openai),
    ("omni-moderation-", ProviderName::Openai),
    ("llama-", ProviderName::Groq),
    ("llama3", ProviderName::Groq),
    ("meta-llama/", ProviderName::Groq),
    ("mixtral-", ProviderName::Groq),
    ("gemma2-", ProviderName::Groq),
    ("qwen/", ProviderName::Groq),
    ("qwen-", ProviderName::Groq),
    ("deepseek-r1-distill-", ProviderName::Groq),
    ("moonshotai/", ProviderName::Groq),
];

/// The provider a bare model name belongs to, by its family prefix.
pub fn native_provider(model: &str) -> Option<ProviderName> {
    let lower = model.to_ascii_lowercase();
    let bare_o = |p: &str| lower == p || lower.starts_with(&format!("{p}-"));
    NATIVE_PREFIXES.iter().find_map(|(prefix, provider)| {
        let hit = match *prefix {
            // `o1`, `o3-mini`, `o4-mini-2025-04-16`, but not `olmo` or `o3x`.
            "o1" | "o3" | "o4" => bare_o(prefix),
            p => lower.starts_with(p),
        };
        hit.then_some(*provider)
    })
}

/// Resolves `model` against `aliases` (most specific table first: the org's, then the config's) to the ordered
/// targets to try. A `key_id` comes only from an alias; the others use the org's key precedence.
pub fn resolve_model(model: &str, aliases: &[&AliasTable]) -> Result<Vec<RouteTarget>, GatewayError> {
    let model = model.trim();
    if model.is_empty() {
        return Err(GatewayError::invalid("model", "is required"));
    }
    if model.len() > MAX_MODEL_NAME_LEN {
        return Err(GatewayError::TooLarge {
            what: "the `model` name".into(),
            limit: "MAX_MODEL_NAME_LEN",
            max: MAX_MODEL_NAME_LEN,
        });
    }
    if let Some(targets) = aliases.iter().find_map(|table| table.get(model)) {
        validate_targets(model, targets)?;
        return Ok(targets.clone());
    }
    if let Some((prefix, rest)) = model.split_once('/') {
        if let Some(provider) = ProviderName::parse(prefix) {
            if rest.trim().is_empty() {
                return Err(GatewayError::invalid("model", format!("`{model}` names no model after the provider")));
            }
            return Ok(vec![RouteTarget::new(provider, rest)]);
        }
    }
    match native_provider(model) {
        Some(provider) => Ok(vec![RouteTarget::new(provider, model)]),
        None => Err(GatewayError::ModelNotFound { model: model.to_owned() }),
    }
}

/// Checks one alias's targets, for config validation and org-settings writes as well as resolution.
pub fn validate_targets(alias: &str, targets: &[RouteTarget]) -> Result<(), GatewayError> {
    let param = format!("model_aliases.{alias}");
    if targets.is_empty() {
        return Err(GatewayError::invalid(param, "an alias needs at least one target"));
    }
    if targets.len() > MAX_ALIAS_TARGETS {
        return Err(GatewayError::TooLarge {
            what: format!("the targets of alias `{alias}`"),
            limit: "MAX_ALIAS_TARGETS",
            max: MAX_ALIAS_TARGETS,
        });
    }
    if let Some((i, _)) = targets.iter().enumerate().find(|(_, t)| t.model.trim().is_empty()) {
        return Err(GatewayError::invalid(format!("{param}[{i}].model"), "is empty"));
    }
    Ok(())
}
