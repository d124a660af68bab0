//! The master key: how it is represented in memory and where it is loaded from.

use std::fmt;
use std::fs::{self, File};
use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};
use zeroize::{ZeroizeOnDrop, Zeroizing};

use super::fsutil::{check_private_mode, create_private_new, sync_parent_dir};
use super::{to_hex, KeystoreError};

/// Length of the master key in bytes (AES-256 / HMAC-SHA256 strength).
pub const MASTER_KEY_LEN: usize = 32;
/// Environment variable checked first, so containers can inject the key.
pub const MASTER_KEY_ENV: &str = "GAVEL_MASTER_KEY";
/// Name of the systemd credential (`LoadCredential=gavel-master-key:...`).
pub const MASTER_KEY_CREDENTIAL: &str = "gavel-master-key";
/// File name of the fallback key inside the data directory.
pub const MASTER_KEY_FILE_NAME: &str = "master.key";

const MAX_KEY_FILE_LEN: u64 = 4096;
const FINGERPRINT_LABEL: &[u8] = b"gavel master key fingerprint v1";

/// The 32-byte key everything in the key file is sealed under.
///
/// The bytes live on the heap so moving a `MasterKey` around does not leave
/// stale copies on the stack, and they are wiped on drop. Debug never prints
/// them; use [`MasterKey::fingerprint`] to tell keys apart.
#[derive(Clone, ZeroizeOnDrop)]
pub struct MasterKey(Box<[u8; MASTER_KEY_LEN]>);

impl MasterKey {
    /// Fresh key from the OS CSPRNG, for first-run setup and rotation.
    pub fn generate() -> Result<Self, KeystoreError> {
        let mut bytes = Box::new([0u8; MASTER_KEY_LEN]);
        SystemRandom::new()
            .fill(&mut bytes[..])
            .map_err(|_| KeystoreError::Crypto("system random generator failed".into()))?;
        Ok(Self(bytes))
    }

    /// Rejects anything but exactly 32 bytes, so a truncated key can never be
    /// silently padded into a weak one.
    pub fn from_bytes(b: &[u8]) -> Result<Self, KeystoreError> {
        Self::from_bytes_for(b, "the supplied value")
    }

    /// Accepts the same text [`MasterKey::to_base64`] writes, tolerating the
    /// surrounding whitespace that editors and `echo` add.
    pub fn from_base64(s: &str) -> Result<Self, KeystoreError> {
        Self::from_base64_for(s, "the supplied value")
    }

    /// The text form written to master key files and shown once at setup.
    pub fn to_base64(&self) -> String {
        STANDARD.encode(&self.0[..])
    }

    /// Lets operators and the key file tell keys apart without revealing
    /// them: an HMAC of a fixed label, which is safe to store and print.
    pub fn fingerprint(&self) -> String {
        let key = hmac::Key::new(hmac::HMAC_SHA256, &self.0[..]);
        to_hex(hmac::sign(&key, FINGERPRINT_LABEL).as_ref())
    }

    pub(crate) fn as_bytes(&self) -> &[u8; MASTER_KEY_LEN] {
        &self.0
    }

    fn from_bytes_for(b: &[u8], origin: &str) -> Result<Self, KeystoreError> {
        if b.len() != MASTER_KEY_LEN {
            return Err(KeystoreError::MasterKeyInvalid {
                origin: origin.to_owned(),
                reason: format!("it is {} bytes long, not {MASTER_KEY_LEN}", b.len()),
            });
        }
        let mut bytes = Box::new([0u8; MASTER_KEY_LEN]);
        bytes.copy_from_slice(b);
        Ok(Self(bytes))
    }

    fn from_base64_for(s: &str, origin: &str) -> Result<Self, KeystoreError> {
        // The decode error is not forwarded: it quotes the offending byte,
        // which would be a piece of the key.
        let decoded = Zeroizing::new(STANDARD.decode(s.trim()).map_err(|_| KeystoreError::MasterKeyInvalid {
            origin: origin.to_owned(),
            reason: "it is not valid standard base64".into(),
        })?);
        Self::from_bytes_for(&decoded, origin)
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey([REDACTED])")
    }
}

/// Where the master key came from, so startup logs and errors can say which
/// of several possible places is in effect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MasterKeySource {
    /// `GAVEL_MASTER_KEY`: containers and secret managers inject it this way.
    Env,
    /// `keys.master_key_file` from the config, for keys kept off the data dir.
    File(PathBuf),
    /// systemd `LoadCredential=`, which keeps the key out of the unit's env.
    Credential(PathBuf),
    /// `<data-dir>/master.key`: the zero-configuration default.
    DataDir(PathBuf),
}

