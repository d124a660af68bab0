//! Decrypted provider keys kept in memory, so a gateway call does not open its key's sealed record (HKDF and
//! AES-GCM) on every request. Bounded (`gateway.key_cache_entries`) and short-lived (`gateway.key_cache_ttl_s`):
//! the plaintext lives longer than one call only here, each copy a [`Secret`] that zeroizes itself when evicted or
//! dropped and never prints.
//!
//! Freshness is the org view's ([`Memo`]): an entry is stamped with the store's write epoch taken before the key
//! file was read, and rotating or deleting a key commits its `provider_keys` row (a watched table) after the key
//! file changed, which bumps the epoch before the caller hears back. So a secret read before a rotation, or while it
//! was in flight, is a miss from the next call on, and a deleted key is not in the reloaded view to be looked up.

use std::sync::Arc;

use crate::domain::Secret;
use crate::keystore::{KeyFile, KeystoreError};
use crate::store::Memo;

/// See the module documentation.
pub(crate) struct Secrets {
    memo: Memo<Secret>,
    file: Arc<KeyFile>,
}

/// Key ids cannot hold a newline, so the parts cannot run into each other.
fn secret_key(org_id: &str, key_id: &str, provider: &str) -> String {
    let mut k = String::with_capacity(org_id.len() + key_id.len() + provider.len() + 2);
    k.push_str(org_id);
    k.push('\n');
    k.push_str(key_id);
    k.push('\n');
    k.push_str(provider);
    k
}

impl Secrets {
    pub(crate) fn new(memo: Memo<Secret>, file: Arc<KeyFile>) -> Self {
        Self { memo, file }
    }

    /// The secret of (org, key, provider), as [`KeyFile::get`] answers it, from memory when held and fresh.
    pub(crate) fn get(&self, org_id: &str, key_id: &str, provider: &str) -> Result<Option<Secret>, KeystoreError> {
        let k = secret_key(org_id, key_id, provider);
        if let Some(s) = self.memo.get(&k) {
            return Ok(Some(s));
        }
        let stamp = self.memo.stamp();
        let secret = self.file.get(org_id, key_id, provider)?;
        if let Some(s) = &secret {
            self.memo.put(k, s.clone(), stamp);
        }
        Ok(secret)
    }
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Secrets").field("memo", &self.memo).finish_non_exhaustive()
    }
}
