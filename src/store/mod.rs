//! The SQLite store. One writer thread owns the only write connection (closures go in over a channel,
//! results come back over a oneshot); reads run on the blocking pool with pooled read-only connections.
//! So rusqlite never runs on an async worker thread, and writes never contend for the database lock.

mod memo;
mod migrations;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;

use anyhow::Context;
use rusqlite::{Connection, OpenFlags};

use crate::error::{Error, Result};

pub use memo::{Memo, Stamp};
pub use migrations::{migrations, SCHEMA_VERSION};

type Job = Box<dyn FnOnce(&mut Connection) + Send + 'static>;

/// Handle to the store; cheap to clone.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    writer: Mutex<Option<mpsc::Sender<Job>>>,
    writer_thread: Mutex<Option<JoinHandle<()>>>,
    readers: Mutex<Vec<Connection>>,
    /// Bumped after every committed write that touched a [`WATCHED_TABLES`] row: what a [`Memo`] read before the
    /// bump is stale. One counter for every org, since such writes are rare (key, settings and project changes).
    epoch: Arc<AtomicU64>,
    /// Set by the writer connection's update hook while a write touches a watched table.
    dirty: Arc<AtomicBool>,
}

/// The tables whose rows in-process caches ([`Memo`]) keep: API keys and their org (authentication), the org's
/// settings, provider keys and projects (the gateway's org view). Any write to one of them, from any code path
/// in this process, invalidates every memo at once; writes from another process (the CLI) reach them after their
/// TTL.
const WATCHED_TABLES: [&str; 6] = ["api_keys", "orgs", "org_settings", "provider_keys", "projects", "settings"];

/// The writer connection's page cache, in KiB (SQLite reads a negative `cache_size` as KiB).
const WRITER_CACHE_KIB: i64 = -65_536;

/// Most idle read connections kept for reuse.
const MAX_IDLE_READERS: usize = 16;

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    Ok(())
}

