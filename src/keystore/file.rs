//! [`KeyFile`]: the thread-safe handle on the encrypted key file
//! (`<data-dir>/keys.enc` by default). The layout and MAC live in `format`.

use std::fmt;
use std::fs::{self, File};
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::format::{parse_and_verify, render, tampered, Record};
use super::fsutil::{atomic_write, check_private_mode, create_private_new};
use super::seal::{self, SealError};
use super::{KeystoreError, MasterKey, Secret};

struct Inner {
    master: MasterKey,
    records: Vec<Record>,
}

/// The encrypted key file.
///
/// Holds only sealed records in memory and decrypts on demand, so plaintext
/// provider keys exist only while a caller uses them. Every mutation rewrites
/// the whole file atomically (temp file, fsync, rename, directory fsync) and
/// only then updates memory, so memory and disk never disagree after a failed
/// write and a crash never leaves a half-written file.
pub struct KeyFile {
    path: PathBuf,
    inner: Mutex<Inner>,
}

impl fmt::Debug for KeyFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyFile").field("path", &self.path).field("records", &self.len()).finish_non_exhaustive()
    }
}

impl KeyFile {
    /// First-run setup. Never replaces an existing file, since that would
    /// destroy every stored provider key.
    pub fn create(path: &Path, master: MasterKey) -> Result<Self, KeystoreError> {
        // Claim the name exclusively; the real content then lands by rename.
        drop(create_private_new(path)?);
        if let Err(e) = write_file(path, &master, &[]) {
            fs::remove_file(path).ok();
            return Err(e);
        }
        tracing::info!(path = %path.display(), fingerprint = %master.fingerprint(), "created key file");
        Ok(Self { path: path.to_path_buf(), inner: Mutex::new(Inner { master, records: Vec::new() }) })
    }

    /// Verifies everything up front (permissions, master key fingerprint,
    /// whole-file MAC, every record) so problems surface at startup with a
    /// clear message rather than later on a customer's request.
    pub fn open(path: &Path, master: MasterKey) -> Result<Self, KeystoreError> {
        let mut file = File::open(path).map_err(|e| KeystoreError::io(path, e))?;
        let meta = file.metadata().map_err(|e| KeystoreError::io(path, e))?;
        check_private_mode(path, meta.permissions().mode())?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(|e| KeystoreError::io(path, e))?;
        let records = parse_and_verify(path, &master, &bytes)?;
        tracing::info!(path = %path.display(), records = records.len(), "opened key file");
        Ok(Self { path: path.to_path_buf(), inner: Mutex::new(Inner { master, records }) })
    }

    /// Lets callers name the file in messages and back it up.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Lets callers remember which master key the file needs (the
    /// fingerprint is safe to store, e.g. in SQLite or logs).
    pub fn master_fingerprint(&self) -> String {
        self.lock().master.fingerprint()
    }

    /// Seals `secret` for (org_id, key_id, provider) and persists before
    /// returning, so an acknowledged key survives a crash.
    pub fn put(&self, org_id: &str, key_id: &str, provider: &str, secret: &Secret) -> Result<(), KeystoreError> {
        let mut inner = self.lock();
        let sealed = seal::seal(&inner.master, org_id, key_id, provider, secret).map_err(|e| self.seal_err(e))?;
        let record =
            Record { org_id: org_id.to_owned(), key_id: key_id.to_owned(), provider: provider.to_owned(), sealed };
        let mut records = inner.records.clone();
        match records.iter_mut().find(|r| r.key_id == key_id) {
            Some(existing) => *existing = record,
            None => records.push(record),
        }
        write_file(&self.path, &inner.master, &records)?;
        inner.records = records;
        Ok(())
    }

    /// Decrypts on demand. A record stored under this key id for a different
    /// org or provider is an error, never its plaintext, so one tenant can
    /// never read another's key by guessing its id.
    pub fn get(&self, org_id: &str, key_id: &str, provider: &str) -> Result<Option<Secret>, KeystoreError> {
        let inner = self.lock();
        let Some(record) = inner.records.iter().find(|r| r.key_id == key_id) else {
            return Ok(None);
        };
        if record.org_id != org_id || record.provider != provider {
            return Err(KeystoreError::RecordMismatch { path: self.path.clone(), key_id: key_id.to_owned() });
        }
        seal::open(&inner.master, org_id, key_id, provider, &record.sealed)
            .map(Some)
            .map_err(|e| tampered(&self.path, format!("record {key_id:?}: {e}")))
    }

