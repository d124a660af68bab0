//! Which key serves a judge scorer, in the contract's order: the request's own `provider_key` → the scorer's
//! `key_id` → the org's default key for the provider → the server's fallback key → `BYOK_NO_KEY`.
//! A scorer that names no provider takes the first provider with a usable key in the org's precedence.
//! The org's `provider_mode` rules keys out as it does for the gateway: `byok` never uses the server's key, `managed`
//! never the org's own; a key given with the run request is the caller's own choice and serves in every mode.

use serde::{Deserialize, Serialize};

use crate::byok::model::ProviderKey;
use crate::domain::Provider;
use crate::domain::ScoreError;
use crate::domain::Secret;
use crate::providers::Endpoint;

/// A provider key given in a run request: used for that run only, held in memory, never stored.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestKey {
    pub provider: Provider,
    pub key: Secret,
    #[serde(default)]
    pub base_url: Option<String>,
    #[serde(default)]
    pub endpoint: Option<String>,
    #[serde(default)]
    pub deployment: Option<String>,
    #[serde(default)]
    pub api_version: Option<String>,
    #[serde(default)]
    pub default_model: Option<String>,
}

impl std::fmt::Debug for RequestKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestKey").field("provider", &self.provider).field("key", &"[REDACTED]").finish()
    }
}

/// The server's managed-mode key.
#[derive(Clone)]
pub struct FallbackKey {
    pub provider: Provider,
    pub key: Secret,
    pub base_url: Option<String>,
}

/// Which key a call used, as usage and failure tracking name it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum KeyRef {
    Stored(String),
    Request(String),
    Fallback,
}

impl KeyRef {
    /// `pk_…`, `request`, or `fallback`, as stored in usage rows (never the secret).
    pub fn label(&self) -> String {
        match self {
            KeyRef::Stored(id) => id.clone(),
            KeyRef::Request(_) => "request".into(),
            KeyRef::Fallback => "fallback".into(),
        }
    }
}

/// What a call asks resolution for: a judge scorer's or a run target's provider, key, model kind and model.
#[derive(Clone, Copy, Debug)]
pub struct Wanted<'a> {
    pub provider: Option<Provider>,
    pub key_id: Option<&'a str>,
    /// The metric (or `llm_judge`, `target`) whose model overrides apply.
    pub kind: &'a str,
    pub model: Option<&'a str>,
}

/// Everything a call needs.
#[derive(Clone)]
pub struct Target {
    pub provider: Provider,
    pub endpoint: Endpoint,
    pub secret: Secret,
    pub key_ref: KeyRef,
    pub model: String,
}

/// Per-org judge settings.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrgSettings {
    /// Order in which providers are tried when a scorer names none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_precedence: Option<Vec<Provider>>,
    /// Model per metric (or `llm_judge`), over the server's overrides and the provider's default.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub model_overrides: std::collections::BTreeMap<String, String>,
    /// Default spending limit per run, in USD.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_limit_usd: Option<f64>,
    /// Gateway aliases: name → ordered targets, tried in order on retryable failures (over config `[gateway.models]`).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub model_aliases: std::collections::BTreeMap<String, Vec<crate::domain::ModelTarget>>,
    /// Gateway limits of the org's API keys that have none of their own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_key_limits: Option<crate::tenancy::model::ApiKeyLimits>,
    /// Which keys serve the org's judge and gateway calls (default `byok_then_managed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_mode: Option<crate::domain::ProviderMode>,
}

impl OrgSettings {
    pub fn precedence(&self) -> Vec<Provider> {
        self.provider_precedence.clone().unwrap_or_else(|| Provider::ALL.to_vec())
    }
}

/// What resolution may look at, loaded once per run.
pub struct Candidates {
    /// The org's keys (metadata).
    pub keys: Vec<ProviderKey>,
    pub fallback: Option<FallbackKey>,
    pub request: Option<RequestKey>,
    pub settings: OrgSettings,
    pub server_model_overrides: std::collections::BTreeMap<String, String>,
}

fn no_key(message: String) -> ScoreError {
    ScoreError { code: crate::domain::Code::ByokNoKey, message }
}

/// A resolved choice before its secret is read from the key file.
pub enum Choice {
    Request(RequestKey),
    Stored(Box<ProviderKey>),
    Fallback(FallbackKey),
}

impl Candidates {
    fn mode(&self) -> crate::domain::ProviderMode {
        self.settings.provider_mode.unwrap_or_default()
    }

    /// The org's default key for `p`, unless the org uses managed keys only.
    fn default_for(&self, p: Provider) -> Option<&ProviderKey> {
        self.keys.iter().find(|k| k.provider == p && k.is_default).filter(|_| self.mode().allows_byok())
    }

    /// The server's key for `p`, unless the org uses its own keys only.
    fn fallback_for(&self, p: Provider) -> Option<&FallbackKey> {
        self.fallback.as_ref().filter(|f| f.provider == p && self.mode().allows_managed())
    }

