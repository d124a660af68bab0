//! What several features' handlers do the same way: record a change in the audit log, and answer a page of a
//! listing. One copy each, so every route keeps the same cursor rules and every audit row the same actor.

use actix_web::HttpResponse;
use rusqlite::{Connection, Transaction};
use serde::Serialize;
use serde_json::Value;

use crate::error::Result;
use crate::http::auth::Caller;
use crate::store::page::{self, PageQuery};
use crate::store::Store;
use crate::tenancy::model::Project;
use crate::tenancy::repo::find_project;
use crate::usage::audit;

impl Caller {
    /// Records `action` on `target_type`/`target_id` by this caller, in the caller's org. Called on the
    /// transaction that makes the change, so the change and its audit row commit together or not at all.
    pub(crate) fn audit(
        &self,
        conn: &Connection,
        action: &str,
        target_type: &str,
        target_id: &str,
        details: Value,
    ) -> rusqlite::Result<()> {
        audit::record(conn, Some(&self.org_id), &self.actor(), action, target_type, Some(target_id), details)
    }
}

/// Answers one page of a listing ordered by id. `rows` runs on the read pool and returns up to `limit + 1` rows
/// after the cursor's id; the extra row only says that there is a next page.
pub(crate) async fn id_page<T, F>(store: &Store, q: &PageQuery, id: fn(&T) -> &str, rows: F) -> Result<HttpResponse>
where
    T: Serialize + Send + 'static,
    F: FnOnce(&Connection, Option<&str>, u32) -> Result<Vec<T>> + Send + 'static,
{
    let (limit, after) = (q.limit()?, q.after()?);
    let rows = store.read(move |c| rows(c, after.as_deref(), limit)).await?;
    let (items, next_cursor) = page::finish(rows, limit, id);
    Ok(HttpResponse::Ok().json(crate::domain::Page { items, next_cursor }))
}

/// Runs `change` on the caller's project (its name or id, looked up within the caller's org) in one write
/// transaction that commits only when `change` succeeds: the lookup, the change and its audit row are one unit.
pub(crate) async fn project_write<T, F>(store: &Store, caller: Caller, project: String, change: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce(&Transaction<'_>, &Caller, &Project) -> Result<T> + Send + 'static,
{
    store
        .write(move |conn| {
            let tx = conn.transaction()?;
            let p = find_project(&tx, &caller.org_id, &project)?;
            let out = change(&tx, &caller, &p)?;
            tx.commit()?;
            Ok(out)
        })
        .await
}
