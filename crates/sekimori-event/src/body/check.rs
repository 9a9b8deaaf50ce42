//! Field checks beyond the JSON types: lengths, formats, ranges.

use super::*;
use crate::error::DecodeError;

/// Semantic validation of a decoded body; errors name the field path.
pub(crate) trait Validate {
    fn validate(&self) -> Result<(), DecodeError>;
}

pub(crate) fn bad(path: &str, message: impl Into<String>) -> DecodeError {
    DecodeError::new("invalid_value", path, message)
}

/// An identifier or short label: 1..=max chars, no control characters, no edge spaces.
pub(crate) fn text(path: &str, s: &str, max: usize) -> Result<(), DecodeError> {
    let len = s.chars().count();
    if len == 0 || len > max {
        return Err(bad(path, format!("must be 1 to {max} characters")));
    }
    if s.chars().any(char::is_control) || s.trim() != s {
        return Err(bad(
            path,
            "must not contain control characters or edge spaces",
        ));
    }
    Ok(())
}

fn opt_text(path: &str, s: &Option<String>, max: usize) -> Result<(), DecodeError> {
    s.as_deref().map_or(Ok(()), |v| text(path, v, max))
}

fn digits(path: &str, s: &str, n: usize) -> Result<(), DecodeError> {
    if s.len() == n && s.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(bad(path, format!("must be exactly {n} digits")))
    }
}

/// `<key_id>:<64 lowercase hex>`.
fn fingerprint(path: &str, s: &str) -> Result<(), DecodeError> {
    let ok = s.split_once(':').is_some_and(|(key, mac)| {
        (1..=32).contains(&key.len())
            && key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            && mac.len() == 64
            && mac.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    });
    if ok {
        Ok(())
    } else {
        Err(bad(
            path,
            "must be `<key_id>:<64 lowercase hex>` (HMAC-SHA256, see docs/events.md)",
        ))
    }
}

fn date(path: &str, s: &str) -> Result<(), DecodeError> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(s, &format)
        .map(|_| ())
        .map_err(|_| bad(path, "must be a calendar date YYYY-MM-DD"))
}

impl Validate for BankAccount {
    fn validate(&self) -> Result<(), DecodeError> {
        bank_fields(
            &self.bank_code,
            &self.branch,
            &self.number,
            &self.holder_name,
        )
    }
}

fn bank_fields(
    code: &str,
    branch: &str,
    number: &str,
    holder: &Option<String>,
) -> Result<(), DecodeError> {
    digits("bank_code", code, 4)?;
    digits("branch", branch, 3)?;
    digits("number", number, 7)?;
    opt_text("holder_name", holder, 128)
}

impl Validate for Destination {
    fn validate(&self) -> Result<(), DecodeError> {
        match self {
            Destination::Bank {
                bank_code,
                branch,
                number,
                holder_name,
            } => bank_fields(bank_code, branch, number, holder_name),
            Destination::Crypto { address, network } => {
                text("address", address, 128)?;
                opt_text("network", network, 32)
            }
            Destination::Atm { atm_id } => opt_text("atm_id", atm_id, 64),
            Destination::Account { account } => text("account", account, 128),
        }
    }
}