impl Store {
    /// Open (creating if needed) the database at `path`, switch it to WAL, apply pending migrations
    /// and start the writer thread. Blocking: call before serving or from `spawn_blocking`.
    pub fn open(path: &Path) -> anyhow::Result<Store> {
        let mut conn = Connection::open(path).with_context(|| format!("opening the store {}", path.display()))?;
        conn.pragma_update(None, "journal_mode", "WAL").context("switching the store to WAL")?;
        configure(&conn)?;
        // The one writer does every bulk insert (a million-item run writes two million rows and their index
        // entries): a 64 MiB page cache keeps the B-tree pages it touches in memory instead of SQLite's 2 MiB
        // default. Filled lazily, so an idle appliance does not pay for it.
        conn.pragma_update(None, "cache_size", WRITER_CACHE_KIB)?;
        refuse_newer(&conn, path)?;
        migrations()
            .to_latest(&mut conn)
            .with_context(|| format!("migrating the store {} to schema {SCHEMA_VERSION}", path.display()))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).ok();
        }
        let dirty = Arc::new(AtomicBool::new(false));
        let flag = dirty.clone();
        conn.update_hook(Some(move |_: rusqlite::hooks::Action, _: &str, table: &str, _: i64| {
            if WATCHED_TABLES.contains(&table) {
                flag.store(true, Ordering::SeqCst);
            }
        }));
        let (tx, rx) = mpsc::channel::<Job>();
        let handle = std::thread::Builder::new()
            .name("gavel-store-writer".into())
            .spawn(move || {
                let mut conn = conn;
                while let Ok(job) = rx.recv() {
                    job(&mut conn);
                }
                if let Err(e) = conn.pragma_update(None, "wal_checkpoint", "TRUNCATE") {
                    tracing::warn!(error = %e, "final WAL checkpoint failed");
                }
            })
            .context("starting the store writer thread")?;
        Ok(Store {
            inner: Arc::new(Inner {
                path: path.to_path_buf(),
                writer: Mutex::new(Some(tx)),
                writer_thread: Mutex::new(Some(handle)),
                readers: Mutex::new(Vec::new()),
                epoch: Arc::new(AtomicU64::new(0)),
                dirty,
            }),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Run `f` on the writer thread, in order with every other write.
    pub async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    {
        self.write_settling(f, true).await
    }

    /// A [`Store::write`] that invalidates no [`Memo`] although it touches a watched table: only for a write that
    /// changes nothing a memo keeps (an API key's `last_used_at` stamp, which would otherwise empty every memo
    /// once a minute per active key).
    pub async fn write_unmemoised<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    {
        self.write_settling(f, false).await
    }

    /// The writer job of both: `f`, then the memo epoch settled (bumped when `invalidate` and a watched table was
    /// touched) before the caller gets its answer.
    async fn write_settling<T, F>(&self, f: F, invalidate: bool) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let inner = self.inner.clone();
        let job: Job = Box::new(move |conn| {
            let out = f(conn);
            inner.settle(invalidate);
            tx.send(out).ok();
        });
        let sender =
            self.inner.writer.lock().map_err(|_| Error::internal(anyhow::anyhow!("store lock poisoned")))?.clone();
        let sender = sender.ok_or_else(|| Error::Unavailable("the store is closed".into()))?;
        sender.send(job).map_err(|_| Error::Unavailable("the store is closed".into()))?;
        rx.await.map_err(|_| Error::internal(anyhow::anyhow!("the store writer stopped")))?
    }

    /// The current write epoch (see [`Memo`]).
    pub fn epoch(&self) -> u64 {
        self.inner.epoch.load(Ordering::SeqCst)
    }

    /// A bounded in-process cache of what readers load from watched tables, invalidated by this store's writes.
    pub fn memo<V: Clone>(&self, capacity: usize, ttl: std::time::Duration) -> Memo<V> {
        Memo::new(self.inner.epoch.clone(), capacity, ttl)
    }

    /// The blocking form of [`Store::write`], for command-line tools (never call it on an async worker).
    pub fn write_blocking<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    {
        let (tx, rx) = mpsc::channel();
        let inner = self.inner.clone();
        let job: Job = Box::new(move |conn| {
            let out = f(conn);
            inner.settle(true);
            tx.send(out).ok();
        });
        let sender =
            self.inner.writer.lock().map_err(|_| Error::internal(anyhow::anyhow!("store lock poisoned")))?.clone();
        let sender = sender.ok_or_else(|| Error::Unavailable("the store is closed".into()))?;
        sender.send(job).map_err(|_| Error::Unavailable("the store is closed".into()))?;
        rx.recv().map_err(|_| Error::internal(anyhow::anyhow!("the store writer stopped")))?
    }

    /// Run `f` on a read connection on the blocking pool.
    pub async fn read<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let store = self.clone();
        crate::telemetry::spawn_blocking_in_span(move || store.read_blocking(f)).await.map_err(Error::internal)?
    }

    /// The blocking form of [`Store::read`], for command-line tools and the blocking pool.
    pub fn read_blocking<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let pooled = self.inner.readers.lock().ok().and_then(|mut v| v.pop());
        let conn = match pooled {
            Some(c) => c,
            None => {
                let c = Connection::open_with_flags(
                    &self.inner.path,
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI,
                )?;
                configure(&c)?;
                c
            }
        };
        let out = f(&conn);
        if let Ok(mut v) = self.inner.readers.lock() {
            if v.len() < MAX_IDLE_READERS {
                v.push(conn);
            }
        }
        out
    }

    /// Is the store answering? Used by `/readyz`.
    pub async fn ping(&self) -> Result<()> {
        self.read(|c| Ok(c.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))?)).await.map(|_| ())
    }

    /// A consistent copy of the database while it is in use (`VACUUM INTO`).
    pub async fn backup_to(&self, dest: &Path) -> Result<()> {
        let dest = dest.to_string_lossy().into_owned();
        self.read(move |c| {
            c.execute("VACUUM INTO ?1", [dest])?;
            Ok(())
        })
        .await
    }

    /// Stop the writer after the queued writes, checkpoint the WAL and close. Later writes fail with 503.
    pub fn close(&self) {
        if let Ok(mut w) = self.inner.writer.lock() {
            w.take();
        }
        if let Ok(mut v) = self.inner.readers.lock() {
            v.clear();
        }
        let handle = self.inner.writer_thread.lock().ok().and_then(|mut h| h.take());
        if let Some(h) = handle {
            h.join().ok();
        }
    }
}

