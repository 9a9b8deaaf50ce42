//! The answers of the step-up routes, as typed structs.

use crate::routes::answers::DecisionDoc;
use sekimori_engine::Decision;
use serde::Serialize;
use utoipa::ToSchema;

/// A payment as a step-up answer repeats it.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct TxAnswer {
    pub amount_minor: i64,
    pub currency: String,
    pub payee: String,
}

/// A TOTP or transaction-signing enrollment. The secret (`otpauth_uri`,
/// or `device_key_hex` and `suite`) is answered once, and only when the
/// engine allowed the change (`enrolled: true`).
#[derive(Debug, Serialize, ToSchema)]
pub struct Enrolled {
    pub account: String,
    /// `totp` or `txsign`.
    #[schema(pattern = "^(totp|txsign)$")]
    pub method: &'static str,
    /// TOTP: the provisioning URI (show it as a QR code).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub otpauth_uri: Option<String>,
    /// Transaction signing: the device's 32-byte key, in hex.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[0-9a-f]{64}$")]
    pub device_key_hex: Option<String>,
    /// Transaction signing: the OCRA suite (`OCRA-1:HOTP-SHA256-8:QH64`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suite: Option<&'static str>,
    pub enrolled: bool,
    /// The `credential.change` event logged for it.
    pub event_id: String,
    #[schema(value_type = DecisionDoc)]
    pub decision: Decision,
    pub durable: bool,
}

/// A transaction challenge: the device recomputes `question` from what it
/// shows and answers the OCRA response over it.
#[derive(Debug, Serialize, ToSchema)]
pub struct TxChallenge {
    #[schema(pattern = "^[0-9a-f]{32}$")]
    pub challenge_id: String,
    /// SHA-256 of the transaction and the challenge nonce, hex.
    #[schema(pattern = "^[0-9a-f]{64}$")]
    pub question: String,
    pub suite: &'static str,
    pub expires_at: String,
    pub transaction: TxAnswer,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub for_event: Option<String>,
}

/// A passkey ceremony: pass `options` to `navigator.credentials.create()`
/// (registration) or `.get()` (assertion).
#[derive(Debug, Serialize, ToSchema)]
pub struct Ceremony {
    pub ceremony_id: String,
    /// WebAuthn options (`publicKey`), as the browser API takes them.
    #[schema(value_type = Object)]
    pub options: serde_json::Value,
    pub expires_at: String,
    /// Assertion bound to a transaction: the transaction.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transaction: Option<TxAnswer>,
}

/// A passkey registration's outcome.
#[derive(Debug, Serialize, ToSchema)]
pub struct Registered {
    pub account: String,
    pub event_id: String,
    #[schema(value_type = DecisionDoc)]
    pub decision: Decision,
    pub durable: bool,
    pub registered: bool,
    /// How many passkeys the account has now.
    pub passkeys: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential_id: Option<String>,
}

/// An SMS / e-mail code request's outcome: `sent: false` when the engine
/// refused it or did not decide in time (no code was made).
#[derive(Debug, Serialize, ToSchema)]
pub struct OtpSent {
    pub sent: bool,
    pub challenge_id: String,
    /// `sms` or `email`.
    #[schema(pattern = "^(sms|email)$")]
    pub channel: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// The `mfa.challenge` event logged for it.
    pub event_id: String,
    #[schema(value_type = DecisionDoc)]
    pub decision: Decision,
    pub durable: bool,
}

/// A verification's outcome: a failure is an answer, not an error.
#[derive(Debug, Serialize, ToSchema)]
pub struct Verified {
    /// `success` or `failure`.
    #[schema(pattern = "^(success|failure)$")]
    pub result: &'static str,
    /// Why it failed (docs/api.md, Verify).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, pattern = "^(wrong_code|replayed|tx_changed|expired|before_issue|clock_skew|wrong_event|used|too_many_failures|unknown_challenge|unknown_credential|invalid_assertion)$")]
    pub reason_code: Option<&'static str>,
    #[schema(value_type = crate::routes::openapi::MfaMethodSchema)]
    pub method: sekimori_event::MfaMethod,
    /// A strong method (TOTP, transaction signing, passkey).
    pub strong: bool,
    pub challenge_id: String,
    /// The `mfa.result` event logged for it: the `proof_event` of an
    /// enrollment change.
    pub event_id: String,
    #[schema(value_type = DecisionDoc)]
    pub decision: Decision,
    pub durable: bool,
}

/// A holder's removal of an enrollment.
#[derive(Debug, Serialize, ToSchema)]
pub struct Removed {
    /// False when the engine did not allow the change (the enrollment stays).
    pub removed: bool,
    pub account: String,
    pub method: &'static str,
    pub event_id: String,
    #[schema(value_type = DecisionDoc)]
    pub decision: Decision,
    pub durable: bool,
}

/// One `credential.change` an operator's reset logged.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChangeLogged {
    pub event_id: String,
    #[schema(value_type = DecisionDoc)]
    pub decision: Decision,
    pub durable: bool,
}

/// An operator's reset.
#[derive(Debug, Serialize, ToSchema)]
pub struct Reset {
    pub account: String,
    /// Whether there was a TOTP throttle or lock to clear.
    pub throttle_reset: bool,
    /// The enrollments removed.
    pub removed: Vec<&'static str>,
    pub events: Vec<ChangeLogged>,
}
