//! On-disk layout of the key file and its whole-file MAC.
//!
//! Compact JSON: `{"format":"gavel-keyfile","version":1,"fingerprint":"<hex>",
//! "records":[{"org_id","key_id","provider","sealed":"<b64>"}],"mac":"<hex>"}`.
//! Ids are stored in clear (they are not secret). The `mac` is an
//! HMAC-SHA256, under a key derived from the master key, over a canonical
//! encoding of everything else, so deleting, reordering, duplicating or
//! editing records is detected at open.

use std::path::Path;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use ring::hmac;
use serde::{Deserialize, Serialize};

use super::seal::{self, put_field};
use super::{from_hex, to_hex, KeystoreError, MasterKey};

const FORMAT: &str = "gavel-keyfile";
const VERSION: u32 = 1;
const MAC_LABEL: &[u8] = b"gavel-keyfile-mac-v1";

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileRepr {
    format: String,
    version: u32,
    fingerprint: String,
    records: Vec<RecordRepr>,
    mac: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RecordRepr {
    org_id: String,
    key_id: String,
    provider: String,
    sealed: String,
}

/// A record as held in memory: ids in clear, sealed bytes decoded.
#[derive(Clone, Debug)]
pub(crate) struct Record {
    pub(crate) org_id: String,
    pub(crate) key_id: String,
    pub(crate) provider: String,
    pub(crate) sealed: Vec<u8>,
}

pub(crate) fn tampered(path: &Path, detail: String) -> KeystoreError {
    KeystoreError::Tampered { path: path.to_path_buf(), detail }
}

fn corrupt(path: &Path, detail: String) -> KeystoreError {
    KeystoreError::Corrupt { path: path.to_path_buf(), detail }
}

/// The byte string the file MAC covers: every field except the MAC, each
/// length-prefixed, records in file order.
fn canonical(fingerprint: &str, records: &[Record]) -> Vec<u8> {
    let mut buf = Vec::new();
    buf.extend_from_slice(MAC_LABEL);
    put_field(&mut buf, FORMAT.as_bytes());
    buf.extend_from_slice(&VERSION.to_be_bytes());
    put_field(&mut buf, fingerprint.as_bytes());
    buf.extend_from_slice(&(records.len() as u64).to_be_bytes());
    for r in records {
        put_field(&mut buf, r.org_id.as_bytes());
        put_field(&mut buf, r.key_id.as_bytes());
        put_field(&mut buf, r.provider.as_bytes());
        put_field(&mut buf, &r.sealed);
    }
    buf
}

fn mac_key(master: &MasterKey) -> Result<hmac::Key, KeystoreError> {
    seal::file_mac_key(master).map_err(|what| KeystoreError::Crypto(what.into()))
}

pub(crate) fn render(master: &MasterKey, records: &[Record]) -> Result<Vec<u8>, KeystoreError> {
    let fingerprint = master.fingerprint();
    let mac = hmac::sign(&mac_key(master)?, &canonical(&fingerprint, records));
    let repr = FileRepr {
        format: FORMAT.to_owned(),
        version: VERSION,
        fingerprint,
        records: records
            .iter()
            .map(|r| RecordRepr {
                org_id: r.org_id.clone(),
                key_id: r.key_id.clone(),
                provider: r.provider.clone(),
                sealed: STANDARD.encode(&r.sealed),
            })
            .collect(),
        mac: to_hex(mac.as_ref()),
    };
    serde_json::to_vec(&repr).map_err(|e| KeystoreError::Crypto(format!("serialising the key file failed: {e}")))
}

pub(crate) fn parse_and_verify(path: &Path, master: &MasterKey, bytes: &[u8]) -> Result<Vec<Record>, KeystoreError> {
    // Only the position is reported: serde messages may quote file content.
    let repr: FileRepr = serde_json::from_slice(bytes)
        .map_err(|e| corrupt(path, format!("invalid key file JSON at line {}, column {}", e.line(), e.column())))?;
    if repr.format != FORMAT {
        return Err(corrupt(path, format!("format is not {FORMAT:?}")));
    }
    if repr.version != VERSION {
        return Err(corrupt(
            path,
            format!(
                "unsupported key file version {} (this gavel reads version {VERSION}; was it \
                 written by a newer gavel?)",
                repr.version
            ),
        ));
    }
    let key_fingerprint = master.fingerprint();
    if repr.fingerprint != key_fingerprint {
        return Err(KeystoreError::WrongMasterKey {
            path: path.to_path_buf(),
            file_fingerprint: repr.fingerprint.chars().take(16).collect(),
            key_fingerprint: key_fingerprint.chars().take(16).collect(),
        });
    }
    let mac = from_hex(&repr.mac).ok_or_else(|| tampered(path, "MAC is not valid hex".into()))?;
    let mut records = Vec::with_capacity(repr.records.len());
    for (i, r) in repr.records.into_iter().enumerate() {
        let sealed =
            STANDARD.decode(&r.sealed).map_err(|_| tampered(path, format!("record {i} is not valid base64")))?;
        records.push(Record { org_id: r.org_id, key_id: r.key_id, provider: r.provider, sealed });
    }
    hmac::verify(&mac_key(master)?, &canonical(&repr.fingerprint, &records), &mac)
        .map_err(|_| tampered(path, "file MAC mismatch: records were added, removed, reordered or edited".into()))?;
    for (i, r) in records.iter().enumerate() {
        if records[..i].iter().any(|prev| prev.key_id == r.key_id) {
            return Err(tampered(path, format!("key id {:?} appears twice", r.key_id)));
        }
        // Opened once to prove it decrypts; the plaintext is dropped (and
        // zeroized) right away.
        seal::open(master, &r.org_id, &r.key_id, &r.provider, &r.sealed)
            .map(drop)
            .map_err(|e| tampered(path, format!("record {:?}: {e}", r.key_id)))?;
    }
    Ok(records)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::domain::Secret;
    use proptest::prelude::*;
    use serde_json::Value;

    const PATH: &str = "/var/lib/gavel/keys.enc";

    fn master(byte: u8) -> MasterKey {
        MasterKey::from_bytes(&[byte; 32]).unwrap()
    }

    fn record(m: &MasterKey, org: &str, key_id: &str, provider: &str, secret: &str) -> Record {
        Record {
            org_id: org.into(),
            key_id: key_id.into(),
            provider: provider.into(),
            sealed: seal::seal(m, org, key_id, provider, &Secret::from(secret)).unwrap(),
        }
    }

    fn sample(m: &MasterKey) -> Vec<u8> {
        render(
            m,
            &[
                record(m, "org-a", "key-1", "openai", "sk-AAAA-secret"),
                record(m, "org-b", "key-2", "anthropic", "sk-ant-BBBB"),
                record(m, "org-a", "key-3", "mistral", ""),
            ],
        )
        .unwrap()
    }

    fn parse(m: &MasterKey, bytes: &[u8]) -> Result<Vec<Record>, KeystoreError> {
        parse_and_verify(Path::new(PATH), m, bytes)
    }

    /// Applies `edit` to the JSON and re-serialises it, keeping the old MAC.
    fn edited(bytes: &[u8], edit: impl FnOnce(&mut Value)) -> Vec<u8> {
        let mut v: Value = serde_json::from_slice(bytes).unwrap();
        edit(&mut v);
        serde_json::to_vec(&v).unwrap()
    }

    fn assert_tampered(result: Result<Vec<Record>, KeystoreError>) -> String {
        match result {
            Err(e @ KeystoreError::Tampered { .. }) => {
                let msg = e.to_string();
                assert!(msg.contains(PATH) && msg.contains("backup"), "{msg}");
                msg
            }
            Err(e) => panic!("expected Tampered, got {e:?}"),
            Ok(_) => panic!("expected Tampered, got Ok"),
        }
    }

    #[test]
    fn render_parse_round_trip() {
        let m = master(1);
        let records = parse(&m, &sample(&m)).unwrap();
        let ids: Vec<_> = records.iter().map(|r| r.key_id.as_str()).collect();
        assert_eq!(ids, ["key-1", "key-2", "key-3"]);
        let r = &records[1];
        let s = seal::open(&m, &r.org_id, &r.key_id, &r.provider, &r.sealed).unwrap();
        assert_eq!(s.expose_secret(), "sk-ant-BBBB");
    }

    #[test]
    fn rendered_bytes_hold_no_plaintext() {
        let m = master(1);
        let bytes = sample(&m);
        for needle in ["sk-AAAA-secret", "sk-ant-BBBB", "AAAA", "BBBB"] {
            assert!(!bytes.windows(needle.len()).any(|w| w == needle.as_bytes()));
        }
    }

    #[test]
    fn wrong_master_key_even_with_zero_records() {
        let bytes = render(&master(1), &[]).unwrap();
        assert!(parse(&master(1), &bytes).unwrap().is_empty());
        let err = parse(&master(2), &bytes).unwrap_err();
        assert!(matches!(err, KeystoreError::WrongMasterKey { .. }), "{err:?}");
        let msg = err.to_string();
        assert!(msg.contains(PATH) && msg.contains("supply the master key"), "{msg}");
        assert!(parse(&master(2), &sample(&master(1))).is_err());
    }

    #[test]
    fn deleting_reordering_duplicating_or_editing_records_is_detected() {
        let m = master(1);
        let bytes = sample(&m);
        assert_tampered(parse(&m, &edited(&bytes, |v| drop(v["records"].as_array_mut().unwrap().remove(1)))));
        assert_tampered(parse(&m, &edited(&bytes, |v| v["records"].as_array_mut().unwrap().swap(0, 2))));
        assert_tampered(parse(
            &m,
            &edited(&bytes, |v| {
                let first = v["records"][0].clone();
                v["records"].as_array_mut().unwrap().push(first);
            }),
        ));
        assert_tampered(parse(&m, &edited(&bytes, |v| v["records"][0]["org_id"] = "org-b".into())));
        assert_tampered(parse(&m, &edited(&bytes, |v| v["records"][0]["provider"] = "x".into())));
        assert_tampered(parse(&m, &edited(&bytes, |v| v["records"] = Value::Array(vec![]))));
        assert_tampered(parse(
            &m,
            &edited(&bytes, |v| {
                let sealed = v["records"][1]["sealed"].as_str().unwrap();
                let mut chars: Vec<char> = sealed.chars().collect();
                chars[20] = if chars[20] == 'A' { 'B' } else { 'A' };
                v["records"][1]["sealed"] = chars.into_iter().collect::<String>().into();
            }),
        ));
        assert_tampered(parse(&m, &edited(&bytes, |v| v["mac"] = "00".repeat(32).into())));
    }

    #[test]
    fn record_moved_to_another_org_fails_even_with_a_valid_mac() {
        // Someone holding the master key rewrites the MAC: the AAD still
        // stops the record from opening under another org or provider.
        let m = master(1);
        let mut moved = record(&m, "org-a", "key-1", "openai", "sk-secret");
        moved.org_id = "org-b".into();
        let msg = assert_tampered(parse(&m, &render(&m, &[moved]).unwrap()));
        assert!(msg.contains("authentication"), "{msg}");
        let mut moved = record(&m, "org-a", "key-1", "openai", "sk-secret");
        moved.provider = "anthropic".into();
        assert_tampered(parse(&m, &render(&m, &[moved]).unwrap()));
        let mut moved = record(&m, "org-a", "key-1", "openai", "sk-secret");
        moved.key_id = "key-9".into();
        assert_tampered(parse(&m, &render(&m, &[moved]).unwrap()));
    }

    #[test]
    fn duplicate_key_ids_are_refused_even_with_a_valid_mac() {
        let m = master(1);
        let r = record(&m, "org-a", "key-1", "openai", "sk");
        let msg = assert_tampered(parse(&m, &render(&m, &[r.clone(), r]).unwrap()));
        assert!(msg.contains("twice"), "{msg}");
    }

    #[test]
    fn unparseable_or_foreign_files_are_corrupt_without_echoing_content() {
        let m = master(1);
        for bytes in [
            b"".to_vec(),
            b"sk-live-do-not-echo".to_vec(),
            edited(&sample(&m), |v| v["version"] = 2.into()),
            edited(&sample(&m), |v| v["format"] = "other".into()),
            edited(&sample(&m), |v| v["extra"] = "sk-live-do-not-echo".into()),
        ] {
            let err = parse(&m, &bytes).unwrap_err();
            assert!(matches!(err, KeystoreError::Corrupt { .. }), "{err:?}");
            let msg = format!("{err} {err:?}");
            assert!(msg.contains(PATH) && !msg.contains("do-not-echo"), "{msg}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]
        #[test]
        fn flipping_any_byte_of_the_file_is_detected(
            index in any::<prop::sample::Index>(),
            mask in 1u8..=255,
        ) {
            let m = master(5);
            let mut bytes = sample(&m);
            let i = index.index(bytes.len());
            bytes[i] ^= mask;
            let result = parse(&m, &bytes);
            prop_assert!(
                matches!(
                    result,
                    Err(KeystoreError::Tampered { .. }
                        | KeystoreError::Corrupt { .. }
                        | KeystoreError::WrongMasterKey { .. })
                ),
                "byte {} ^ {:#x} gave {:?}", i, mask, result.map(|r| r.len())
            );
        }
    }
}