    /// Deletes at once and durably, so a key the customer revoked is gone
    /// from disk when this returns.
    pub fn remove(&self, key_id: &str) -> Result<bool, KeystoreError> {
        let mut inner = self.lock();
        if !inner.records.iter().any(|r| r.key_id == key_id) {
            return Ok(false);
        }
        let records: Vec<Record> = inner.records.iter().filter(|r| r.key_id != key_id).cloned().collect();
        write_file(&self.path, &inner.master, &records)?;
        inner.records = records;
        Ok(true)
    }

    /// Cheap: counts sealed records without decrypting anything.
    pub fn len(&self) -> usize {
        self.lock().records.len()
    }

    /// Cheap: nothing is decrypted.
    pub fn is_empty(&self) -> bool {
        self.lock().records.is_empty()
    }

    /// Ids only (never secrets), e.g. to reconcile with the database.
    pub fn key_ids(&self) -> Vec<String> {
        self.lock().records.iter().map(|r| r.key_id.clone()).collect()
    }

    /// Whether a record exists, without decrypting it.
    pub fn contains(&self, key_id: &str) -> bool {
        self.lock().records.iter().any(|r| r.key_id == key_id)
    }

    /// Re-seals every record under `new` and replaces the file with one
    /// rename, so a crash leaves either the old or the new file, each
    /// complete. Afterwards only `new` opens the file: save it before
    /// calling this.
    pub fn rotate_master(&self, new: MasterKey) -> Result<(), KeystoreError> {
        let mut inner = self.lock();
        let mut records = Vec::with_capacity(inner.records.len());
        for r in &inner.records {
            let secret = seal::open(&inner.master, &r.org_id, &r.key_id, &r.provider, &r.sealed)
                .map_err(|e| tampered(&self.path, format!("record {:?}: {e}", r.key_id)))?;
            let sealed = seal::seal(&new, &r.org_id, &r.key_id, &r.provider, &secret).map_err(|e| self.seal_err(e))?;
            records.push(Record { sealed, ..r.clone() });
        }
        write_file(&self.path, &new, &records)?;
        tracing::info!(
            path = %self.path.display(),
            old_fingerprint = %inner.master.fingerprint(),
            new_fingerprint = %new.fingerprint(),
            records = records.len(),
            "rotated key file master key"
        );
        inner.master = new;
        inner.records = records;
        Ok(())
    }

    /// State is only ever replaced wholesale after a successful write, so a
    /// panic elsewhere while holding the lock cannot leave it inconsistent;
    /// recovering from poison is therefore safe.
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn seal_err(&self, e: SealError) -> KeystoreError {
        match e {
            SealError::KeyIdTooLong(_) => {
                KeystoreError::InvalidInput { path: self.path.clone(), detail: e.to_string() }
            }
            SealError::Crypto(what) => KeystoreError::Crypto(what.into()),
        }
    }
}

