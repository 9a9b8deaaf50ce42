//! What the simulated services' integrations send: the whole event in the
//! dense world, and in the sparse world what a thin integration has (the
//! address and the user agent, amounts in US dollars, no device ids, no ASN,
//! no country, no device binding). Balances go on money events only when the
//! vocabulary accepts them (`balance_before_minor`, issue 13), checked once by
//! decoding a probe, so the simulator builds on either side of that change.

use serde::Serialize;
use serde_json::{json, Value as Json};
use std::sync::LazyLock;

/// Which world: the seed incidents' rich Japanese services, or a second world
/// of thin integrations.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WorldKind {
    /// Device ids, ASNs, countries, a week of history (medium), yen.
    #[default]
    Dense,
    /// No device ids, no ASN, no country, one day of history, US dollars.
    Sparse,
}

impl WorldKind {
    pub fn parse(s: &str) -> Option<WorldKind> {
        match s {
            "dense" => Some(WorldKind::Dense),
            "sparse" => Some(WorldKind::Sparse),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            WorldKind::Dense => "dense",
            WorldKind::Sparse => "sparse",
        }
    }
}

/// Yen per US dollar: the same illustrative rate as the default pack's
/// `money.rates` (an operator's table), so a converted threshold and a
/// converted amount line up. Scores stay in yen at this rate.
pub const JPY_PER_USD: i64 = 150;

/// Yen to US cents, rounded down.
pub fn jpy_to_cents(jpy: i64) -> i64 {
    jpy * 100 / JPY_PER_USD
}

/// US cents to yen, rounded down.
pub fn cents_to_jpy(cents: i64) -> i64 {
    cents * JPY_PER_USD / 100
}

/// Whether the event vocabulary takes a money event's balance before the
/// movement (issue 13's `balance_before_minor`).
pub static BALANCES: LazyLock<bool> = LazyLock::new(|| {
    let probe = json!({"id": "probe", "type": "transfer", "at": "2026-06-24T00:00:00Z",
        "service": "netbank", "account": "a", "amount_minor": 1, "currency": "JPY",
        "destination": {"kind": "account", "account": "b"}, "balance_before_minor": 1});
    sekimori_event::decode_value(probe).is_ok()
});

/// Sets the debited account's balance before the movement, in the event's
/// own minor units, if the vocabulary has the field (a service knows it).
pub fn balance(event: &mut Json, before_minor: i64) {
    if *BALANCES {
        event["balance_before_minor"] = json!(before_minor.max(0));
    }
}

const MONEY_FIELDS: &[&str] = &[
    "amount_minor",
    "balance_before_minor",
    "destination_balance_before_minor",
    "source_balance_before_minor",
];

/// Rewrites an event as the sparse world's integration sends it; `None` for
/// an event that integration never sends (it has no device binding).
pub fn sparse(mut event: Json) -> Option<Json> {
    if event["type"] == "device.bind" {
        return None;
    }
    if let Some(actor) = event.get_mut("actor").and_then(Json::as_object_mut) {
        for k in ["device", "asn", "country"] {
            actor.remove(k);
        }
    }
    if event["currency"] == "JPY" {
        event["currency"] = json!("USD");
        for k in MONEY_FIELDS {
            if let Some(v) = event[*k].as_i64() {
                event[*k] = json!(jpy_to_cents(v));
            }
        }
    }
    Some(event)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sparse_integration_strips_devices_and_converts_yen() {
        let e = json!({"type": "transfer", "actor": {"ip": "10.0.0.1", "device": "dev-1", "asn": 1, "country": "JP"},
            "amount_minor": 150_000, "currency": "JPY", "balance_before_minor": 300});
        let s = sparse(e).expect("sent");
        assert_eq!(s["actor"], json!({"ip": "10.0.0.1"}));
        assert_eq!(s["currency"], "USD");
        assert_eq!(s["amount_minor"], 100_000);
        assert_eq!(s["balance_before_minor"], 200);
        assert!(sparse(json!({"type": "device.bind"})).is_none());
        let btc = sparse(json!({"type": "withdrawal", "amount_minor": 7, "currency": "BTC"}))
            .expect("sent");
        assert_eq!(btc["amount_minor"], 7, "crypto amounts stay as they are");
        assert_eq!(cents_to_jpy(jpy_to_cents(224_850)), 224_850);
    }
}
