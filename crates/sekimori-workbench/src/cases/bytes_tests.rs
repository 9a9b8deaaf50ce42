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

#[test]
fn labels_stay_within_their_share_and_go_with_their_case() {
    let mut index = Index::with_cap(2).with_max_bytes(MIN_INDEX_BYTES);
    // One case of 600 denied transfers, every one labelled twice.
    for seq in 1..=600u64 {
        transfer(&mut index, seq, "acct-1", "dev-1", "deny");
    }
    let mut seq = 600;
    for ev in 1..=600u64 {
        for label in ["chargeback", "customer_denied"] {
            seq += 1;
            index.apply(
                seq,
                &Entry::Label {
                    service: "bank".into(),
                    event_id: format!("ev-{ev}"),
                    label: label.into(),
                    by: "key:bank".into(),
                    at: "2026-12-06T00:00:00Z".into(),
                    note: String::new(),
                },
            );
            let b = index.index_bytes();
            assert!(b.labels <= MIN_INDEX_BYTES / LABELS_SHARE);
            assert!(b.accounts + b.labels <= MIN_INDEX_BYTES);
        }
    }
    assert!(index.labels_dropped > 0);
    let kept = index.label_count();
    assert!(kept > 10 && kept < 600, "{kept}");
    assert_eq!(index.labels("bank", "ev-1").len(), 2);
    assert!(index.labels("bank", "ev-600").is_empty(), "past the share");
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
    transfer(&mut index, seq + 2, "acct-2", "dev-2", "deny");
    transfer(&mut index, seq + 3, "acct-3", "dev-3", "deny");
    assert!(index.case(id).is_none());
    assert_eq!((index.label_count(), index.index_bytes().labels), (0, 0));
}
