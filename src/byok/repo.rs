//! Provider-key metadata queries. The unique partial index `provider_keys_one_default` backs the rule
//! "exactly one default per (org, provider)"; the functions here keep it satisfied in one transaction.

use rusqlite::{params, Connection, OptionalExtension};

use super::model::{Connection as ConnSettings, LastTest, Provider, ProviderKey};
use crate::error::{Error, Result};

const COLUMNS: &str = "id, provider, name, key_prefix, is_default, base_url, endpoint, deployment, api_version,
    default_model, status, created_at, updated_at, rotated_at, last_used_at, last_test, failure";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ProviderKey> {
    let provider: String = r.get(1)?;
    let last_test: Option<String> = r.get(15)?;
    Ok(ProviderKey {
        id: r.get(0)?,
        provider: Provider::parse(&provider).unwrap_or(Provider::OpenaiCompatible),
        name: r.get(2)?,
        key_prefix: r.get(3)?,
        is_default: r.get(4)?,
        base_url: r.get(5)?,
        endpoint: r.get(6)?,
        deployment: r.get(7)?,
        api_version: r.get(8)?,
        default_model: r.get(9)?,
        status: r.get(10)?,
        created_at: r.get(11)?,
        updated_at: r.get(12)?,
        rotated_at: r.get(13)?,
        last_used_at: r.get(14)?,
        last_test: last_test.and_then(|t| serde_json::from_str::<LastTest>(&t).ok()),
        failure: r.get::<_, Option<String>>(16)?.and_then(|f| serde_json::from_str(&f).ok()),
    })
}

/// The key's metadata, if it belongs to this org.
pub fn get(conn: &Connection, org_id: &str, id: &str) -> Result<ProviderKey> {
    let sql = format!("SELECT {COLUMNS} FROM provider_keys WHERE org_id = ?1 AND id = ?2");
    conn.prepare_cached(&sql)?
        .query_row(params![org_id, id], row)
        .optional()?
        .ok_or_else(|| Error::not_found("provider key"))
}

pub fn list(conn: &Connection, org_id: &str, after: Option<&str>, limit: u32) -> Result<Vec<ProviderKey>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM provider_keys WHERE org_id = ?1 AND (?2 IS NULL OR id > ?2) ORDER BY id LIMIT ?3"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![org_id, after, limit + 1], row)?.collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

fn clear_default(conn: &Connection, org_id: &str, provider: Provider) -> Result<()> {
    conn.execute(
        "UPDATE provider_keys SET is_default = 0 WHERE org_id = ?1 AND provider = ?2 AND is_default = 1",
        params![org_id, provider.as_str()],
    )?;
    Ok(())
}

/// Insert a key's metadata. The first key of a provider becomes its default; `is_default: true` takes the
/// default over from the previous one.
#[allow(clippy::too_many_arguments)]
pub fn insert(
    conn: &Connection,
    org_id: &str,
    id: &str,
    provider: Provider,
    name: &str,
    key_prefix: &str,
    wants_default: Option<bool>,
    settings: &ConnSettings,
    now: &str,
) -> Result<ProviderKey> {
    let existing: i64 = conn.query_row(
        "SELECT count(*) FROM provider_keys WHERE org_id = ?1 AND provider = ?2",
        params![org_id, provider.as_str()],
        |r| r.get(0),
    )?;
    let is_default = existing == 0 || wants_default == Some(true);
    if is_default {
        clear_default(conn, org_id, provider)?;
    }
    conn.execute(
        "INSERT INTO provider_keys (id, org_id, provider, name, key_prefix, is_default, base_url, endpoint, deployment,
             api_version, default_model, status, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, 'active', ?12, ?12)",
        params![
            id,
            org_id,
            provider.as_str(),
            name,
            key_prefix,
            is_default,
            settings.base_url,
            settings.endpoint,
            settings.deployment,
            settings.api_version,
            settings.default_model,
            now
        ],
    )?;
    get(conn, org_id, id)
}

#[allow(clippy::too_many_arguments)]
/// Apply a validated change. `new_prefix` is set when the secret was rotated (which also clears a failing status).
pub fn update(
    conn: &Connection,
    org_id: &str,
    id: &str,
    name: Option<&str>,
    make_default: bool,
    settings: &ConnSettings,
    new_prefix: Option<&str>,
    now: &str,
) -> Result<ProviderKey> {
    let current = get(conn, org_id, id)?;
    if make_default && !current.is_default {
        clear_default(conn, org_id, current.provider)?;
    }
    conn.execute(
        "UPDATE provider_keys SET name = ?3, is_default = ?4, base_url = ?5, endpoint = ?6, deployment = ?7,
             api_version = ?8, default_model = ?9, updated_at = ?10,
             key_prefix = coalesce(?11, key_prefix),
             rotated_at = CASE WHEN ?11 IS NULL THEN rotated_at ELSE ?10 END,
             status = CASE WHEN ?11 IS NULL THEN status ELSE 'active' END,
             failure = CASE WHEN ?11 IS NULL THEN failure ELSE NULL END
         WHERE org_id = ?1 AND id = ?2",
        params![
            org_id,
            id,
            name.unwrap_or(&current.name),
            make_default || current.is_default,
            settings.base_url,
            settings.endpoint,
            settings.deployment,
            settings.api_version,
            settings.default_model,
            now,
            new_prefix
        ],
    )?;
    get(conn, org_id, id)
}