    fn usable(&self, p: Provider) -> bool {
        self.default_for(p).is_some_and(|k| k.status == "active") || self.fallback_for(p).is_some()
    }

    /// The provider and key for a scorer.
    pub fn choose(&self, provider: Option<Provider>, key_id: Option<&str>) -> Result<(Provider, Choice), ScoreError> {
        if let Some(id) = key_id {
            let k = self
                .keys
                .iter()
                .find(|k| k.id == id)
                .ok_or_else(|| no_key(format!("the scorer's key_id {id} is not a provider key of this org")))?;
            if provider.is_some_and(|p| p != k.provider) {
                return Err(no_key(format!(
                    "key {id} is a {} key, not {}",
                    k.provider.as_str(),
                    provider.map(Provider::as_str).unwrap_or("")
                )));
            }
            // The request's own key still wins for its provider.
            if let Some(r) = self.request.as_ref().filter(|r| r.provider == k.provider) {
                return Ok((k.provider, Choice::Request(r.clone())));
            }
            if !self.mode().allows_byok() {
                return Err(no_key(format!(
                    "the scorer's key_id {id} is an org key, and this org's provider_mode is managed (the server's keys only)"
                )));
            }
            return Ok((k.provider, Choice::Stored(Box::new(k.clone()))));
        }
        let provider = match provider {
            Some(p) => p,
            None => match &self.request {
                Some(r) => r.provider,
                None => self.settings.precedence().into_iter().find(|p| self.usable(*p)).ok_or_else(|| {
                    no_key("this org has no usable provider key: add one with POST /v1/byok-keys, or pass provider_key in the run".into())
                })?,
            },
        };
        if let Some(r) = self.request.as_ref().filter(|r| r.provider == provider) {
            return Ok((provider, Choice::Request(r.clone())));
        }
        if let Some(k) = self.default_for(provider) {
            return Ok((provider, Choice::Stored(Box::new(k.clone()))));
        }
        if let Some(f) = self.fallback_for(provider) {
            return Ok((provider, Choice::Fallback(f.clone())));
        }
        let p = provider.as_str();
        Err(no_key(match self.mode() {
            crate::domain::ProviderMode::Managed => format!(
                "no {p} key: this org's provider_mode is managed and the server has no {p} key; pass provider_key in the run"
            ),
            crate::domain::ProviderMode::Byok => format!(
                "no {p} key: add one with POST /v1/byok-keys or pass provider_key in the run (provider_mode byok: the server's key is not used)"
            ),
            crate::domain::ProviderMode::ByokThenManaged => {
                format!("no {p} key: add one with POST /v1/byok-keys or pass provider_key in the run")
            }
        }))
    }

    /// The model: scorer → run → org override → server override → key default → provider default.
    pub fn model(
        &self,
        kind: &str,
        scorer_model: Option<&str>,
        run_model: Option<&str>,
        provider: Provider,
        choice: &Choice,
    ) -> Result<String, ScoreError> {
        let key_default = match choice {
            Choice::Request(r) => r.default_model.clone().or_else(|| r.deployment.clone()),
            Choice::Stored(k) => k.default_model.clone().or_else(|| k.deployment.clone()),
            Choice::Fallback(_) => None,
        };
        scorer_model
            .map(str::to_string)
            .or_else(|| run_model.map(str::to_string))
            .or_else(|| self.settings.model_overrides.get(kind).cloned())
            .or_else(|| self.server_model_overrides.get(kind).cloned())
            .or(key_default)
            .or_else(|| crate::providers::default_model(provider).map(str::to_string))
            .ok_or_else(|| ScoreError {
                code: crate::domain::Code::ByokModelNotFound,
                message: format!(
                    "no model is configured for {}: set default_model on the key or model on the scorer",
                    provider.as_str()
                ),
            })
    }
}

