//! Errors of the passkey ceremonies.

use crate::TxDigest;
use webauthn_rs::prelude::WebauthnError;

/// Why a ceremony could not be started or was rejected.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The relying party configuration is invalid (bad origin URL, rp_id that is not an
    /// effective domain of the origin, ...).
    #[error("invalid relying party configuration: {0}")]
    Config(String),
    /// webauthn-rs refused the ceremony: bad signature, wrong origin, wrong challenge,
    /// wrong rp_id hash, credential not allowed, user verification missing, a counter
    /// that did not increase (possible clone or replay), malformed response, ...
    #[error("webauthn verification failed: {0}")]
    Webauthn(#[from] WebauthnError),
    /// The transaction presented at finish is not the one the ceremony was started for
    /// (or one side has a transaction and the other has none). Checked before any
    /// signature work.
    #[error("transaction binding mismatch: ceremony bound to {bound}, presented {presented}")]
    TransactionMismatch {
        /// The digest bound into the state at start (hex, or `none`).
        bound: String,
        /// The digest presented at finish (hex, or `none`).
        presented: String,
    },
    /// The authenticator's signature counter did not increase over the value stored with
    /// the passkey: a replayed assertion (a state that was not deleted) or a cloned
    /// authenticator.
    #[error("signature counter did not increase (stored {stored}, presented {presented})")]
    CounterNotIncreased {
        /// The counter stored with the passkey.
        stored: u32,
        /// The counter in the assertion.
        presented: u32,
    },
    /// start_auth was given no passkeys: the account has nothing to step up with.
    #[error("the account has no registered passkey")]
    NoCredentials,
    /// The assertion verified but names a credential that is not among the passkeys the
    /// ceremony was started with (should not happen: webauthn-rs checks allowCredentials).
    #[error("the asserted credential is not one of the ceremony's passkeys")]
    UnknownCredential,
}

impl Error {
    /// True when the error is a rejection of what the client presented (the HTTP layer
    /// answers 401/403), false when it is a server-side configuration problem.
    pub fn is_rejection(&self) -> bool {
        !matches!(self, Error::Config(_))
    }

    pub(crate) fn tx_mismatch(bound: Option<&TxDigest>, presented: Option<&TxDigest>) -> Self {
        let show = |d: Option<&TxDigest>| d.map_or_else(|| "none".to_owned(), hex::encode);
        Error::TransactionMismatch {
            bound: show(bound),
            presented: show(presented),
        }
    }
}

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
