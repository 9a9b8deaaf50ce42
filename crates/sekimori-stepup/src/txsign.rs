//! Transaction signing with dynamic linking (PSD2 RTS, Commission Delegated Regulation
//! (EU) 2018/389, art. 5): the authentication code is specific to the amount and the payee
//! the payer agreed to, and any change to them invalidates it.
//!
//! ## Canonical transaction encoding (`sekimori-tx-v1`)
//!
//! ```text
//! "sekimori-tx-v1" || 0x00
//! || u32be(len(account))  || account  (UTF-8)
//! || i64be(amount_minor)
//! || u32be(len(currency)) || currency (UTF-8)
//! || u32be(len(payee))    || payee    (UTF-8)
//! ```
//!
//! Every variable-length field is length-prefixed, so no two distinct transactions share
//! an encoding. Strings are taken byte-exact: the caller canonicalizes them first (upper-case
//! ISO 4217 currency, a canonical payee string such as `bank:0001-123-4567890`). The
//! transaction digest is SHA-256 of the encoding.
//!
//! ## The code
//!
//! A [`TxChallenge`] carries a random 16-byte nonce. The device (which shows the user the
//! amount and payee it is signing) computes OCRA suite [`TX_OCRA_SUITE`]
//! (`OCRA-1:HOTP-SHA256-8:QH64`) over the question
//!
//! ```text
//! Q = hex(SHA-256("sekimori-txq-v1" || 0x00 || tx_digest || nonce))   (64 hex digits)
//! ```
//!
//! so the code is bound to the account, amount, currency and payee *and* to this one
//! challenge: a code captured for a payment cannot be replayed against a later challenge for an
//! identical payment. See [`device_response`].
//!
//! ## Verification
//!
//! [`TxChallenge::verify`] checks, in order: already used → [`TxError::Used`]; 5 failures →
//! [`TxError::TooManyFailures`]; an `at` before the issue's `at` → [`TxError::BeforeIssue`];
//! 5 minutes past issue by the request's `at` **or by the server clock** (see
//! [`crate::time`]) → [`TxError::Expired`], for good (the challenge is marked expired);
//! presented transaction's digest differs → [`TxError::TransactionChanged`] (a failure);
//! wrong code → [`TxError::WrongCode`] (a failure). Success marks the challenge used.

use rand::CryptoRng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::{OcraError, TxError};
use crate::ocra::{self, ct_eq_str, OcraInput, OcraSuite};
use crate::secret::len_u32;
use crate::time::{check_window, Now, TimeRefusal};

/// Version tag at the start of the canonical transaction encoding.
pub const TX_ENCODING_VERSION: &str = "sekimori-tx-v1";

/// The OCRA suite devices use to sign transactions.
pub const TX_OCRA_SUITE: &str = "OCRA-1:HOTP-SHA256-8:QH64";

/// Device key length for [`TX_OCRA_SUITE`] (the SHA-256 block-size-friendly 32 bytes).
pub const TX_DEVICE_KEY_LEN: usize = 32;

/// How long a challenge stays answerable: 5 minutes.
pub const TX_CHALLENGE_TTL_MS: i64 = 5 * 60 * 1000;

/// Failures after which a challenge is dead.
pub const TX_MAX_FAILURES: u8 = 5;

const TX_QUESTION_DOMAIN: &[u8] = b"sekimori-txq-v1";
const WEBAUTHN_DOMAIN: &[u8] = b"sekimori-webauthn-tx-v1";

/// A payment to be authorised.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Transaction {
    /// The payer's account id.
    pub account: String,
    /// Amount in minor units (cents).
    pub amount_minor: i64,
    /// ISO 4217 currency code, canonical (upper case).
    pub currency: String,
    /// Canonical payee string built by the caller, e.g. `bank:0001-123-4567890`.
    pub payee: String,
}

fn push_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&len_u32(s.len()).to_be_bytes());
    out.extend_from_slice(s.as_bytes());
}

impl Transaction {
    /// The canonical `sekimori-tx-v1` encoding (see the module docs).
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(
            TX_ENCODING_VERSION.len()
                + 1
                + 8
                + 12
                + self.account.len()
                + self.currency.len()
                + self.payee.len(),
        );
        out.extend_from_slice(TX_ENCODING_VERSION.as_bytes());
        out.push(0);
        push_str(&mut out, &self.account);
        out.extend_from_slice(&self.amount_minor.to_be_bytes());
        push_str(&mut out, &self.currency);
        push_str(&mut out, &self.payee);
        out
    }

    /// SHA-256 of [`canonical_bytes`](Self::canonical_bytes).
    pub fn digest(&self) -> [u8; 32] {
        Sha256::digest(self.canonical_bytes()).into()
    }
}