/// The endpoint settings of a choice.
pub fn endpoint_of(choice: &Choice) -> Endpoint {
    match choice {
        Choice::Request(r) => Endpoint {
            base_url: r.base_url.clone(),
            endpoint: r.endpoint.clone(),
            deployment: r.deployment.clone(),
            api_version: r.api_version.clone(),
        },
        Choice::Stored(k) => Endpoint {
            base_url: k.base_url.clone(),
            endpoint: k.endpoint.clone(),
            deployment: k.deployment.clone(),
            api_version: k.api_version.clone(),
        },
        Choice::Fallback(f) => Endpoint { base_url: f.base_url.clone(), ..Default::default() },
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn key(id: &str, p: Provider, default: bool) -> ProviderKey {
        ProviderKey {
            id: id.into(),
            provider: p,
            name: id.into(),
            key_prefix: "sk-".into(),
            is_default: default,
            base_url: None,
            endpoint: None,
            deployment: None,
            api_version: None,
            default_model: None,
            status: "active".into(),
            created_at: String::new(),
            updated_at: String::new(),
            rotated_at: None,
            last_used_at: None,
            last_test: None,
            failure: None,
        }
    }

    fn label(c: &Choice) -> String {
        match c {
            Choice::Request(_) => "request".into(),
            Choice::Stored(k) => k.id.clone(),
            Choice::Fallback(_) => "fallback".into(),
        }
    }

    #[test]
    fn provider_mode_rules_out_org_or_server_keys() {
        use crate::domain::ProviderMode;
        let mut c = Candidates {
            keys: vec![key("pk_o", Provider::Openai, true)],
            fallback: Some(FallbackKey {
                provider: Provider::Openai,
                key: Secret::new("sk-srv".into()),
                base_url: None,
            }),
            request: None,
            settings: OrgSettings::default(),
            server_model_overrides: Default::default(),
        };
        assert_eq!(label(&c.choose(Some(Provider::Openai), None).unwrap().1), "pk_o", "byok first by default");
        c.settings.provider_mode = Some(ProviderMode::Managed);
        assert_eq!(label(&c.choose(Some(Provider::Openai), None).unwrap().1), "fallback");
        assert_eq!(label(&c.choose(None, None).unwrap().1), "fallback");
        let e = c.choose(None, Some("pk_o")).err().unwrap();
        assert!(e.code == "BYOK_NO_KEY" && e.message.contains("managed"), "{}", e.message);
        c.settings.provider_mode = Some(ProviderMode::Byok);
        c.keys.clear();
        let e = c.choose(Some(Provider::Openai), None).err().unwrap();
        assert!(e.code == "BYOK_NO_KEY" && e.message.contains("provider_mode byok"), "{}", e.message);
        assert_eq!(c.choose(None, None).err().unwrap().code, "BYOK_NO_KEY", "the server's key is not usable");
        c.request = Some(RequestKey {
            provider: Provider::Openai,
            key: Secret::new("sk-req".into()),
            base_url: None,
            endpoint: None,
            deployment: None,
            api_version: None,
            default_model: None,
        });
        assert_eq!(label(&c.choose(None, None).unwrap().1), "request", "the run's own key serves in every mode");
        c.settings.provider_mode = Some(ProviderMode::Managed);
        assert_eq!(label(&c.choose(Some(Provider::Openai), None).unwrap().1), "request");
    }

    #[test]
    fn precedence_order() {
        let mut c = Candidates {
            keys: vec![
                key("pk_o1", Provider::Openai, true),
                key("pk_o2", Provider::Openai, false),
                key("pk_a", Provider::Anthropic, true),
            ],
            fallback: Some(FallbackKey { provider: Provider::Groq, key: Secret::new("gsk".into()), base_url: None }),
            request: None,
            settings: OrgSettings::default(),
            server_model_overrides: Default::default(),
        };
        // No provider named: the first usable in the default precedence (azure, anthropic, openai, ...).
        assert_eq!(c.choose(None, None).map(|(p, ch)| (p, label(&ch))).unwrap(), (Provider::Anthropic, "pk_a".into()));
        assert_eq!(label(&c.choose(Some(Provider::Openai), None).unwrap().1), "pk_o1");
        assert_eq!(label(&c.choose(None, Some("pk_o2")).unwrap().1), "pk_o2");
        assert_eq!(label(&c.choose(Some(Provider::Groq), None).unwrap().1), "fallback");
        assert_eq!(c.choose(Some(Provider::Google), None).err().unwrap().code, "BYOK_NO_KEY");
        assert_eq!(c.choose(None, Some("pk_other")).err().unwrap().code, "BYOK_NO_KEY");
        c.settings.provider_precedence = Some(vec![Provider::Groq, Provider::Openai]);
        assert_eq!(c.choose(None, None).unwrap().0, Provider::Groq);
        c.request = Some(RequestKey {
            provider: Provider::Openai,
            key: Secret::new("sk-req".into()),
            base_url: None,
            endpoint: None,
            deployment: None,
            api_version: None,
            default_model: None,
        });
        assert_eq!(label(&c.choose(Some(Provider::Openai), None).unwrap().1), "request", "the request's key wins");
        assert_eq!(label(&c.choose(None, Some("pk_o2")).unwrap().1), "request");
        assert_eq!(label(&c.choose(Some(Provider::Anthropic), None).unwrap().1), "pk_a");
        assert_eq!(c.choose(None, None).unwrap().0, Provider::Openai);
        let choice = c.choose(Some(Provider::Anthropic), None).unwrap().1;
        c.settings.model_overrides.insert("relevance".into(), "org-model".into());
        assert_eq!(c.model("relevance", None, None, Provider::Anthropic, &choice).unwrap(), "org-model");
        assert_eq!(c.model("relevance", None, Some("run-model"), Provider::Anthropic, &choice).unwrap(), "run-model");
        assert_eq!(
            c.model("relevance", Some("scorer-model"), Some("run-model"), Provider::Anthropic, &choice).unwrap(),
            "scorer-model"
        );
        assert_eq!(
            c.model(
                "coherence",
                None,
                None,
                Provider::OpenaiCompatible,
                &Choice::Stored(Box::new(key("x", Provider::OpenaiCompatible, true)))
            )
            .unwrap_err()
            .code,
            "BYOK_MODEL_NOT_FOUND"
        );
    }
}
