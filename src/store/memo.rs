//! A bounded in-process cache of facts read from the store's watched tables (API keys, org settings, provider
//! keys, projects), so a hot path need not take a blocking-pool trip for what rarely changes.
//!
//! Freshness: an entry is stamped with the store's write epoch taken *before* its read. Every committed write to a
//! watched table bumps the epoch before its caller hears back (see `Store::write`), so an entry read before such a
//! write, or while it was in flight, no longer matches and is a miss: a revoked key or a changed setting takes
//! effect on the very next request. A TTL backs that up for writes this process does not see (the CLI's).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The epoch a read started at: taken before the read, handed to [`Memo::put`] with its result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stamp(u64);

struct Entry<V> {
    value: V,
    epoch: u64,
    at: Instant,
}

/// See the module documentation. Keys are whatever identifies a read (a key's hash, an org and key id); values
/// are cloned out, so large values go in an `Arc`.
pub struct Memo<V> {
    entries: Mutex<HashMap<String, Entry<V>>>,
    epoch: Arc<AtomicU64>,
    capacity: usize,
    ttl: Duration,
}

/// Neither keys nor values: a key may be derived from a secret (an API key's hash).
impl<V> std::fmt::Debug for Memo<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Memo")
            .field("len", &self.entries.lock().map_or(0, |e| e.len()))
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

impl<V: Clone> Memo<V> {
    /// `capacity` 0 or `ttl` zero turns the memo off (every lookup a miss).
    pub(super) fn new(epoch: Arc<AtomicU64>, capacity: usize, ttl: Duration) -> Self {
        Self { entries: Mutex::new(HashMap::new()), epoch, capacity, ttl }
    }

    fn now_epoch(&self) -> u64 {
        self.epoch.load(Ordering::SeqCst)
    }

    /// Take before reading what will be [`Memo::put`].
    pub fn stamp(&self) -> Stamp {
        Stamp(self.now_epoch())
    }

    /// The value for `key`, if it was read after the last watched write and within the TTL.
    pub fn get(&self, key: &str) -> Option<V> {
        let epoch = self.now_epoch();
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.get(key).filter(|e| e.epoch == epoch && e.at.elapsed() < self.ttl).map(|e| e.value.clone())
    }

    /// Keeps `value`, read at `stamp`, unless a watched write came since (it may be stale already). When full,
    /// stale entries go first, then the oldest one.
    pub fn put(&self, key: String, value: V, stamp: Stamp) {
        if self.capacity == 0 || self.ttl.is_zero() {
            return;
        }
        let epoch = self.now_epoch();
        if stamp.0 != epoch {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= self.capacity && !entries.contains_key(&key) {
            let ttl = self.ttl;
            entries.retain(|_, e| e.epoch == epoch && e.at.elapsed() < ttl);
            if entries.len() >= self.capacity {
                let oldest = entries.iter().min_by_key(|(_, e)| e.at).map(|(k, _)| k.clone());
                if let Some(k) = oldest {
                    entries.remove(&k);
                }
            }
        }
        entries.insert(key, Entry { value, epoch, at: Instant::now() });
    }

    /// Forgets `key` (a value found wrong by its user).
    pub fn remove(&self, key: &str) {
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).remove(key);
    }

    /// Entries held, stale ones included.
    pub fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn memo(capacity: usize) -> (Arc<AtomicU64>, Memo<u32>) {
        let epoch = Arc::new(AtomicU64::new(0));
        (epoch.clone(), Memo::new(epoch, capacity, Duration::from_secs(60)))
    }

    #[test]
    fn holds_at_most_its_capacity_and_drops_the_oldest() {
        let (_, m) = memo(3);
        for i in 0..10u32 {
            m.put(format!("k{i}"), i, m.stamp());
            assert!(m.len() <= 3, "{} entries", m.len());
        }
        assert_eq!(m.len(), 3);
        assert_eq!(m.get("k9"), Some(9));
        assert_eq!(m.get("k0"), None, "the oldest went first");
        // Replacing a held key does not evict another.
        m.put("k9".into(), 90, m.stamp());
        assert_eq!((m.len(), m.get("k8"), m.get("k9")), (3, Some(8), Some(90)));
    }

    #[test]
    fn a_watched_write_invalidates_and_a_read_that_raced_it_is_not_kept() {
        let (epoch, m) = memo(10);
        m.put("a".into(), 1, m.stamp());
        assert_eq!(m.get("a"), Some(1));
        epoch.fetch_add(1, Ordering::SeqCst);
        assert_eq!(m.get("a"), None, "read before the write");
        let stamp = m.stamp();
        epoch.fetch_add(1, Ordering::SeqCst);
        m.put("b".into(), 2, stamp);
        assert_eq!(m.get("b"), None, "read while a write was in flight");
        m.put("b".into(), 3, m.stamp());
        assert_eq!(m.get("b"), Some(3));
    }

    #[test]
    fn zero_capacity_or_ttl_is_off_and_debug_shows_no_keys() {
        let (_, m) = memo(0);
        m.put("a".into(), 1, m.stamp());
        assert_eq!(m.get("a"), None);
        let m = Memo::new(Arc::new(AtomicU64::new(0)), 5, Duration::ZERO);
        m.put("secret-hash".into(), 1u32, m.stamp());
        assert_eq!(m.get("secret-hash"), None);
        let m = Memo::new(Arc::new(AtomicU64::new(0)), 5, Duration::from_secs(1));
        m.put("secret-hash".into(), 1u32, m.stamp());
        let shown = format!("{m:?}");
        assert!(!shown.contains("secret-hash") && shown.contains("len: 1"), "{shown}");
    }
}
