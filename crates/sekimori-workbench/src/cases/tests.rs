//! The case index's bounds: one open case cannot grow it, a held event is
//! never lost in a full case, and a full index makes room for a held case.

use super::search::TERMS_PER_CASE;
use super::{Index, MAX_CASE_EVENTS};
use crate::acts::Act;
use sekimori_engine::{Decision, Entry};
use serde_json::{json, Value as Json};

pub(super) fn decision(id: &str, action: &str) -> Decision {
    serde_json::from_value(json!({
        "event_id": id, "event_type": "transfer", "at": "2026-12-05T10:00:00Z",
        "action": action, "score": 10,
        "reasons": [{"rule": "r", "action": action, "score": 10, "reason": "x"}],
        "features": {}, "pack": {"name": "p", "version": "1"}
    }))
    .expect("decision")
}

/// A transfer of `account` from `device`, decided `action`.
pub(super) fn transfer(index: &mut Index, seq: u64, account: &str, device: &str, action: &str) {
    let id = format!("ev-{seq}");
    let event: Json = json!({
        "id": id, "type": "transfer", "service": "bank", "account": account,
        "at": "2026-12-05T10:00:00Z", "amount_minor": 1000, "currency": "JPY",
        "actor": {"device": device, "ip": "203.0.113.7"}
    });
    index.apply(
        seq,
        &Entry::Event {
            event,
            decision: decision(&id, action),
        },
    );
}

pub(super) fn act(index: &mut Index, seq: u64, act: Act) {
    index.apply(
        seq,
        &Entry::Analyst {
            by: "aiko".into(),
            at: "2026-12-05T11:00:00Z".into(),
            act: serde_json::to_value(act).expect("act"),
            why: "checked".into(),
        },
    );
}

#[test]
fn one_open_case_keeps_the_index_bounded() {
    let mut index = Index::default();
    // An account on a frozen or denied path retrying with fresh event ids
    // and devices: 100k denies join its one open case.
    for seq in 1..=100_000u64 {
        transfer(&mut index, seq, "acct-1", &format!("dev-{seq}"), "deny");
    }
    assert_eq!(index.len(), 1);
    let case = index.cases().next().expect("case");
    assert_eq!(case.events.len(), MAX_CASE_EVENTS);
    assert_eq!(case.more_events, 100_000 - MAX_CASE_EVENTS as u64);
    assert_eq!(
        index.event_id_count(),
        MAX_CASE_EVENTS,
        "one id per kept event"
    );
    // account + address + the first 62 devices.
    assert_eq!(index.term_count(), TERMS_PER_CASE);
    assert_eq!(case.terms.len(), TERMS_PER_CASE);
    // Only the kept events' terms were tried: account, address and a device
    // each, the first 62 devices indexed, the rest counted.
    assert_eq!(
        index.terms_dropped,
        (MAX_CASE_EVENTS - (TERMS_PER_CASE - 2)) as u64
    );
    // What is indexed is still found; what is not is not.
    assert_eq!(index.search("dev-1", Some("device"), 10).len(), 1);
    assert_eq!(index.search("ev-1000", Some("event"), 10).len(), 1);
    assert!(index.search("ev-1001", Some("event"), 10).is_empty());
    assert!(index.search("dev-5000", Some("device"), 10).is_empty());
}

