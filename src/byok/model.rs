//! Provider-key types and their validation, provider by provider.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

pub use crate::domain::Provider;
use crate::domain::Secret;
use crate::error::{Error, Result};

/// What the last `/test` call found.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct LastTest {
    pub ok: bool,
    pub at: String,
    pub latency_ms: Option<u64>,
    pub model: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub error: Option<Value>,
}

/// A key's metadata: everything but the secret.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ProviderKey {
    pub id: String,
    pub provider: Provider,
    pub name: String,
    /// The first 8 characters of the secret, to recognise it.
    pub key_prefix: String,
    pub is_default: bool,
    pub base_url: Option<String>,
    pub endpoint: Option<String>,
    pub deployment: Option<String>,
    pub api_version: Option<String>,
    pub default_model: Option<String>,
    /// `active`, or `failing` after the provider rejected it (until a successful test or a rotation).
    pub status: String,
    pub created_at: String,
    pub updated_at: String,
    pub rotated_at: Option<String>,
    pub last_used_at: Option<String>,
    pub last_test: Option<LastTest>,
    /// Why the key is `failing`: `{code, message, at}` from the provider's rejection.
    #[schema(value_type = Option<Object>)]
    pub failure: Option<Value>,
}

/// POST /v1/byok-keys
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateProviderKey {
    pub provider: Provider,
    pub name: String,
    /// The provider's secret; write-only.
    #[schema(value_type = String, format = Password)]
    pub key: Secret,
    #[serde(default)]
    pub is_default: Option<bool>,
    pub base_url: Option<String>,
    pub endpoint: Option<String>,
    pub deployment: Option<String>,
    pub api_version: Option<String>,
    pub default_model: Option<String>,
}

/// PATCH /v1/byok-keys/{id}: absent fields stay; `null` clears an optional field.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct PatchProviderKey {
    pub name: Option<String>,
    pub is_default: Option<bool>,
    /// A new secret (rotation).
    #[schema(value_type = Option<String>, format = Password)]
    pub key: Option<Secret>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub base_url: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub endpoint: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub deployment: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub api_version: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub default_model: Option<Option<String>>,
}

/// Tells "absent" (outer None) from "null" (Some(None)).
fn nullable<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// The connection settings of a key, validated together because their rules depend on the provider.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Connection {
    pub base_url: Option<String>,
    pub endpoint: Option<String>,
    pub deployment: Option<String>,
    pub api_version: Option<String>,
    pub default_model: Option<String>,
}

fn check_url(field: &str, v: &str) -> Result<()> {
    let u = url::Url::parse(v).map_err(|e| Error::field(field, format!("{field} is not a valid URL: {e}")))?;
    if !matches!(u.scheme(), "http" | "https") || u.host_str().is_none() {
        return Err(Error::field(field, format!("{field} must be an http(s) URL with a host")));
    }
    if u.query().is_some() || u.fragment().is_some() || !u.username().is_empty() || u.password().is_some() {
        return Err(Error::field(field, format!("{field} must not carry a query, fragment or credentials")));
    }
    Ok(())
}

fn check_text(field: &str, v: &str, max: usize) -> Result<()> {
    if v.is_empty() || v.len() > max || v.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(Error::field(field, format!("{field} must be 1-{max} characters without spaces")));
    }
    Ok(())
}

impl Connection {
    /// Provider-specific rules: Azure needs endpoint, deployment and api_version; `openai_compatible` needs base_url;
    /// fields that mean nothing for a provider are refused rather than silently ignored.
    pub fn validate(&self, provider: Provider) -> Result<()> {
        if let Some(u) = &self.base_url {
            check_url("base_url", u)?;
        }
        if let Some(u) = &self.endpoint {
            check_url("endpoint", u)?;
        }
        if let Some(d) = &self.deployment {
            check_text("deployment", d, 200)?;
        }
        if let Some(v) = &self.api_version {
            check_text("api_version", v, 50)?;
        }
        if let Some(m) = &self.default_model {
            check_text("default_model", m, 200)?;
        }
        match provider {
            Provider::AzureOpenai => {
                for (field, v) in
                    [("endpoint", &self.endpoint), ("deployment", &self.deployment), ("api_version", &self.api_version)]
                {
                    if v.is_none() {
                        return Err(Error::field(field, format!("azure_openai keys need {field}")));
                    }
                }
                if self.base_url.is_some() {
                    return Err(Error::field("base_url", "azure_openai keys take endpoint, not base_url"));
                }
            }
            other => {
                if other == Provider::OpenaiCompatible && self.base_url.is_none() {
                    return Err(Error::field(
                        "base_url",
                        "openai_compatible keys need base_url (e.g. http://localhost:8000/v1)",
                    ));
                }
                for (field, v) in
                    [("endpoint", &self.endpoint), ("deployment", &self.deployment), ("api_version", &self.api_version)]
                {
                    if v.is_some() {
                        return Err(Error::field(field, format!("{field} is only for azure_openai keys")));
                    }
                }
            }
        }
        Ok(())
    }
}

/// A provider secret must be one line of printable text.
pub fn validate_secret(secret: &Secret) -> Result<()> {
    let s = secret.expose_secret();
    if s.is_empty() || s.len() > 4096 || s.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(Error::field("key", "key must be 1-4096 characters without spaces or line breaks"));
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn field_of(e: Error) -> String {
        match e {
            Error::Validation { details, .. } => details["field"].as_str().unwrap().to_string(),
            other => panic!("not a validation error: {other:?}"),
        }
    }

    #[test]
    fn provider_rules() {
        let azure = Connection {
            endpoint: Some("https://x.openai.azure.com".into()),
            deployment: Some("gpt4o".into()),
            api_version: Some("2024-10-21".into()),
            ..Default::default()
        };
        azure.validate(Provider::AzureOpenai).unwrap();
        assert_eq!(
            field_of(Connection { api_version: None, ..azure.clone() }.validate(Provider::AzureOpenai).unwrap_err()),
            "api_version"
        );
        assert_eq!(field_of(azure.validate(Provider::Openai).unwrap_err()), "endpoint");
        assert_eq!(field_of(Connection::default().validate(Provider::OpenaiCompatible).unwrap_err()), "base_url");
        Connection { base_url: Some("http://127.0.0.1:8000/v1".into()), ..Default::default() }
            .validate(Provider::OpenaiCompatible)
            .unwrap();
        assert_eq!(
            field_of(
                Connection { base_url: Some("ftp://x".into()), ..Default::default() }
                    .validate(Provider::Openai)
                    .unwrap_err()
            ),
            "base_url"
        );
        assert_eq!(
            field_of(
                Connection { base_url: Some("https://x/v1?key=1".into()), ..Default::default() }
                    .validate(Provider::Openai)
                    .unwrap_err()
            ),
            "base_url"
        );
        assert!(validate_secret(&Secret::new("sk-abc".into())).is_ok());
        assert!(validate_secret(&Secret::new("sk abc".into())).is_err());
        assert!(validate_secret(&Secret::new(String::new())).is_err());
    }

    #[test]
    fn patch_tells_null_from_absent() {
        let p: PatchProviderKey = serde_json::from_str(r#"{"base_url": null}"#).unwrap();
        assert_eq!(p.base_url, Some(None));
        assert_eq!(p.endpoint, None);
        assert!(serde_json::from_str::<PatchProviderKey>(r#"{"nope": 1}"#).is_err());
    }
}
