//! An event's log entry written from borrowed parts: the bytes of
//! `Entry::Event { event, decision }.to_bytes()` without building the
//! entry (which would copy the event's JSON and the decision under the
//! ledger lock).

use sekimori_engine::Decision;
use serde::Serialize;
use serde_json::Value as Json;

/// The same serde shape as `sekimori_engine::Entry` (internally tagged
/// `entry`, snake case), for the one variant, by reference.
#[derive(Serialize)]
#[serde(tag = "entry", rename_all = "snake_case")]
enum EntryRef<'a> {
    Event {
        event: &'a Json,
        decision: &'a Decision,
    },
}

/// The log bytes of the event entry for `event` decided as `decision`.
pub(super) fn event(event: &Json, decision: &Decision) -> Vec<u8> {
    serde_json::to_vec(&EntryRef::Event { event, decision }).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use sekimori_engine::{Engine, Entry};
    use serde_json::json;
    use std::sync::Arc;

    /// The bytes are exactly those of the owned entry, for real decisions
    /// (reasons, features, holds' absence, a challenge's methods), so a log
    /// written either way reads and replays the same.
    #[test]
    fn borrowed_bytes_equal_the_entrys_own() {
        let pack = sekimori_rules::compile(
            sekimori_rules::embedded::default_pack().expect("embedded pack"),
        )
        .expect("compiles");
        let mut engine = Engine::new(Arc::new(pack));
        for i in 0..30 {
            let event = sekimori_event::decode_value(json!({
                "id": format!("e{i}"), "type": "login.attempt",
                "at": format!("2026-06-24T00:{:02}:00Z", i),
                "service": "bank", "account": "acct-1",
                "factor": "pin", "result": if i % 3 == 0 { "success" } else { "failure" },
                "actor": {"ip": format!("203.0.113.{}", i % 5), "device": "d1"},
            }))
            .expect("valid event");
            let prepared = sekimori_engine::Prepared::new(event);
            let decision = engine.decide_prepared(&prepared);
            let owned = Entry::Event {
                event: prepared.canonical().clone(),
                decision: decision.clone(),
            }
            .to_bytes();
            assert_eq!(super::event(prepared.canonical(), &decision), owned);
            assert_eq!(
                Entry::from_bytes(&owned).ok(),
                Some(Entry::Event {
                    event: prepared.canonical().clone(),
                    decision,
                })
            );
        }
    }
}
