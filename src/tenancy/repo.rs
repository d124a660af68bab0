//! Tenancy queries: plain functions over a connection, every one scoped by org where the data is the org's.

use rusqlite::{params, Connection, OptionalExtension};

use super::model::{ApiKey, ApiKeyLimits, Org, Project, Role};
use crate::error::{Error, Result};
use crate::store::new_id;

/// What an API key authenticates as.
#[derive(Clone, Debug)]
pub struct KeyOwner {
    pub key_id: String,
    pub org_id: String,
    pub role: Role,
    pub last_used_at: Option<String>,
}

fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation)
}

pub fn get_setting(conn: &Connection, key: &str) -> Result<Option<String>> {
    Ok(conn.query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| r.get(0)).optional()?)
}

pub fn set_setting(conn: &Connection, key: &str, value: &str) -> Result<()> {
    conn.execute(
        "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )?;
    Ok(())
}

pub fn insert_org(conn: &Connection, name: &str, now: &str) -> Result<Org> {
    let id = new_id("org");
    conn.execute("INSERT INTO orgs (id, name, created_at) VALUES (?1, ?2, ?3)", params![id, name, now]).map_err(
        |e| {
            if is_unique_violation(&e) {
                Error::Conflict(format!("an org named {name:?} already exists"))
            } else {
                e.into()
            }
        },
    )?;
    Ok(Org { id, name: name.to_string(), created_at: now.to_string() })
}

pub fn list_orgs(conn: &Connection, after: Option<&str>, limit: u32) -> Result<Vec<Org>> {
    let mut stmt = conn
        .prepare_cached("SELECT id, name, created_at FROM orgs WHERE (?1 IS NULL OR id > ?1) ORDER BY id LIMIT ?2")?;
    let rows = stmt
        .query_map(params![after, limit + 1], |r| Ok(Org { id: r.get(0)?, name: r.get(1)?, created_at: r.get(2)? }))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

#[allow(clippy::too_many_arguments)]
pub fn insert_api_key(
    conn: &Connection,
    org_id: &str,
    name: &str,
    role: Role,
    key_hash: &str,
    key_prefix: &str,
    now: &str,
) -> Result<ApiKey> {
    let id = new_id("key");
    conn.execute(
        "INSERT INTO api_keys (id, org_id, name, role, key_hash, key_prefix, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![id, org_id, name, role.as_str(), key_hash, key_prefix, now],
    )?;
    Ok(ApiKey {
        id,
        name: name.into(),
        role,
        key_prefix: key_prefix.into(),
        created_at: now.into(),
        last_used_at: None,
        limits: None,
    })
}

fn row_to_api_key(r: &rusqlite::Row<'_>) -> rusqlite::Result<ApiKey> {
    let role: String = r.get(2)?;
    Ok(ApiKey {
        id: r.get(0)?,
        name: r.get(1)?,
        role: Role::parse(&role).unwrap_or(Role::Member),
        key_prefix: r.get(3)?,
        created_at: r.get(4)?,
        last_used_at: r.get(5)?,
        limits: r.get::<_, Option<String>>(6)?.and_then(|t| serde_json::from_str(&t).ok()),
    })
}

pub fn list_api_keys(conn: &Connection, org_id: &str, after: Option<&str>, limit: u32) -> Result<Vec<ApiKey>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, name, role, key_prefix, created_at, last_used_at, limits FROM api_keys
         WHERE org_id = ?1 AND revoked_at IS NULL AND (?2 IS NULL OR id > ?2) ORDER BY id LIMIT ?3",
    )?;
    let rows =
        stmt.query_map(params![org_id, after, limit + 1], row_to_api_key)?.collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// Revoke a key of this org. The last admin key cannot go: nobody could manage the org afterwards.
pub fn revoke_api_key(conn: &Connection, org_id: &str, id: &str, now: &str) -> Result<ApiKey> {
    let key = conn
        .query_row(
            "SELECT id, name, role, key_prefix, created_at, last_used_at, limits FROM api_keys
             WHERE id = ?1 AND org_id = ?2 AND revoked_at IS NULL",
            params![id, org_id],
            row_to_api_key,
        )
        .optional()?
        .ok_or_else(|| Error::not_found("api key"))?;
    if key.role == Role::Admin {
        let admins: i64 = conn.query_row(
            "SELECT count(*) FROM api_keys WHERE org_id = ?1 AND role = 'admin' AND revoked_at IS NULL",
            [org_id],
            |r| r.get(0),
        )?;
        if admins <= 1 {
            return Err(Error::Conflict("this is the org's last admin key; create another admin key first".into()));
        }
    }
    conn.execute("UPDATE api_keys SET revoked_at = ?1 WHERE id = ?2 AND org_id = ?3", params![now, id, org_id])?;
    Ok(key)
}

/// Set (or with `None` remove) the gateway limits of a key of this org.
pub fn set_limits(conn: &Connection, org_id: &str, id: &str, limits: Option<&ApiKeyLimits>) -> Result<ApiKey> {
    let text = limits.map(serde_json::to_string).transpose().map_err(Error::internal)?;
    let n = conn.execute(
        "UPDATE api_keys SET limits = ?1 WHERE id = ?2 AND org_id = ?3 AND revoked_at IS NULL",
        params![text, id, org_id],
    )?;
    if n == 0 {
        return Err(Error::not_found("api key"));
    }
    conn.query_row(
        "SELECT id, name, role, key_prefix, created_at, last_used_at, limits FROM api_keys WHERE id = ?1",
        [id],
        row_to_api_key,
    )
    .map_err(Into::into)
}

/// The gateway limits of a key (any org: the caller's own key, already authenticated).
pub fn limits_of(conn: &Connection, key_id: &str) -> Result<Option<ApiKeyLimits>> {
    let text: Option<Option<String>> =
        conn.query_row("SELECT limits FROM api_keys WHERE id = ?1", [key_id], |r| r.get(0)).optional()?;
    Ok(text.flatten().and_then(|t| serde_json::from_str(&t).ok()))
}

/// The owner of an unrevoked key with this hash.
pub fn find_key_owner(conn: &Connection, key_hash: &str) -> Result<Option<KeyOwner>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, org_id, role, last_used_at FROM api_keys WHERE key_hash = ?1 AND revoked_at IS NULL",
    )?;
    let owner = stmt
        .query_row([key_hash], |r| {
            let role: String = r.get(2)?;
            Ok(KeyOwner {
                key_id: r.get(0)?,
                org_id: r.get(1)?,
                role: Role::parse(&role).unwrap_or(Role::Member),
                last_used_at: r.get(3)?,
            })
        })
        .optional()?;
    Ok(owner)
}

