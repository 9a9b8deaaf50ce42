//! The bytes of one replicated analyst record (a submodule of
//! [`crate::analyst_log`]): signed, and since the attacker's review (F5)
//! sealed as a whole.
//!
//! A record is `{"v": 2, "rev": n, "sealed": {"nonce", "ciphertext"},
//! "mac": <hex>}`: the body (the `AnalystRecord` as JSON: argon2id hash,
//! TOTP throttle state, passkeys) is sealed with ChaCha20-Poly1305 under
//! the record key ([`SEAL_LABEL`], derived from the shard's key), its
//! associated data binding the store key (the login) and the rev, so a
//! body moved to another login or another rev does not open; the MAC
//! (HMAC-SHA256 under [`MAC_V2_LABEL`]) covers the key, the rev, the nonce
//! and the ciphertext, so a follower checks a record without opening it.
//!
//! The form before (`{"rev", "body": <JSON text>, "mac"}`, MAC under
//! [`MAC_V1_LABEL`]) is still read when its MAC holds (a shard written by
//! the previous release), and rewritten sealed by the next write of the
//! login and by the leader when it opens its workbench
//! (`Analysts::seal_legacy`): its MAC key differs from the sealed form's,
//! so neither form's MAC verifies the other.

use super::derive;
use hmac::{Hmac, Mac};
use sekimori_stepup::secret::{SealedSecret, SecretBytes};
use sekimori_stepup::Sealer;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use zeroize::Zeroizing;

/// The MAC key of the sealed form.
pub(crate) const MAC_V2_LABEL: &str = "analysts/mac/v2";
/// The MAC key of the form before sealing (read only).
pub(crate) const MAC_V1_LABEL: &str = "analysts/mac/v1";
/// The record key bodies are sealed under.
pub(crate) const SEAL_LABEL: &str = "analysts/record-seal/v1";

/// One record as the table keeps it (either form).
#[derive(Debug, Serialize, Deserialize)]
struct Stored {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    v: Option<u32>,
    rev: u64,
    /// The form before sealing: the body in the clear.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    body: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sealed: Option<SealedSecret>,
    mac: String,
}

/// A record whose MAC holds: its rev and its body, sealed or (the old
/// form) in the clear.
pub(crate) struct Checked {
    pub rev: u64,
    form: Form,
}

enum Form {
    Sealed(SealedSecret),
    Clear(String),
}

impl Checked {
    /// Whether the record is in the form before sealing.
    pub fn legacy(&self) -> bool {
        matches!(self.form, Form::Clear(_))
    }
}

/// The keys of one shard's records.
pub(crate) struct RecordKeys {
    mac_v2: Zeroizing<[u8; 32]>,
    mac_v1: Zeroizing<[u8; 32]>,
    sealer: Sealer,
}

impl RecordKeys {
    /// `key`: the shard's analysts key (`analyst_log::shard_key`).
    pub fn new(key: &[u8; 32]) -> RecordKeys {
        RecordKeys {
            mac_v2: derive(key, MAC_V2_LABEL),
            mac_v1: derive(key, MAC_V1_LABEL),
            sealer: Sealer::new(&derive(key, SEAL_LABEL)),
        }
    }

    /// The stored bytes of `body` as record `key` at `rev`: sealed, then signed.
    pub fn sign(&self, key: &str, rev: u64, body: &str) -> Result<Vec<u8>, String> {
        let plain = SecretBytes::new(body.as_bytes().to_vec());
        let sealed = self
            .sealer
            .seal(&binding(key, rev), &plain, &mut rand::rng())
            .map_err(|e| format!("sealing {key}: {e}"))?;
        let mac = hex::encode(
            mac_v2(&self.mac_v2, key, rev, &sealed)?
                .finalize()
                .into_bytes(),
        );
        serde_json::to_vec(&Stored {
            v: Some(2),
            rev,
            body: None,
            sealed: Some(sealed),
            mac,
        })
        .map_err(|e| e.to_string())
    }