impl Validate for Body {
    fn validate(&self) -> Result<(), DecodeError> {
        // A login's account is a claim, kept canonical by the decoder, never
        // refused (see `claimed.rs`); every other account is the service's own.
        match (self, self.account()) {
            (Body::LoginAttempt(_), _) | (_, None) => {}
            (_, Some(account)) => text("account", account, 128)?,
        }
        match self {
            Body::LoginAttempt(b) => login(b),
            Body::MfaChallenge(b) => {
                text("challenge_id", &b.challenge_id, 128)?;
                opt_text("for_event", &b.for_event, 128)
            }
            Body::MfaResult(b) => {
                text("challenge_id", &b.challenge_id, 128)?;
                opt_text("for_event", &b.for_event, 128)
            }
            Body::AccountOpen(b) => {
                opt_text("holder_name", &b.holder_name, 128)?;
                opt_text("email_domain", &b.email_domain, 253)?;
                b.birth_date
                    .as_deref()
                    .map_or(Ok(()), |d| date("birth_date", d))
            }
            Body::CredentialChange(_) => Ok(()),
            Body::ReportNotMe(b) => {
                opt_text("disputed_event_id", &b.disputed_event_id, 128)?;
                match &b.note {
                    Some(n) if n.chars().count() > 1024 => {
                        Err(bad("note", "at most 1024 characters"))
                    }
                    _ => Ok(()),
                }
            }
            Body::DeviceBind(b) => text("device", &b.device, 128),
            Body::LinkBank(b) if b.verified.len() > 10 => Err(bad("verified", "at most 10 items")),
            Body::LinkBank(b) => {
                opt_text("holder_name", &b.holder_name, 128)?;
                b.bank.validate().map_err(|e| e.under("bank"))
            }
            Body::PayeeAdd(b) => {
                opt_text("payee_id", &b.payee_id, 128)?;
                b.destination.validate().map_err(|e| e.under("destination"))
            }
            Body::Charge(b) => {
                money::check(b.amount_minor, &b.currency)?;
                balances(&[
                    ("balance_before_minor", b.balance_before_minor),
                    ("source_balance_before_minor", b.source_balance_before_minor),
                ])?;
                b.source.validate().map_err(|e| e.under("source"))
            }
            Body::Transfer(b) => {
                money::check(b.amount_minor, &b.currency)?;
                balances(&[
                    ("balance_before_minor", b.balance_before_minor),
                    (
                        "destination_balance_before_minor",
                        b.destination_balance_before_minor,
                    ),
                ])?;
                opt_text("payee_id", &b.payee_id, 128)?;
                b.destination.validate().map_err(|e| e.under("destination"))
            }
            Body::Purchase(b) => purchase(b),
            Body::Withdrawal(b) => {
                money::check(b.amount_minor, &b.currency)?;
                balances(&[
                    ("balance_before_minor", b.balance_before_minor),
                    (
                        "destination_balance_before_minor",
                        b.destination_balance_before_minor,
                    ),
                ])?;
                b.destination.validate().map_err(|e| e.under("destination"))
            }
            Body::WalletOutflow(b) => outflow(b),
            Body::WithdrawalRequest(b) => {
                text("request_id", &b.request_id, 128)?;
                money::check(b.amount_minor, &b.currency)?;
                balances(&[("balance_before_minor", b.balance_before_minor)])?;
                b.destination.validate().map_err(|e| e.under("destination"))
            }
            Body::WithdrawalApproval(b) => {
                text("request_id", &b.request_id, 128)?;
                text("approver", &b.approver, 128)
            }
        }
    }
}

/// A password or PIN attempt without `secret_fp` is "secret unknown" (an
/// sshd log, an IdP that reports only the outcome): every feature that does
/// not need the secret still counts it.
fn login(b: &LoginAttempt) -> Result<(), DecodeError> {
    b.secret_fp
        .as_deref()
        .map_or(Ok(()), |fp| fingerprint("secret_fp", fp))
}

fn purchase(b: &Purchase) -> Result<(), DecodeError> {
    money::check(b.amount_minor, &b.currency)?;
    balances(&[("balance_before_minor", b.balance_before_minor)])?;
    text("merchant", &b.merchant, 128)?;
    opt_text("store", &b.store, 128)?;
    opt_text("sku", &b.sku, 128)?;
    opt_text("category", &b.category, 64)
}

fn outflow(b: &WalletOutflow) -> Result<(), DecodeError> {
    text("wallet", &b.wallet, 128)?;
    money::check(b.amount_minor, &b.currency)?;
    text("address", &b.address, 128)?;
    opt_text("request_id", &b.request_id, 128)?;
    opt_text("account", &b.account, 128)?;
    opt_text("tx_hash", &b.tx_hash, 128)?;
    balances(&[
        ("hot_balance_minor", b.hot_balance_minor),
        ("cold_balance_minor", b.cold_balance_minor),
    ])
}

/// Balances are minor units of the event's currency, never negative (an
/// overdrawn account reports 0; an amount above the balance is a credit
/// line and is not refused).
fn balances(fields: &[(&str, Option<i64>)]) -> Result<(), DecodeError> {
    match fields.iter().find(|(_, v)| v.is_some_and(|v| v < 0)) {
        Some((field, _)) => Err(bad(field, "must not be negative")),
        None => Ok(()),
    }
}