/// (org name, key name, key prefix) of a key of this org, for `/v1/me`.
pub fn whoami(conn: &Connection, org_id: &str, key_id: &str) -> Result<(String, String, String)> {
    conn.query_row(
        "SELECT o.name, k.name, k.key_prefix FROM orgs o JOIN api_keys k ON k.org_id = o.id WHERE o.id = ?1 AND k.id = ?2",
        params![org_id, key_id],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )
    .optional()?
    .ok_or_else(|| Error::Unauthenticated("unknown or revoked API key".into()))
}

pub fn touch_api_key(conn: &Connection, key_id: &str, now: &str) -> Result<()> {
    conn.execute("UPDATE api_keys SET last_used_at = ?1 WHERE id = ?2", params![now, key_id])?;
    Ok(())
}

pub fn insert_project(conn: &Connection, org_id: &str, name: &str, now: &str) -> Result<Project> {
    let id = new_id("prj");
    conn.execute(
        "INSERT INTO projects (id, org_id, name, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![id, org_id, name, now],
    )
    .map_err(|e| {
        if is_unique_violation(&e) {
            Error::Conflict(format!("a project named {name:?} already exists"))
        } else {
            e.into()
        }
    })?;
    Ok(Project { id, name: name.into(), created_at: now.into(), gateway_log_content: false })
}