    /// `bytes` as record `key` when its MAC holds (either form), else `None`.
    pub fn check(&self, key: &str, bytes: &[u8]) -> Option<Checked> {
        let s = serde_json::from_slice::<Stored>(bytes).ok()?;
        let mac = hex::decode(&s.mac).ok()?;
        match (s.v, s.body, s.sealed) {
            (Some(2), None, Some(sealed)) => {
                mac_v2(&self.mac_v2, key, s.rev, &sealed)
                    .ok()?
                    .verify_slice(&mac)
                    .ok()?;
                Some(Checked {
                    rev: s.rev,
                    form: Form::Sealed(sealed),
                })
            }
            (None, Some(body), None) => {
                mac_v1(&self.mac_v1, key, s.rev, &body)
                    .verify_slice(&mac)
                    .ok()?;
                Some(Checked {
                    rev: s.rev,
                    form: Form::Clear(body),
                })
            }
            _ => None,
        }
    }

    /// The body of a checked record of `key`: opened when sealed (`None`
    /// when the seal does not open: never read).
    pub fn open(&self, key: &str, checked: &Checked) -> Option<Zeroizing<String>> {
        match &checked.form {
            Form::Clear(body) => Some(Zeroizing::new(body.clone())),
            Form::Sealed(sealed) => {
                let plain = self.sealer.open(&binding(key, checked.rev), sealed).ok()?;
                String::from_utf8(plain.expose().to_vec())
                    .ok()
                    .map(Zeroizing::new)
            }
        }
    }
}

/// The associated data of record `key`'s body at `rev`.
fn binding(key: &str, rev: u64) -> String {
    format!("analyst-record/{rev}/{key}")
}

fn hmac(key: &[u8; 32]) -> Hmac<Sha256> {
    <Hmac<Sha256> as Mac>::new_from_slice(key.as_ref()).expect("HMAC takes any key length")
}

fn mac_v1(mac_key: &[u8; 32], key: &str, rev: u64, body: &str) -> Hmac<Sha256> {
    let mut m = hmac(mac_key);
    m.update(&(key.len() as u64).to_be_bytes());
    m.update(key.as_bytes());
    m.update(&rev.to_be_bytes());
    m.update(body.as_bytes());
    m
}

fn mac_v2(
    mac_key: &[u8; 32],
    key: &str,
    rev: u64,
    sealed: &SealedSecret,
) -> Result<Hmac<Sha256>, String> {
    let nonce = hex::decode(&sealed.nonce).map_err(|e| e.to_string())?;
    let text = hex::decode(&sealed.ciphertext).map_err(|e| e.to_string())?;
    let mut m = hmac(mac_key);
    for part in [key.as_bytes(), &nonce] {
        m.update(&(part.len() as u64).to_be_bytes());
        m.update(part);
    }
    m.update(&rev.to_be_bytes());
    m.update(&text);
    Ok(m)
}

/// The key snapshot objects are signed under: the shard's key with a label
/// of its own (never a record's MAC or seal key).
pub(crate) const OBJECT_LABEL: &str = "snapshots/mac/v1";

/// HMAC-SHA256 of `parts` (each length-prefixed) under `key`.
pub(crate) fn object_mac(key: &[u8; 32], parts: &[&[u8]]) -> Hmac<Sha256> {
    let mut m = hmac(key);
    for part in parts {
        m.update(&(part.len() as u64).to_be_bytes());
        m.update(part);
    }
    m
}

