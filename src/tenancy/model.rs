//! Tenancy types: orgs, projects, API keys and roles.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// An org role. `admin` manages everything in the org; `member` works with projects and reads key metadata.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Member,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Member => "member",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "admin" => Some(Role::Admin),
            "member" => Some(Role::Member),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Org {
    pub id: String,
    pub name: String,
    pub created_at: String,
}

/// The answer to creating an org: its first admin key, shown only here.
#[derive(Serialize, ToSchema)]
pub struct CreatedOrg {
    pub id: String,
    pub name: String,
    pub created_at: String,
    pub admin_api_key: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOrg {
    pub name: String,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Project {
    pub id: String,
    pub name: String,
    pub created_at: String,
    /// Gateway calls attributed to this project (`x-gavel-project`) keep their prompt and completion text in the
    /// request log. Off unless an org admin turns it on: the text is the callers' data.
    pub gateway_log_content: bool,
}

/// `PATCH /v1/projects/{project}`: the project's settings; absent fields stay as they are.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchProject {
    pub gateway_log_content: Option<bool>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateProject {
    pub name: String,
}

/// API key metadata; the key itself is never stored.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ApiKey {
    pub id: String,
    pub name: String,
    pub role: Role,
    pub key_prefix: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
    /// Gateway limits of this key, when set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limits: Option<ApiKeyLimits>,
}

/// The period a gateway budget covers: the current UTC day or month.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BudgetPeriod {
    Day,
    #[default]
    Month,
}

/// Limits on a key's gateway calls; an absent field is no limit.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyLimits {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests_per_min: Option<u32>,
    /// Input plus output tokens per minute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens_per_min: Option<u64>,
    /// USD the key's gateway calls may cost per `budget_period`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget_usd: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget_period: Option<BudgetPeriod>,
}

impl ApiKeyLimits {
    /// The largest values accepted, so a typo cannot overflow the buckets' arithmetic.
    pub const MAX_PER_MIN: u64 = 1_000_000_000;

    pub fn validate(&self) -> crate::error::Result<()> {
        if self.requests_per_min.is_some_and(|r| r == 0 || u64::from(r) > Self::MAX_PER_MIN) {
            return Err(crate::error::Error::field(
                "limits.requests_per_min",
                "must be between 1 and 1000000000 (ApiKeyLimits::MAX_PER_MIN)",
            ));
        }
        if self.tokens_per_min.is_some_and(|t| t == 0 || t > Self::MAX_PER_MIN) {
            return Err(crate::error::Error::field(
                "limits.tokens_per_min",
                "must be between 1 and 1000000000 (ApiKeyLimits::MAX_PER_MIN)",
            ));
        }
        if self.budget_usd.is_some_and(|b| !(b.is_finite() && b >= 0.0)) {
            return Err(crate::error::Error::field("limits.budget_usd", "must be a non-negative number"));
        }
        Ok(())
    }
}

/// `PATCH /v1/api-keys/{id}`: `limits: null` removes them.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchApiKey {
    pub limits: Option<ApiKeyLimits>,
}

/// The answer to creating an API key: the only time `key` is shown.
#[derive(Serialize, ToSchema)]
pub struct CreatedApiKey {
    pub id: String,
    pub name: String,
    pub role: Role,
    pub key: String,
    pub key_prefix: String,
    pub created_at: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApiKey {
    pub name: String,
    pub role: Role,
}

/// Names of orgs, projects and keys: short, printable, trimmed.
pub fn validate_name(field: &str, name: &str) -> crate::error::Result<()> {
    let n = name.trim();
    if n.is_empty() || n.len() != name.len() {
        return Err(crate::error::Error::field(
            field,
            format!("{field} must be non-empty and have no surrounding spaces"),
        ));
    }
    if n.chars().count() > 100 || n.chars().any(char::is_control) {
        return Err(crate::error::Error::field(field, format!("{field} must be at most 100 printable characters")));
    }
    Ok(())
}

/// Project names appear in URLs and on the command line, so they are slugs; they must not look like ids.
pub fn validate_project_name(name: &str) -> crate::error::Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 100
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && name.as_bytes()[0].is_ascii_alphanumeric()
        && !name.starts_with("prj_");
    if ok {
        Ok(())
    } else {
        Err(crate::error::Error::field(
            "name",
            "project name must be 1-100 characters of letters, digits, '-', '_' or '.', start with a letter or digit, and not start with 'prj_'",
        ))
    }
}