impl fmt::Display for MasterKeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Env => f.write_str(MASTER_KEY_ENV),
            Self::File(p) => write!(f, "file {} (keys.master_key_file)", p.display()),
            Self::Credential(p) => write!(f, "systemd credential {}", p.display()),
            Self::DataDir(p) => write!(f, "file {}", p.display()),
        }
    }
}

/// Finds the master key, first hit wins: `GAVEL_MASTER_KEY` (base64), then
/// the configured `master_key_file`, then the systemd credential
/// `$CREDENTIALS_DIRECTORY/gavel-master-key`, then `<data_dir>/master.key`.
///
/// Environment values are passed in rather than read here so callers decide
/// where they come from and tests need not mutate the process environment.
/// A key file readable by group or others is refused (the systemd credential
/// is exempt: systemd already confines it to the service). A source that is
/// present but invalid is an error rather than a reason to try the next one,
/// so a typo never silently selects a different key.
pub fn load_master_key(
    env_value: Option<&str>,
    credentials_dir: Option<&Path>,
    master_key_file: Option<&Path>,
    data_dir: &Path,
) -> Result<(MasterKey, MasterKeySource), KeystoreError> {
    let mut looked = Vec::with_capacity(4);

    match env_value {
        Some(v) if !v.trim().is_empty() => {
            let key = MasterKey::from_base64_for(v, &format!("environment variable {MASTER_KEY_ENV}"))?;
            return Ok((key, MasterKeySource::Env));
        }
        Some(_) => looked.push(format!("environment variable {MASTER_KEY_ENV} (set but empty)")),
        None => looked.push(format!("environment variable {MASTER_KEY_ENV} (not set)")),
    }

    match master_key_file {
        Some(path) => {
            if let Some(key) = read_key_file(path, true)? {
                return Ok((key, MasterKeySource::File(path.to_path_buf())));
            }
            tracing::warn!(
                path = %path.display(),
                "configured keys.master_key_file does not exist; trying the next master key source"
            );
            looked.push(format!("keys.master_key_file {} (does not exist)", path.display()));
        }
        None => looked.push("keys.master_key_file (not configured)".into()),
    }

    match credentials_dir {
        Some(dir) => {
            let path = dir.join(MASTER_KEY_CREDENTIAL);
            if let Some(key) = read_key_file(&path, false)? {
                return Ok((key, MasterKeySource::Credential(path)));
            }
            looked.push(format!("systemd credential {} (does not exist)", path.display()));
        }
        None => looked.push(format!(
            "systemd credential $CREDENTIALS_DIRECTORY/{MASTER_KEY_CREDENTIAL} \
             (CREDENTIALS_DIRECTORY not set)"
        )),
    }

    let path = data_dir.join(MASTER_KEY_FILE_NAME);
    if let Some(key) = read_key_file(&path, true)? {
        return Ok((key, MasterKeySource::DataDir(path)));
    }
    looked.push(format!("file {} (does not exist)", path.display()));

    Err(KeystoreError::MasterKeyMissing { looked, suggested: path })
}

/// Reads a key file: `Ok(None)` if it does not exist, so the caller can move
/// on to the next source. Accepts base64 text or exactly 32 raw bytes (a
/// base64 encoding of 32 bytes is 44 characters, so the two cannot be
/// confused).
fn read_key_file(path: &Path, check_mode: bool) -> Result<Option<MasterKey>, KeystoreError> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(KeystoreError::io(path, e)),
    };
    if check_mode {
        // fstat on the open handle, so the checked file is the one we read.
        let meta = file.metadata().map_err(|e| KeystoreError::io(path, e))?;
        check_private_mode(path, meta.permissions().mode())?;
    }
    let mut raw = Zeroizing::new(Vec::with_capacity(64));
    // A key is 44 characters; the cap stops a misconfigured path (a log,
    // a device) from being slurped into memory.
    file.take(MAX_KEY_FILE_LEN).read_to_end(&mut raw).map_err(|e| KeystoreError::io(path, e))?;
    let origin = path.display().to_string();
    let key = if raw.len() == MASTER_KEY_LEN {
        MasterKey::from_bytes_for(&raw, &origin)?
    } else {
        let text = std::str::from_utf8(&raw).map_err(|_| KeystoreError::MasterKeyInvalid {
            origin: origin.clone(),
            reason: "it is neither base64 text nor exactly 32 raw bytes".into(),
        })?;
        MasterKey::from_base64_for(text, &origin)?
    };
    Ok(Some(key))
}