#[test]
fn a_held_event_is_kept_in_a_full_case_and_counted_until_decided() {
    let mut index = Index::default();
    let mut seq = 0;
    for _ in 0..MAX_CASE_EVENTS {
        seq += 1;
        transfer(&mut index, seq, "acct-1", "dev-1", "deny");
    }
    let id = index.cases().next().expect("case").id;
    assert_eq!(index.undecided_held(id), 0);
    seq += 1;
    transfer(&mut index, seq, "acct-1", "dev-1", "review");
    let held = format!("ev-{seq}");
    let case = index.case(id).expect("case");
    assert_eq!(case.events.len(), MAX_CASE_EVENTS);
    assert!(case
        .events
        .iter()
        .any(|e| e.event_id == held && e.is_held()));
    assert!(
        !case.events.iter().any(|e| e.event_id == "ev-1"),
        "the oldest deny made room"
    );
    assert_eq!(case.more_events, 1);
    assert_eq!(index.case_of_event("bank", &held), Some(id));
    assert_eq!(index.case_of_event("bank", "ev-1"), None);
    assert_eq!(index.event_id_count(), MAX_CASE_EVENTS);
    assert_eq!(index.undecided_held(id), 1);
    // Held events replace every deny; past that, one more is counted as
    // held and not kept: the case still cannot close.
    for _ in 0..MAX_CASE_EVENTS {
        seq += 1;
        transfer(&mut index, seq, "acct-1", "dev-1", "review");
    }
    let case = index.case(id).expect("case");
    assert!(case.events.iter().all(|e| e.is_held()));
    assert_eq!(case.undecided_held(), MAX_CASE_EVENTS as u64);
    assert_eq!(index.undecided_held(id), MAX_CASE_EVENTS as u64 + 1);
    // Deciding the kept ones leaves the one not kept: still not closable.
    let kept: Vec<String> = case.events.iter().map(|e| e.event_id.clone()).collect();
    for event_id in kept {
        seq += 1;
        act(
            &mut index,
            seq,
            Act::Decline {
                case: id,
                service: "bank".into(),
                event_id,
                role: None,
            },
        );
    }
    assert_eq!(index.case(id).expect("case").undecided_held(), 0);
    assert_eq!(index.undecided_held(id), 1);
}

#[test]
fn a_full_index_evicts_an_open_deny_case_for_a_held_one_then_refuses() {
    // Cap 2, reserve 1.
    let mut index = Index::with_cap(2);
    transfer(&mut index, 1, "a", "d", "deny");
    transfer(&mut index, 2, "b", "d", "deny");
    transfer(&mut index, 3, "c", "d", "review");
    assert_eq!(index.len(), 3, "the reserve");
    // A plain deny is refused, never evicting.
    transfer(&mut index, 4, "x", "d", "deny");
    assert_eq!((index.len(), index.overflow, index.evicted), (3, 1, 0));
    // A held one takes the oldest open deny case's place.
    transfer(&mut index, 5, "e", "d", "review");
    assert_eq!((index.len(), index.evicted), (3, 1));
    assert!(index.case(1).is_none());
    assert!(index.case(5).is_some());
    assert!(index.search("a", Some("account"), 10).is_empty());
    assert_eq!(index.case_of_event("bank", "ev-1"), None);
    // A deny case an analyst must act on since is not evicted: case 2
    // gets a held event.
    transfer(&mut index, 6, "b", "d", "review");
    transfer(&mut index, 7, "f", "d", "review");
    assert!(index.case(2).is_some(), "a case with a held event stays");
    assert!(index.case(7).is_none(), "nothing evictable: refused");
    assert_eq!((index.len(), index.overflow, index.evicted), (3, 2, 1));
    // Account a opens afresh (its evicted case is no longer its open one).
    act(
        &mut index,
        8,
        Act::Close {
            case: 3,
            disposition: crate::acts::Disposition::FalsePositive,
        },
    );
    transfer(&mut index, 9, "a", "d", "review");
    assert!(index.case(9).is_some());
    assert!(index.case(3).is_none(), "the closed case went first");
}

/// An allowed login of `account` from its own device and address.
fn login(index: &mut Index, seq: u64, account: &str, action: &str) {
    let id = format!("ev-{seq}");
    let event: Json = json!({
        "id": id, "type": "login.attempt", "service": "bank", "account": account,
        "at": "2026-12-05T10:00:00Z", "factor": "password", "result": "success",
        "actor": {"device": format!("dev-{account}"), "ip": format!("10.{}.{}.{}", seq >> 16 & 255, seq >> 8 & 255, seq & 255)}
    });
    let mut d = decision(&id, action);
    d.event_type = "login.attempt".into();
    index.apply(seq, &Entry::Event { event, decision: d });
}

