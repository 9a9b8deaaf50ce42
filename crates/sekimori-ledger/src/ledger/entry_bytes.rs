//! An event's log entry written from borrowed parts: the bytes of
//! `Entry::Event { event, decision }.to_bytes()` without building the
//! entry (which would copy the event's JSON and the decision under the
//! ledger lock), around the event's canonical bytes as
//! [`Prepared`](sekimori_engine::Prepared) wrote them (no JSON value of the
//! event is built at all).

use sekimori_engine::Decision;
use std::ops::Range;

/// The log bytes of the event entry for the event whose canonical JSON is
/// `event` ([`Prepared::canonical_bytes`](sekimori_engine::Prepared::canonical_bytes))
/// decided as `decision`: `Entry`'s serde shape (internally tagged `entry`,
/// then the variant's fields in order), written around the event's bytes;
/// and where the decision's JSON lies in them (an empty range if the
/// decision did not serialize, and then no bytes either).
pub(super) fn event(event: &[u8], decision: &Decision) -> (Vec<u8>, Range<usize>) {
    const HEAD: &[u8] = br#"{"entry":"event","event":"#;
    const MID: &[u8] = br#","decision":"#;
    let mut out = Vec::with_capacity(HEAD.len() + event.len() + MID.len() + 1024);
    out.extend_from_slice(HEAD);
    out.extend_from_slice(event);
    out.extend_from_slice(MID);
    let start = out.len();
    if serde_json::to_writer(&mut out, decision).is_err() {
        // A decision always serializes (the owned entry's `to_bytes` gives
        // no bytes either way).
        return (Vec::new(), 0..0);
    }
    let end = out.len();
    out.push(b'}');
    (out, start..end)
}

#[cfg(test)]
mod tests {
    use sekimori_engine::{Decision, Engine, Entry, Prepared};
    use serde::Serialize;
    use serde_json::{json, Value as Json};
    use std::sync::Arc;

    /// What the ledger wrote before the event's bytes were written straight
    /// from the typed event: the entry's shape around the event's value.
    #[derive(Serialize)]
    #[serde(tag = "entry", rename_all = "snake_case")]
    enum EntryRef<'a> {
        Event {
            event: &'a Json,
            decision: &'a Decision,
        },
    }

    fn events() -> Vec<sekimori_event::Event> {
        let mut out = Vec::new();
        for i in 0..30 {
            let login = json!({
                "id": format!("e{i}"), "type": "login.attempt",
                "at": format!("2026-06-24T00:{:02}:00Z", i),
                "service": "bank", "account": "acct-1",
                "factor": "pin", "result": if i % 3 == 0 { "success" } else { "failure" },
                "actor": {"ip": format!("203.0.113.{}", i % 5), "device": "d1"},
            });
            let transfer = json!({
                "id": format!("t{i}"), "type": "transfer",
                "at": format!("2026-06-24T01:{:02}:00.250+09:00", i),
                "service": "bank", "account": "acct-1", "customer": "c\"1",
                "amount_minor": 1_000_000 * i64::from(i), "currency": "JPY",
                "destination": {"kind": "bank", "bank_code": "0009", "branch": "456",
                                "number": "7654321", "holder_name": "ﾔﾏﾀﾞ ﾀﾛｳ"},
                "actor": {"ip": "2001:db8::7", "account": "acct-1", "asn": 64500},
                "attrs": {"z": [1.25, {"b": null}], "a": "\u{2028}"},
            });
            for doc in [login, transfer] {
                out.push(sekimori_event::decode_value(doc).expect("valid event"));
            }
        }
        out
    }

    /// The bytes are exactly those of the owned entry and of what the
    /// ledger wrote before (the event's JSON value around it), for real
    /// decisions (reasons, features, holds' absence, a challenge's
    /// methods), so a log written either way reads and replays the same.
    #[test]
    fn borrowed_bytes_equal_the_entrys_own() {
        let pack = sekimori_rules::compile(
            sekimori_rules::embedded::default_pack().expect("embedded pack"),
        )
        .expect("compiles");
        let mut engine = Engine::new(Arc::new(pack));
        for event in events() {
            let prepared = Prepared::new(event);
            let decision = engine.decide_prepared(&prepared);
            let owned = Entry::Event {
                event: prepared.canonical().clone(),
                decision: decision.clone(),
            }
            .to_bytes();
            let (bytes, at) = super::event(prepared.canonical_bytes(), &decision);
            assert_eq!(bytes[at], *serde_json::to_vec(&decision).expect("json"));
            assert_eq!(bytes, owned);
            let before = serde_json::to_vec(&EntryRef::Event {
                event: prepared.canonical(),
                decision: &decision,
            })
            .expect("serializes");
            assert_eq!(bytes, before);
            assert_eq!(
                Entry::from_bytes(&bytes).ok(),
                Some(Entry::Event {
                    event: prepared.canonical().clone(),
                    decision,
                })
            );
        }
    }
}
