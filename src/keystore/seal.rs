//! Record cryptography: per-org keys, sealing, opening, and the key for the
//! whole-file MAC.
//!
//! A sealed record is `version (1 byte) ‖ key id length (u16 BE) ‖ key id ‖
//! nonce (12) ‖ AES-256-GCM ciphertext+tag`. The GCM key is derived per org
//! with HKDF-SHA256 from the master key, and the AAD binds the record to its
//! org id, key id and provider, so sealed bytes copied into another org's,
//! key id's or provider's entry do not open.

use std::fmt;

use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use ring::hkdf::{Salt, HKDF_SHA256};
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};
use zeroize::{Zeroize, Zeroizing};

use super::{MasterKey, Secret};

/// Version byte of the sealed-record format.
pub(crate) const RECORD_VERSION: u8 = 1;
const RECORD_KEY_SALT: &[u8] = b"gavel keyfile v1";
const FILE_MAC_SALT: &[u8] = b"gavel keyfile mac v1";
const AAD_LABEL: &[u8] = b"gavel-v1 record";
const TAG_LEN: usize = 16;
const HEADER_LEN: usize = 1 + 2;

/// Why sealing failed; mapped to a `KeystoreError` by the caller, which knows
/// the file path.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum SealError {
    KeyIdTooLong(usize),
    Crypto(&'static str),
}

impl fmt::Display for SealError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::KeyIdTooLong(n) => {
                write!(f, "key id is {n} bytes long; at most {} allowed", u16::MAX)
            }
            Self::Crypto(what) => f.write_str(what),
        }
    }
}

/// Why a record did not open. Deliberately coarse: the text ends up in
/// operator-facing errors and must not help an attacker or leak plaintext.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum OpenError {
    Truncated,
    UnsupportedVersion(u8),
    KeyIdMismatch,
    Authentication,
    NotUtf8,
    Crypto(&'static str),
}

impl fmt::Display for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated => f.write_str("sealed record is truncated"),
            Self::UnsupportedVersion(v) => {
                write!(f, "sealed record has unknown format version {v}")
            }
            Self::KeyIdMismatch => f.write_str("sealed record carries a different key id"),
            Self::Authentication => f.write_str("sealed record failed authentication"),
            Self::NotUtf8 => f.write_str("sealed record does not hold text"),
            Self::Crypto(what) => f.write_str(what),
        }
    }
}

/// Appends a length-prefixed field, so concatenations of variable-length
/// strings are unambiguous (ids may contain any character, NUL included).
pub(crate) fn put_field(buf: &mut Vec<u8>, bytes: &[u8]) {
    buf.extend_from_slice(&(bytes.len() as u64).to_be_bytes());
    buf.extend_from_slice(bytes);
}

fn aad(org_id: &str, key_id: &str, provider: &str) -> Vec<u8> {
    let mut buf = Vec::with_capacity(AAD_LABEL.len() + 1 + 24 + org_id.len() + key_id.len() + provider.len());
    buf.extend_from_slice(AAD_LABEL);
    buf.push(RECORD_VERSION);
    put_field(&mut buf, org_id.as_bytes());
    put_field(&mut buf, key_id.as_bytes());
    put_field(&mut buf, provider.as_bytes());
    buf
}

/// One key per org: a bug that pairs the wrong org with a record fails
/// closed, and the AAD adds key id and provider on top.
fn org_key(master: &MasterKey, org_id: &str) -> Result<LessSafeKey, &'static str> {
    let prk = Salt::new(HKDF_SHA256, RECORD_KEY_SALT).extract(master.as_bytes());
    let info: [&[u8]; 2] = [b"org data key\0", org_id.as_bytes()];
    let okm = prk.expand(&info, &AES_256_GCM).map_err(|_| "HKDF expansion failed")?;
    Ok(LessSafeKey::new(UnboundKey::from(okm)))
}

/// The whole-file MAC key lives in its own HKDF domain so it never equals a
/// record key or the fingerprint key.
pub(crate) fn file_mac_key(master: &MasterKey) -> Result<hmac::Key, &'static str> {
    let prk = Salt::new(HKDF_SHA256, FILE_MAC_SALT).extract(master.as_bytes());
    let info: [&[u8]; 1] = [b"file mac"];
    let okm = prk.expand(&info, hmac::HMAC_SHA256).map_err(|_| "HKDF expansion failed")?;
    Ok(hmac::Key::from(okm))
}