impl Inner {
    /// After a write job (committed or not, its answer not yet sent): a write that touched a watched table bumps
    /// the epoch before its caller hears back, so the caller's next request cannot meet a stale memo.
    fn settle(&self, invalidate: bool) {
        if self.dirty.swap(false, Ordering::SeqCst) && invalidate {
            self.epoch.fetch_add(1, Ordering::SeqCst);
        }
    }
}

/// A store a newer gavel migrated is refused before anything touches it: an older binary cannot know what the
/// newer schema means, and forward-only migrations cannot go back. The message names both versions.
fn refuse_newer(conn: &Connection, path: &Path) -> anyhow::Result<()> {
    let found: usize = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if found > SCHEMA_VERSION {
        anyhow::bail!(
            "the store {} has schema {found}, newer than schema {SCHEMA_VERSION} of this gavel {}: it was written by a \
             newer version, and downgrades are not supported (start the newer version, or restore the backup taken \
             before the upgrade); nothing was changed",
            path.display(),
            env!("CARGO_PKG_VERSION"),
        );
    }
    Ok(())
}

pub use crate::domain::{new_id, now};

/// Keyset pagination over ids: `cursor` is the last id of the previous page, encoded.
pub mod page {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;

    use crate::error::{Error, Result};

    /// Default and largest page sizes from the contract.
    pub const DEFAULT_LIMIT: u32 = 50;
    pub const MAX_LIMIT: u32 = 1000;

    /// Validated `?limit=&cursor=`.
    #[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams)]
    #[serde(deny_unknown_fields)]
    pub struct PageQuery {
        /// Page size, 1..=1000 (default 50).
        pub limit: Option<u32>,
        /// `next_cursor` from the previous page.
        pub cursor: Option<String>,
    }

    impl PageQuery {
        pub fn limit(&self) -> Result<u32> {
            match self.limit {
                None => Ok(DEFAULT_LIMIT),
                Some(l) if (1..=MAX_LIMIT).contains(&l) => Ok(l),
                Some(_) => Err(Error::field("limit", format!("limit must be between 1 and {MAX_LIMIT}"))),
            }
        }

        /// The id after which the page starts. Only cursors this process issued are read: a cursor is the
        /// position and an HMAC tag over it, so a client cannot forge a position (or probe ids) by encoding one.
        pub fn after(&self) -> Result<Option<String>> {
            match &self.cursor {
                None => Ok(None),
                Some(c) if c.is_empty() => Ok(None),
                Some(c) => open_cursor(c).map(Some).ok_or_else(|| {
                    Error::field("cursor", "cursor is not one this server issued (or it was issued before a restart)")
                }),
            }
        }
    }

    impl PageQuery {
        /// The position after which a page of positionally ordered rows (results, compared items) starts.
        pub fn after_index(&self) -> Result<Option<u64>> {
            match self.after()? {
                Some(c) => c
                    .parse::<u64>()
                    .map(Some)
                    .map_err(|_| Error::field("cursor", "cursor is not one this server issued")),
                None => Ok(None),
            }
        }
    }

    /// Split `limit + 1` positionally ordered rows into a page and the cursor of its last position.
    pub fn finish_by_index<T>(mut rows: Vec<T>, limit: u32, index: impl Fn(&T) -> u64) -> (Vec<T>, Option<String>) {
        if rows.len() > limit as usize {
            rows.truncate(limit as usize);
            let next = rows.last().map(|r| cursor(&index(r).to_string()));
            (rows, next)
        } else {
            (rows, None)
        }
    }

    /// Bytes of HMAC-SHA256 kept in a cursor: enough that guessing one is hopeless, short enough for a URL.
    const TAG_BYTES: usize = 12;

