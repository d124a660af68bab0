//! The store read before a chat call. Everything a call needs from the store before it can be answered comes
//! back from at most one trip to the blocking pool: the org's view (keys, settings, the caller's limits, content
//! logging), the routed targets, the input estimate for the budget, and for a cacheable call the first usable
//! target with its cache key and, when the call may read the cache, the cached answer. With the org view held in
//! memory (`view.rs`) the trip is only the cache lookup, done from the worker's own routing and cache key; a call
//! that cannot use the cache, whose answer this process produced recently (`answers.rs`), or whose key has no stored
//! answer (`present.rs`), takes none. Without
//! it the JSON-heavy work (the canonical form, its digest, parsing a cached answer) runs off the HTTP workers.

use std::sync::Arc;

use serde_json::Value;

use super::resolve::{OrgView, Resolved};
use super::routing::RouteTarget;
use super::serve::{input_estimate, internal, CallInfo, Failure, Gateway};
use super::view::{load_view, view_key};

/// See the module documentation.
pub(crate) struct Prepared {
    /// The request, handed back (it moved into the read so that it need not be copied).
    pub raw: Value,
    pub view: Arc<OrgView>,
    pub targets: Result<Vec<RouteTarget>, Failure>,
    /// The request's input tokens as estimated for the budget reservation.
    pub estimate: u64,
    pub first: Option<Prefetched>,
}

/// The first usable target of a cacheable call, looked up in the cache.
pub(crate) struct Prefetched {
    /// Its position in `targets`.
    pub index: usize,
    pub resolved: Resolved,
    pub key: String,
    /// The fresh cached answer, if the call may read the cache and there is one.
    pub cached: Option<Value>,
}

impl Gateway {
    /// See the module documentation; `model` is the request's, `stream` whether it streams (streams are never
    /// cached).
    pub(crate) async fn prepare(
        self: &Arc<Self>,
        info: &CallInfo,
        raw: Value,
        model: &str,
        stream: bool,
    ) -> Result<Prepared, Failure> {
        let view_key = view_key(&info.org_id, &info.api_key_id, info.project.as_deref());
        let held = self.held_view(&view_key);
        let (cacheable, cache_read, ttl) = (!stream && self.cfg.cache_ttl_s > 0, info.cache_read, self.cfg.cache_ttl_s);
        if let Some(view) = held {
            // The request was parsed on this worker; routing it, counting its text and deriving its cache key cost
            // no more than that. Only the store's cache is left to read, and an answer held in memory spares even
            // that.
            let targets = self.targets(model, &view);
            let estimate = input_estimate(&raw);
            let mut first = match (&targets, cacheable) {
                (Ok(targets), true) => self.first_usable(&view, &info.org_id, targets, &raw),
                _ => None,
            };
            if let Some(p) = first.as_mut().filter(|_| cache_read) {
                p.cached = match self.answers.get(&info.org_id, &p.key) {
                    Some(answer) => Some(answer),
                    // No row can hold it (`present.rs`): a miss without a store trip.
                    None if !self.present.may_hold(&p.key) => None,
                    None => {
                        let (org, key) = (info.org_id.clone(), p.key.clone());
                        self.store.read(move |c| Ok(cached_answer(c, &org, &key, ttl))).await.map_err(internal)?
                    }
                };
            }
            return Ok(Prepared { raw, view, targets, estimate, first });
        }
        let stamp = self.views.stamp();
        let g = self.clone();
        let (org, key, project, model) =
            (info.org_id.clone(), info.api_key_id.clone(), info.project.clone(), model.to_owned());
        let prepared = self
            .store
            .read(move |c| {
                let view = Arc::new(load_view(c, &org, &key, project.as_deref())?);
                let targets = g.targets(&model, &view);
                let estimate = input_estimate(&raw);
                let mut first = match (&targets, cacheable) {
                    (Ok(targets), true) => g.first_usable(&view, &org, targets, &raw),
                    _ => None,
                };
                if let Some(p) = first.as_mut().filter(|_| cache_read) {
                    p.cached = cached_answer(c, &org, &p.key, ttl);
                }
                Ok(Prepared { raw, view, targets, estimate, first })
            })
            .await
            .map_err(internal)?;
        self.views.put(view_key, prepared.view.clone(), stamp);
        Ok(prepared)
    }
}

impl Gateway {
    /// The same target the call loop will try first (the first whose key can be used), with its cache key.
    fn first_usable(&self, view: &OrgView, org: &str, targets: &[RouteTarget], raw: &Value) -> Option<Prefetched> {
        let (index, resolved) =
            targets.iter().enumerate().find_map(|(i, t)| self.choose(view, org, t).ok().map(|r| (i, r)))?;
        let key = super::cache_key::cache_key(org, resolved.provider.as_str(), &resolved.model, raw);
        Some(Prefetched { index, resolved, key, cached: None })
    }
}

/// A fresh cached answer; a cache that cannot be read is a miss (and logged), never a failed call.
pub(super) fn cached_answer(c: &rusqlite::Connection, org: &str, key: &str, ttl_s: u64) -> Option<Value> {
    match super::record::cache_get(c, org, key, ttl_s) {
        Ok(Some(text)) => serde_json::from_str(&text).ok(),
        Ok(None) => None,
        Err(e) => {
            drop(internal(e));
            None
        }
    }
}