#[cfg(test)]
impl RecordKeys {
    /// A record in the form before sealing, as the previous release signed it.
    pub(crate) fn sign_legacy(&self, key: &str, rev: u64, body: &str) -> Vec<u8> {
        let mac = hex::encode(mac_v1(&self.mac_v1, key, rev, body).finalize().into_bytes());
        serde_json::to_vec(&Stored {
            v: None,
            rev,
            body: Some(body.to_string()),
            sealed: None,
            mac,
        })
        .expect("json")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: [u8; 32] = [7; 32];

    fn parts(bytes: &[u8]) -> Stored {
        serde_json::from_slice(bytes).expect("a record")
    }

    /// Re-signs `s` as whoever holds the MAC key would (not an attacker):
    /// so the seal's own binding is what refuses it.
    fn resigned(keys: &RecordKeys, key: &str, mut s: Stored) -> Vec<u8> {
        let sealed = s.sealed.as_ref().expect("sealed");
        s.mac = hex::encode(
            mac_v2(&keys.mac_v2, key, s.rev, sealed)
                .expect("hex")
                .finalize()
                .into_bytes(),
        );
        serde_json::to_vec(&s).expect("json")
    }

    #[test]
    fn a_sealed_body_opens_only_as_its_own_key_and_rev() {
        let keys = RecordKeys::new(&KEY);
        let body = r#"{"login":"aiko","password":"$argon2id$v=19$secret"}"#;
        let bytes = keys.sign("analyst/aiko", 3, body).expect("signs");
        let text = String::from_utf8(bytes.clone()).expect("utf8");
        assert!(!text.contains("argon2") && !text.contains("aiko"), "{text}");
        let checked = keys.check("analyst/aiko", &bytes).expect("verifies");
        assert_eq!((checked.rev, checked.legacy()), (3, false));
        assert_eq!(
            keys.open("analyst/aiko", &checked).expect("opens").as_str(),
            body
        );
        // The MAC binds the key and the rev.
        assert!(keys.check("analyst/ken", &bytes).is_none());
        let mut later = parts(&bytes);
        later.rev = 4;
        assert!(keys
            .check("analyst/aiko", &serde_json::to_vec(&later).expect("json"))
            .is_none());
        // A flipped byte of the ciphertext, its MAC left: refused.
        let mut flipped = parts(&bytes);
        let sealed = flipped.sealed.as_mut().expect("sealed");
        let first = if sealed.ciphertext.starts_with('0') {
            "1"
        } else {
            "0"
        };
        sealed.ciphertext.replace_range(0..1, first);
        assert!(keys
            .check("analyst/aiko", &serde_json::to_vec(&flipped).expect("json"))
            .is_none());
        // And with a MAC that holds (only a key holder could make one): the
        // seal still binds the rev and the login.
        let mut moved = parts(&bytes);
        moved.rev = 4;
        let moved = resigned(&keys, "analyst/aiko", moved);
        let c = keys.check("analyst/aiko", &moved).expect("its MAC holds");
        assert!(keys.open("analyst/aiko", &c).is_none(), "another rev");
        let other = resigned(&keys, "analyst/ken", parts(&bytes));
        let c = keys.check("analyst/ken", &other).expect("its MAC holds");
        assert!(keys.open("analyst/ken", &c).is_none(), "another login");
        // Another shard's key opens nothing.
        assert!(RecordKeys::new(&[8; 32])
            .check("analyst/aiko", &bytes)
            .is_none());
    }

    #[test]
    fn the_form_before_sealing_reads_under_its_own_mac_key_only() {
        let keys = RecordKeys::new(&KEY);
        let old = keys.sign_legacy("analyst/aiko", 2, r#"{"login":"aiko"}"#);
        let c = keys.check("analyst/aiko", &old).expect("verifies");
        assert_eq!((c.rev, c.legacy()), (2, true));
        assert_eq!(
            keys.open("analyst/aiko", &c).expect("clear").as_str(),
            r#"{"login":"aiko"}"#
        );
        // A sealed record's MAC presented as the old form's (the ciphertext
        // as a clear body) does not verify: the two MAC keys differ.
        let sealed = parts(&keys.sign("analyst/aiko", 2, "{}").expect("signs"));
        let confused = Stored {
            v: None,
            rev: 2,
            body: Some(sealed.sealed.expect("sealed").ciphertext),
            sealed: None,
            mac: sealed.mac,
        };
        let confused = serde_json::to_vec(&confused).expect("json");
        assert!(keys.check("analyst/aiko", &confused).is_none());
        // Both forms at once: neither.
        let mut both = parts(&keys.sign("analyst/aiko", 2, "{}").expect("signs"));
        both.body = Some("{}".into());
        assert!(keys
            .check("analyst/aiko", &serde_json::to_vec(&both).expect("json"))
            .is_none());
    }
}
