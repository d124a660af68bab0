//! Recent cached answers in memory, so a cache hit on an answer this process produced takes no store trip. The
//! store's `gateway_cache` stays the cache of record (it outlives restarts and is what a miss here falls back to);
//! this only holds the answers written through this process's recorder, bounded by their JSON size
//! (`gateway.cache_memory_bytes`, oldest out first) and kept no longer than `gateway.cache_ttl_s` from when they were
//! produced, which is never later than their row's own time, so nothing is served here that the store would
//! refuse as expired.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

struct Held {
    org_id: String,
    answer: Arc<Value>,
    bytes: usize,
    at: Instant,
}

#[derive(Default)]
struct Inner {
    entries: HashMap<String, Held>,
    bytes: usize,
}

/// See the module documentation.
pub(crate) struct Answers {
    inner: Mutex<Inner>,
    max_bytes: usize,
    ttl: Duration,
}

impl Answers {
    pub(crate) fn new(max_bytes: usize, ttl: Duration) -> Self {
        Self { inner: Mutex::new(Inner::default()), max_bytes, ttl }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The answer for cache key `key` of `org_id`, if held and fresh.
    pub(crate) fn get(&self, org_id: &str, key: &str) -> Option<Value> {
        let inner = self.lock();
        let held = inner.entries.get(key).filter(|h| h.org_id == org_id && h.at.elapsed() < self.ttl)?;
        Some(Value::clone(&held.answer))
    }

    /// Keeps a just-produced answer (`bytes`: its JSON text's length). An answer larger than the whole budget is
    /// not kept; otherwise the oldest go until it fits.
    pub(crate) fn put(&self, org_id: &str, key: String, answer: Value, bytes: usize) {
        if bytes > self.max_bytes || self.ttl.is_zero() {
            return;
        }
        let mut inner = self.lock();
        if let Some(old) = inner.entries.remove(&key) {
            inner.bytes -= old.bytes;
        }
        let ttl = self.ttl;
        if inner.bytes + bytes > self.max_bytes {
            let before = inner.entries.len();
            inner.entries.retain(|_, h| h.at.elapsed() < ttl);
            if inner.entries.len() != before {
                inner.bytes = inner.entries.values().map(|h| h.bytes).sum();
            }
        }
        while inner.bytes + bytes > self.max_bytes {
            let oldest = inner.entries.iter().min_by_key(|(_, h)| h.at).map(|(k, _)| k.clone());
            match oldest.and_then(|k| inner.entries.remove(&k)) {
                Some(h) => inner.bytes -= h.bytes,
                None => break,
            }
        }
        inner.bytes += bytes;
        inner
            .entries
            .insert(key, Held { org_id: org_id.to_owned(), answer: Arc::new(answer), bytes, at: Instant::now() });
    }

    #[cfg(test)]
    fn held_bytes(&self) -> usize {
        self.lock().bytes
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn bounded_by_bytes_oldest_out_and_org_checked() {
        let a = Answers::new(100, Duration::from_secs(60));
        for i in 0..10 {
            a.put("org_a", format!("k{i}"), serde_json::json!(i), 30);
            assert!(a.held_bytes() <= 100, "{}", a.held_bytes());
        }
        assert_eq!(a.get("org_a", "k9"), Some(serde_json::json!(9)));
        assert_eq!(a.get("org_a", "k0"), None, "the oldest went");
        assert_eq!(a.get("org_b", "k9"), None, "another org's key never answers");
        a.put("org_a", "huge".into(), serde_json::json!("x"), 101);
        assert_eq!(a.get("org_a", "huge"), None, "larger than the whole budget");
        a.put("org_a", "k9".into(), serde_json::json!(90), 30);
        assert_eq!((a.get("org_a", "k9"), a.held_bytes()), (Some(serde_json::json!(90)), 90));
    }

    #[test]
    fn expired_answers_are_not_served() {
        let a = Answers::new(100, Duration::ZERO);
        a.put("o", "k".into(), serde_json::json!(1), 1);
        assert_eq!(a.get("o", "k"), None);
    }
}
