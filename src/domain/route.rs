//! Where a gateway model name may be served: the entries of config `[gateway.models]` and of org settings
//! `model_aliases`, and how an org wants its provider keys used. Shared by config, org settings and the gateway.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::provider::Provider;

/// One target of an alias: a provider, its model name, and optionally the key to use.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ModelTarget {
    pub provider: Provider,
    pub model: String,
    /// A provider key of the org (`pk_…`); without it the org's default key for the provider serves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
}

/// Which keys serve an org's calls (API.md "BYOK"): its own, the server's managed key, or its own first.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProviderMode {
    Byok,
    Managed,
    #[default]
    ByokThenManaged,
}

impl ProviderMode {
    pub fn allows_byok(self) -> bool {
        self != ProviderMode::Managed
    }

    pub fn allows_managed(self) -> bool {
        self != ProviderMode::Byok
    }
}
