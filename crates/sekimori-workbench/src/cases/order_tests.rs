//! The kept order gives the same queue as ranking every open case: after
//! cases open, grow, are decided, claimed, closed and evicted, for several
//! viewers, filters, limits and times.

use super::super::tests::{act, decision};
use crate::acts::{Act, Disposition};
use crate::cases::Index;
use crate::queue::{priority, queue, Filter, Row};
use sekimori_engine::Entry;
use serde_json::json;

/// A transfer of `account` of `amount` JPY at `at_ms`, decided `action`
/// with `score`.
fn transfer(index: &mut Index, seq: u64, account: &str, amount: i64, at_ms: i64, action: &str) {
    let id = format!("ev-{seq}");
    let at = sekimori_event::format_rfc3339_ms(at_ms);
    let event = json!({
        "id": id, "type": "transfer", "service": if seq.is_multiple_of(5) { "card" } else { "bank" },
        "account": account, "at": at, "amount_minor": amount, "currency": "JPY",
        "actor": {"device": "dev-1", "ip": "203.0.113.7"}
    });
    let mut d = decision(&id, action);
    d.at = at;
    d.score = (seq * 37 % 130) as i64;
    index.apply(seq, &Entry::Event { event, decision: d });
}

/// The queue by ranking every open case (what the kept order replaces).
fn ranked<'a>(
    index: &'a Index,
    viewer: &str,
    f: &Filter,
    now: i64,
    limit: usize,
) -> Vec<(u64, i64, bool)> {
    let mut rows: Vec<Row<'a>> = index
        .cases()
        .filter(|c| c.is_open())
        .filter(|c| f.service.as_ref().is_none_or(|s| *s == c.service))
        .filter(|c| {
            f.min_age_hours
                .is_none_or(|h| now - c.opened_ms >= i64::from(h) * 3_600_000)
        })
        .filter_map(|c| match c.claimed_by(now) {
            Some(who) if who != viewer => None,
            claimed => Some(Row {
                case: c,
                priority: priority(c, now),
                mine: claimed.is_some(),
            }),
        })
        .collect();
    rows.sort_by(|a, b| {
        b.priority
            .cmp(&a.priority)
            .then(a.case.opened_ms.cmp(&b.case.opened_ms))
            .then(a.case.id.cmp(&b.case.id))
    });
    rows.truncate(limit);
    rows.iter()
        .map(|r| (r.case.id, r.priority, r.mine))
        .collect()
}

fn kept(index: &Index, viewer: &str, f: &Filter, now: i64, limit: usize) -> Vec<(u64, i64, bool)> {
    queue(index, viewer, f, now, limit)
        .iter()
        .map(|r| (r.case.id, r.priority, r.mine))
        .collect()
}

#[test]
fn the_kept_order_gives_the_queue_of_ranking_every_open_case() {
    const HOUR: i64 = 3_600_000;
    let start = 1_796_000_000_000;
    let mut index = Index::with_cap(300);
    let mut seq = 0;
    for i in 0..1_200u64 {
        seq += 1;
        let action = ["review", "deny", "freeze", "review"][(i % 4) as usize];
        let amount = 1_000 + (i as i64 * 7_919) % 5_000_000;
        let at = start + (i as i64) * HOUR / 9;
        transfer(
            &mut index,
            seq,
            &format!("acct-{}", i % 400),
            amount,
            at,
            action,
        );
        if i % 7 == 3 {
            seq += 1;
            act(
                &mut index,
                seq,
                Act::Claim {
                    case: seq - 1 - (i % 5),
                },
            );
        }
        if i % 11 == 5 {
            let open = index.cases().filter(|c| c.is_open());
            let pick = open.map(|c| c.id).nth((i % 13) as usize);
            if let Some(id) = pick {
                seq += 1;
                let close = Act::Close {
                    case: id,
                    disposition: Disposition::FalsePositive,
                };
                act(&mut index, seq, close);
            }
        }
    }
    let open = index.cases().filter(|c| c.is_open()).count();
    assert!(open > 100, "{open}");
    assert_eq!(index.open_count_in_order(), open);
    let end = start + 1_200 * HOUR / 9;
    let filters = [
        Filter::default(),
        Filter {
            service: Some("card".into()),
            ..Filter::default()
        },
        Filter {
            min_age_hours: Some(60),
            ..Filter::default()
        },
    ];
    for now in [end, end + 20 * HOUR, end + 200 * HOUR] {
        for f in &filters {
            for viewer in ["aiko", "ken"] {
                for limit in [1, 7, 50, 200, usize::MAX] {
                    let want = ranked(&index, viewer, f, now, limit);
                    assert_eq!(
                        kept(&index, viewer, f, now, limit),
                        want,
                        "{now} {f:?} {viewer} {limit}"
                    );
                }
            }
        }
    }
}
