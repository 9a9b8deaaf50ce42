//! [`Event::canonical_json`] is byte for byte `to_vec(&to_json())`, for every
//! event type with every optional field present and absent, and for
//! generated events (text with escapes and any script, extreme numbers,
//! nested `attrs`).

use crate::*;
use proptest::prelude::*;
use serde_json::{json, Map, Value};
use std::net::IpAddr;

fn via_value(e: &Event) -> Vec<u8> {
    serde_json::to_vec(&e.to_json()).expect("a value serializes")
}

fn assert_same(e: &Event) {
    let want = via_value(e);
    let got = e.canonical_json();
    assert_eq!(
        String::from_utf8_lossy(&got),
        String::from_utf8_lossy(&want),
        "{e:?}"
    );
    assert_eq!(got, want);
}

fn bank_dest(holder: Option<String>) -> Destination {
    Destination::Bank {
        bank_code: "0009".into(),
        branch: "456".into(),
        number: "7654321".into(),
        holder_name: holder,
    }
}

/// One body of each type: with every optional field when `full`, else
/// with none.
pub(crate) fn bodies(full: bool, text: &str, n: i64) -> Vec<Body> {
    let o = |v: &str| full.then(|| v.to_string());
    let on = |v: i64| full.then_some(v);
    let t = text.to_string();
    let dests = [
        bank_dest(o(text)),
        Destination::Crypto {
            address: t.clone(),
            network: o("eth"),
        },
        Destination::Atm { atm_id: o(text) },
        Destination::Account { account: t.clone() },
    ];
    let mut out = vec![
        Body::LoginAttempt(LoginAttempt {
            account: t.clone(),
            factor: Factor::Pin,
            secret_fp: o(text),
            secret_common: full.then_some(n % 2 == 0),
            result: Outcome::Failure,
            failure_reason: full.then_some(FailureReason::BadSecret),
        }),
        Body::MfaChallenge(MfaChallenge {
            account: t.clone(),
            method: MfaMethod::Txsign,
            challenge_id: t.clone(),
            for_event: o(text),
        }),
        Body::MfaResult(MfaResult {
            account: t.clone(),
            method: MfaMethod::Webauthn,
            challenge_id: "c".into(),
            result: MfaOutcome::Expired,
            for_event: o(text),
        }),
        Body::AccountOpen(AccountOpen {
            account: t.clone(),
            kyc: Kyc::Ekyc,
            holder_name: o(text),
            birth_date: o("1990-01-02"),
            email_domain: o(text),
        }),
        Body::CredentialChange(CredentialChange {
            account: t.clone(),
            credential: Credential::OtpSeed,
            channel: Channel::CallCenter,
            result: full.then_some(Outcome::Success),
        }),
        Body::DeviceBind(DeviceBind {
            account: t.clone(),
            device: t.clone(),
            verified_by: Verification::Webauthn,
        }),
        Body::LinkBank(LinkBank {
            account: t.clone(),
            bank: BankAccount {
                bank_code: "0001".into(),
                branch: "001".into(),
                number: "0000001".into(),
                holder_name: o(text),
            },
            verified: if full {
                vec![Verification::Pin, Verification::Ekyc]
            } else {
                Vec::new()
            },
            holder_name: o(text),
            result: full.then_some(Outcome::Failure),
        }),
        Body::Purchase(Purchase {
            account: t.clone(),
            amount_minor: n,
            currency: "JPY".into(),
            merchant: t.clone(),
            store: o(text),
            sku: o(text),
            category: o(text),
            balance_before_minor: on(n),
        }),
        Body::WalletOutflow(WalletOutflow {
            wallet: t.clone(),
            stage: OutflowStage::OnChain,
            amount_minor: n,
            currency: "XEM".into(),
            address: t.clone(),
            request_id: o(text),
            account: o(text),
            tx_hash: o(text),
            hot_balance_minor: on(n),
            cold_balance_minor: on(i64::MAX),
        }),
        Body::WithdrawalApproval(WithdrawalApproval {
            request_id: t.clone(),
            approver: t.clone(),
            vote: Vote::Reject,
        }),
        Body::ReportNotMe(ReportNotMe {
            account: t.clone(),
            disputed_event_id: o(text),
            note: o(text),
        }),
    ];
    for d in dests {
        out.extend([
            Body::PayeeAdd(PayeeAdd {
                account: t.clone(),
                payee_id: o(text),
                destination: d.clone(),
            }),
            Body::Charge(Charge {
                account: t.clone(),
                amount_minor: n,
                currency: "JPY".into(),
                source: d.clone(),
                balance_before_minor: on(n),
                source_balance_before_minor: on(-n),
            }),
            Body::Transfer(Transfer {
                account: t.clone(),
                amount_minor: n,
                currency: "USD".into(),
                destination: d.clone(),
                payee_id: o(text),
                balance_before_minor: on(0),
                destination_balance_before_minor: on(n),
            }),
            Body::Withdrawal(Withdrawal {
                account: t.clone(),
                amount_minor: n,
                currency: "BTC".into(),
                destination: d.clone(),
                balance_before_minor: on(n),
                destination_balance_before_minor: on(n),
            }),
            Body::WithdrawalRequest(WithdrawalRequest {
                request_id: t.clone(),
                account: t.clone(),
                amount_minor: n,
                currency: "JPY".into(),
                destination: d,
                balance_before_minor: on(n),
            }),
        ]);
    }
    out
}