fn write_file(path: &Path, master: &MasterKey, records: &[Record]) -> Result<(), KeystoreError> {
    let bytes = render(master, records)?;
    atomic_write(path, &bytes)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::fs::Permissions;
    use std::sync::Arc;

    type Ids = (&'static str, &'static str, &'static str);
    const A: Ids = ("org-a", "key-1", "openai");
    const B: Ids = ("org-b", "key-2", "anthropic");
    const SECRET_A: &str = "sk-live-AAAAAAAAAAAAAAAAAAAAAAAA";
    const SECRET_B: &str = "sk-ant-BBBBBBBBBBBBBBBBBBBBBBBB";

    fn master(byte: u8) -> MasterKey {
        MasterKey::from_bytes(&[byte; 32]).unwrap()
    }

    fn new_file() -> (tempfile::TempDir, PathBuf, KeyFile) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.enc");
        let kf = KeyFile::create(&path, master(1)).unwrap();
        (dir, path, kf)
    }

    fn put(kf: &KeyFile, (org, key_id, provider): Ids, secret: &str) {
        let secret = Secret::from(secret);
        kf.put(org, key_id, provider, &secret).unwrap();
    }

    fn get(kf: &KeyFile, (org, key_id, provider): Ids) -> Option<String> {
        let secret = kf.get(org, key_id, provider).unwrap();
        secret.map(|s| s.expose_secret().to_owned())
    }

    fn reopen(path: &Path, byte: u8) -> KeyFile {
        KeyFile::open(path, master(byte)).unwrap()
    }

    fn open_err(path: &Path, byte: u8) -> KeystoreError {
        KeyFile::open(path, master(byte)).unwrap_err()
    }

    fn assert_no_plaintext(path: &Path) {
        let bytes = fs::read(path).unwrap();
        for needle in [SECRET_A, SECRET_B, "AAAAAAAAAAAA", "BBBBBBBBBBBB"] {
            let found = bytes.windows(needle.len()).any(|w| w == needle.as_bytes());
            assert!(!found, "plaintext {needle} found on disk");
        }
    }

    fn assert_only_keyfile_in(dir: &Path) {
        let names: Vec<_> = fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, ["keys.enc"], "temp files left behind");
    }

    #[test]
    fn create_makes_private_empty_file_and_refuses_existing() {
        let (dir, path, kf) = new_file();
        assert!(kf.is_empty());
        assert_eq!(kf.path(), path);
        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let before = fs::read(&path).unwrap();
        let err = KeyFile::create(&path, master(2)).unwrap_err();
        assert!(matches!(err, KeystoreError::AlreadyExists { .. }));
        assert!(err.to_string().contains(&path.display().to_string()));
        assert_eq!(fs::read(&path).unwrap(), before, "must be untouched");
        assert_eq!(reopen(&path, 1).len(), 0);
        assert_only_keyfile_in(dir.path());

        let missing_dir = dir.path().join("nope").join("keys.enc");
        let err = KeyFile::create(&missing_dir, master(1)).unwrap_err();
        assert!(matches!(err, KeystoreError::Io { .. }), "{err:?}");
    }

    #[test]
    fn open_with_wrong_master_key_even_when_empty() {
        let (_dir, path, _kf) = new_file();
        let err = open_err(&path, 2);
        assert!(matches!(err, KeystoreError::WrongMasterKey { .. }));
        let msg = err.to_string();
        assert!(msg.contains(&path.display().to_string()), "{msg}");
        assert!(msg.contains("supply the master key that created"), "{msg}");
    }

    #[test]
    fn put_get_remove_persist_across_reopen() {
        let (dir, path, kf) = new_file();
        put(&kf, A, SECRET_A);
        put(&kf, B, SECRET_B);
        assert_eq!(get(&kf, A).as_deref(), Some(SECRET_A));
        assert_no_plaintext(&path);
        let dbg = format!("{kf:?}");
        assert!(dbg.contains("records: 2") && !dbg.contains(SECRET_A), "{dbg}");

        let reopened = reopen(&path, 1);
        assert_eq!(reopened.key_ids(), ["key-1", "key-2"]);
        assert_eq!(get(&reopened, B).as_deref(), Some(SECRET_B));

        // Replacing keeps one record per key id.
        put(&kf, A, "sk-new");
        let reopened = reopen(&path, 1);
        assert_eq!(reopened.len(), 2);
        assert_eq!(get(&reopened, A).as_deref(), Some("sk-new"));

        assert!(kf.remove("key-1").unwrap());
        assert!(!kf.remove("key-1").unwrap());
        assert!(!kf.contains("key-1") && kf.contains("key-2"));
        let reopened = reopen(&path, 1);
        assert_eq!(reopened.key_ids(), ["key-2"]);
        assert_eq!(get(&reopened, A), None);
        assert_no_plaintext(&path);
        assert_only_keyfile_in(dir.path());
    }

    #[test]
    fn get_for_another_org_or_provider_is_an_error_not_plaintext() {
        let (_dir, _path, kf) = new_file();
        put(&kf, A, SECRET_A);
        assert_eq!(get(&kf, ("org-a", "missing", "openai")), None);
        for (org, provider) in [("org-b", "openai"), ("org-a", "anthropic")] {
            let err = kf.get(org, "key-1", provider).unwrap_err();
            assert!(matches!(err, KeystoreError::RecordMismatch { .. }));
            assert!(!format!("{err} {err:?}").contains(SECRET_A));
        }
    }

    #[test]
    fn rotate_master_reseals_and_persists() {
        let (dir, path, kf) = new_file();
        put(&kf, A, SECRET_A);
        put(&kf, B, SECRET_B);
        let before = fs::read(&path).unwrap();
        kf.rotate_master(master(9)).unwrap();
        assert_eq!(kf.master_fingerprint(), master(9).fingerprint());
        assert_ne!(fs::read(&path).unwrap(), before);
        assert_no_plaintext(&path);

        let err = open_err(&path, 1);
        assert!(matches!(err, KeystoreError::WrongMasterKey { .. }));
        let reopened = reopen(&path, 9);
        assert_eq!(get(&reopened, A).as_deref(), Some(SECRET_A));
        assert_eq!(get(&reopened, B).as_deref(), Some(SECRET_B));

        // The live handle keeps working under the new key.
        let c = ("org-c", "key-3", "mistral");
        put(&kf, c, "sk-c");
        assert_eq!(get(&reopen(&path, 9), c).as_deref(), Some("sk-c"));
        assert_only_keyfile_in(dir.path());
    }

    #[test]
    fn group_readable_key_file_is_refused() {
        let (_dir, path, _kf) = new_file();
        fs::set_permissions(&path, Permissions::from_mode(0o644)).unwrap();
        let err = open_err(&path, 1);
        assert!(matches!(err, KeystoreError::InsecurePermissions { .. }));
        let msg = err.to_string();
        let hint = format!("chmod 600 {}", path.display());
        assert!(msg.contains(&hint), "{msg}");
    }

    #[test]
    fn editing_the_file_on_disk_is_detected() {
        let (_dir, path, kf) = new_file();
        put(&kf, A, SECRET_A);
        put(&kf, B, SECRET_B);
        let original = fs::read_to_string(&path).unwrap();

        // One character inside a sealed record.
        let at = original.find("\"sealed\":\"").unwrap() + 20;
        let mut bytes = original.clone().into_bytes();
        bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
        fs::write(&path, &bytes).unwrap();
        let err = open_err(&path, 1);
        assert!(matches!(err, KeystoreError::Tampered { .. }), "{err:?}");
        assert!(err.to_string().contains("backup"));

        // A whole record deleted.
        let mut v: serde_json::Value = serde_json::from_str(&original).unwrap();
        v["records"].as_array_mut().unwrap().remove(0);
        fs::write(&path, serde_json::to_vec(&v).unwrap()).unwrap();
        let err = open_err(&path, 1);
        assert!(matches!(err, KeystoreError::Tampered { .. }), "{err:?}");

        fs::write(&path, &original).unwrap();
        assert_eq!(reopen(&path, 1).len(), 2);
    }

    #[test]
    fn overlong_key_id_is_invalid_input_and_changes_nothing() {
        let (_dir, path, kf) = new_file();
        let before = fs::read(&path).unwrap();
        let long = "k".repeat(70_000);
        let err = kf.put("org", &long, "x", &Secret::from("x")).unwrap_err();
        assert!(matches!(err, KeystoreError::InvalidInput { .. }), "{err:?}");
        assert!(kf.is_empty());
        assert_eq!(fs::read(&path).unwrap(), before);
    }

    #[test]
    fn concurrent_puts_all_land() {
        let (_dir, path, kf) = new_file();
        let kf = Arc::new(kf);
        let handles: Vec<_> = (0..4)
            .map(|t| {
                let kf = Arc::clone(&kf);
                std::thread::spawn(move || {
                    for i in 0..5 {
                        let id = format!("key-{t}-{i}");
                        let secret = Secret::new(format!("sk-{id}"));
                        kf.put("org", &id, "openai", &secret).unwrap();
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        let reopened = reopen(&path, 1);
        assert_eq!(reopened.len(), 20);
        let got = get(&reopened, ("org", "key-3-4", "openai"));
        assert_eq!(got.as_deref(), Some("sk-key-3-4"));
    }
}
