//! The data directory's lifecycle: `init` creates it, `open` checks and opens it for serving.
//! Every refusal names the file at fault and says what to do, because these are read by an operator at 3 a.m.

use std::fs::File;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context};

use crate::config::Config;
use crate::keystore::{self, KeyFile, KeystoreError, MasterKey, MasterKeySource, Secret};
use crate::store::Store;
use crate::tenancy::{apikey, repo};

/// The settings row holding the SHA-256 of the server admin key from `init`.
pub const ADMIN_KEY_SETTING: &str = "server_admin_key_sha256";
const LOCK_FILE: &str = "gavel.lock";

/// Process environment that affects where the master key comes from, captured once so that tests can pass their own.
#[derive(Clone, Default)]
pub struct MasterKeyEnv {
    pub env_value: Option<String>,
    pub credentials_dir: Option<PathBuf>,
}

impl std::fmt::Debug for MasterKeyEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MasterKeyEnv")
            .field("env_value", &self.env_value.as_ref().map(|_| "[REDACTED]"))
            .field("credentials_dir", &self.credentials_dir)
            .finish()
    }
}

impl MasterKeyEnv {
    /// `GAVEL_MASTER_KEY` and systemd's `CREDENTIALS_DIRECTORY`.
    #[allow(clippy::disallowed_methods)] // Bootstrap: where the master key may come from the environment.
    pub fn from_process() -> Self {
        Self {
            env_value: std::env::var("GAVEL_MASTER_KEY").ok().filter(|v| !v.is_empty()),
            credentials_dir: std::env::var_os("CREDENTIALS_DIRECTORY").map(PathBuf::from),
        }
    }

    fn load(&self, cfg: &Config) -> Result<(MasterKey, MasterKeySource), KeystoreError> {
        keystore::load_master_key(
            self.env_value.as_deref(),
            self.credentials_dir.as_deref(),
            cfg.master_key_file(),
            &cfg.server.data_dir,
        )
    }
}

/// What `init` made; the admin key is shown once and then only its hash exists.
pub struct InitOutcome {
    pub admin_api_key: Secret,
    /// The master key file written by init, if it generated one.
    pub master_key_file: Option<PathBuf>,
    /// Where the master key came from.
    pub master_key_source: String,
    pub data_dir: PathBuf,
}

/// An open data directory, locked against a second server or an offline rotation.
pub struct Opened {
    pub store: Store,
    pub keys: KeyFile,
    pub admin_key_hashes: Vec<String>,
    pub lock: File,
}

/// Has `init` (or a first start) already run here?
pub fn is_initialised(cfg: &Config) -> bool {
    cfg.db_path().exists() || cfg.key_file_path().exists()
}

/// Take the data directory's lock so two processes never write the key file at once.
pub fn lock_data_dir(data_dir: &Path) -> anyhow::Result<File> {
    let path = data_dir.join(LOCK_FILE);
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .mode(0o600)
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("opening the lock file {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => bail!(
            "the data directory {} is in use by another gavel process (lock {}); stop it first",
            data_dir.display(),
            path.display()
        ),
        Err(std::fs::TryLockError::Error(e)) => Err(e).with_context(|| format!("locking {}", path.display())),
    }
}

/// Create the data directory, master key (unless one is supplied), key file and store, and the server admin key.
/// Refuses to overwrite anything that exists.
pub fn init(cfg: &Config, env: &MasterKeyEnv) -> anyhow::Result<InitOutcome> {
    let dir = &cfg.server.data_dir;
    let default_master = dir.join("master.key");
    for existing in [cfg.db_path(), cfg.key_file_path(), default_master.clone()] {
        if existing.exists() {
            bail!(
                "refusing to overwrite {}: {} is already initialised (use another --data-dir, or remove it if you really mean to start over)",
                existing.display(),
                dir.display()
            );
        }
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating the data directory {}", dir.display()))?;
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("restricting {} to its owner", dir.display()))?;
    }
    let _lock = lock_data_dir(dir)?;
    let (master, source, written) = match env.load(cfg) {
        Ok((k, s)) => (k, s.to_string(), None),
        Err(KeystoreError::MasterKeyMissing { .. }) => {
            let k = MasterKey::generate()?;
            keystore::write_master_key_file(&default_master, &k)?;
            (k, format!("file {}", default_master.display()), Some(default_master.clone()))
        }
        Err(e) => return Err(e.into()),
    };
    KeyFile::create(&cfg.key_file_path(), master)?;
    let store = Store::open(&cfg.db_path())?;
    let admin = apikey::generate();
    let hash = apikey::hash(admin.expose_secret());
    let saved = store.write_blocking(move |c| repo::set_setting(c, ADMIN_KEY_SETTING, &hash));
    store.close();
    saved.map_err(|e| anyhow!("saving the admin key hash in {}: {e}", cfg.db_path().display()))?;
    Ok(InitOutcome { admin_api_key: admin, master_key_file: written, master_key_source: source, data_dir: dir.clone() })
}

