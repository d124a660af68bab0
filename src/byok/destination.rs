//! The destination policy at the door: a key's `base_url`/`endpoint` (stored or request-scoped) must be a place
//! `providers.allowed_hosts` lets gavel call, so the admin hears it when saving the key rather than from every
//! failing item. Connections are checked again after DNS resolution (see `providers::destination`).

use crate::byok::model::Connection;
use crate::error::{Error, Result};
use crate::providers::DestinationPolicy;

/// Checks `base_url` and `endpoint` when `which` names them; the error names the field (prefixed by `prefix`,
/// e.g. `provider_key.`) and the configuration key that would allow it, where anything would.
pub async fn check(policy: &DestinationPolicy, conn: &Connection, which: &[&str], prefix: &str) -> Result<()> {
    for (field, value) in [("base_url", &conn.base_url), ("endpoint", &conn.endpoint)] {
        let Some(value) = value else { continue };
        if !which.contains(&field) {
            continue;
        }
        let shown = format!("{prefix}{field}");
        let url = url::Url::parse(value.trim()).map_err(|e| Error::field(&shown, format!("{shown}: {e}")))?;
        policy.check_url_resolving(&url, true).await.map_err(|r| Error::field(&shown, format!("{shown}: {r}")))?;
    }
    Ok(())
}
