//! An org's judge settings, as stored. A row that cannot be read is an error, never silently the defaults: the
//! defaults would drop the org's cost limit without anyone noticing.

use rusqlite::{params, OptionalExtension};

use super::keys::OrgSettings;
use crate::error::Error;

/// An org's judge settings (defaults when none were saved).
pub fn org_settings(conn: &rusqlite::Connection, org: &str) -> crate::error::Result<OrgSettings> {
    let text: Option<String> =
        conn.query_row("SELECT settings FROM org_settings WHERE org_id = ?1", [org], |r| r.get(0)).optional()?;
    match text {
        None => Ok(OrgSettings::default()),
        Some(t) => serde_json::from_str(&t).map_err(|e| {
            Error::internal(anyhow::anyhow!(
                "the settings row of org {org} cannot be read ({e}); save the settings again"
            ))
        }),
    }
}

/// Save an org's judge settings.
pub fn save_org_settings(conn: &rusqlite::Connection, org: &str, s: &OrgSettings) -> crate::error::Result<()> {
    conn.execute(
        "INSERT INTO org_settings (org_id, settings) VALUES (?1, ?2) ON CONFLICT (org_id) DO UPDATE SET settings = excluded.settings",
        params![org, serde_json::to_string(s).map_err(Error::internal)?],
    )?;
    Ok(())
}