pub fn list_projects(conn: &Connection, org_id: &str, after: Option<&str>, limit: u32) -> Result<Vec<Project>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, name, created_at, gateway_log_content FROM projects WHERE org_id = ?1 AND (?2 IS NULL OR id > ?2)
         ORDER BY id LIMIT ?3",
    )?;
    let rows = stmt.query_map(params![org_id, after, limit + 1], project_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// A project of this org by id or name; another org's project is simply not found.
pub fn find_project(conn: &Connection, org_id: &str, id_or_name: &str) -> Result<Project> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, name, created_at, gateway_log_content FROM projects WHERE org_id = ?1 AND (id = ?2 OR name = ?2)
         ORDER BY id = ?2 DESC LIMIT 1",
    )?;
    stmt.query_row(params![org_id, id_or_name], project_row).optional()?.ok_or_else(|| Error::not_found("project"))
}

fn project_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Project> {
    Ok(Project { id: r.get(0)?, name: r.get(1)?, created_at: r.get(2)?, gateway_log_content: r.get(3)? })
}

/// Turns the project's gateway content logging on or off.
pub fn set_gateway_log_content(conn: &Connection, org_id: &str, id: &str, on: bool) -> Result<()> {
    conn.execute(
        "UPDATE projects SET gateway_log_content = ?3 WHERE org_id = ?1 AND id = ?2",
        params![org_id, id, on],
    )?;
    Ok(())
}

/// Whether gateway calls of `project` (the `x-gavel-project` value: a name or id) in this org keep their text.
/// A project that does not exist, or exists only in another org, does not.
pub fn logs_gateway_content(conn: &Connection, org_id: &str, project: &str) -> Result<bool> {
    let mut stmt = conn.prepare_cached(
        "SELECT gateway_log_content FROM projects WHERE org_id = ?1 AND (id = ?2 OR name = ?2)
         ORDER BY id = ?2 DESC LIMIT 1",
    )?;
    Ok(stmt.query_row(params![org_id, project], |r| r.get(0)).optional()?.unwrap_or(false))
}

pub fn delete_project(conn: &Connection, org_id: &str, id: &str) -> Result<()> {
    let n = conn.execute("DELETE FROM projects WHERE org_id = ?1 AND id = ?2", params![org_id, id])?;
    if n == 0 {
        return Err(Error::not_found("project"));
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn db() -> Connection {
        let mut c = Connection::open_in_memory().unwrap();
        crate::store::migrations().to_latest(&mut c).unwrap();
        c
    }

    #[test]
    fn projects_are_scoped_by_org() {
        let c = db();
        let a = insert_org(&c, "a", "t").unwrap();
        let b = insert_org(&c, "b", "t").unwrap();
        let p = insert_project(&c, &a.id, "web", "t").unwrap();
        assert_eq!(find_project(&c, &a.id, "web").unwrap().id, p.id);
        assert_eq!(find_project(&c, &a.id, &p.id).unwrap().name, "web");
        assert_eq!(find_project(&c, &b.id, &p.id).unwrap_err().code(), "NOT_FOUND");
        assert_eq!(delete_project(&c, &b.id, &p.id).unwrap_err().code(), "NOT_FOUND");
        assert_eq!(insert_project(&c, &a.id, "web", "t").unwrap_err().code(), "CONFLICT");
        insert_project(&c, &b.id, "web", "t").unwrap();
        assert_eq!(insert_org(&c, "a", "t").unwrap_err().code(), "CONFLICT");
    }

    #[test]
    fn last_admin_key_cannot_be_revoked() {
        let c = db();
        let o = insert_org(&c, "a", "t").unwrap();
        let k1 = insert_api_key(&c, &o.id, "one", Role::Admin, "h1", "gv_1", "t").unwrap();
        assert_eq!(revoke_api_key(&c, &o.id, &k1.id, "t").unwrap_err().code(), "CONFLICT");
        let k2 = insert_api_key(&c, &o.id, "two", Role::Admin, "h2", "gv_2", "t").unwrap();
        revoke_api_key(&c, &o.id, &k1.id, "t").unwrap();
        assert!(find_key_owner(&c, "h1").unwrap().is_none());
        assert_eq!(find_key_owner(&c, "h2").unwrap().unwrap().key_id, k2.id);
    }
}