/// The OCRA question (64 hex digits, for `QH64`) for a transaction digest and challenge nonce.
pub fn tx_question(tx_digest: &[u8; 32], nonce: &[u8; 16]) -> String {
    let mut h = Sha256::new();
    h.update(TX_QUESTION_DOMAIN);
    h.update([0u8]);
    h.update(tx_digest);
    h.update(nonce);
    hex::encode(h.finalize())
}

/// The parsed [`TX_OCRA_SUITE`].
pub fn tx_suite() -> Result<OcraSuite, OcraError> {
    OcraSuite::parse(TX_OCRA_SUITE)
}

/// What the user's device computes: the 8-digit OCRA response for `tx` (as the device shows
/// it to the user) and the challenge `nonce`, under the device key. Used by tests, the
/// simulator, and any software token.
pub fn device_response(
    device_key: &[u8],
    tx: &Transaction,
    nonce: &[u8; 16],
) -> Result<String, OcraError> {
    let question = tx_question(&tx.digest(), nonce);
    ocra::compute(
        &tx_suite()?,
        device_key,
        &OcraInput {
            question: &question,
            ..OcraInput::default()
        },
    )
}

/// A WebAuthn challenge that commits to a transaction:
/// `SHA-256("sekimori-webauthn-tx-v1" || 0x00 || tx_digest || nonce)`.
pub fn webauthn_challenge_bytes(tx_digest: &[u8; 32], nonce: &[u8; 16]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(WEBAUTHN_DOMAIN);
    h.update([0u8]);
    h.update(tx_digest);
    h.update(nonce);
    h.finalize().into()
}

/// Serde helpers: fixed-size byte arrays as lower-case hex strings.
mod hex_array {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer, const N: usize>(
        bytes: &[u8; N],
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>, const N: usize>(
        d: D,
    ) -> Result<[u8; N], D::Error> {
        let text = String::deserialize(d)?;
        let bytes = hex::decode(&text).map_err(serde::de::Error::custom)?;
        bytes
            .try_into()
            .map_err(|_| serde::de::Error::custom(format!("expected {N} bytes of hex")))
    }
}

/// An open transaction challenge. Contains no secret: it can be shown to the client
/// (the device needs `nonce` and the transaction).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxChallenge {
    /// Random 16-byte nonce; its hex is the challenge id.
    #[serde(with = "hex_array")]
    pub nonce: [u8; 16],
    /// The challenged transaction's payer account (whose device key verifies it).
    pub account: String,
    /// SHA-256 of the challenged transaction's canonical encoding.
    #[serde(with = "hex_array")]
    pub tx_digest: [u8; 32],
    /// Event time of issue.
    pub issued_at_ms: i64,
    /// Event time from which the challenge is expired (`issued_at_ms + 5 min`).
    pub expires_at_ms: i64,
    /// Failed attempts so far.
    pub failures: u8,
    /// Whether a correct code was already accepted.
    pub used: bool,
    /// The server's wall-clock time at issue; from `issued_server_ms + 5 min`
    /// on the challenge is expired whatever the request's `at` says. Records
    /// written before it was kept read 0: expired.
    #[serde(default)]
    pub issued_server_ms: i64,
    /// Once found expired, expired for good.
    #[serde(default)]
    pub expired: bool,
    /// The event (id) whose `challenge` decision this transaction answers,
    /// when the caller named it at issue: a pass may vouch for that event
    /// only (the server checked at issue that its account, amount, currency
    /// and payee are this transaction's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub for_event: Option<String>,
}

impl TxChallenge {
    /// Issues a challenge for `tx` at `now` with a nonce from `rng`.
    pub fn issue(tx: &Transaction, now: impl Into<Now>, rng: &mut impl CryptoRng) -> TxChallenge {
        let now = now.into();
        let mut nonce = [0u8; 16];
        rng.fill_bytes(&mut nonce);
        TxChallenge {
            nonce,
            account: tx.account.clone(),
            tx_digest: tx.digest(),
            issued_at_ms: now.at_ms,
            expires_at_ms: now.at_ms.saturating_add(TX_CHALLENGE_TTL_MS),
            failures: 0,
            used: false,
            issued_server_ms: now.server_ms,
            expired: false,
            for_event: None,
        }
    }

    /// The challenge id: hex of the nonce (32 characters).
    pub fn id(&self) -> String {
        hex::encode(self.nonce)
    }

    /// The OCRA question the device signs, see [`tx_question`].
    pub fn question(&self) -> String {
        tx_question(&self.tx_digest, &self.nonce)
    }

    /// The challenge for WebAuthn, see [`webauthn_challenge_bytes`].
    pub fn webauthn_challenge(&self) -> [u8; 32] {
        webauthn_challenge_bytes(&self.tx_digest, &self.nonce)
    }

