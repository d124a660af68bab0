//! Which key serves one gateway target, and what the org's settings contribute to routing.
//!
//! A target names a provider (and maybe a key). Its key, in the contract's order: the alias's `key_id` → the org's
//! default key for the provider → the server's managed key; the org's `provider_mode` can rule out its own keys
//! (`managed`) or the managed key (`byok`). A key the provider rejected is marked failing and is not used again
//! until it is tested or rotated.

use crate::byok::model::ProviderKey;
use crate::domain::{Code, ModelTarget, Provider, ProviderMode, Secret};
use crate::judge::keys::{FallbackKey, OrgSettings};
use crate::providers::Endpoint;
use crate::tenancy::model::ApiKeyLimits;

use super::routing::{AliasTable, ProviderName, RouteTarget};
use super::secrets::Secrets;

/// What a gateway call reads from the store, in one read.
#[derive(Clone, Debug, Default)]
pub struct OrgView {
    pub keys: Vec<ProviderKey>,
    pub settings: OrgSettings,
    /// `settings.model_aliases` as the router's table, built once per read.
    pub aliases: AliasTable,
    pub limits: Option<ApiKeyLimits>,
    /// The call's project opted in to content logging.
    pub log_content: bool,
}

/// A target with everything its call needs.
#[derive(Clone)]
pub struct Resolved {
    pub provider: Provider,
    pub model: String,
    pub endpoint: Endpoint,
    pub secret: Secret,
    /// `pk_…` or `fallback`, as usage rows and the request log name it.
    pub key_ref: String,
    /// `byok` or `managed` (the `x-gavel-key-source` header).
    pub source: &'static str,
}

/// Why a target could not be used: no key (→ `BYOK_NO_KEY` if no target had one) or a failing key.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Unusable {
    NoKey(String),
    Failing { code: Code, message: String },
}

pub(super) fn provider_of(p: ProviderName) -> Provider {
    match p {
        ProviderName::Openai => Provider::Openai,
        ProviderName::Anthropic => Provider::Anthropic,
        ProviderName::AzureOpenai => Provider::AzureOpenai,
        ProviderName::Google => Provider::Google,
        ProviderName::Groq => Provider::Groq,
        ProviderName::OpenaiCompatible => Provider::OpenaiCompatible,
    }
}

pub(super) fn name_of(p: Provider) -> ProviderName {
    match p {
        Provider::Openai => ProviderName::Openai,
        Provider::Anthropic => ProviderName::Anthropic,
        Provider::AzureOpenai => ProviderName::AzureOpenai,
        Provider::Google => ProviderName::Google,
        Provider::Groq => ProviderName::Groq,
        Provider::OpenaiCompatible => ProviderName::OpenaiCompatible,
    }
}

/// Config `[gateway.models]` or org `model_aliases` as the router's table.
pub(super) fn alias_table(aliases: &std::collections::BTreeMap<String, Vec<ModelTarget>>) -> AliasTable {
    aliases
        .iter()
        .map(|(name, targets)| {
            let targets = targets
                .iter()
                .map(|t| RouteTarget {
                    provider: name_of(t.provider),
                    model: t.model.clone(),
                    key_id: t.key_id.clone(),
                })
                .collect();
            (name.clone(), targets)
        })
        .collect()
}

fn endpoint_of(k: &ProviderKey) -> Endpoint {
    Endpoint {
        base_url: k.base_url.clone(),
        endpoint: k.endpoint.clone(),
        deployment: k.deployment.clone(),
        api_version: k.api_version.clone(),
    }
}

/// Whether the org can reach `provider` at all (for `/v1/models`).
pub(super) fn usable(view: &OrgView, provider: Provider, fallback: Option<&FallbackKey>) -> bool {
    let mode = view.settings.provider_mode.unwrap_or_default();
    let own =
        mode.allows_byok() && view.keys.iter().any(|k| k.provider == provider && k.is_default && k.status == "active");
    own || (mode.allows_managed() && fallback.is_some_and(|f| f.provider == provider))
}

/// The key for `target`, its secret read from the key file (or the held copy of it, `secrets.rs`).
pub(super) fn choose(
    view: &OrgView,
    org_id: &str,
    target: &RouteTarget,
    fallback: Option<&FallbackKey>,
    secrets: &Secrets,
) -> Result<Resolved, Unusable> {
    let provider = provider_of(target.provider);
    let mode = view.settings.provider_mode.unwrap_or(ProviderMode::ByokThenManaged);
    let stored = if !mode.allows_byok() {
        None
    } else if let Some(id) = &target.key_id {
        let k = view.keys.iter().find(|k| &k.id == id).ok_or_else(|| {
            Unusable::NoKey(format!("the alias names key {id}, which is not a provider key of this org"))
        })?;
        if k.provider != provider {
            return Err(Unusable::NoKey(format!(
                "key {id} is a {} key, not {}",
                k.provider.as_str(),
                provider.as_str()
            )));
        }
        Some(k)
    } else {
        view.keys.iter().find(|k| k.provider == provider && k.is_default)
    };
    if let Some(k) = stored {
        if k.status == "failing" {
            let code = k
                .failure
                .as_ref()
                .and_then(|f| f["code"].as_str())
                .and_then(Code::parse)
                .unwrap_or(Code::ByokAuthFailed);
            return Err(Unusable::Failing {
                code,
                message: format!("provider key {} ({}) is marked failing; test or rotate it", k.name, k.id),
            });
        }
        let secret = secrets
            .get(org_id, &k.id, provider.as_str())
            .map_err(|e| Unusable::NoKey(format!("the secret of key {} cannot be read: {e}", k.id)))?
            .ok_or_else(|| Unusable::NoKey(format!("key {} has no secret in the key file; rotate it", k.id)))?;
        return Ok(Resolved {
            provider,
            model: target.model.clone(),
            endpoint: endpoint_of(k),
            secret,
            key_ref: k.id.clone(),
            source: "byok",
        });
    }
    if let Some(f) = fallback.filter(|f| f.provider == provider && mode.allows_managed() && target.key_id.is_none()) {
        return Ok(Resolved {
            provider,
            model: target.model.clone(),
            endpoint: Endpoint { base_url: f.base_url.clone(), ..Endpoint::default() },
            secret: f.key.clone(),
            key_ref: "fallback".into(),
            source: "managed",
        });
    }
    let why = match mode {
        ProviderMode::Managed => "the org uses managed keys only and the server has none for it",
        _ => "add one with POST /v1/byok-keys",
    };
    Err(Unusable::NoKey(format!("no {} key for model {}: {why}", provider.as_str(), target.model)))
}
