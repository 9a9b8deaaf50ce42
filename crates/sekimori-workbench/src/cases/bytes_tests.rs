//! The byte budget: a flood of big accounts (long ids, a new long device
//! and address on every event) stays within it, the running count equals
//! a recount, and labels stay within their share.

use super::super::tests::{act, decision, transfer};
use super::{IndexBytes, LABELS_SHARE, MIN_INDEX_BYTES};
use crate::acts::{Act, Disposition};
use crate::cases::{Index, DEFAULT_MAX_ACCOUNTS, TIMELINE_EVENTS};
use sekimori_engine::Entry;
use serde_json::json;

/// A login of `account` from a device and an address never seen before,
/// both `pad` long.
fn big_login(index: &mut Index, seq: u64, account: &str, pad: &str) {
    let id = format!("ev-{seq}");
    let event = json!({
        "id": id, "type": "login.attempt", "service": "bank", "account": account,
        "at": "2026-12-05T10:00:00Z", "factor": "password", "result": "success",
        "actor": {"device": format!("{pad}-{seq}"), "ip": format!("{pad}-ip-{seq}")}
    });
    index.apply(
        seq,
        &Entry::Event {
            event,
            decision: decision(&id, "allow"),
        },
    );
}

/// 200 accounts with 200-character ids, 250 logins each, each login from
/// a new 200-character device and address: every account fills its
/// timeline (200 seqs) and its 32 links.
fn flood(index: &mut Index, mut check: impl FnMut(&Index, u64)) {
    let pad = "x".repeat(200);
    let mut seq = 0;
    for a in 0..200 {
        let account = format!("{pad}-{a}");
        for _ in 0..250 {
            seq += 1;
            big_login(index, seq, &account, &pad);
            check(index, seq);
        }
    }
}

#[test]
fn a_flood_of_big_accounts_stays_within_the_byte_budget() {
    const BUDGET: usize = 2 << 20;
    let mut index = Index::default().with_max_bytes(BUDGET);
    let mut most = 0;
    flood(&mut index, |index, seq| {
        let IndexBytes {
            accounts,
            labels,
            max,
        } = index.index_bytes();
        assert_eq!(max, BUDGET);
        assert!(
            accounts + labels <= BUDGET,
            "{accounts} + {labels} at {seq}"
        );
        most = most.max(accounts);
        if seq % 997 == 0 {
            assert_eq!(accounts, index.accounts.recount(), "running count at {seq}");
        }
    });
    let (kept, bound, evicted) = index.account_stats();
    assert_eq!(bound, DEFAULT_MAX_ACCOUNTS);
    assert!(
        kept > 10 && kept < 200,
        "the bytes bound it, not the count: {kept}"
    );
    assert_eq!(evicted, 200 - kept as u64);
    assert!(most > BUDGET * 3 / 4, "the budget was used: {most}");
    // The coldest went: the latest account keeps its whole timeline.
    let pad = "x".repeat(200);
    let last = index.history("bank", &format!("{pad}-199"));
    assert_eq!(last.seqs.len(), TIMELINE_EVENTS);
    assert!(index.history("bank", &format!("{pad}-0")).since.is_none());
    assert_eq!(index.index_bytes().accounts, index.accounts.recount());

    // The same flood without the budget: the count alone lets it grow.
    let mut unbounded = Index::default().with_max_bytes(usize::MAX);
    flood(&mut unbounded, |_, _| {});
    let grown = unbounded.index_bytes().accounts;
    assert_eq!(unbounded.account_stats().0, 200);
    assert!(grown > 2 * BUDGET, "{grown}");
    assert_eq!(grown, unbounded.accounts.recount());

    // Lowering the budget evicts down to it at once.
    let lowered = unbounded.with_max_bytes(BUDGET / 2);
    assert!(lowered.index_bytes().accounts <= BUDGET / 2);
    assert_eq!(lowered.index_bytes().accounts, lowered.accounts.recount());
}

/// Label `label` by `by` of `service` on its event `event_id`.
fn label(index: &mut Index, seq: u64, service: &str, event_id: &str, label: &str, by: &str) {
    index.apply(
        seq,
        &Entry::Label {
            service: service.into(),
            event_id: event_id.into(),
            label: label.into(),
            by: by.into(),
            at: "2026-12-06T00:00:00Z".into(),
            note: String::new(),
        },
    );
}

/// A denied transfer of `service` (event `<service>-<seq>`): it opens or
/// joins the account's case.
fn denied(index: &mut Index, seq: u64, service: &str, account: &str) {
    let id = format!("{service}-{seq}");
    let event = json!({
        "id": id, "type": "transfer", "service": service, "account": account,
        "at": "2026-12-05T10:00:00Z", "amount_minor": 1000, "currency": "JPY",
        "actor": {"device": "dev-1", "ip": "203.0.113.7"}
    });
    index.apply(
        seq,
        &Entry::Event {
            event,
            decision: decision(&id, "deny"),
        },
    );
}

