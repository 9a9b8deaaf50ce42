//! Error types. Each layer has its own enum; [`StepUpError`] wraps them for the
//! [`StepUpState`](crate::StepUpState) facade the HTTP layer calls.

use thiserror::Error;

/// Errors of the HOTP/TOTP primitives.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum OtpError {
    /// The number of digits is outside the supported range (6..=8 for HOTP/TOTP).
    #[error("unsupported number of digits: {0}")]
    InvalidDigits(u8),
    /// The time step is zero.
    #[error("time step must be positive")]
    InvalidStep,
    /// The key was refused by HMAC or the MAC was too short to truncate.
    #[error("invalid key")]
    InvalidKey,
    /// A time before the Unix epoch, or a step counter that overflows.
    #[error("time out of range")]
    TimeOutOfRange,
}

/// Errors of sealing (encrypting at rest) and opening secrets.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SealError {
    /// The sealed blob does not authenticate under this master key and binding
    /// (wrong key, tampered ciphertext, or a blob moved to another account).
    #[error("sealed secret failed to authenticate")]
    OpenFailed,
    /// The stored nonce or ciphertext is not valid hex or has the wrong length.
    #[error("malformed sealed secret")]
    Malformed,
    /// Encryption failed (only possible for absurdly large plaintexts).
    #[error("sealing failed")]
    SealFailed,
}

/// Errors of OCRA suite parsing and response computation.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum OcraError {
    /// The suite string does not follow RFC 6287 §6.
    #[error("invalid OCRA suite {suite:?}: {reason}")]
    InvalidSuite {
        /// The offending suite string.
        suite: String,
        /// What was wrong with it.
        reason: &'static str,
    },
    /// The suite needs a counter (`C`) and none was given, or one was given and the suite has none.
    #[error("counter presence does not match the suite")]
    CounterMismatch,
    /// The question has characters outside its format (QN digits, QH hex, QA printable ASCII),
    /// is empty, or encodes to more than 128 bytes.
    #[error("invalid question: {0}")]
    InvalidQuestion(&'static str),
    /// The PIN hash is missing, unexpected, or has the wrong length for the suite's `P` hash.
    #[error("PIN hash does not match the suite")]
    PinMismatch,
    /// Session information is missing, unexpected, or longer than the suite's `S` length.
    #[error("session information does not match the suite")]
    SessionMismatch,
    /// The timestamp is missing or unexpected for the suite.
    #[error("timestamp presence does not match the suite")]
    TimestampMismatch,
    /// An underlying HMAC/time error.
    #[error(transparent)]
    Otp(#[from] OtpError),
}

/// Why a TOTP code was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TotpError {
    /// The code is not the right number of decimal digits.
    #[error("malformed code")]
    MalformedCode,
    /// The code matches none of the accepted steps (current ±1).
    #[error("wrong code")]
    WrongCode,
    /// The code is valid for a step at or before the last accepted one: a replay.
    #[error("code already used")]
    Replayed,
    /// Too many failures in a row (of this client, or of the account from a
    /// client that never passed): refused, unchecked, until the back-off ends.
    #[error("too many failed codes; try again later")]
    Throttled,
    /// [`TOTP_LOCK_AFTER`](crate::TOTP_LOCK_AFTER) consecutive failures: every
    /// code is refused until the enrollment is reset.
    #[error("too many failed codes; the enrollment is locked until reset")]
    Locked,
    /// The request's `at` is further from the server clock than the TOTP
    /// window allows.
    #[error("request time too far from the server clock")]
    ClockSkew,
    /// The seed could not be unsealed.
    #[error(transparent)]
    Seal(#[from] SealError),
    /// An underlying OTP/time error.
    #[error(transparent)]
    Otp(#[from] OtpError),
}

/// Why a transaction-signing code was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TxError {
    /// The challenge is past its expiry (5 minutes after issue).
    #[error("challenge expired")]
    Expired,
    /// The challenge was already answered successfully (single use).
    #[error("challenge already used")]
    Used,
    /// The request's `at` is earlier than the challenge's issue `at`.
    #[error("request time before the challenge was issued")]
    BeforeIssue,
    /// The challenge has seen the maximum number of failures and is dead.
    #[error("too many failed attempts")]
    TooManyFailures,
    /// The presented transaction is not the one that was challenged (counts as a failure).
    #[error("transaction changed since the challenge was issued")]
    TransactionChanged,
    /// The code is wrong for this challenge and transaction (counts as a failure).
    #[error("wrong code")]
    WrongCode,
}

/// Errors of the [`StepUpState`](crate::StepUpState) facade.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum StepUpError {
    /// The account has no enrollment of the needed kind.
    #[error("account not enrolled")]
    NotEnrolled,
    /// The account already has an enrollment of this kind (remove it explicitly first).
    #[error("account already enrolled")]
    AlreadyEnrolled,
    /// The account id or issuer is empty or contains a character refused in an otpauth label (`:`).
    #[error("invalid account or issuer label")]
    InvalidLabel,
    /// No open challenge has this id (never issued, or pruned by `expire`).
    #[error("unknown challenge")]
    UnknownChallenge,
    /// The account already has the maximum number of open challenges.
    #[error("too many open challenges for this account")]
    TooManyOpenChallenges,
    /// The RNG produced an already-used challenge id several times in a row (a broken RNG).
    #[error("could not draw a fresh challenge id")]
    IdCollision,
    /// A TOTP verification failure.
    #[error(transparent)]
    Totp(#[from] TotpError),
    /// A transaction-signing verification failure.
    #[error(transparent)]
    Tx(#[from] TxError),
    /// A sealing failure.
    #[error(transparent)]
    Seal(#[from] SealError),
    /// An OCRA failure.
    #[error(transparent)]
    Ocra(#[from] OcraError),
    /// An OTP/time failure.
    #[error(transparent)]
    Otp(#[from] OtpError),
}
