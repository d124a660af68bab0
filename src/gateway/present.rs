//! Which cache keys may have a row in the store's `gateway_cache`, so a cache miss (every call with a new prompt)
//! takes no store trip. Only the gateway's recorder writes that table, so the set is the keys found there when the
//! process started (loaded once in the background) plus every key this process queues for writing; it may hold
//! keys whose rows expired or were purged (those calls still ask the store and miss), never lack one that has a row.
//! Until the load is done, or once it holds [`MAX_PRESENT_KEYS`], every lookup asks the store as before.

use std::collections::HashSet;
use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
use std::sync::Mutex;

/// Cache keys remembered at most (8 bytes each); past it the filter turns itself off for the life of the process
/// and every cacheable call reads the store, as it does without the filter.
pub(super) const MAX_PRESENT_KEYS: usize = 2_000_000;

#[derive(Default)]
struct Inner {
    hashes: HashSet<u64>,
    loaded: bool,
    overflowed: bool,
}

/// See the module documentation.
#[derive(Default)]
pub(crate) struct Present {
    inner: Mutex<Inner>,
}

/// A fixed hasher, so the digest of a key is the same from the load and from a write.
fn digest(key: &str) -> u64 {
    BuildHasherDefault::<DefaultHasher>::default().hash_one(key)
}

impl Present {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Remembers a key about to be written.
    pub(crate) fn insert(&self, key: &str) {
        let mut inner = self.lock();
        if inner.overflowed {
            return;
        }
        inner.hashes.insert(digest(key));
        if inner.hashes.len() > MAX_PRESENT_KEYS {
            inner.overflowed = true;
            inner.hashes = HashSet::new();
        }
    }

    /// Adds the keys the store held at start, and from then on answers [`Present::may_hold`] from memory.
    pub(crate) fn loaded(&self, digests: impl IntoIterator<Item = u64>) {
        let mut inner = self.lock();
        if inner.overflowed {
            return;
        }
        inner.hashes.extend(digests);
        if inner.hashes.len() > MAX_PRESENT_KEYS {
            inner.overflowed = true;
            inner.hashes = HashSet::new();
            tracing::warn!(
                limit = MAX_PRESENT_KEYS,
                "the gateway cache holds over MAX_PRESENT_KEYS keys; misses read the store"
            );
            return;
        }
        inner.loaded = true;
    }

    /// False only when the store surely has no row for `key`.
    pub(crate) fn may_hold(&self, key: &str) -> bool {
        let inner = self.lock();
        !inner.loaded || inner.overflowed || inner.hashes.contains(&digest(key))
    }
}

/// The digests of the store's `gateway_cache` keys (fresh or not: a superset is what [`Present`] needs), hashed
/// as they are read and at most one past [`MAX_PRESENT_KEYS`], so a huge table costs bounded memory at start.
pub(super) fn stored_keys(c: &rusqlite::Connection) -> crate::error::Result<Vec<u64>> {
    let mut st = c.prepare("SELECT key FROM gateway_cache")?;
    let mut rows = st.query([])?;
    let mut digests = Vec::new();
    while let Some(row) = rows.next()? {
        digests.push(digest(&row.get::<_, String>(0)?));
        if digests.len() > MAX_PRESENT_KEYS {
            break;
        }
    }
    Ok(digests)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_until_loaded_then_only_what_was_loaded_or_written() {
        let p = Present::default();
        assert!(p.may_hold("a"), "before the load every key may be there");
        p.insert("written-before-load");
        p.loaded(vec![digest("from-store")]);
        assert!(p.may_hold("from-store"));
        assert!(p.may_hold("written-before-load"), "a write queued before the load finished is kept");
        assert!(!p.may_hold("never-seen"));
        p.insert("new");
        assert!(p.may_hold("new"));
    }

    #[test]
    fn overflow_turns_the_filter_off() {
        let p = Present::default();
        p.loaded(Vec::new());
        p.lock().hashes.extend(0..MAX_PRESENT_KEYS as u64);
        p.insert("one-too-many");
        assert!(p.may_hold("anything"), "past the cap every lookup asks the store");
        assert!(p.lock().hashes.is_empty(), "and the memory is given back");
    }
}