/// The running label counts equal a recount, in total and per service.
fn labels_recount(index: &Index) {
    let (total, by) = index.label_recount();
    assert_eq!(index.index_bytes().labels, total);
    let parts: std::collections::HashMap<String, usize> = index
        .label_parts()
        .into_iter()
        .filter(|(_, b)| *b > 0)
        .collect();
    assert_eq!(parts, by);
}

#[test]
fn labels_stay_within_their_share_newest_kept_and_go_with_their_case() {
    // Room for 640 event ids: every event of the case can take labels.
    let mut index = Index::with_cap(10).with_max_bytes(MIN_INDEX_BYTES);
    // One case of 600 denied transfers, every one labelled twice.
    for seq in 1..=600u64 {
        transfer(&mut index, seq, "acct-1", "dev-1", "deny");
    }
    let mut seq = 600;
    for ev in 1..=600u64 {
        for l in ["chargeback", "customer_denied"] {
            seq += 1;
            label(&mut index, seq, "bank", &format!("ev-{ev}"), l, "key:bank");
            let b = index.index_bytes();
            assert!(b.labels <= MIN_INDEX_BYTES / LABELS_SHARE, "{b:?} at {seq}");
            assert!(b.accounts + b.labels <= MIN_INDEX_BYTES);
            if seq % 97 == 0 {
                labels_recount(&index);
            }
        }
    }
    labels_recount(&index);
    assert!(index.labels_dropped > 0);
    let kept = index.label_count();
    assert!(kept > 10 && kept < 600, "{kept}");
    // The service past its share lost its own oldest labels, not its newest.
    assert!(index.labels("bank", "ev-1").is_empty(), "the oldest went");
    assert_eq!(index.labels("bank", "ev-600").len(), 2, "the newest kept");
    // Closed and evicted, the case takes its labels' bytes with it.
    let id = index.cases().next().map(|c| c.id).expect("a case");
    act(
        &mut index,
        seq + 1,
        Act::Close {
            case: id,
            disposition: Disposition::ConfirmedFraud,
        },
    );
    for n in 2..=11 {
        transfer(&mut index, seq + n, &format!("acct-{n}"), "dev-2", "deny");
    }
    assert!(index.case(id).is_none());
    assert_eq!(index.label_count(), 0);
    assert_eq!(index.label_parts().len(), 0);
    labels_recount(&index);
}

/// The attacker's side: one service's API key floods labels on its own
/// events; another service's analyst labels one event, before and during
/// the flood. Both of the victim's labels stay indexed, the flooder loses
/// its own oldest.
#[test]
fn one_service_flooding_labels_never_evicts_another_services_labels() {
    let mut index = Index::with_cap(100).with_max_bytes(MIN_INDEX_BYTES);
    let mut seq = 0;
    // The victim's case and the flooder's case of 900 events.
    seq += 1;
    denied(&mut index, seq, "bank", "victim");
    let early = format!("bank-{seq}");
    for _ in 0..900 {
        seq += 1;
        denied(&mut index, seq, "evil", "mule");
    }
    seq += 1;
    denied(&mut index, seq, "bank", "victim");
    let late = format!("bank-{seq}");
    seq += 1;
    label(&mut index, seq, "bank", &early, "confirmed_fraud", "aiko");
    let flood: Vec<String> = (2..=901).map(|s| format!("evil-{s}")).collect();
    for (i, ev) in flood.iter().enumerate() {
        seq += 1;
        label(
            &mut index,
            seq,
            "evil",
            ev,
            "customer_confirmed",
            "key:evil",
        );
        if i == 450 {
            // Mid-flood, with the share full: the victim's second label.
            seq += 1;
            label(&mut index, seq, "bank", &late, "confirmed_fraud", "aiko");
            assert_eq!(index.labels("bank", &late).len(), 1, "kept mid-flood");
        }
        let b = index.index_bytes();
        assert!(b.labels <= MIN_INDEX_BYTES / LABELS_SHARE, "{b:?}");
    }
    labels_recount(&index);
    assert!(index.labels_dropped > 100, "{}", index.labels_dropped);
    assert_eq!(index.labels("bank", &early).len(), 1, "before the flood");
    assert_eq!(index.labels("bank", &late).len(), 1, "during the flood");
    assert!(
        index.labels("evil", &flood[0]).is_empty(),
        "the flooder's oldest went"
    );
    assert_eq!(
        index.labels("evil", &flood[899]).len(),
        1,
        "its newest kept"
    );
}

/// The recount counts every container the accounts hold, so a second
/// copy of an account's key (as the recency order once held) is caught.
#[test]
fn a_duplicated_account_key_is_caught_by_the_recount() {
    let mut index = Index::default();
    let pad = "k".repeat(300);
    for seq in 1..=50 {
        big_login(&mut index, seq, &format!("{pad}-{}", seq % 7), "p");
    }
    assert_eq!(index.index_bytes().accounts, index.accounts.recount());
    index.accounts.duplicate_a_key_for_test();
    let (held, recounted) = (index.index_bytes().accounts, index.accounts.recount());
    // The copy: its allocation, the service's and the 300-byte id's.
    assert!(recounted >= held + 300 + 2 * 32, "{recounted} vs {held}");
}
