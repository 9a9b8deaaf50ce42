//! The cycle searches of the transfer graph: money that comes back to
//! where it started within a few hops ([`shortest_cycle`] for the edge an
//! event adds, [`returned_cycle`] for a node's latest edges out), bounded
//! in hops ([`MAX_CYCLE`]) and in nodes scanned ([`VISIT_CAP`]).

use std::collections::BTreeMap;

use super::{Node, CYCLED_EDGES, MAX_CYCLE, VISIT_CAP};
use crate::Key;

/// Whether `amount` is within a factor of two of `closing` (the same money
/// going round, less fees).
fn comparable(amount: i64, closing: i64) -> bool {
    let (a, c) = (i128::from(amount), i128::from(closing));
    a * 2 >= c && a <= c * 2
}

/// The shortest cycle `source -> destination` closes: a path of earlier
/// edges from `destination` back to `source`, each no earlier than the one
/// before it, all at or after `since_ms` and at or before `at_ms`, each
/// moving an amount within a factor of two of `amount`; its length counts
/// the closing edge. Breadth-first by hops (so the shortest is found
/// first), a node re-entered only when reached earlier than before, at most
/// [`VISIT_CAP`] nodes scanned; 0 when none is found within the bounds.
/// Deterministic: edges are scanned in their stored order.
pub(crate) fn shortest_cycle<'a>(
    node: impl Fn(Key) -> Option<&'a Node>,
    source: Key,
    destination: Key,
    amount: i64,
    since_ms: i64,
    at_ms: i64,
) -> i64 {
    let mut visits = VISIT_CAP;
    search(
        &node,
        source,
        destination,
        amount,
        since_ms,
        at_ms,
        &mut visits,
    )
}

/// The shortest cycle through `source` that one of its
/// [`CYCLED_EDGES`] latest edges out (newest first) started and that has
/// closed by `at_ms`: a path back from that edge's receiver, no earlier
/// than the edge, amounts comparable with it. All the searches share one
/// budget of [`VISIT_CAP`] nodes; 0 when none is found within the bounds.
pub(crate) fn returned_cycle<'a>(
    node: impl Fn(Key) -> Option<&'a Node>,
    source: Key,
    at_ms: i64,
) -> i64 {
    let Some(n) = node(source) else { return 0 };
    let mut visits = VISIT_CAP;
    let mut best = 0;
    for e in n.out().rev().take(CYCLED_EDGES) {
        let found = search(&node, source, e.peer, e.amount, e.at_ms, at_ms, &mut visits);
        if found > 0 && (best == 0 || found < best) {
            best = found;
        }
        if visits == 0 {
            break;
        }
    }
    best
}

fn search<'a>(
    node: &impl Fn(Key) -> Option<&'a Node>,
    source: Key,
    destination: Key,
    amount: i64,
    since_ms: i64,
    at_ms: i64,
    visits: &mut usize,
) -> i64 {
    let mut best: BTreeMap<Key, i64> = BTreeMap::new();
    let mut frontier = vec![(destination, since_ms)];
    best.insert(destination, since_ms);
    for depth in 1..MAX_CYCLE {
        let mut next = Vec::new();
        for &(key, arrived) in &frontier {
            if *visits == 0 {
                return 0;
            }
            *visits -= 1;
            let Some(n) = node(key) else { continue };
            for e in n.out() {
                if e.at_ms < arrived || e.at_ms > at_ms || !comparable(e.amount, amount) {
                    continue;
                }
                if e.peer == source {
                    return depth as i64 + 1;
                }
                if best.get(&e.peer).is_none_or(|&t| e.at_ms < t) {
                    best.insert(e.peer, e.at_ms);
                    next.push((e.peer, e.at_ms));
                }
            }
        }
        if next.is_empty() {
            break;
        }
        frontier = next;
    }
    0
}
