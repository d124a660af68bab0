//! Masking of found secrets and PII: enough to recognise a value you hold, never enough to use it.

use ring::digest;

/// Characters of the value kept in clear at the start of a masked value.
pub const MASK_CLEAR_CHARS: usize = 4;
/// Hex digits of the SHA-256 kept after the clear prefix (48 bits: ample to tell two values apart in one
/// report, far too few to brute-force a high-entropy secret from).
pub const MASK_HASH_HEX: usize = 12;

/// `ghp_…[sha256:1a2b3c4d5e6f]`: the first [`MASK_CLEAR_CHARS`] characters and a short SHA-256 of the
/// whole value. Values of at most 8 characters keep no clear prefix (4 of 8 would be half the value).
pub fn mask(value: &str) -> String {
    let hash = digest::digest(&digest::SHA256, value.as_bytes());
    let mut hex = String::with_capacity(MASK_HASH_HEX);
    for b in hash.as_ref().iter().take(MASK_HASH_HEX.div_ceil(2)) {
        hex.push_str(&format!("{b:02x}"));
    }
    hex.truncate(MASK_HASH_HEX);
    let clear: String = if value.chars().count() > 2 * MASK_CLEAR_CHARS {
        value.chars().take(MASK_CLEAR_CHARS).collect()
    } else {
        String::new()
    };
    format!("{clear}…[sha256:{hex}]")
}