/// Writes a new master key file for first-run setup. It never replaces an
/// existing file (that would orphan every key file sealed under the old key),
/// is created 0600 from the start, and is fsynced along with its directory so
/// a crash cannot leave a key file sealed under a key that was never saved.
pub fn write_master_key_file(path: &Path, key: &MasterKey) -> Result<(), KeystoreError> {
    let mut file = create_private_new(path)?;
    let mut content = Zeroizing::new(key.to_base64());
    content.push('\n');
    let written = file.write_all(content.as_bytes()).and_then(|()| file.sync_all());
    drop(file);
    if let Err(e) = written {
        fs::remove_file(path).ok();
        return Err(KeystoreError::io(path, e));
    }
    sync_parent_dir(path)?;
    tracing::info!(path = %path.display(), fingerprint = %key.fingerprint(), "wrote new master key file");
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::fs::Permissions;

    fn key(byte: u8) -> MasterKey {
        MasterKey::from_bytes(&[byte; MASTER_KEY_LEN]).unwrap()
    }

    fn write_key(path: &Path, k: &MasterKey, mode: u32) {
        fs::write(path, format!("{}\n", k.to_base64())).unwrap();
        fs::set_permissions(path, Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn generate_and_from_bytes() {
        let a = MasterKey::generate().unwrap();
        let b = MasterKey::generate().unwrap();
        assert_ne!(a.fingerprint(), b.fingerprint());
        assert_eq!(a.fingerprint().len(), 64);
        for len in [0, 31, 33] {
            assert!(MasterKey::from_bytes(&vec![0; len]).is_err());
        }
    }

    #[test]
    fn base64_round_trip_and_whitespace() {
        let k = MasterKey::generate().unwrap();
        let text = format!("  {}\n\n", k.to_base64());
        let back = MasterKey::from_base64(&text).unwrap();
        assert_eq!(back.as_bytes(), k.as_bytes());
        assert_eq!(back.fingerprint(), k.fingerprint());
    }

    #[test]
    fn invalid_base64_error_does_not_echo_input() {
        let bad = "c2stc2VjcmV0LXZhbHVl!!!";
        let err = MasterKey::from_base64(bad).unwrap_err();
        assert!(matches!(err, KeystoreError::MasterKeyInvalid { .. }));
        let msg = format!("{err} {err:?}");
        assert!(!msg.contains("c2stc2Vj"), "{msg}");
        // Valid base64 but wrong length.
        let short = STANDARD.encode([7u8; 16]);
        let err = MasterKey::from_base64(&short).unwrap_err();
        assert!(err.to_string().contains("16 bytes"), "{err}");
    }

    /// Sets up one key in each place, with distinct bytes per place.
    struct Places {
        _dir: tempfile::TempDir,
        cred_dir: PathBuf,
        file: PathBuf,
        data_dir: PathBuf,
    }

    fn places() -> Places {
        let dir = tempfile::tempdir().unwrap();
        let cred_dir = dir.path().join("creds");
        let data_dir = dir.path().join("data");
        fs::create_dir(&cred_dir).unwrap();
        fs::create_dir(&data_dir).unwrap();
        let file = dir.path().join("configured.key");
        write_key(&file, &key(2), 0o600);
        // The credential is deliberately group-readable: it must still load.
        write_key(&cred_dir.join(MASTER_KEY_CREDENTIAL), &key(3), 0o640);
        write_key(&data_dir.join(MASTER_KEY_FILE_NAME), &key(4), 0o600);
        Places { _dir: dir, cred_dir, file, data_dir }
    }

    #[test]
    fn load_order_env_file_credential_data_dir() {
        let p = places();
        let env = key(1).to_base64();

        let (k, src) = load_master_key(Some(&env), Some(&p.cred_dir), Some(&p.file), &p.data_dir).unwrap();
        assert_eq!((k.as_bytes()[0], src), (1, MasterKeySource::Env));

        let (k, src) = load_master_key(None, Some(&p.cred_dir), Some(&p.file), &p.data_dir).unwrap();
        assert_eq!((k.as_bytes()[0], src), (2, MasterKeySource::File(p.file.clone())));

        let (k, src) = load_master_key(None, Some(&p.cred_dir), None, &p.data_dir).unwrap();
        let cred = p.cred_dir.join(MASTER_KEY_CREDENTIAL);
        assert_eq!((k.as_bytes()[0], src), (3, MasterKeySource::Credential(cred)));

        let (k, src) = load_master_key(None, None, None, &p.data_dir).unwrap();
        let dd = p.data_dir.join(MASTER_KEY_FILE_NAME);
        assert_eq!((k.as_bytes()[0], src), (4, MasterKeySource::DataDir(dd.clone())));

        // A credentials dir without our credential falls through as well.
        fs::remove_file(p.cred_dir.join(MASTER_KEY_CREDENTIAL)).unwrap();
        let (k, src) = load_master_key(None, Some(&p.cred_dir), None, &p.data_dir).unwrap();
        assert_eq!((k.as_bytes()[0], src), (4, MasterKeySource::DataDir(dd)));
    }

    #[test]
    fn missing_everywhere_lists_each_place() {
        let dir = tempfile::tempdir().unwrap();
        let configured = dir.path().join("nope.key");
        let err = load_master_key(None, Some(dir.path()), Some(&configured), dir.path()).unwrap_err();
        let KeystoreError::MasterKeyMissing { looked, .. } = &err else {
            panic!("expected MasterKeyMissing, got {err:?}");
        };
        assert_eq!(looked.len(), 4);
        let msg = err.to_string();
        assert!(msg.contains("GAVEL_MASTER_KEY"), "{msg}");
        assert!(msg.contains(&configured.display().to_string()), "{msg}");
        assert!(msg.contains(MASTER_KEY_CREDENTIAL), "{msg}");
        assert!(msg.contains(&dir.path().join("master.key").display().to_string()), "{msg}");

        let err = load_master_key(Some("  "), None, None, dir.path()).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("keys.master_key_file (not configured)"), "{msg}");
        assert!(msg.contains("CREDENTIALS_DIRECTORY not set"), "{msg}");
    }

    #[test]
    fn invalid_env_is_an_error_not_a_fallthrough() {
        let p = places();
        let err = load_master_key(Some("too-short"), None, None, &p.data_dir).unwrap_err();
        assert!(matches!(err, KeystoreError::MasterKeyInvalid { .. }));
        assert!(err.to_string().contains("GAVEL_MASTER_KEY"));
        assert!(!err.to_string().contains("too-short"));
    }

    #[test]
    fn group_readable_key_files_are_refused() {
        let p = places();
        fs::set_permissions(&p.file, Permissions::from_mode(0o644)).unwrap();
        let err = load_master_key(None, None, Some(&p.file), &p.data_dir).unwrap_err();
        assert!(matches!(err, KeystoreError::InsecurePermissions { .. }));
        let msg = err.to_string();
        assert!(msg.contains(&format!("chmod 600 {}", p.file.display())), "{msg}");

        let dd = p.data_dir.join(MASTER_KEY_FILE_NAME);
        fs::set_permissions(&dd, Permissions::from_mode(0o604)).unwrap();
        let err = load_master_key(None, None, None, &p.data_dir).unwrap_err();
        assert!(err.to_string().contains("chmod 600"), "{err}");
    }

    #[test]
    fn raw_32_byte_file_and_garbage() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(MASTER_KEY_FILE_NAME);
        fs::write(&path, [9u8; 32]).unwrap();
        fs::set_permissions(&path, Permissions::from_mode(0o600)).unwrap();
        let (k, _) = load_master_key(None, None, None, dir.path()).unwrap();
        assert_eq!(k.as_bytes(), &[9u8; 32]);

        fs::write(&path, [0xffu8; 40]).unwrap();
        let err = load_master_key(None, None, None, dir.path()).unwrap_err();
        assert!(matches!(err, KeystoreError::MasterKeyInvalid { .. }), "{err:?}");
        assert!(err.to_string().contains(&path.display().to_string()));
    }

    #[test]
    fn write_master_key_file_is_private_exclusive_and_loadable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(MASTER_KEY_FILE_NAME);
        let k = MasterKey::generate().unwrap();
        write_master_key_file(&path, &k).unwrap();
        let meta = fs::metadata(&path).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        let text = fs::read_to_string(&path).unwrap();
        assert_eq!(text, format!("{}\n", k.to_base64()));
        let (loaded, src) = load_master_key(None, None, None, dir.path()).unwrap();
        assert_eq!(loaded.fingerprint(), k.fingerprint());
        assert_eq!(src, MasterKeySource::DataDir(path.clone()));

        let other = MasterKey::generate().unwrap();
        let err = write_master_key_file(&path, &other).unwrap_err();
        assert!(matches!(err, KeystoreError::AlreadyExists { .. }));
        assert_eq!(fs::read_to_string(&path).unwrap(), text, "must not be overwritten");
    }

    proptest! {
        #[test]
        fn from_bytes_base64_round_trip(bytes in proptest::array::uniform32(any::<u8>())) {
            let k = MasterKey::from_bytes(&bytes).unwrap();
            let back = MasterKey::from_base64(&k.to_base64()).unwrap();
            prop_assert_eq!(back.as_bytes(), &bytes);
            let dbg = format!("{:?}", k);
            prop_assert!(!dbg.contains(&k.to_base64()));
        }
    }
}
