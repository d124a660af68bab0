//! Check-digit algorithms used by the secret and PII validators. These are published algorithms (facts);
//! the implementations are ours. Every function takes ASCII digits (or the documented alphabet) and returns
//! `false`, never panics, on anything else.

/// Luhn (mod 10) over a string of ASCII digits, check digit last: payment cards, Canada SIN, Sweden
/// personnummer.
pub fn luhn(digits: &[u8]) -> bool {
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let mut sum = 0u32;
    for (i, &d) in digits.iter().rev().enumerate() {
        let mut v = u32::from(d - b'0');
        if i % 2 == 1 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    sum.is_multiple_of(10)
}

const VERHOEFF_D: [[u8; 10]; 10] = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
    [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
    [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
    [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
    [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
    [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
    [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
    [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
    [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
];
const VERHOEFF_P: [[u8; 10]; 8] = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
    [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
    [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
    [9, 4, 5, 3, 1, 2, 8, 7, 6, 0],
    [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
    [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
    [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
];

/// Verhoeff (dihedral group D5), check digit last: India Aadhaar.
pub fn verhoeff(digits: &[u8]) -> bool {
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let mut c = 0usize;
    for (i, &d) in digits.iter().rev().enumerate() {
        c = VERHOEFF_D[c][VERHOEFF_P[i % 8][usize::from(d - b'0')] as usize] as usize;
    }
    c == 0
}

/// ISO 13616 IBAN check: move the first four characters to the end, letters to 10..35, value mod 97 == 1.
/// `iban` must be upper-case alphanumerics without spaces.
pub fn iban_mod97(iban: &[u8]) -> bool {
    if iban.len() < 5 || !iban.iter().all(|b| b.is_ascii_digit() || b.is_ascii_uppercase()) {
        return false;
    }
    let mut r = 0u32;
    for &b in iban[4..].iter().chain(&iban[..4]) {
        if b.is_ascii_digit() {
            r = (r * 10 + u32::from(b - b'0')) % 97;
        } else {
            let v = u32::from(b - b'A') + 10;
            r = (r * 100 + v) % 97;
        }
    }
    r == 1
}

/// Remainder of a decimal digit string mod `m`, computed digit by digit (any length).
pub fn mod_decimal(digits: &[u8], m: u64) -> Option<u64> {
    let mut r = 0u64;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        r = (r * 10 + u64::from(d - b'0')) % m;
    }
    Some(r)
}

/// ISO 7064 MOD 11,10 (hybrid), check digit last: Germany's Steuer-IdNr.
pub fn iso7064_mod11_10(digits: &[u8]) -> bool {
    if digits.len() < 2 || !digits.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let mut p = 10u32;
    for &d in &digits[..digits.len() - 1] {
        let mut s = (u32::from(d - b'0') + p) % 10;
        if s == 0 {
            s = 10;
        }
        p = (2 * s) % 11;
    }
    let check = (11 - p) % 10;
    check == u32::from(digits[digits.len() - 1] - b'0')
}

/// Σ digit·weight over the first `weights.len()` digits (caller checks length and digits).
pub fn weighted_sum(digits: &[u8], weights: &[u32]) -> u32 {
    digits.iter().zip(weights).map(|(&d, &w)| u32::from(d.wrapping_sub(b'0')) * w).sum()
}

/// Base-62 alphabet of GitHub-style token checksums: digits, upper case, lower case.
const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// `n` in base 62, left-padded with `0` to `width` characters.
pub fn base62(mut n: u64, width: usize) -> String {
    let mut out = Vec::with_capacity(width);
    while n > 0 {
        out.push(BASE62[(n % 62) as usize]);
        n /= 62;
    }
    while out.len() < width {
        out.push(b'0');
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

/// GitHub's token format (`ghp_`, `gho_`, `ghu_`, `ghs_`, `ghr_`; npm uses it too): after the prefix,
/// 30 random base-62 characters and the CRC32 of those 30, in base 62, padded to 6.
pub fn github_crc32_ok(body: &str) -> bool {
    if body.len() != 36 || !body.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return false;
    }
    let (random, check) = body.split_at(30);
    base62(u64::from(crc32fast::hash(random.as_bytes())), 6) == check
}

/// Bitcoin Base58Check: the last 4 bytes are the first 4 of SHA-256(SHA-256(payload)).
pub fn base58check(s: &str) -> bool {
    const ALPHABET: &[u8] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
    if s.is_empty() || s.len() > 64 {
        return false;
    }
    // Big-endian base-256 accumulator; 25 bytes for an address, 50 is ample for the length bound.
    let mut bytes = [0u8; 50];
    for c in s.bytes() {
        let Some(mut carry) = ALPHABET.iter().position(|&a| a == c).map(|v| v as u32) else { return false };
        for b in bytes.iter_mut().rev() {
            carry += u32::from(*b) * 58;
            *b = (carry & 0xff) as u8;
            carry >>= 8;
        }
        if carry != 0 {
            return false;
        }
    }
    let leading = s.bytes().take_while(|&c| c == b'1').count();
    let first = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    let mut decoded = vec![0u8; leading];
    decoded.extend_from_slice(&bytes[first..]);
    if decoded.len() < 5 {
        return false;
    }
    let (payload, check) = decoded.split_at(decoded.len() - 4);
    let h1 = ring::digest::digest(&ring::digest::SHA256, payload);
    let h2 = ring::digest::digest(&ring::digest::SHA256, h1.as_ref());
    &h2.as_ref()[..4] == check
}

/// Bech32 / Bech32m checksum (BIP 173 / 350) of a lower-case string such as `bc1q…`.
pub fn bech32_ok(s: &str) -> bool {
    const CHARSET: &[u8] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";
    let Some(sep) = s.rfind('1') else { return false };
    let (hrp, data) = (&s.as_bytes()[..sep], &s.as_bytes()[sep + 1..]);
    if hrp.is_empty() || data.len() < 6 || s.len() > 90 {
        return false;
    }
    let mut values = Vec::with_capacity(hrp.len() * 2 + 1 + data.len());
    values.extend(hrp.iter().map(|&c| u32::from(c >> 5)));
    values.push(0);
    values.extend(hrp.iter().map(|&c| u32::from(c & 31)));
    for &c in data {
        let Some(v) = CHARSET.iter().position(|&a| a == c) else { return false };
        values.push(v as u32);
    }
    const GEN: [u32; 5] = [0x3b6a_57b2, 0x2650_8e6d, 0x1ea1_19fa, 0x3d42_33dd, 0x2a14_62b3];
    let mut chk = 1u32;
    for v in values {
        let top = chk >> 25;
        chk = ((chk & 0x1ff_ffff) << 5) ^ v;
        for (i, g) in GEN.iter().enumerate() {
            if (top >> i) & 1 == 1 {
                chk ^= g;
            }
        }
    }
    chk == 1 || chk == 0x2bc8_30a3
}
