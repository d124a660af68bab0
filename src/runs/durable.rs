//! A judged run's results writer. Every answered judge (or target) call is paid for, so its item's result must be
//! durable as soon as it arrives, not when the pipeline loop next gets round to it: each judged item runs as a task
//! of its own that, once scored, hands its row straight to this writer, and the writer commits whatever has
//! arrived in one transaction (group commit: a batch is what arrived during the previous write, bounded by time,
//! never waiting to fill). A kill -9 then loses only the calls truly in flight. Heuristic runs do not use it: their
//! items cost nothing to redo, and they keep writing one scored batch at a time.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::sync::mpsc;

use super::sink::{Finished, Sink};
use crate::error::{Error, Result};
use crate::judge::RunCtx;

/// Most rows in one transaction (a writer that fell behind catches up in bounded steps).
const MOST_PER_WRITE: usize = 1024;

/// See the module documentation. An empty batch asks for the run's pending usage to be written.
pub(super) struct Durable {
    tx: mpsc::UnboundedSender<Vec<Finished>>,
    task: tokio::task::JoinHandle<Result<()>>,
    done: Arc<AtomicU64>,
}

impl Durable {
    pub(super) fn start(sink: Arc<dyn Sink>, ctx: Option<Arc<RunCtx>>) -> Durable {
        let (tx, mut rx) = mpsc::unbounded_channel::<Vec<Finished>>();
        let done = Arc::new(AtomicU64::new(0));
        let written = done.clone();
        let task = tokio::spawn(async move {
            while let Some(first) = rx.recv().await {
                let mut batch = first;
                while batch.len() < MOST_PER_WRITE {
                    match rx.try_recv() {
                        Ok(more) => batch.extend(more),
                        Err(_) => break,
                    }
                }
                let usage = match &ctx {
                    Some(c) => c.book.lock().map(|mut b| b.take_pending()).unwrap_or_default(),
                    None => Vec::new(),
                };
                if batch.is_empty() && usage.is_empty() {
                    continue;
                }
                let n = sink.write(batch, usage).await?;
                written.fetch_max(n, Ordering::Relaxed);
            }
            Ok(())
        });
        Durable { tx, task, done }
    }

    /// Where finished items go (a clone per judged item's task).
    pub(super) fn sender(&self) -> mpsc::UnboundedSender<Vec<Finished>> {
        self.tx.clone()
    }

    /// The writer stopped (a write failed): [`Durable::finish`] answers why.
    pub(super) fn stopped(&self) -> bool {
        self.task.is_finished()
    }

    /// Items done as of the last write.
    pub(super) fn done(&self) -> u64 {
        self.done.load(Ordering::Relaxed)
    }

    /// Write what is queued (and the pending usage), then stop; answers the items done.
    pub(super) async fn finish(self) -> Result<u64> {
        let Durable { tx, task, done } = self;
        tx.send(Vec::new()).ok();
        drop(tx);
        task.await.map_err(Error::internal)??;
        Ok(done.load(Ordering::Relaxed))
    }
}