/// Encrypts `secret` for one (org, key id, provider) under a fresh random
/// nonce, so the same secret sealed twice never yields the same bytes.
pub(crate) fn seal(
    master: &MasterKey,
    org_id: &str,
    key_id: &str,
    provider: &str,
    secret: &Secret,
) -> Result<Vec<u8>, SealError> {
    let kid_len = u16::try_from(key_id.len()).map_err(|_| SealError::KeyIdTooLong(key_id.len()))?;
    let key = org_key(master, org_id).map_err(SealError::Crypto)?;
    let mut nonce = [0u8; NONCE_LEN];
    SystemRandom::new().fill(&mut nonce).map_err(|_| SealError::Crypto("system random generator failed"))?;

    let plaintext = secret.expose_secret().as_bytes();
    let body_start = HEADER_LEN + key_id.len() + NONCE_LEN;
    // Sized up front so no reallocation leaves plaintext behind in freed
    // memory; zeroized if sealing fails while it still holds plaintext.
    let mut out = Zeroizing::new(Vec::with_capacity(body_start + plaintext.len() + TAG_LEN));
    out.push(RECORD_VERSION);
    out.extend_from_slice(&kid_len.to_be_bytes());
    out.extend_from_slice(key_id.as_bytes());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(plaintext);
    let tag = key
        .seal_in_place_separate_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad(org_id, key_id, provider)),
            &mut out[body_start..],
        )
        .map_err(|_| SealError::Crypto("AES-GCM sealing failed"))?;
    out.extend_from_slice(tag.as_ref());
    Ok(std::mem::take(&mut *out))
}

