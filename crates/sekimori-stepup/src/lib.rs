//! # sekimori-stepup
//!
//! Step-up authentication for sekimori: when the risk engine decides a login or a payment
//! needs more assurance, this crate issues and checks the second factor. It is a pure
//! library: no I/O, no threads, no wall clock, and no randomness of its own.
//!
//! ## Design
//!
//! **Time comes from events.** Every function that depends on time takes `now_ms`, the event
//! time in milliseconds since the Unix epoch (the `at_ms` of the sekimori event being decided).
//! Randomness comes from an injected `&mut impl rand::CryptoRng`. Replaying the same events
//! with the same RNG seed therefore reproduces every decision and the same
//! [`StepUpState`], which serializes deterministically (ordered maps).
//!
//! **Primitives.** HMAC-SHA-1/256/512 and SHA come from the RustCrypto crates (`hmac`,
//! `sha1`, `sha2`); TOTP from `totp-rs`; sealing from `chacha20poly1305`; constant-time
//! comparison from `subtle`. This crate only composes them:
//! * [`otp`]: HOTP (RFC 4226, via `hmac` + dynamic truncation) and TOTP (RFC 6238, via `totp-rs`).
//! * [`ocra`]: OCRA (RFC 6287): suite parsing and the data-input encoding (question formats
//!   QN/QA/QH, counter, PIN hash, session information, timestamp).
//!
//! **Sealing.** Seeds and device keys are stored only encrypted ([`SealedSecret`]), under a
//! [`Sealer`] built from a 32-byte master key that is not part of the state: ChaCha20-Poly1305
//! with a random 12-byte nonce and associated data naming the purpose and account
//! (`totp/<account>`, `ocra/<account>`), so a sealed seed moved to another account or purpose
//! does not open. Plaintext secrets are [`SecretBytes`] / [`OtpauthUri`]: zeroized on drop and
//! printed as `<redacted>` by `Debug`. A TOTP seed leaves the crate exactly once, in the
//! enrollment URI; an OCRA device key exactly once, from enrollment.
//!
//! **Replay rule (TOTP).** The verifier accepts the current 30-second step and one step either
//! side, compares codes in constant time, and remembers the last accepted step per enrollment:
//! a code whose step is at or before it is refused ([`TotpError::Replayed`]). A code is thus
//! usable once, and never after a newer one.
//!
//! **Dynamic linking (PSD2 RTS 2018/389 art. 5).** A payment is encoded canonically
//! ([`Transaction::canonical_bytes`], versioned `sekimori-tx-v1`, length-prefixed) and hashed.
//! A [`TxChallenge`] for it holds that digest and a random nonce; the user's device computes
//! OCRA `OCRA-1:HOTP-SHA256-8:QH64` over `Q = SHA-256(domain || digest || nonce)`
//! ([`device_response`]). The code is valid only for that account, amount, currency and payee,
//! only for that challenge, only once, only within 5 minutes, and only within 5 failures. A
//! WebAuthn ceremony can commit to the same transaction through [`webauthn_challenge_bytes`].
//!
//! ## Entry point
//!
//! [`StepUpState`] holds everything the HTTP layer needs: `enroll_totp`, `verify_totp`,
//! `enroll_ocra`, `issue_tx_challenge`, `verify_tx` and `expire`.
//!
//! ```
//! use rand::SeedableRng;
//! use sekimori_stepup::{device_response, Sealer, StepUpState, Transaction};
//!
//! let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
//! let sealer = Sealer::new(&[0x42; 32]);
//! let mut state = StepUpState::new();
//! let now = 1_700_000_000_000;
//!
//! let device_key = state.enroll_ocra(&sealer, "alice", now, &mut rng)?;
//! let tx = Transaction {
//!     account: "alice".into(),
//!     amount_minor: 25_000,
//!     currency: "EUR".into(),
//!     payee: "bank:0001-123-4567890".into(),
//! };
//! let challenge = state.issue_tx_challenge(&tx, now, &mut rng)?;
//! // on the device, which shows "250.00 EUR to bank:0001-123-4567890":
//! let code = device_response(device_key.expose(), &tx, &challenge.nonce)?;
//! state.verify_tx(&sealer, &challenge.id(), &tx, &code, now + 20_000)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod account;
pub mod code;
pub mod error;
pub mod ocra;
pub mod otp;
pub mod secret;
pub mod state;
pub mod time;
pub mod totp_throttle;
pub mod totp_uri;
pub mod totp_verifier;
pub mod txsign;

pub use account::{
    AccountRecord, Ceremony, CeremonyKind, Method, ProofRefusal, RecentPass, CEREMONY_TTL_MS,
    MAX_OPEN_CEREMONIES, MAX_PASSES, MAX_PASSKEYS, PASS_TTL_MS,
};
pub use code::{
    Channel, OtpHasher, OtpRefusal, PendingOtp, MAX_OPEN_OTPS, OTP_MAX_FAILURES, OTP_TTL_MS,
};
pub use time::{check_window, Now, TimeRefusal};

pub use error::{OcraError, OtpError, SealError, StepUpError, TotpError, TxError};
pub use ocra::{OcraInput, OcraSuite, QuestionFormat, TimeStep};
pub use otp::{hotp, totp, Algorithm};
pub use secret::{SealedSecret, Sealer, SecretBytes};
pub use state::{OcraDevice, StepUpState, MAX_OPEN_CHALLENGES_PER_ACCOUNT};
pub use totp_verifier::{
    client_key, seed_from_otpauth_uri, totp_backoff_ms, OtpauthUri, TotpClient, TotpEnrollment,
    TotpParams, TOTP_BACKOFF_MAX_MS, TOTP_LOCK_AFTER, TOTP_LOCK_MS, TOTP_MAX_CLIENTS,
    TOTP_MAX_FAILURES, TOTP_SEED_LEN, TOTP_WINDOW,
};
pub use txsign::{
    device_response, tx_question, webauthn_challenge_bytes, Transaction, TxChallenge,
    TX_CHALLENGE_TTL_MS, TX_DEVICE_KEY_LEN, TX_ENCODING_VERSION, TX_MAX_FAILURES, TX_OCRA_SUITE,
};
