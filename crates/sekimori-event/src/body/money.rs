//! Money: an integer count of minor units and a currency or asset code.

use crate::error::DecodeError;

/// `amount_minor` must be >= 0 (direction is the event type's business) and the
/// code 2 to 12 upper-case letters or digits (`JPY`, `BTC`, `XEM`, `USDT`).
pub(crate) fn check(amount_minor: i64, currency: &str) -> Result<(), DecodeError> {
    if amount_minor < 0 {
        return Err(super::check::bad("amount_minor", "must not be negative"));
    }
    let ok = (2..=12).contains(&currency.len())
        && currency
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(super::check::bad(
            "currency",
            "must be 2 to 12 upper-case letters or digits",
        ))
    }
}