    /// The process's cursor key: random at start. Cursors are short-lived paging state, so one issued before a
    /// restart is refused (the client starts the listing again) rather than the key being stored anywhere.
    fn cursor_key() -> &'static ring::hmac::Key {
        static KEY: std::sync::OnceLock<ring::hmac::Key> = std::sync::OnceLock::new();
        KEY.get_or_init(|| {
            let rng = ring::rand::SystemRandom::new();
            ring::hmac::Key::generate(ring::hmac::HMAC_SHA256, &rng).unwrap_or_else(|_| {
                ring::hmac::Key::new(ring::hmac::HMAC_SHA256, crate::domain::new_id("ck").as_bytes())
            })
        })
    }

    /// Encode the last id of a page, signed: `base64url(id).base64url(tag)`.
    pub fn cursor(last_id: &str) -> String {
        let tag = ring::hmac::sign(cursor_key(), last_id.as_bytes());
        format!("{}.{}", URL_SAFE_NO_PAD.encode(last_id), URL_SAFE_NO_PAD.encode(&tag.as_ref()[..TAG_BYTES]))
    }

    /// The id inside a cursor this process issued; `None` for anything else.
    fn open_cursor(c: &str) -> Option<String> {
        let (body, tag) = c.split_once('.')?;
        let id = String::from_utf8(URL_SAFE_NO_PAD.decode(body).ok()?).ok()?;
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        let want = ring::hmac::sign(cursor_key(), id.as_bytes());
        // Compared without an early exit, so the time taken says nothing about how much of a tag was right.
        let diff = want.as_ref()[..TAG_BYTES].iter().zip(&tag).fold(0u8, |d, (a, b)| d | (a ^ b));
        (tag.len() == TAG_BYTES && diff == 0).then_some(id)
    }

    /// Split a fetched `limit + 1` rows into a page and its cursor.
    pub fn finish<T>(mut rows: Vec<T>, limit: u32, id: impl Fn(&T) -> &str) -> (Vec<T>, Option<String>) {
        let limit = limit as usize;
        if rows.len() > limit {
            rows.truncate(limit);
            let next = rows.last().map(|r| cursor(id(r)));
            (rows, next)
        } else {
            (rows, None)
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn write_then_read_and_close() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("t.db")).unwrap();
        store
            .write(|c| {
                c.execute("INSERT INTO settings(key, value) VALUES ('a', 'b')", [])?;
                Ok(())
            })
            .await
            .unwrap();
        let v: String = store
            .read(|c| Ok(c.query_row("SELECT value FROM settings WHERE key='a'", [], |r| r.get(0))?))
            .await
            .unwrap();
        assert_eq!(v, "b");
        let mode: String = store.read(|c| Ok(c.query_row("PRAGMA journal_mode", [], |r| r.get(0))?)).await.unwrap();
        assert_eq!(mode, "wal");
        store.close();
        let err = store.write(|_| Ok(())).await.unwrap_err();
        assert_eq!(err.code(), "UNAVAILABLE");
    }

    #[test]
    fn ids_sort_by_creation() {
        let a = new_id("x");
        #[allow(clippy::disallowed_methods)] // The test of time-ordered ids needs the clock to move.
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = new_id("x");
        assert!(a < b);
    }

    #[test]
    fn page_cursor_round_trip() {
        let q = page::PageQuery { limit: Some(2), cursor: Some(page::cursor("org_123")) };
        assert_eq!(q.after().unwrap().as_deref(), Some("org_123"));
        let (rows, next) = page::finish(vec!["a", "b", "c"], 2, |s| s);
        assert_eq!(rows, vec!["a", "b"]);
        assert_eq!(next, Some(page::cursor("b")));
        assert!(page::PageQuery { limit: Some(0), cursor: None }.limit().is_err());
        assert!(page::PageQuery { limit: Some(1001), cursor: None }.limit().is_err());
        assert!(page::PageQuery { limit: None, cursor: Some("***".into()) }.after().is_err());
    }

    /// A cursor is signed: one encoded by hand (the bare base64 of an id, as cursors once were) or with a changed
    /// position or tag is refused, naming `cursor`.
    #[test]
    fn forged_and_tampered_cursors_are_refused() {
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        use base64::Engine;
        let good = page::cursor("42");
        let (body, tag) = good.split_once('.').unwrap();
        let forged = [
            URL_SAFE_NO_PAD.encode("42"),
            format!("{}.{tag}", URL_SAFE_NO_PAD.encode("43")),
            format!("{body}.{}", URL_SAFE_NO_PAD.encode([0u8; 12])),
            format!("{body}."),
            format!("{body}.{tag}{tag}"),
        ];
        for c in forged {
            let e = page::PageQuery { limit: None, cursor: Some(c.clone()) }.after_index().unwrap_err();
            assert!(e.to_string().contains("cursor"), "{c}: {e}");
        }
        assert_eq!(page::PageQuery { limit: None, cursor: Some(good) }.after_index().unwrap(), Some(42));
    }
}
