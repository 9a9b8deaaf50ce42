//! Balances on money events: optional, integer minor units, never negative,
//! kept in the canonical form, refused with the field's path.

use sekimori_event::{decode_value, Body};
use serde_json::{json, Value};

fn event(kind: &str, body: Value) -> Value {
    let mut v = json!({"id": "b-1", "type": kind, "at": "2026-12-01T00:00:00Z",
                       "service": "wallet", "account": "w-1", "amount_minor": 1000, "currency": "JPY"});
    for (k, x) in body.as_object().expect("object") {
        v[k] = x.clone();
    }
    v
}

fn bank() -> Value {
    json!({"kind": "bank", "bank_code": "0005", "branch": "123", "number": "1234567"})
}

fn cases() -> Vec<(&'static str, Value, &'static [&'static str])> {
    vec![
        (
            "transfer",
            json!({"destination": bank()}),
            &["balance_before_minor", "destination_balance_before_minor"],
        ),
        (
            "withdrawal",
            json!({"destination": {"kind": "atm"}}),
            &["balance_before_minor", "destination_balance_before_minor"],
        ),
        (
            "charge",
            json!({"source": bank()}),
            &["balance_before_minor", "source_balance_before_minor"],
        ),
        (
            "purchase",
            json!({"merchant": "m-1"}),
            &["balance_before_minor"],
        ),
        (
            "withdrawal.request",
            json!({"request_id": "r-1", "destination": bank()}),
            &["balance_before_minor"],
        ),
    ]
}

#[test]
fn balances_are_optional_and_kept() {
    for (kind, body, fields) in cases() {
        let bare =
            decode_value(event(kind, body.clone())).unwrap_or_else(|e| panic!("{kind}: {e}"));
        for f in fields.iter() {
            assert!(
                bare.to_json().get(f).is_none(),
                "{kind}: {f} absent stays absent"
            );
        }
        let mut full = body.clone();
        for (i, f) in fields.iter().enumerate() {
            full[*f] = json!(5000 + i as i64);
        }
        let e = decode_value(event(kind, full)).unwrap_or_else(|e| panic!("{kind}: {e}"));
        for (i, f) in fields.iter().enumerate() {
            assert_eq!(e.to_json()[*f], json!(5000 + i as i64), "{kind}: {f}");
        }
        let again = decode_value(e.to_json()).expect("canonical decodes");
        assert_eq!(again, e);
    }
}

#[test]
fn a_zero_balance_and_an_amount_above_the_balance_are_accepted() {
    // An emptied account reports 0; a credit line lets the amount exceed it.
    let e = decode_value(event(
        "transfer",
        json!({"destination": bank(), "balance_before_minor": 0, "amount_minor": 999_999}),
    ))
    .expect("valid");
    match e.body {
        Body::Transfer(t) => assert_eq!(t.balance_before_minor, Some(0)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn negative_or_fractional_balances_are_refused_with_the_path() {
    for (kind, body, fields) in cases() {
        for f in fields.iter() {
            let mut b = body.clone();
            b[*f] = json!(-1);
            let err = decode_value(event(kind, b)).expect_err("negative");
            assert_eq!(
                (err.code, err.path.as_str()),
                ("invalid_value", *f),
                "{kind}"
            );
            let mut b = body.clone();
            b[*f] = json!(10.5);
            let err = decode_value(event(kind, b)).expect_err("fraction");
            assert_eq!(
                (err.code, err.path.as_str()),
                ("invalid_type", *f),
                "{kind}"
            );
        }
    }
}

#[test]
fn a_balance_on_a_type_without_one_is_an_unknown_field() {
    let v = json!({"id": "b-2", "type": "payee.add", "at": "2026-12-01T00:00:00Z",
                   "service": "wallet", "account": "w-1", "destination": bank(),
                   "balance_before_minor": 5});
    let err = decode_value(v).expect_err("unknown field");
    assert_eq!(err.path, "balance_before_minor");
}