/// Open an initialised data directory for serving: master key, key file (fingerprint and integrity checked),
/// store (migrated), then drop key-file records that no metadata refers to (left by a crash mid-delete).
pub fn open(cfg: &Config, env: &MasterKeyEnv) -> anyhow::Result<Opened> {
    let (db, kf) = (cfg.db_path(), cfg.key_file_path());
    if !db.exists() {
        bail!(
            "the store {} is missing while the key file {} exists; restore the store from a backup",
            db.display(),
            kf.display()
        );
    }
    if !kf.exists() {
        bail!(
            "the key file {} is missing while the store {} exists; restore the key file from a backup",
            kf.display(),
            db.display()
        );
    }
    let lock = lock_data_dir(&cfg.server.data_dir)?;
    let (master, source) = env.load(cfg)?;
    tracing::info!(source = %source, "master key loaded");
    let keys = KeyFile::open(&kf, master)?;
    let store = Store::open(&db)?;
    let (admin, ids) = store
        .read_blocking(|c| Ok((repo::get_setting(c, ADMIN_KEY_SETTING)?, crate::byok::repo::all_ids(c)?)))
        .map_err(|e| anyhow!("reading the store {}: {e}", db.display()))?;
    for orphan in keys.key_ids().into_iter().filter(|id| !ids.contains(id)) {
        tracing::warn!(key = %orphan, "removing a key-file record with no metadata (an interrupted delete)");
        keys.remove(&orphan)?;
    }
    let known = keys.key_ids();
    for missing in ids.iter().filter(|id| !known.contains(id)) {
        tracing::error!(key = %missing, file = %kf.display(), "a provider key has metadata but no secret in the key file; rotate it");
    }
    let mut admin_key_hashes: Vec<String> = admin.into_iter().collect();
    if !cfg.server.admin_key_sha256.is_empty() {
        admin_key_hashes.push(cfg.server.admin_key_sha256.to_ascii_lowercase());
    }
    Ok(Opened { store, keys, admin_key_hashes, lock })
}

/// `gavel rotate-master-key`: re-seal every provider key under the key in `new_key_file`, in one atomic rename.
/// When the current key is the data directory's own `master.key`, that file is replaced too.
pub fn rotate_master_key(cfg: &Config, env: &MasterKeyEnv, new_key_file: &Path) -> anyhow::Result<String> {
    let _lock = lock_data_dir(&cfg.server.data_dir)?;
    let (old, source) = env.load(cfg)?;
    let new = read_new_master_key(new_key_file)?;
    if new.fingerprint() == old.fingerprint() {
        bail!(
            "{} holds the master key already in use; generate a new one (head -c 32 /dev/urandom | base64 > FILE)",
            new_key_file.display()
        );
    }
    let keys = KeyFile::open(&cfg.key_file_path(), old)?;
    let count = keys.len();
    let new_copy = MasterKey::from_base64(&new.to_base64())?;
    keys.rotate_master(new)?;
    let mut msg =
        format!("re-sealed {count} provider key(s) in {} under the new master key", cfg.key_file_path().display());
    match source {
        MasterKeySource::DataDir(path) => {
            let tmp = path.with_extension("key.new");
            std::fs::remove_file(&tmp).ok();
            keystore::write_master_key_file(&tmp, &new_copy)?;
            std::fs::rename(&tmp, &path).with_context(|| format!("replacing {}", path.display()))?;
            msg.push_str(&format!("; {} now holds the new key", path.display()));
        }
        other => msg.push_str(&format!(
            "; the old key came from {other}: point it at the new key ({}) before the next start",
            new_key_file.display()
        )),
    }
    Ok(msg)
}

fn read_new_master_key(path: &Path) -> anyhow::Result<MasterKey> {
    use std::os::unix::fs::PermissionsExt;
    let meta =
        std::fs::metadata(path).with_context(|| format!("reading the new master key file {}", path.display()))?;
    if meta.permissions().mode() & 0o077 != 0 {
        bail!(
            "the new master key file {} is readable by group or others; run chmod 600 {}",
            path.display(),
            path.display()
        );
    }
    let raw = zeroize::Zeroizing::new(std::fs::read(path).with_context(|| format!("reading {}", path.display()))?);
    if raw.len() == 32 {
        return Ok(MasterKey::from_bytes(&raw)?);
    }
    let text =
        std::str::from_utf8(&raw).map_err(|_| anyhow!("{} is neither 32 raw bytes nor base64", path.display()))?;
    MasterKey::from_base64(text)
        .with_context(|| format!("{} does not hold a 32-byte base64 master key", path.display()))
}

/// `gavel backup`: a consistent copy of the store (VACUUM INTO) and the key file, never the master key.
pub async fn backup(cfg: &Config, out: &Path) -> anyhow::Result<Vec<PathBuf>> {
    if out.exists() && std::fs::read_dir(out)?.next().is_some() {
        bail!("refusing to write into {}: it is not empty", out.display());
    }
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let db = cfg.db_path();
    if !db.exists() {
        bail!("no store at {}: is --data-dir right?", db.display());
    }
    let dest_db = out.join("gavel.db");
    let conn_path = db.clone();
    let dest = dest_db.clone();
    tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        let conn = rusqlite::Connection::open_with_flags(&conn_path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        conn.busy_timeout(std::time::Duration::from_secs(30))?;
        conn.execute("VACUUM INTO ?1", [dest.to_string_lossy()])?;
        Ok(())
    })
    .await??;
    let kf = cfg.key_file_path();
    let dest_kf = out.join(kf.file_name().unwrap_or(std::ffi::OsStr::new("keys.enc")));
    let bytes = std::fs::read(&kf).with_context(|| format!("reading {}", kf.display()))?;
    {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&dest_kf)?;
        f.write_all(&bytes)?;
        f.sync_all()?;
    }
    Ok(vec![dest_db, dest_kf])
}
