//! What the scheduler needs from storage, as a seam: the org's keys and settings, secrets, the verdict cache and
//! key health. The server's backend is the SQLite store and the key file; `gavel eval --local` runs on the
//! in-memory one, which holds no stored keys and writes nothing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures_util::future::BoxFuture;
use rusqlite::{params, OptionalExtension};
use serde_json::{json, Value};

use super::keys::OrgSettings;
use crate::byok::model::ProviderKey;
use crate::domain::{Provider, Secret};
use crate::error::{Error, Result};
use crate::keystore::KeyFile;
use crate::store::Store;

/// See the module documentation.
pub trait Backend: Send + Sync {
    /// The org's stored keys (metadata) and its judge settings.
    fn keys_and_settings(&self, org: &str) -> BoxFuture<'static, Result<(Vec<ProviderKey>, OrgSettings)>>;
    /// A stored key's secret; `Ok(None)` when the key file has none for it.
    fn secret(&self, org: &str, key_id: &str, provider: Provider) -> Result<Option<Secret>>;
    /// A cached verdict younger than `ttl_s`.
    fn cache_get(&self, key: String, ttl_s: i64) -> BoxFuture<'static, Result<Option<String>>>;
    /// Cache a verdict.
    fn cache_put(&self, org: String, key: String, verdict: String) -> BoxFuture<'static, Result<()>>;
    /// Mark a stored key as failing (the provider rejected it), with its audit row.
    fn mark_failing(&self, org: String, key_id: String, run: String, failure: Value) -> BoxFuture<'static, Result<()>>;
}

/// The server's backend.
pub struct StoreBackend {
    pub store: Store,
    pub keys: Arc<KeyFile>,
}

impl Backend for StoreBackend {
    fn keys_and_settings(&self, org: &str) -> BoxFuture<'static, Result<(Vec<ProviderKey>, OrgSettings)>> {
        let (store, o) = (self.store.clone(), org.to_string());
        Box::pin(async move {
            store
                .read(move |c| Ok((crate::byok::repo::all_of_org(c, &o)?, super::settings::org_settings(c, &o)?)))
                .await
        })
    }

    fn secret(&self, org: &str, key_id: &str, provider: Provider) -> Result<Option<Secret>> {
        Ok(self.keys.get(org, key_id, provider.as_str())?)
    }

    fn cache_get(&self, key: String, ttl_s: i64) -> BoxFuture<'static, Result<Option<String>>> {
        let store = self.store.clone();
        Box::pin(async move {
            store
                .read(move |c| {
                    let now = chrono::Utc::now().timestamp();
                    Ok(c.query_row(
                        "SELECT verdict FROM judge_cache WHERE key = ?1 AND created_at > ?2",
                        params![key, now - ttl_s],
                        |r| r.get::<_, String>(0),
                    )
                    .optional()?)
                })
                .await
        })
    }

    fn cache_put(&self, org: String, key: String, verdict: String) -> BoxFuture<'static, Result<()>> {
        let store = self.store.clone();
        Box::pin(async move {
            store
                .write(move |c| {
                    c.execute(
                        "INSERT INTO judge_cache (key, org_id, verdict, created_at) VALUES (?1, ?2, ?3, ?4)
                         ON CONFLICT (key) DO UPDATE SET verdict = excluded.verdict, created_at = excluded.created_at",
                        params![key, org, verdict, chrono::Utc::now().timestamp()],
                    )?;
                    Ok(())
                })
                .await
        })
    }

    fn mark_failing(&self, org: String, key_id: String, run: String, failure: Value) -> BoxFuture<'static, Result<()>> {
        let store = self.store.clone();
        Box::pin(async move {
            store
                .write(move |c| {
                    let tx = c.transaction()?;
                    if crate::byok::repo::mark_failing(&tx, &org, &key_id, &failure)? {
                        crate::usage::audit::record(
                            &tx,
                            Some(&org),
                            "judge",
                            "byok_key.failing",
                            "byok_key",
                            Some(&key_id),
                            json!({"run": run, "code": failure["code"], "message": failure["message"]}),
                        )?;
                    }
                    tx.commit()?;
                    Ok(())
                })
                .await
        })
    }
}

/// Delete verdicts older than `ttl_s` (the maintenance task calls this); answers how many went.
pub async fn purge_cache(store: &Store, ttl_s: i64) -> Result<usize> {
    store
        .write(move |c| {
            let cutoff = chrono::Utc::now().timestamp() - ttl_s;
            Ok(c.execute("DELETE FROM judge_cache WHERE created_at <= ?1", [cutoff])?)
        })
        .await
}

/// No stored keys, a cache that lives as long as the process, key health kept in the scheduler's memory.
#[derive(Default)]
pub struct MemoryBackend {
    cache: Mutex<HashMap<String, (i64, String)>>,
}

impl Backend for MemoryBackend {
    fn keys_and_settings(&self, _org: &str) -> BoxFuture<'static, Result<(Vec<ProviderKey>, OrgSettings)>> {
        Box::pin(async { Ok((Vec::new(), OrgSettings::default())) })
    }

    fn secret(&self, _org: &str, key_id: &str, _provider: Provider) -> Result<Option<Secret>> {
        Err(Error::validation(format!("no stored key {key_id} in a local run")))
    }

    fn cache_get(&self, key: String, ttl_s: i64) -> BoxFuture<'static, Result<Option<String>>> {
        let now = chrono::Utc::now().timestamp();
        let hit = self
            .cache
            .lock()
            .ok()
            .and_then(|c| c.get(&key).filter(|(at, _)| *at > now - ttl_s).map(|(_, v)| v.clone()));
        Box::pin(async move { Ok(hit) })
    }

    fn cache_put(&self, _org: String, key: String, verdict: String) -> BoxFuture<'static, Result<()>> {
        if let Ok(mut c) = self.cache.lock() {
            c.insert(key, (chrono::Utc::now().timestamp(), verdict));
        }
        Box::pin(async { Ok(()) })
    }

    fn mark_failing(&self, _org: String, _key_id: String, _run: String, _f: Value) -> BoxFuture<'static, Result<()>> {
        Box::pin(async { Ok(()) })
    }
}
