//! API key material: generation and hashing. Keys are high-entropy, so one SHA-256 is enough to store them.

use rand::distributions::{Alphanumeric, DistString};
use rand::rngs::OsRng;

use crate::domain::Secret;

/// Length of the random part (base62); 40 chars ≈ 238 bits.
const RANDOM_LEN: usize = 40;
/// How much of a key is kept in clear to let people recognise it.
pub const PREFIX_LEN: usize = 8;

/// A fresh `gv_` key.
pub fn generate() -> Secret {
    Secret::new(format!("gv_{}", Alphanumeric.sample_string(&mut OsRng, RANDOM_LEN)))
}

/// The stored form of a key.
pub fn hash(key: &str) -> String {
    let d = ring::digest::digest(&ring::digest::SHA256, key.as_bytes());
    hex(d.as_ref())
}

/// The first characters, shown in lists.
pub fn prefix(key: &str) -> String {
    key.chars().take(PREFIX_LEN).collect()
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        write!(s, "{b:02x}").ok();
        s
    })
}

/// Does this look like a key we issued? Cheap check before touching the store.
pub fn well_formed(key: &str) -> bool {
    key.len() >= 3 + 32
        && key.len() <= 128
        && key.starts_with("gv_")
        && key[3..].bytes().all(|b| b.is_ascii_alphanumeric())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_long_random_base62() {
        let a = generate();
        let b = generate();
        assert_ne!(a.expose_secret(), b.expose_secret());
        assert!(well_formed(a.expose_secret()));
        assert_eq!(a.expose_secret().len(), 3 + RANDOM_LEN);
        assert_eq!(hash("x").len(), 64);
        assert_eq!(prefix(a.expose_secret()).len(), 8);
        assert!(!well_formed("gv_short"));
        assert!(!well_formed("xx_0123456789012345678901234567890123456789"));
    }
}