    /// Whether the challenge can no longer succeed at `now` (used, dead or expired).
    pub fn is_dead(&self, now: impl Into<Now>) -> bool {
        self.used
            || self.failures >= TX_MAX_FAILURES
            || self.expired
            || self.window(now.into()) == Err(TimeRefusal::Expired)
    }

    fn window(&self, now: Now) -> Result<(), TimeRefusal> {
        check_window(
            self.issued_at_ms,
            self.issued_server_ms,
            TX_CHALLENGE_TTL_MS,
            now,
        )
    }

    /// Verifies `code` for the `presented` transaction under the device key (see the module
    /// docs for the order of checks). Success marks the challenge used.
    pub fn verify(
        &mut self,
        device_key: &[u8],
        presented: &Transaction,
        code: &str,
        now: impl Into<Now>,
    ) -> Result<(), TxError> {
        if self.used {
            return Err(TxError::Used);
        }
        if self.failures >= TX_MAX_FAILURES {
            return Err(TxError::TooManyFailures);
        }
        if self.expired {
            return Err(TxError::Expired);
        }
        match self.window(now.into()) {
            Ok(()) => {}
            Err(TimeRefusal::BeforeIssue) => return Err(TxError::BeforeIssue),
            Err(TimeRefusal::Expired) => {
                self.expired = true;
                return Err(TxError::Expired);
            }
        }
        if !bool::from(presented.digest().ct_eq(&self.tx_digest)) {
            self.failures = self.failures.saturating_add(1);
            return Err(TxError::TransactionChanged);
        }
        let ok = device_response(device_key, presented, &self.nonce)
            .map(|expected| ct_eq_str(&expected, code))
            .unwrap_or(false);
        if !ok {
            self.failures = self.failures.saturating_add(1);
            return Err(TxError::WrongCode);
        }
        self.used = true;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tx() -> Transaction {
        Transaction {
            account: "alice".into(),
            amount_minor: 12_345,
            currency: "EUR".into(),
            payee: "bank:0001-123-4567890".into(),
        }
    }

    #[test]
    fn canonical_encoding_is_exact() {
        let mut expected = b"sekimori-tx-v1\0".to_vec();
        expected.extend_from_slice(&[0, 0, 0, 5]);
        expected.extend_from_slice(b"alice");
        expected.extend_from_slice(&12_345i64.to_be_bytes());
        expected.extend_from_slice(&[0, 0, 0, 3]);
        expected.extend_from_slice(b"EUR");
        expected.extend_from_slice(&[0, 0, 0, 21]);
        expected.extend_from_slice(b"bank:0001-123-4567890");
        assert_eq!(tx().canonical_bytes(), expected);
    }

    #[test]
    fn field_boundaries_are_unambiguous() {
        let a = Transaction {
            account: "ab".into(),
            currency: "C".into(),
            ..tx()
        };
        let b = Transaction {
            account: "a".into(),
            currency: "bC".into(),
            ..tx()
        };
        assert_ne!(a.digest(), b.digest());
        let c = Transaction {
            currency: "EU".into(),
            payee: "Rbank".into(),
            ..tx()
        };
        let d = Transaction {
            currency: "EUR".into(),
            payee: "bank".into(),
            ..tx()
        };
        assert_ne!(c.digest(), d.digest());
        let e = Transaction {
            amount_minor: -1,
            ..tx()
        };
        assert_ne!(e.digest(), tx().digest());
    }

    #[test]
    fn question_is_64_hex_and_binds_nonce() {
        let d = tx().digest();
        let q = tx_question(&d, &[0u8; 16]);
        assert_eq!(q.len(), 64);
        assert!(q.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(q, tx_question(&d, &[1u8; 16]));
        assert_ne!(
            webauthn_challenge_bytes(&d, &[0u8; 16]),
            webauthn_challenge_bytes(&d, &[1u8; 16])
        );
        // domain separation between the OCRA question and the WebAuthn challenge
        assert_ne!(hex::encode(webauthn_challenge_bytes(&d, &[0u8; 16])), q);
    }

    #[test]
    fn challenge_serde_uses_hex() {
        let c = TxChallenge {
            nonce: [0xab; 16],
            account: "alice".into(),
            tx_digest: [0x01; 32],
            issued_at_ms: 1,
            expires_at_ms: 300_001,
            failures: 2,
            used: false,
            issued_server_ms: 1,
            expired: false,
            for_event: Some("t-1".into()),
        };
        let json = serde_json::to_string(&c).expect("ser");
        assert!(json.contains(&"ab".repeat(16)));
        let back: TxChallenge = serde_json::from_str(&json).expect("de");
        assert_eq!(back, c);
        let bad = json.replace(&"ab".repeat(16), "abab");
        assert!(serde_json::from_str::<TxChallenge>(&bad).is_err());
    }
}
