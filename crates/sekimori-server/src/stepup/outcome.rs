//! How a verification ended: the outcome and reason code of each method's
//! refusals.

use super::otp::{Channel, OtpRefusal};
use crate::error::ApiError;
use sekimori_event::MfaOutcome;
use sekimori_stepup::{Method, StepUpError, TxError};

/// How a verification ended: the `mfa.result` outcome and the reason code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub result: MfaOutcome,
    pub reason: Option<&'static str>,
}

impl Outcome {
    pub fn success() -> Outcome {
        Outcome {
            result: MfaOutcome::Success,
            reason: None,
        }
    }

    pub fn failure(reason: &'static str) -> Outcome {
        let result = if reason == "expired" {
            MfaOutcome::Expired
        } else {
            MfaOutcome::Failure
        };
        Outcome {
            result,
            reason: Some(reason),
        }
    }
}
/// The library's method of an event method (`push` has no verifier).
pub fn method_of(m: sekimori_event::MfaMethod) -> Option<Method> {
    use sekimori_event::MfaMethod as M;
    Some(match m {
        M::Totp => Method::Totp,
        M::Txsign => Method::Txsign,
        M::Webauthn => Method::Webauthn,
        M::Sms => Method::Sms,
        M::Email => Method::Email,
        M::Push => return None,
    })
}

/// Maps a TOTP verification error to a reason code, or a server error.
pub fn totp_reason(e: StepUpError) -> Result<Outcome, ApiError> {
    use sekimori_stepup::TotpError as T;
    match e {
        StepUpError::NotEnrolled => Ok(Outcome::failure("not_enrolled")),
        StepUpError::Totp(T::WrongCode | T::MalformedCode) => Ok(Outcome::failure("wrong_code")),
        StepUpError::Totp(T::Replayed) => Ok(Outcome::failure("replayed")),
        StepUpError::Totp(T::Throttled) => Ok(Outcome::failure("too_many_failures")),
        StepUpError::Totp(T::Locked) => Ok(Outcome::failure("locked")),
        StepUpError::Totp(T::ClockSkew) => Ok(Outcome::failure("clock_skew")),
        other => Err(sealed_failure(other)),
    }
}

/// Maps a transaction-signing verification error to a reason code.
pub fn tx_reason(e: StepUpError) -> Result<Outcome, ApiError> {
    match e {
        StepUpError::NotEnrolled => Ok(Outcome::failure("not_enrolled")),
        StepUpError::UnknownChallenge => Ok(Outcome::failure("unknown_challenge")),
        StepUpError::Tx(t) => Ok(Outcome::failure(match t {
            TxError::TransactionChanged => "tx_changed",
            TxError::Expired => "expired",
            TxError::Used => "used",
            TxError::BeforeIssue => "before_issue",
            TxError::TooManyFailures => "too_many_failures",
            TxError::WrongCode => "wrong_code",
        })),
        other => Err(sealed_failure(other)),
    }
}

/// Maps a WebAuthn finish error to a reason code.
pub fn webauthn_reason(e: sekimori_webauthn::Error) -> Result<Outcome, ApiError> {
    use sekimori_webauthn::Error as E;
    match e {
        E::TransactionMismatch { .. } => Ok(Outcome::failure("tx_changed")),
        E::CounterNotIncreased { .. } => Ok(Outcome::failure("replayed")),
        E::UnknownCredential => Ok(Outcome::failure("unknown_credential")),
        E::NoCredentials => Ok(Outcome::failure("not_enrolled")),
        E::Webauthn(_) => Ok(Outcome::failure("invalid_assertion")),
        E::Config(c) => Err(ApiError::internal(c)),
    }
}

/// Maps an SMS / e-mail code refusal to a reason code.
pub fn otp_reason(r: OtpRefusal) -> Outcome {
    Outcome::failure(match r {
        OtpRefusal::Used => "used",
        OtpRefusal::TooManyFailures => "too_many_failures",
        OtpRefusal::Expired => "expired",
        OtpRefusal::BeforeIssue => "before_issue",
        OtpRefusal::WrongCode => "wrong_code",
    })
}

/// A secret that does not open under the master key: the key was replaced.
fn sealed_failure(e: StepUpError) -> ApiError {
    tracing::error!(error = %e, "a sealed step-up secret does not open: was the step-up key replaced?");
    ApiError::new(
        "internal",
        "a stored step-up secret does not open under this server's step-up key",
    )
}

/// Whether a method counts as strong (see `MfaMethod::is_strong`).
pub fn channel_method(c: Channel) -> sekimori_event::MfaMethod {
    match c {
        Channel::Sms => sekimori_event::MfaMethod::Sms,
        Channel::Email => sekimori_event::MfaMethod::Email,
    }
}
