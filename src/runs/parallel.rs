//! CPU work over a batch split across the machine's cores (at most 8), in batch order: the run pipeline's scoring
//! stage and a failure analysis's final pass share it. Runs on the calling (blocking) thread and its scoped helpers.

use crate::error::{Error, Result};

/// `f` over a batch across the available cores, in batch order.
pub(super) fn par_map<T: Send, R: Send>(batch: Vec<T>, f: impl Fn(T) -> R + Sync) -> Result<Vec<R>> {
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).clamp(1, 8);
    if threads == 1 || batch.len() < 256 {
        return Ok(batch.into_iter().map(f).collect());
    }
    let per = batch.len().div_ceil(threads).max(1);
    let mut parts: Vec<Vec<T>> = Vec::with_capacity(threads);
    let mut rest = batch;
    while rest.len() > per {
        let tail = rest.split_off(per);
        parts.push(rest);
        rest = tail;
    }
    parts.push(rest);
    let f = &f;
    std::thread::scope(|scope| {
        let handles: Vec<_> =
            parts.into_iter().map(|part| scope.spawn(move || part.into_iter().map(f).collect::<Vec<_>>())).collect();
        let mut out = Vec::new();
        for h in handles {
            out.extend(h.join().map_err(|_| Error::internal(anyhow::anyhow!("a worker thread panicked")))?);
        }
        Ok(out)
    })
}
