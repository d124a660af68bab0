//! The storage seam of the run pipeline: where pending work comes from and where results, with the usage they
//! cost, go. The server's sink is the SQLite store; `gavel eval --local` and `gavel analyze --local` use the in-memory
//! one and write nothing.

use std::sync::{Arc, Mutex};

use futures_util::future::BoxFuture;

use super::repo::{self, ResultRow};
use crate::domain::{Item, Score};
use crate::error::{Error, Result};
use crate::store::Store;
use crate::usage::book::{Line, LineKey};

/// A finished item on its way to the sink.
pub struct Finished {
    pub row: ResultRow,
    pub scores: Vec<Score>,
}

/// See the module documentation. Futures are `'static` so a write can overlap the scoring of the next batch.
pub trait Sink: Send + Sync {
    /// Up to `limit` items after `after` that have no result yet (a resumed run reads its work from here).
    fn pending(&self, after: Option<u64>, limit: u32) -> BoxFuture<'static, Result<Vec<(u64, Item)>>>;
    /// Store a batch of results and the usage they cost, in one step; answers how many items are done.
    fn write(&self, batch: Vec<Finished>, usage: Vec<(LineKey, Line)>) -> BoxFuture<'static, Result<u64>>;
}

/// The server's sink: one transaction per batch on the store's writer thread.
pub struct StoreSink {
    pub store: Store,
    pub run_id: String,
    pub org_id: String,
}

impl Sink for StoreSink {
    fn pending(&self, after: Option<u64>, limit: u32) -> BoxFuture<'static, Result<Vec<(u64, Item)>>> {
        let (store, rid) = (self.store.clone(), self.run_id.clone());
        Box::pin(async move { store.read(move |c| repo::pending_items(c, &rid, after, limit)).await })
    }

    fn write(&self, batch: Vec<Finished>, usage: Vec<(LineKey, Line)>) -> BoxFuture<'static, Result<u64>> {
        let (store, rid, org) = (self.store.clone(), self.run_id.clone(), self.org_id.clone());
        Box::pin(async move {
            let rows: Vec<ResultRow> = batch.into_iter().map(|f| f.row).collect();
            store
                .write(move |c| {
                    let usage = (!usage.is_empty()).then_some((org.as_str(), usage.as_slice()));
                    repo::insert_results(c, &rid, &rows, usage)
                })
                .await
        })
    }
}

/// An item's index, its scores, its scoring time in milliseconds and its kind's detail (`{"analysis": …}`).
pub type Scored = (u64, Vec<Score>, u64, Option<String>);

/// Results kept in memory, by item index (`gavel eval --local`, `gavel analyze --local`).
#[derive(Clone, Default)]
pub struct MemorySink {
    results: Arc<Mutex<Vec<Scored>>>,
}

impl MemorySink {
    /// The results so far, in item order.
    pub fn take(&self) -> Vec<Scored> {
        let mut all = self.results.lock().map(|mut r| std::mem::take(&mut *r)).unwrap_or_default();
        all.sort_by_key(|(i, ..)| *i);
        all
    }
}

impl Sink for MemorySink {
    fn pending(&self, _after: Option<u64>, _limit: u32) -> BoxFuture<'static, Result<Vec<(u64, Item)>>> {
        // Local runs hand their items to the pipeline directly; nothing is left over from an earlier process.
        Box::pin(async { Ok(Vec::new()) })
    }

    fn write(&self, batch: Vec<Finished>, _usage: Vec<(LineKey, Line)>) -> BoxFuture<'static, Result<u64>> {
        let results = self.results.clone();
        Box::pin(async move {
            let mut r = results.lock().map_err(|_| Error::internal(anyhow::anyhow!("results lock poisoned")))?;
            r.extend(batch.into_iter().map(|f| (f.row.idx, f.scores, f.row.elapsed_ms, f.row.detail)));
            Ok(r.len() as u64)
        })
    }
}
