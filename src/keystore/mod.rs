//! Encrypted storage for customers' provider API keys.
//!
//! Provider secrets never touch SQLite: they live only in an encrypted key
//! file (by default `<data-dir>/keys.enc`) sealed under a 32-byte master key
//! that is itself never written into that file. Losing the database therefore
//! leaks no provider keys, and a stolen key file is useless without the master
//! key.
//!
//! * `master` finds and validates the master key (env, config file, systemd
//!   credential, data dir).
//! * `seal` holds the record cryptography: HKDF per-org keys, AES-256-GCM with
//!   an AAD binding each record to its org, key id and provider.
//! * `format` is the on-disk layout and its whole-file HMAC.
//! * `file` is [`KeyFile`], the thread-safe handle with atomic rewrites.
//! * `fsutil` holds the private-mode, exclusive-create and atomic-write code.

use std::path::PathBuf;

pub use crate::domain::Secret;

mod file;
mod format;
mod fsutil;
mod master;
mod seal;

pub use file::KeyFile;
pub use master::{
    load_master_key, write_master_key_file, MasterKey, MasterKeySource, MASTER_KEY_CREDENTIAL, MASTER_KEY_ENV,
    MASTER_KEY_FILE_NAME, MASTER_KEY_LEN,
};

/// Everything that can go wrong with the master key or the key file.
///
/// These messages are printed to operators at startup, so each one names the
/// file involved and says what to do about it. None of them ever carries key
/// bytes or plaintext secrets.
#[derive(thiserror::Error, Debug)]
pub enum KeystoreError {
    /// No master key anywhere gavel looks; `looked` lists each place checked
    /// and `suggested` is where a new key file would be picked up.
    #[error(
        "no master key found; looked at: {}. Set GAVEL_MASTER_KEY to the base64 of 32 random \
         bytes, or create a key file readable only by gavel's user, for example: \
         `umask 077; openssl rand -base64 32 > {}`",
        .looked.join("; "),
        .suggested.display()
    )]
    MasterKeyMissing { looked: Vec<String>, suggested: PathBuf },

    /// The key material found is unusable (bad base64, wrong length).
    #[error(
        "master key from {origin} is invalid: {reason}. It must be the standard base64 encoding of \
         exactly 32 bytes (for example the output of `openssl rand -base64 32`)"
    )]
    MasterKeyInvalid { origin: String, reason: String },

    /// A file holding key material is readable by group or others.
    #[error(
        "{} has mode {mode:04o}, so users other than gavel's can read it; it holds key material and \
         gavel refuses to use it. Run `chmod 600 {}` (and consider rotating the key if others may \
         have read it)",
        .path.display(),
        .path.display()
    )]
    InsecurePermissions { path: PathBuf, mode: u32 },

    /// The key file was sealed under another master key.
    #[error(
        "{} was sealed with a different master key (file fingerprint {file_fingerprint}, supplied \
         key fingerprint {key_fingerprint}); supply the master key that created this file \
         (GAVEL_MASTER_KEY, keys.master_key_file, the gavel-master-key credential or \
         <data-dir>/master.key). The file was left untouched",
        .path.display()
    )]
    WrongMasterKey { path: PathBuf, file_fingerprint: String, key_fingerprint: String },

    /// Integrity check failed: a record or the file was modified, removed,
    /// reordered or duplicated after gavel wrote it.
    #[error(
        "{} failed its integrity check ({detail}); it was modified or damaged outside gavel. \
         Restore it from a backup; gavel will not use or overwrite it",
        .path.display()
    )]
    Tampered { path: PathBuf, detail: String },

    /// The file is not a key file gavel can parse at all.
    #[error(
        "{} is not a readable gavel key file ({detail}). Restore it from a backup, or point \
         gavel at the right file",
        .path.display()
    )]
    Corrupt { path: PathBuf, detail: String },

    /// A stored record exists under this key id but belongs to another org or
    /// provider than requested; decrypting it would cross a tenant boundary.
    #[error(
        "key id {key_id} in {} does not belong to the requested org and provider; refusing to \
         decrypt it. Check the key id the caller used",
        .path.display()
    )]
    RecordMismatch { path: PathBuf, key_id: String },

    /// A caller-supplied value cannot be stored (for example an over-long key id).
    #[error("cannot store key in {}: {detail}", .path.display())]
    InvalidInput { path: PathBuf, detail: String },

    /// Filesystem failure; the path says where.
    #[error(
        "I/O error on {}: {source}; check that the path exists and that gavel's user can read \
         and write it",
        .path.display()
    )]
    Io { path: PathBuf, source: std::io::Error },

    /// Refusing to overwrite an existing key or key file.
    #[error(
        "{} already exists; gavel will not overwrite it. Move it away first if you really mean \
         to replace it (anything sealed under it becomes unreadable)",
        .path.display()
    )]
    AlreadyExists { path: PathBuf },

    /// The system RNG or a primitive failed; nothing sensible to retry.
    #[error("cryptographic operation failed: {0}")]
    Crypto(String),
}