/// Decrypts a record, failing unless it was sealed under this master key for
/// exactly this org, key id and provider and was not modified since.
pub(crate) fn open(
    master: &MasterKey,
    org_id: &str,
    key_id: &str,
    provider: &str,
    sealed: &[u8],
) -> Result<Secret, OpenError> {
    let (&version, rest) = sealed.split_first().ok_or(OpenError::Truncated)?;
    if version != RECORD_VERSION {
        return Err(OpenError::UnsupportedVersion(version));
    }
    let (len_bytes, rest) = rest.split_at_checked(2).ok_or(OpenError::Truncated)?;
    let kid_len = usize::from(u16::from_be_bytes([len_bytes[0], len_bytes[1]]));
    let (kid, rest) = rest.split_at_checked(kid_len).ok_or(OpenError::Truncated)?;
    if kid != key_id.as_bytes() {
        return Err(OpenError::KeyIdMismatch);
    }
    let (nonce, ciphertext) = rest.split_at_checked(NONCE_LEN).ok_or(OpenError::Truncated)?;
    if ciphertext.len() < TAG_LEN {
        return Err(OpenError::Truncated);
    }
    let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| OpenError::Truncated)?;
    let key = org_key(master, org_id).map_err(OpenError::Crypto)?;

    let mut buf = Zeroizing::new(ciphertext.to_vec());
    let plain_len = key
        .open_in_place(nonce, Aad::from(aad(org_id, key_id, provider)), &mut buf)
        .map_err(|_| OpenError::Authentication)?
        .len();
    buf.truncate(plain_len);
    match String::from_utf8(std::mem::take(&mut *buf)) {
        Ok(s) => Ok(Secret::new(s)),
        Err(e) => {
            e.into_bytes().zeroize();
            Err(OpenError::NotUtf8)
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn master(byte: u8) -> MasterKey {
        MasterKey::from_bytes(&[byte; 32]).unwrap()
    }

    fn any_id() -> impl Strategy<Value = String> {
        // Mix of plain ids and arbitrary unicode, NUL included.
        prop_oneof!["[a-z0-9_-]{0,24}", any::<String>(), "\\PC{0,12}",]
    }

    proptest! {
        #[test]
        fn seal_open_round_trip(
            org in any_id(),
            key_id in any_id(),
            provider in any_id(),
            secret in prop_oneof![Just(String::new()), any::<String>(), "sk-[A-Za-z0-9]{20,60}"],
        ) {
            let m = master(7);
            let sealed = seal(&m, &org, &key_id, &provider, &Secret::new(secret.clone())).unwrap();
            let opened = open(&m, &org, &key_id, &provider, &sealed).unwrap();
            prop_assert_eq!(opened.expose_secret(), secret.as_str());
            // A fresh nonce each time: sealing again gives different bytes.
            let again = seal(&m, &org, &key_id, &provider, &Secret::new(secret.clone())).unwrap();
            prop_assert_ne!(&sealed, &again);
            prop_assert_eq!(sealed.len(), 1 + 2 + key_id.len() + 12 + secret.len() + 16);
        }

        #[test]
        fn flipping_any_byte_breaks_open(
            key_id in any_id(),
            secret in any::<String>(),
            index in any::<prop::sample::Index>(),
            mask in 1u8..=255,
        ) {
            let m = master(9);
            let mut sealed = seal(&m, "org-1", &key_id, "openai", &Secret::new(secret)).unwrap();
            let i = index.index(sealed.len());
            sealed[i] ^= mask;
            prop_assert!(open(&m, "org-1", &key_id, "openai", &sealed).is_err());
        }

        #[test]
        fn truncating_breaks_open(secret in any::<String>(), index in any::<prop::sample::Index>()) {
            let m = master(9);
            let sealed = seal(&m, "o", "k", "p", &Secret::new(secret)).unwrap();
            let cut = index.index(sealed.len());
            prop_assert!(open(&m, "o", "k", "p", &sealed[..cut]).is_err());
        }

        #[test]
        fn record_bound_to_org_key_id_provider(
            org in any_id(),
            other in any_id(),
            secret in any::<String>(),
        ) {
            prop_assume!(org != other);
            let m = master(3);
            let sealed = seal(&m, &org, "key-1", "anthropic", &Secret::new(secret)).unwrap();
            prop_assert!(open(&m, &other, "key-1", "anthropic", &sealed).is_err());
            prop_assert!(open(&m, &org, "key-1", &other, &sealed).is_err() || other == "anthropic");
            prop_assert!(open(&m, &org, &other, "anthropic", &sealed).is_err() || other == "key-1");
        }
    }

    #[test]
    fn aad_binds_org_key_id_and_provider() {
        let m = master(1);
        let s = Secret::new("sk-live-123".into());
        let sealed = seal(&m, "org-a", "key-1", "openai", &s).unwrap();
        assert_eq!(open(&m, "org-a", "key-1", "openai", &sealed).unwrap().expose_secret(), "sk-live-123");
        assert_eq!(open(&m, "org-b", "key-1", "openai", &sealed).unwrap_err(), OpenError::Authentication);
        assert_eq!(open(&m, "org-a", "key-1", "anthropic", &sealed).unwrap_err(), OpenError::Authentication);
        assert_eq!(open(&m, "org-a", "key-2", "openai", &sealed).unwrap_err(), OpenError::KeyIdMismatch);
        // Ambiguous concatenations must not collide.
        let sealed = seal(&m, "a\0b", "c", "d", &s).unwrap();
        assert!(open(&m, "a", "b\0c", "d", &sealed).is_err());
    }

    #[test]
    fn key_id_rewritten_inside_record_with_matching_aad_fails() {
        // Re-labelling the embedded key id (and asking for that id) still
        // fails, because the AAD the record was sealed with differs.
        let m = master(1);
        let sealed = seal(&m, "org", "key-a", "openai", &Secret::from("sk")).unwrap();
        let mut forged = sealed.clone();
        forged[3..8].copy_from_slice(b"key-b");
        assert_eq!(open(&m, "org", "key-b", "openai", &forged).unwrap_err(), OpenError::Authentication);
    }

    #[test]
    fn wrong_master_key_fails() {
        let sealed = seal(&master(1), "o", "k", "p", &Secret::from("x")).unwrap();
        assert_eq!(open(&master(2), "o", "k", "p", &sealed).unwrap_err(), OpenError::Authentication);
    }

    #[test]
    fn unknown_version_and_short_input() {
        let m = master(1);
        let mut sealed = seal(&m, "o", "k", "p", &Secret::from("x")).unwrap();
        sealed[0] = 2;
        assert_eq!(open(&m, "o", "k", "p", &sealed).unwrap_err(), OpenError::UnsupportedVersion(2));
        assert_eq!(open(&m, "o", "k", "p", &[]).unwrap_err(), OpenError::Truncated);
        assert_eq!(open(&m, "o", "k", "p", &[1]).unwrap_err(), OpenError::Truncated);
    }

    #[test]
    fn sealed_bytes_do_not_contain_plaintext() {
        let m = master(1);
        let secret = "sk-proj-VERYSECRETVALUE0123456789";
        let sealed = seal(&m, "o", "k", "p", &Secret::from(secret)).unwrap();
        assert!(!sealed.windows(secret.len()).any(|w| w == secret.as_bytes()));
    }

    #[test]
    fn overlong_key_id_is_rejected() {
        let long = "k".repeat(usize::from(u16::MAX) + 1);
        let err = seal(&master(1), "o", &long, "p", &Secret::from("x")).unwrap_err();
        assert_eq!(err, SealError::KeyIdTooLong(long.len()));
    }

    #[test]
    fn file_mac_key_differs_per_master() {
        let a = hmac::sign(&file_mac_key(&master(1)).unwrap(), b"data");
        let b = hmac::sign(&file_mac_key(&master(2)).unwrap(), b"data");
        assert_ne!(a.as_ref(), b.as_ref());
    }
}