/// Delete a key's metadata. If it was the default, the newest remaining key of that provider takes over,
/// so a provider with keys always has exactly one default.
pub fn delete(conn: &Connection, org_id: &str, id: &str) -> Result<ProviderKey> {
    let current = get(conn, org_id, id)?;
    conn.execute("DELETE FROM provider_keys WHERE org_id = ?1 AND id = ?2", params![org_id, id])?;
    if current.is_default {
        conn.execute(
            "UPDATE provider_keys SET is_default = 1 WHERE id = (
                 SELECT id FROM provider_keys WHERE org_id = ?1 AND provider = ?2 ORDER BY id DESC LIMIT 1)",
            params![org_id, current.provider.as_str()],
        )?;
    }
    Ok(current)
}

/// A provider rejected the key: mark it failing until a successful test or a rotation.
pub fn mark_failing(conn: &Connection, org_id: &str, id: &str, failure: &serde_json::Value) -> Result<bool> {
    let n = conn.execute(
        "UPDATE provider_keys SET status = 'failing', failure = ?3 WHERE org_id = ?1 AND id = ?2 AND status <> 'failing'",
        params![org_id, id, failure.to_string()],
    )?;
    Ok(n > 0)
}

/// Record a `/test` outcome; a successful one clears a failing status.
pub fn record_test(conn: &Connection, org_id: &str, id: &str, test: &LastTest) -> Result<()> {
    conn.execute(
        "UPDATE provider_keys SET last_test = ?3,
             status = CASE WHEN ?4 THEN 'active' ELSE status END,
             failure = CASE WHEN ?4 THEN NULL ELSE failure END
         WHERE org_id = ?1 AND id = ?2",
        params![org_id, id, serde_json::to_string(test).map_err(Error::internal)?, test.ok],
    )?;
    Ok(())
}

pub fn touch(conn: &Connection, id: &str, now: &str) -> Result<()> {
    conn.execute("UPDATE provider_keys SET last_used_at = ?2 WHERE id = ?1", params![id, now])?;
    Ok(())
}

/// Every key of an org (metadata), for resolution at run start.
pub fn all_of_org(conn: &Connection, org_id: &str) -> Result<Vec<ProviderKey>> {
    list(conn, org_id, None, u32::MAX - 1)
}

/// Every key id with metadata, to reconcile the key file at start.
pub fn all_ids(conn: &Connection) -> Result<Vec<String>> {
    let mut stmt = conn.prepare("SELECT id FROM provider_keys")?;
    let ids = stmt.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<Vec<String>>>()?;
    Ok(ids)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn setup() -> (Connection, String) {
        let mut c = Connection::open_in_memory().unwrap();
        crate::store::migrations().to_latest(&mut c).unwrap();
        let org = crate::tenancy::repo::insert_org(&c, "o", "t").unwrap();
        (c, org.id)
    }

    #[test]
    fn exactly_one_default_per_provider() {
        let (c, org) = setup();
        let s = ConnSettings::default();
        let a = insert(&c, &org, "pk_a", Provider::Openai, "a", "sk-aaaaa", None, &s, "t").unwrap();
        assert!(a.is_default, "first key is the default");
        let b = insert(&c, &org, "pk_b", Provider::Openai, "b", "sk-bbbbb", Some(true), &s, "t").unwrap();
        assert!(b.is_default);
        assert!(!get(&c, &org, "pk_a").unwrap().is_default);
        let g = insert(&c, &org, "pk_g", Provider::Groq, "g", "gsk_", None, &s, "t").unwrap();
        assert!(g.is_default, "defaults are per provider");
        update(&c, &org, "pk_a", None, true, &s, None, "t").unwrap();
        assert!(!get(&c, &org, "pk_b").unwrap().is_default);
        delete(&c, &org, "pk_a").unwrap();
        assert!(get(&c, &org, "pk_b").unwrap().is_default, "the remaining key takes over");
        let defaults: i64 = c
            .query_row("SELECT count(*) FROM provider_keys WHERE provider='openai' AND is_default=1", [], |r| r.get(0))
            .unwrap();
        assert_eq!(defaults, 1);
    }
}
