//! What the gateway writes after answering: the request-log row, the usage line (source `gateway`) and the cached
//! answer. None of it may delay the answer, so it goes over a channel to one background task that commits what has
//! queued up in one transaction (at most `gateway.writer_batch` rows), and on shutdown drains the channel first.
//! The cache is read directly (a reader connection), only written here.

use std::sync::Arc;

use rusqlite::{params, OptionalExtension};
use tokio::sync::{mpsc, Notify};
use tokio_util::sync::CancellationToken;

use crate::error::Result;
use crate::store::Store;
use crate::usage::book::{Line, LineKey};
use crate::usage::requests::RequestRow;

/// Records queued at most. Far above what the writer falls behind by in practice (it commits hundreds of rows per
/// transaction); past it records are dropped with a warning rather than the answers waiting or memory growing
/// without bound while the store is stuck.
pub(super) const MAX_QUEUED_RECORDS: usize = 100_000;

/// One thing to write.
#[derive(Debug)]
pub(crate) enum Write {
    /// A finished call: its log row, and (when it reached a provider or the cache) its usage.
    Request { org_id: String, row: Box<RequestRow>, price_known: bool },
    /// An answer to keep for identical requests.
    Cache { key: String, org_id: String, provider: String, model: String, answer: String },
}

/// See the module documentation.
pub(crate) struct Recorder {
    tx: mpsc::Sender<Write>,
    stopped: Arc<Notify>,
    done: Arc<std::sync::atomic::AtomicBool>,
}

impl Recorder {
    /// Starts the writer task on `rt`; it ends when `cancel` fires, after writing what was queued.
    pub(crate) fn start(
        store: Store,
        batch: usize,
        cancel: CancellationToken,
        rt: &tokio::runtime::Handle,
    ) -> Recorder {
        let (tx, mut rx) = mpsc::channel::<Write>(MAX_QUEUED_RECORDS);
        let stopped = Arc::new(Notify::new());
        let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (stopped2, done2) = (stopped.clone(), done.clone());
        rt.spawn(async move {
            loop {
                // Queued records first: after cancellation the loop still drains the queue, and stops only
                // once it is empty.
                let first = tokio::select! {
                    biased;
                    w = rx.recv() => w,
                    _ = cancel.cancelled() => None,
                };
                let mut items: Vec<Write> = first.into_iter().collect();
                while items.len() < batch {
                    match rx.try_recv() {
                        Ok(w) => items.push(w),
                        Err(_) => break,
                    }
                }
                let last = items.is_empty();
                if !last {
                    let n = items.len();
                    if let Err(e) = store.write(move |c| write_batch(c, &items)).await {
                        tracing::warn!(error = %e, rows = n, "could not write gateway records; they are lost");
                    }
                }
                if last {
                    // Cancelled (or every sender gone) and nothing left queued.
                    done2.store(true, std::sync::atomic::Ordering::SeqCst);
                    stopped2.notify_waiters();
                    return;
                }
            }
        });
        Recorder { tx, stopped, done }
    }

    /// Queues a write; never blocks.
    pub(crate) fn send(&self, w: Write) {
        match self.tx.try_send(w) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                tracing::warn!(
                    limit = MAX_QUEUED_RECORDS,
                    "the gateway writer is behind by MAX_QUEUED_RECORDS; a record was dropped"
                );
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                tracing::debug!("the gateway writer has stopped; a record was dropped");
            }
        }
    }

    /// Waits until the writer has written everything and stopped (after cancellation).
    pub(crate) async fn stopped(&self) {
        let notified = self.stopped.notified();
        if self.done.load(std::sync::atomic::Ordering::SeqCst) {
            return;
        }
        notified.await;
    }
}

/// Writes one batch in one transaction. Usage lines of the batch are summed per (org, provider, model, key) first,
/// so a busy batch upserts each usage row once rather than once per call (the sums are what the row would reach
/// call by call: counts, tokens and cost add up, a price is known only if it was for every call).
fn write_batch(conn: &mut rusqlite::Connection, items: &[Write]) -> Result<()> {
    let tx = conn.transaction()?;
    let now = chrono::Utc::now().timestamp();
    let mut usage: Vec<(&str, LineKey, Line)> = Vec::new();
    for w in items {
        match w {
            Write::Request { org_id, row, price_known } => {
                crate::usage::requests::insert(&tx, org_id, row)?;
                if let (Some(provider), Some(model)) = (&row.provider, &row.model) {
                    let hit = row.cache == "hit";
                    if hit || row.attempts > 0 {
                        let line = Line {
                            source: crate::usage::book::Source::Gateway,
                            calls: u64::from(!hit && row.status < 400),
                            input_tokens: row.input_tokens,
                            output_tokens: row.output_tokens,
                            cost_usd: row.cost_usd,
                            cache_hits: u64::from(hit),
                            price_known: *price_known,
                        };
                        let key_ref = row.key_ref.as_deref().unwrap_or_default();
                        let same = |(o, k, _): &&mut (&str, LineKey, Line)| {
                            *o == org_id.as_str() && k.0 == *provider && k.1 == *model && k.2 == key_ref
                        };
                        match usage.iter_mut().find(same) {
                            Some((_, _, sum)) => {
                                sum.calls += line.calls;
                                sum.input_tokens += line.input_tokens;
                                sum.output_tokens += line.output_tokens;
                                sum.cost_usd += line.cost_usd;
                                sum.cache_hits += line.cache_hits;
                                sum.price_known &= line.price_known;
                            }
                            None => usage.push((org_id, (provider.clone(), model.clone(), key_ref.to_owned()), line)),
                        }
                    }
                }
            }
            Write::Cache { key, org_id, provider, model, answer } => {
                tx.prepare_cached(
                    "INSERT INTO gateway_cache (key, org_id, provider, model, answer, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                     ON CONFLICT (key) DO UPDATE SET answer = excluded.answer, created_at = excluded.created_at",
                )?
                .execute(params![key, org_id, provider, model, answer, now])?;
            }
        }
    }
    for (org_id, key, line) in &usage {
        crate::usage::repo::add_gateway(&tx, org_id, key, line)?;
    }
    tx.commit()?;
    Ok(())
}

/// A cached answer younger than `ttl_s`, of this org only (the key is derived from the org too; the org column
/// makes a cross-org hit impossible even so).
pub(super) fn cache_get(conn: &rusqlite::Connection, org_id: &str, key: &str, ttl_s: u64) -> Result<Option<String>> {
    let oldest = chrono::Utc::now().timestamp() - i64::try_from(ttl_s).unwrap_or(i64::MAX);
    // Cached: parsing the statement again on every call was the larger part of a cache lookup.
    Ok(conn
        .prepare_cached("SELECT answer FROM gateway_cache WHERE key = ?1 AND org_id = ?2 AND created_at > ?3")?
        .query_row(params![key, org_id, oldest], |r| r.get(0))
        .optional()?)
}

/// Removes cached answers older than `ttl_s`; answers how many went.
pub fn purge_cache(conn: &rusqlite::Connection, ttl_s: u64) -> Result<usize> {
    let oldest = chrono::Utc::now().timestamp() - i64::try_from(ttl_s).unwrap_or(i64::MAX);
    Ok(conn.execute("DELETE FROM gateway_cache WHERE created_at <= ?1", [oldest])?)
}
