//! `/v1/stepup/*`: enroll, challenge, verify and remove step-up methods.
//! Every verification ends with an `mfa.result` event, every enrollment
//! change with a `credential.change` event, that the server ingests itself.
//! The rules are `sekimori-stepup`'s; the I/O is [`crate::stepup`]'s.

pub mod answers;
pub(crate) mod challenge;
mod change;
pub(crate) mod enroll;
pub(crate) mod enrollments;
pub(crate) mod verify;

pub use challenge::{auth_start, otp_send, tx_challenge};
pub use enroll::{ocra_enroll, register_finish, register_start, totp_enroll};
pub use enrollments::{remove_enrollment, reset_enrollment};
pub use verify::verify;

use super::{parse_quiet, read_body, Auth, MAX_STEPUP_BODY_BYTES};
use crate::app::App;
use crate::error::ApiError;
use crate::stepup::transaction;
use axum::body::Body;
use rand::RngCore;
use sekimori_stepup::Now;
use serde::Deserialize;

/// An identifier or label: 1..=max characters, no control characters, no edge spaces.
fn text(path: &str, s: &str, max: usize) -> Result<(), ApiError> {
    let len = s.chars().count();
    if len == 0 || len > max {
        return Err(
            ApiError::new("invalid_value", format!("must be 1 to {max} characters")).at(path),
        );
    }
    if s.chars().any(char::is_control) || s.trim() != s {
        return Err(ApiError::new(
            "invalid_value",
            "must not contain control characters or edge spaces",
        )
        .at(path));
    }
    Ok(())
}

/// A request's `actor`: an object (the event vocabulary's actor), checked
/// by the event decoder once it is in the event; anything else is refused
/// here (the decoder would read an array as the struct's fields in order).
fn actor_object(actor: serde_json::Value) -> Result<serde_json::Value, ApiError> {
    if actor.is_object() {
        Ok(actor)
    } else {
        Err(ApiError::new("invalid_type", "expected an object").at("actor"))
    }
}

fn random_hex(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut b);
    hex::encode(b)
}

fn new_event_id() -> String {
    format!("stepup-{}", random_hex(16))
}

async fn body<T: serde::de::DeserializeOwned>(body: Body) -> Result<T, ApiError> {
    parse_quiet(&read_body(body, MAX_STEPUP_BODY_BYTES).await?)
}

/// Checks a request's `service`: the event vocabulary's form, and one the key speaks for.
fn check_service<S>(auth: &Auth<S>, service: &str) -> Result<(), ApiError> {
    let ok = (1..=64).contains(&service.len())
        && service.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
        });
    if !ok {
        return Err(ApiError::new(
            "invalid_value",
            "must be 1 to 64 of a-z, 0-9, `.`, `_`, `-`",
        )
        .at("service"));
    }
    auth.permit_service(service, "service")
}

/// A payment as the request names it; the payer is the request's account.
/// Bound into the challenge: any change refuses the code.
#[derive(Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = Transaction)]
pub struct TxBody {
    /// Minor units (yen, cents); not negative.
    #[schema(minimum = 0)]
    amount_minor: i64,
    #[schema(value_type = crate::routes::openapi::Currency)]
    currency: String,
    /// The canonical payee, e.g. `bank:0001-123-4567890`, `crypto:<address>`.
    #[schema(value_type = crate::routes::openapi::Text256)]
    payee: String,
}

impl TxBody {
    fn check(&self, path: &str) -> Result<(), ApiError> {
        if self.amount_minor < 0 {
            return Err(ApiError::new("invalid_value", "must not be negative")
                .at(format!("{path}.amount_minor")));
        }
        let c = &self.currency;
        if !((2..=12).contains(&c.len())
            && c.bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()))
        {
            return Err(ApiError::new(
                "invalid_value",
                "must be 2 to 12 upper-case letters or digits",
            )
            .at(format!("{path}.currency")));
        }
        text(&format!("{path}.payee"), &self.payee, 256)
    }

    fn for_account(&self, account: &str) -> sekimori_stepup::Transaction {
        transaction(account, self.amount_minor, &self.currency, &self.payee)
    }

    fn answer(&self) -> answers::TxAnswer {
        answers::TxAnswer {
            amount_minor: self.amount_minor,
            currency: self.currency.clone(),
            payee: self.payee.clone(),
        }
    }
}

/// Checks `account` and `at`; returns the request's time (its `at` and the server clock).
fn account_at(app: &App, account: &str, at: &str) -> Result<Now, ApiError> {
    text("account", account, 128)?;
    let at = app.check_at(at)?;
    Ok(app.stepup.now(at))
}

/// Runs a step-up handler on its own task, so a client that disconnects
/// cannot cancel it between consuming a challenge and making that durable
/// (the account lock would be released with the write still in flight).
async fn detached<T: Send + 'static>(
    work: impl std::future::Future<Output = Result<T, ApiError>> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::spawn(work).await.map_err(ApiError::internal)?
}

fn too_many_challenges() -> ApiError {
    ApiError::new(
        "too_many_challenges",
        "the account has too many open challenges; finish or let them expire (5 minutes)",
    )
    .at("account")
}