#[test]
fn minted_accounts_cannot_grow_the_timelines_and_links_without_bound() {
    const MAX: usize = 1_000;
    let mut index = Index::default().with_max_accounts(MAX);
    // A case for the victim, whose account then stays warm.
    login(&mut index, 1, "victim", "deny");
    let case = index.cases().next().expect("a case").clone();
    assert!(case.entity_is_account && !index.history_evicted(&case));
    // An attacker mints 200,000 accounts, one login each, each with its
    // own device and address; the victim signs in every 500 events.
    let mut seq = 1;
    for i in 0..200_000u64 {
        seq += 1;
        login(&mut index, seq, &format!("mint-{i}"), "allow");
        if i % 500 == 0 {
            seq += 1;
            login(&mut index, seq, "victim", "allow");
        }
        let (accounts, max, _) = index.account_stats();
        assert!(accounts <= MAX && max == MAX);
    }
    let (accounts, _, evicted) = index.account_stats();
    assert_eq!(accounts, MAX);
    assert_eq!(evicted, 200_001 - MAX as u64);
    // Two links per minted account (device, address); the victim's 32.
    assert_eq!(index.link_count(), 2 * (MAX - 1) + super::MAX_LINKS);
    // The coldest went first: the warm victim kept its whole timeline.
    let victim = index.history("bank", "victim");
    assert_eq!(
        (victim.since, victim.seqs.len(), victim.dropped),
        (
            Some(1),
            super::TIMELINE_EVENTS,
            401 - super::TIMELINE_EVENTS as u64
        )
    );
    assert!(!index.history_evicted(&case));
    assert!(index.history("bank", "mint-0").since.is_none());
    assert!(index.history("bank", "mint-199999").since.is_some());

    // The victim goes cold; the attacker's flood evicts it, and the case
    // page says its history was evicted; back again, it starts anew.
    for i in 0..(2 * MAX as u64) {
        seq += 1;
        login(&mut index, seq, &format!("late-{i}"), "allow");
    }
    assert!(index.history("bank", "victim").since.is_none());
    assert!(index.history_evicted(&case));
    assert!(index.linked("bank", "victim", 10).is_empty());
    seq += 1;
    login(&mut index, seq, "victim", "allow");
    assert_eq!(index.history("bank", "victim").since, Some(seq));
    assert!(index.history_evicted(&case), "older than the new entry");
}

#[test]
fn the_same_log_evicts_the_same_accounts() {
    let build = || {
        let mut index = Index::default().with_max_accounts(50);
        for seq in 1..=2_000u64 {
            login(&mut index, seq, &format!("a-{}", seq * 7919 % 300), "allow");
        }
        let kept: Vec<u64> = (0..300)
            .flat_map(|a| index.history("bank", &format!("a-{a}")).seqs)
            .collect();
        (kept, index.account_stats())
    };
    assert_eq!(build(), build());
}

fn label(index: &mut Index, seq: u64, event_id: &str) {
    index.apply(
        seq,
        &Entry::Label {
            service: "bank".into(),
            event_id: event_id.into(),
            label: "chargeback".into(),
            by: "key:bank".into(),
            at: "2026-12-06T00:00:00Z".into(),
            note: String::new(),
        },
    );
}

#[test]
fn labels_are_kept_for_the_events_of_cases_only() {
    let mut index = Index::with_cap(2);
    transfer(&mut index, 1, "acct-1", "dev-1", "deny");
    // A service labelling a million of its allowed events grows nothing.
    for seq in 2..=10_001u64 {
        login(&mut index, seq, &format!("a-{seq}"), "allow");
        label(&mut index, seq + 20_000, &format!("ev-{seq}"));
    }
    label(&mut index, 40_000, "ev-1");
    assert_eq!(index.label_count(), 1);
    assert_eq!(index.labels("bank", "ev-1").len(), 1);
    // Closing and evicting the case drops its labels with its events.
    let id = index.cases().next().map(|c| c.id).expect("a case");
    act(
        &mut index,
        40_001,
        Act::Close {
            case: id,
            disposition: crate::acts::Disposition::ConfirmedFraud,
        },
    );
    transfer(&mut index, 40_002, "acct-2", "dev-2", "deny");
    transfer(&mut index, 40_003, "acct-3", "dev-3", "deny");
    assert!(index.case(id).is_none(), "the closed case went first");
    assert_eq!(index.label_count(), 0);
}