pub(crate) fn kind_of(b: &Body) -> EventKind {
    // The wire name of the body's type, through the envelope's parse.
    let name = match b {
        Body::LoginAttempt(_) => "login.attempt",
        Body::MfaChallenge(_) => "mfa.challenge",
        Body::MfaResult(_) => "mfa.result",
        Body::AccountOpen(_) => "account.open",
        Body::CredentialChange(_) => "credential.change",
        Body::DeviceBind(_) => "device.bind",
        Body::LinkBank(_) => "link.bank",
        Body::PayeeAdd(_) => "payee.add",
        Body::Charge(_) => "charge",
        Body::Transfer(_) => "transfer",
        Body::Purchase(_) => "purchase",
        Body::Withdrawal(_) => "withdrawal",
        Body::WalletOutflow(_) => "wallet.outflow",
        Body::WithdrawalRequest(_) => "withdrawal.request",
        Body::WithdrawalApproval(_) => "withdrawal.approval",
        Body::ReportNotMe(_) => "report.not_me",
    };
    EventKind::parse(name).expect("a known type")
}

pub(crate) fn event(
    body: Body,
    actor: Actor,
    attrs: Map<String, Value>,
    text: &str,
    at_ms: i64,
) -> Event {
    Event {
        id: text.to_string(),
        kind: kind_of(&body),
        at_ms,
        service: "svc".into(),
        customer: (!text.is_empty()).then(|| text.to_string()),
        actor,
        body,
        attrs,
    }
}

pub(crate) fn full_actor(text: &str) -> Actor {
    Actor {
        account: Some(text.into()),
        ip: Some("2001:db8::1".parse().expect("ip")),
        device: Some(text.into()),
        user_agent: Some(text.into()),
        session: Some(text.into()),
        country: Some("JP".into()),
        asn: Some(u32::MAX),
    }
}

/// Every type, every optional field present and absent, every destination
/// kind; `attrs` and `actor` full and empty.
#[test]
fn every_type_writes_as_its_value() {
    let attrs = match json!({"z": 1, "a": {"y": [1.5, -0.0, null, "\u{1}"], "b": true}, "é": -7}) {
        Value::Object(m) => m,
        _ => unreachable!(),
    };
    let mut kinds = std::collections::BTreeSet::new();
    for full in [true, false] {
        for body in bodies(full, "a\"b\\c\u{7}\u{2028}é日本", -42) {
            kinds.insert(kind_of(&body));
            for (actor, attrs) in [
                (full_actor("d"), attrs.clone()),
                (Actor::default(), Map::new()),
            ] {
                assert_same(&event(body.clone(), actor, attrs, "e-1", 1_764_000_000_123));
            }
        }
    }
    assert_eq!(kinds.len(), 16, "every event type");
}

pub(crate) fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9_.:-]{0,12}",
        "\\PC{0,16}",
        any::<String>(),
        Just("\"\\/\u{0}\u{1f}\u{7f}\u{2028}\u{2029}\u{feff}".to_string()),
    ]
}

pub(crate) fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        // A fraction under `attrs` is kept as sent: the writer must print
        // it as the value does.
        (any::<i32>(), 1u32..1_000_000).prop_map(|(a, b)| {
            let text = format!("{a}.{b}");
            serde_json::from_str(&text).unwrap_or(Value::Null)
        }),
        text().prop_map(Value::String),
    ]
}

pub(crate) fn attrs() -> impl Strategy<Value = Map<String, Value>> {
    let value = json_leaf().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map(text(), inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    });
    proptest::collection::btree_map(text(), value, 0..5).prop_map(|m| m.into_iter().collect())
}

pub(crate) fn actor() -> impl Strategy<Value = Actor> {
    let ip = prop_oneof![
        any::<[u8; 4]>().prop_map(IpAddr::from),
        any::<[u8; 16]>().prop_map(IpAddr::from),
    ];
    (
        proptest::option::of(text()),
        proptest::option::of(ip),
        proptest::option::of(text()),
        proptest::option::of(text()),
        proptest::option::of(text()),
        proptest::option::of("[A-Z]{2}"),
        proptest::option::of(any::<u32>()),
    )
        .prop_map(
            |(account, ip, device, user_agent, session, country, asn)| Actor {
                account,
                ip,
                device,
                user_agent,
                session,
                country,
                asn,
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Generated events of every type: the bytes are the value's.
    #[test]
    fn generated_events_write_as_their_value(
        full in any::<bool>(),
        t in text(),
        n in any::<i64>(),
        at_ms in MIN_AT_MS..=MAX_AT_MS,
        actor in actor(),
        attrs in attrs(),
        pick in any::<prop::sample::Index>(),
    ) {
        let all = bodies(full, &t, n);
        let body = all[pick.index(all.len())].clone();
        let e = event(body, actor, attrs, &t, at_ms);
        prop_assert_eq!(e.canonical_json(), via_value(&e));
    }
}
