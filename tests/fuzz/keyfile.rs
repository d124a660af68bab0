//! The key-file decoder (`keys.enc`, opened with the master key) and the master key's text form.

use std::os::unix::fs::PermissionsExt;

use gavel::domain::Secret;
use gavel::keystore::{KeyFile, MasterKey};

use crate::harness::{corpus, fuzz};

const MAX_LEN: usize = 16 * 1024;

const TOKENS: &[&[u8]] = &[
    b"{",
    b"}",
    b"[",
    b"]",
    b"\"records\":",
    b"\"version\":",
    b"\"format\":",
    b"\"mac\":",
    b"\"sealed\":",
    b"\"fingerprint\":",
    b"\"key_id\":",
    b"\"org_id\":",
    b"\"provider\":",
    b"\"\"",
    b"==",
    b"0",
    b"2",
    b"18446744073709551616",
    b"\\u0000",
    b",",
];

/// The master key the committed seeds were written with (`FUZZ_SEED_OUT` rewrites them).
fn master() -> MasterKey {
    MasterKey::from_bytes(&[7u8; 32]).unwrap()
}

/// A valid key file with three records, written now (its nonces are fresh, its layout the current one).
fn fresh_seed(dir: &std::path::Path) -> Vec<u8> {
    let path = dir.join("seed.enc");
    let kf = KeyFile::create(&path, master()).unwrap();
    for (i, provider) in ["openai", "anthropic", "gemini"].iter().enumerate() {
        kf.put("org_1", &format!("key_{i}"), provider, &Secret::new(format!("sk-fuzz-{i}"))).unwrap();
    }
    std::fs::read(&path).unwrap()
}

#[test]
fn key_file_decoder() {
    let dir = tempfile::tempdir().unwrap();
    let mut seeds = corpus("keyfile");
    let fresh = fresh_seed(dir.path());
    if let Ok(out) = std::env::var("FUZZ_SEED_OUT") {
        std::fs::write(std::path::Path::new(&out).join("valid-3-records.enc"), &fresh).unwrap();
    }
    seeds.push(fresh);
    let path = dir.path().join("keys.enc");
    fuzz("keyfile", seeds, TOKENS, MAX_LEN, |bytes| {
        std::fs::write(&path, bytes).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        if let Ok(kf) = KeyFile::open(&path, master()) {
            assert!(kf.len() <= bytes.len() / 16, "{} records from {} bytes", kf.len(), bytes.len());
            for id in kf.key_ids() {
                if let Ok(Some(secret)) = kf.get("org_1", &id, "openai") {
                    assert!(secret.expose_secret().len() <= bytes.len(), "a secret longer than the file");
                }
            }
        }
    });
}

#[test]
fn master_key_text() {
    let seeds = vec![master().to_base64().into_bytes(), b"  not base64  ".to_vec(), vec![b'A'; 43]];
    fuzz("master_key", seeds, &[b"=", b"\n", b" ", b"+", b"/"], 512, |bytes| {
        if let Ok(k) = MasterKey::from_base64(&String::from_utf8_lossy(bytes)) {
            assert_eq!(k.fingerprint(), MasterKey::from_base64(&k.to_base64()).unwrap().fingerprint());
        }
    });
}
