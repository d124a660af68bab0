//! The configuration loader: TOML text in the configuration file → `Config`, validated.

use gavel::config::{Config, Overrides};

use crate::harness::{corpus, fuzz};

const MAX_LEN: usize = 16 * 1024;

const TOKENS: &[&[u8]] = &[
    b"[server]\n",
    b"[limits]\n",
    b"[providers]\n",
    b"[judge]\n",
    b"[gateway]\n",
    b"[log]\n",
    b"[[",
    b"]]",
    b" = ",
    b"\"",
    b"'''",
    b"\"\"\"",
    b"\n",
    b"bind = \"127.0.0.1:0\"\n",
    b"workers = 0\n",
    b"-1",
    b"1e999",
    b"nan",
    b"inf",
    b"18446744073709551616",
    b"true",
    b"[]",
    b"{}",
    b"1979-05-27T07:32:00Z",
    b"\\u0000",
];

#[test]
fn config_loader() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gavel.toml");
    fuzz("config", corpus("config"), TOKENS, MAX_LEN, |bytes| {
        std::fs::write(&path, bytes).unwrap();
        match Config::load(Some(&path), &Overrides::default()) {
            Ok(loaded) => loaded.config.validate().unwrap(),
            Err(e) => {
                let msg = e.to_string();
                assert!(msg.len() <= bytes.len() + 2048, "error message of {} bytes", msg.len());
            }
        }
    });
}