impl KeystoreError {
    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        Self::Io { path: path.to_path_buf(), source }
    }
}

/// Lower-case hex, used for fingerprints and MACs so they read well in JSON
/// and in error messages.
pub(crate) fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    s
}

/// Strict inverse of [`to_hex`] (lower-case only, so each value has exactly
/// one spelling); `None` on any malformed input.
pub(crate) fn from_hex(s: &str) -> Option<Vec<u8>> {
    fn nibble(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            _ => None,
        }
    }
    let bytes = s.as_bytes();
    if !bytes.len().is_multiple_of(2) {
        return None;
    }
    bytes.chunks_exact(2).map(|pair| Some(nibble(pair[0])? << 4 | nibble(pair[1])?)).collect()
}

impl From<KeystoreError> for crate::error::Error {
    fn from(e: KeystoreError) -> Self {
        crate::error::Error::Internal(e.into())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn secret_debug_and_display_redact() {
        let s = Secret::new("sk-live-abcdef123456".to_owned());
        assert_eq!(format!("{s:?}"), "[REDACTED]");
        assert_eq!(format!("{s}"), "[REDACTED]");
        assert!(!format!("{s:?} {s} {:#?}", s).contains("abcdef"));
        assert_eq!(s.expose_secret(), "sk-live-abcdef123456");
    }

    #[test]
    fn debug_redacts_master_key() {
        let k = MasterKey::from_bytes(&[0xAB; 32]).unwrap();
        let dbg = format!("{k:?} {:?}", (&k, MasterKeySource::Env));
        assert!(dbg.contains("REDACTED"));
        assert!(!dbg.contains(&k.to_base64()));
        // 0xAB printed as an array element would show up as "171".
        assert!(!dbg.contains("171"));
    }

    #[test]
    fn source_display() {
        assert_eq!(MasterKeySource::Env.to_string(), "GAVEL_MASTER_KEY");
        assert_eq!(MasterKeySource::File("/x/y".into()).to_string(), "file /x/y (keys.master_key_file)");
        assert_eq!(
            MasterKeySource::Credential("/run/c/gavel-master-key".into()).to_string(),
            "systemd credential /run/c/gavel-master-key"
        );
        assert_eq!(MasterKeySource::DataDir("/d/master.key".into()).to_string(), "file /d/master.key");
    }

    #[test]
    fn secret_deserializes_from_json_string() {
        #[derive(serde::Deserialize, Debug)]
        struct Body {
            key: Secret,
        }
        let body: Body = serde_json::from_str(r#"{"key":"sk-ant-xyz"}"#).unwrap();
        assert_eq!(body.key.expose_secret(), "sk-ant-xyz");
        assert!(!format!("{body:?}").contains("sk-ant"));
        let from: Secret = String::from("abc").into();
        assert_eq!(from.clone().expose_secret(), "abc");
    }

    #[test]
    fn error_messages_name_the_file_and_the_fix() {
        let e = KeystoreError::InsecurePermissions { path: PathBuf::from("/srv/gavel/keys.enc"), mode: 0o644 };
        let msg = e.to_string();
        assert!(msg.contains("chmod 600 /srv/gavel/keys.enc"), "{msg}");
        assert!(msg.contains("0644"), "{msg}");
        let e = KeystoreError::Tampered { path: PathBuf::from("/srv/gavel/keys.enc"), detail: "MAC mismatch".into() };
        assert!(e.to_string().contains("/srv/gavel/keys.enc"));
        assert!(e.to_string().contains("backup"));
    }

    proptest! {
        #[test]
        fn hex_round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            prop_assert_eq!(from_hex(&to_hex(&bytes)), Some(bytes));
        }
    }

    #[test]
    fn hex_rejects_garbage() {
        assert_eq!(from_hex("abc"), None);
        assert_eq!(from_hex("zz"), None);
        assert_eq!(from_hex("AB"), None);
        assert_eq!(from_hex(""), Some(vec![]));
    }
}
