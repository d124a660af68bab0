//! Reading a stored dataset's items page by page, for the dashboard's dataset browser.

use rusqlite::{params, Connection};
use serde::Serialize;
use utoipa::ToSchema;

use super::model::Item;
use crate::error::{Error, Result};

/// One item of a stored dataset and its position in it.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct DatasetItem {
    /// Position in the dataset, from 0.
    pub idx: u64,
    pub item: Item,
}

/// Up to `limit + 1` items after position `after`, in order (the caller splits off the next page's cursor).
pub fn dataset_items(conn: &Connection, dataset_id: &str, after: Option<u64>, limit: u32) -> Result<Vec<DatasetItem>> {
    let mut stmt = conn.prepare_cached(
        "SELECT idx, item FROM dataset_items WHERE dataset_id = ?1 AND (?2 IS NULL OR idx > ?2) ORDER BY idx LIMIT ?3",
    )?;
    let rows = stmt
        .query_map(params![dataset_id, after.map(|a| a as i64), limit + 1], |r| {
            Ok((r.get::<_, i64>(0)? as u64, r.get::<_, String>(1)?))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    rows.into_iter()
        .map(|(idx, text)| Ok(DatasetItem { idx, item: serde_json::from_str(&text).map_err(Error::internal)? }))
        .collect()
}
