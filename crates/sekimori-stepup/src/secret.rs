//! Secrets in memory ([`SecretBytes`]) and at rest ([`Sealer`], [`SealedSecret`]).
//!
//! A [`Sealer`] holds a 32-byte master key and encrypts with ChaCha20-Poly1305 (RustCrypto
//! `chacha20poly1305`), a fresh random 12-byte nonce per seal, and associated data that
//! binds the blob to its place:
//!
//! ```text
//! AAD = "sekimori-seal-v1" || 0x00 || u32be(len(binding)) || binding
//! ```
//!
//! The binding is chosen by the caller; [`StepUpState`](crate::StepUpState) uses
//! `"totp/" + account` and `"ocra/" + account`, so a sealed seed copied to another
//! account, or a TOTP seed replayed as an OCRA key, fails to open.

use std::fmt;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rand::CryptoRng;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::error::SealError;

const SEAL_DOMAIN: &[u8] = b"sekimori-seal-v1";

/// Plaintext secret bytes (a TOTP seed, an OCRA key). Zeroized on drop; `Debug` prints
/// `<redacted>`; not `Serialize` (store the [`SealedSecret`] instead).
#[derive(Clone, PartialEq, Eq)]
pub struct SecretBytes(Zeroizing<Vec<u8>>);

impl SecretBytes {
    /// Wraps existing bytes (the caller's copy is not zeroized by this).
    pub fn new(bytes: Vec<u8>) -> SecretBytes {
        SecretBytes(Zeroizing::new(bytes))
    }

    /// `len` bytes from a cryptographically secure RNG.
    pub fn random(len: usize, rng: &mut impl CryptoRng) -> SecretBytes {
        let mut bytes = Zeroizing::new(vec![0u8; len]);
        rng.fill_bytes(&mut bytes);
        SecretBytes(bytes)
    }

    /// The secret bytes. Keep the borrow short.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the secret is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Lower-case hex of the secret, itself zeroized on drop.
    pub fn to_hex(&self) -> Zeroizing<String> {
        Zeroizing::new(hex::encode(self.expose()))
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// A secret encrypted under a [`Sealer`]: the random nonce and the ciphertext
/// (including the 16-byte Poly1305 tag), both lower-case hex when serialized.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedSecret {
    /// 12-byte ChaCha20-Poly1305 nonce, hex.
    pub nonce: String,
    /// Ciphertext with tag, hex.
    pub ciphertext: String,
}

/// Encrypts secrets at rest under a 32-byte master key (ChaCha20-Poly1305).
/// `Debug` prints `<redacted>`.
#[derive(Clone)]
pub struct Sealer {
    cipher: ChaCha20Poly1305,
}

impl fmt::Debug for Sealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sealer(<redacted>)")
    }
}

fn aad(binding: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(SEAL_DOMAIN.len() + 5 + binding.len());
    out.extend_from_slice(SEAL_DOMAIN);
    out.push(0);
    out.extend_from_slice(&len_u32(binding.len()).to_be_bytes());
    out.extend_from_slice(binding.as_bytes());
    out
}

/// Length as u32 for length prefixes; strings longer than 4 GiB saturate (they cannot occur
/// in practice and would still be distinct by content).
pub(crate) fn len_u32(len: usize) -> u32 {
    u32::try_from(len).unwrap_or(u32::MAX)
}

impl Sealer {
    /// A sealer for `master_key`. The key is copied into the cipher state.
    pub fn new(master_key: &[u8; 32]) -> Sealer {
        Sealer {
            cipher: ChaCha20Poly1305::new(Key::from_slice(master_key)),
        }
    }

    /// Encrypts `secret` with a fresh nonce from `rng`, bound to `binding` (for example
    /// `"totp/alice"`); only [`open`](Self::open) with the same binding succeeds.
    pub fn seal(
        &self,
        binding: &str,
        secret: &SecretBytes,
        rng: &mut impl CryptoRng,
    ) -> Result<SealedSecret, SealError> {
        let mut nonce = [0u8; 12];
        rng.fill_bytes(&mut nonce);
        let aad = aad(binding);
        let ciphertext = self
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: secret.expose(),
                    aad: &aad,
                },
            )
            .map_err(|_| SealError::SealFailed)?;
        Ok(SealedSecret {
            nonce: hex::encode(nonce),
            ciphertext: hex::encode(ciphertext),
        })
    }

    /// Decrypts `sealed`, checking it was sealed under this key with this `binding`.
    pub fn open(&self, binding: &str, sealed: &SealedSecret) -> Result<SecretBytes, SealError> {
        let nonce = hex::decode(&sealed.nonce).map_err(|_| SealError::Malformed)?;
        if nonce.len() != 12 {
            return Err(SealError::Malformed);
        }
        let ciphertext = hex::decode(&sealed.ciphertext).map_err(|_| SealError::Malformed)?;
        let aad = aad(binding);
        let plain = self
            .cipher
            .decrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: &ciphertext,
                    aad: &aad,
                },
            )
            .map_err(|_| SealError::OpenFailed)?;
        Ok(SecretBytes::new(plain))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    #[test]
    fn seal_open_round_trip_and_binding() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let sealer = Sealer::new(&[7u8; 32]);
        let secret = SecretBytes::random(20, &mut rng);
        let sealed = sealer.seal("totp/alice", &secret, &mut rng).expect("seal");
        assert_eq!(sealed.nonce.len(), 24);
        assert_eq!(sealed.ciphertext.len(), 2 * (20 + 16));
        let opened = sealer.open("totp/alice", &sealed).expect("open");
        assert_eq!(opened, secret);
        // moved to another account / purpose
        assert_eq!(sealer.open("totp/bob", &sealed), Err(SealError::OpenFailed));
        assert_eq!(
            sealer.open("ocra/alice", &sealed),
            Err(SealError::OpenFailed)
        );
        // other master key
        assert_eq!(
            Sealer::new(&[8u8; 32]).open("totp/alice", &sealed),
            Err(SealError::OpenFailed)
        );
        // tampered
        let mut bad = sealed.clone();
        bad.ciphertext.replace_range(
            0..2,
            if &bad.ciphertext[0..2] == "00" {
                "01"
            } else {
                "00"
            },
        );
        assert_eq!(sealer.open("totp/alice", &bad), Err(SealError::OpenFailed));
        let mut bad = sealed;
        bad.nonce = "zz".into();
        assert_eq!(sealer.open("totp/alice", &bad), Err(SealError::Malformed));
    }

    #[test]
    fn fresh_nonce_per_seal() {
        let mut rng = ChaCha20Rng::seed_from_u64(2);
        let sealer = Sealer::new(&[1u8; 32]);
        let secret = SecretBytes::new(vec![1, 2, 3]);
        let a = sealer.seal("x", &secret, &mut rng).expect("seal");
        let b = sealer.seal("x", &secret, &mut rng).expect("seal");
        assert_ne!(a.nonce, b.nonce);
        assert_ne!(a.ciphertext, b.ciphertext);
    }

    #[test]
    fn debug_is_redacted() {
        let secret = SecretBytes::new(b"hunter2hunter2".to_vec());
        assert_eq!(format!("{secret:?}"), "<redacted>");
        assert!(!format!("{:?}", Sealer::new(&[3u8; 32])).contains('3'));
    }

    #[test]
    fn aad_is_length_prefixed() {
        assert_ne!(aad("ab"), aad("a"));
        assert!(aad("totp/a").starts_with(b"sekimori-seal-v1\0\0\0\0\x06"));
    }
}
