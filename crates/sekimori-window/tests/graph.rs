//! The transfer graph (`Aggregate::Graph`): cycles, fans, pass-through
//! chains, bounds, eviction, accounting and determinism.

use sekimori_window::{
    Aggregate, FeatureConfig, FeatureStore, GraphRead, Obs, ObsValue, Window, EDGE_CAP, MAX_CYCLE,
};

const H: i64 = 3_600_000;
const D: i64 = 24 * H;

fn store(max_keys: usize) -> FeatureStore {
    FeatureStore::new(FeatureConfig {
        window: Window::sliding(30 * D, D).expect("window"),
        aggregate: Aggregate::Graph,
        max_keys,
        lateness_ms: 0,
    })
    .expect("store")
}

/// Applies `a -> b` at `t` and returns the reading.
fn edge(s: &mut FeatureStore, a: u128, b: u128, amount: i64, t: i64) -> GraphRead {
    s.apply_edge(a, b, amount, t, t).expect("graph store")
}

const T0: i64 = 100 * D;

#[test]
fn a_three_hop_ring_closes_a_cycle_of_three() {
    let mut s = store(1000);
    assert_eq!(edge(&mut s, 1, 2, 1000, T0).cycle, 0);
    assert_eq!(edge(&mut s, 2, 3, 950, T0 + H).cycle, 0);
    assert_eq!(edge(&mut s, 3, 1, 900, T0 + 2 * H).cycle, 3);
}

#[test]
fn back_and_forth_is_a_cycle_of_two() {
    let mut s = store(1000);
    edge(&mut s, 1, 2, 5000, T0);
    assert_eq!(edge(&mut s, 2, 1, 5000, T0 + D).cycle, 2);
}

#[test]
fn a_path_out_of_time_order_is_no_cycle() {
    // 2 -> 3 happened before 1 -> 2: the money 3 returns did not come from 1.
    let mut s = store(1000);
    edge(&mut s, 2, 3, 1000, T0);
    edge(&mut s, 1, 2, 1000, T0 + H);
    assert_eq!(edge(&mut s, 3, 1, 1000, T0 + 2 * H).cycle, 0);
}

#[test]
fn amounts_that_are_not_the_same_money_are_no_cycle() {
    let mut s = store(1000);
    edge(&mut s, 1, 2, 1_000_000, T0);
    edge(&mut s, 2, 3, 1_000, T0 + H);
    assert_eq!(edge(&mut s, 3, 1, 1_000_000, T0 + 2 * H).cycle, 0);
}

#[test]
fn edges_older_than_the_window_close_no_cycle() {
    let mut s = store(1000);
    edge(&mut s, 1, 2, 1000, T0);
    edge(&mut s, 2, 3, 1000, T0 + H);
    assert_eq!(edge(&mut s, 3, 1, 1000, T0 + 31 * D).cycle, 0);
}

#[test]
fn cycles_up_to_the_bound_are_found_and_longer_ones_are_not() {
    for len in 3..=MAX_CYCLE + 1 {
        let mut s = store(1000);
        let n = len as u128;
        for i in 1..n {
            edge(&mut s, i, i + 1, 1000, T0 + i as i64 * H);
        }
        let closing = edge(&mut s, n, 1, 1000, T0 + len as i64 * H).cycle;
        let want = if len <= MAX_CYCLE { len as i64 } else { 0 };
        assert_eq!(closing, want, "ring of {len}");
    }
}

#[test]
fn the_shortest_cycle_is_reported() {
    let mut s = store(1000);
    // 1 -> 2 -> 3 -> 4 -> 1 and a shortcut 2 -> 4.
    edge(&mut s, 1, 2, 1000, T0);
    edge(&mut s, 2, 3, 1000, T0 + H);
    edge(&mut s, 2, 4, 1000, T0 + H);
    edge(&mut s, 3, 4, 1000, T0 + 2 * H);
    assert_eq!(edge(&mut s, 4, 1, 1000, T0 + 3 * H).cycle, 3);
}

#[test]
fn the_search_is_bounded_in_a_dense_graph() {
    // A complete bipartite mesh much larger than the visit cap: the search
    // ends (and answers the same every time).
    let mut s = store(100_000);
    let mut t = T0;
    for a in 0..200u128 {
        for b in 0..40u128 {
            t += 1000;
            edge(&mut s, 10_000 + a, 20_000 + b, 1000, t);
            edge(&mut s, 20_000 + b, 10_000 + (a + 1) % 200, 1000, t + 1);
        }
    }
    let mut again = s.clone();
    let r1 = edge(&mut s, 9, 10_000, 1000, t + 10);
    let r2 = edge(&mut again, 9, 10_000, 1000, t + 10);
    assert_eq!(r1, r2);
    // So does the search for money that came back (every mesh node's
    // latest edges out lead round it), within the same bounds.
    let n1 = s.read_node(10_000, t + 20).expect("graph");
    let n2 = again.read_node(10_000, t + 20).expect("graph");
    assert_eq!(n1, n2);
    assert!((0..=MAX_CYCLE as i64).contains(&n1.cycled), "{n1:?}");
}

#[test]
fn fans_are_relative_to_the_accounts_own_history() {
    let mut s = store(1000);
    // Payroll: 20 employees on day 0 and again on day 28.
    for e in 0..20u128 {
        edge(&mut s, 1, 100 + e, 300_000, T0 + e as i64);
    }
    let mut last = GraphRead::default();
    for e in 0..20u128 {
        last = edge(&mut s, 1, 100 + e, 300_000, T0 + 28 * D + e as i64);
    }
    assert_eq!(
        (last.fan_out, last.fan_out_usual, last.history),
        (20, 20, 1)
    );
    // Paying the same employee twice in a day counts once.
    let again = edge(&mut s, 1, 100, 1, T0 + 28 * D + 100);
    assert_eq!(again.fan_out, 20);
    // A fresh account fanning out has no history to be measured against.
    let mut fresh = GraphRead::default();
    for e in 0..10u128 {
        fresh = edge(&mut s, 2, 500 + e, 10_000, T0 + 28 * D + 1000 + e as i64);
    }
    assert_eq!(
        (fresh.fan_out, fresh.fan_out_usual, fresh.history),
        (10, 0, 0)
    );
    // The destination's fan-in.
    let merchant = (0..7u128).fold(GraphRead::default(), |_, p| {
        edge(&mut s, 700 + p, 3, 500, T0 + 28 * D + 2000 + p as i64)
    });
    assert_eq!(merchant.dest_fan_in, 7);
}

#[test]
fn pass_through_chains_grow_hop_by_hop() {
    let mut s = store(1000);
    // 1 pays 2; 2 passes 95% to 3 within hours; 3 to 4; 4 to cash (5).
    let r = edge(&mut s, 1, 2, 1_000_000, T0);
    assert_eq!((r.hops, r.passed_share), (0, 0));
    let r = edge(&mut s, 2, 3, 950_000, T0 + H);
    assert_eq!(
        (r.hops, r.received, r.passed_share, r.funded_at),
        (1, 1_000_000, 9_500, Some(T0))
    );
    let r = edge(&mut s, 3, 4, 940_000, T0 + 2 * H);
    assert_eq!(r.hops, 2);
    let r = edge(&mut s, 4, 5, 930_000, T0 + 3 * H);
    assert_eq!(r.hops, 3);
    // Keeping most of it is no hop; nor is passing it on a period later.
    let mut k = store(1000);
    edge(&mut k, 1, 2, 1_000_000, T0);
    assert_eq!(edge(&mut k, 2, 3, 500_000, T0 + H).hops, 0);
    edge(&mut k, 6, 7, 1_000_000, T0);
    assert_eq!(edge(&mut k, 7, 8, 1_000_000, T0 + 2 * D).hops, 0);
}

#[test]
fn edges_per_node_are_capped_and_the_oldest_goes() {
    let mut s = store(100_000);
    for p in 0..(EDGE_CAP as u128 * 3) {
        edge(&mut s, 1, 1000 + p, 10, T0 + p as i64 * 1000);
    }
    let bytes = s.accounted_bytes();
    assert_eq!(bytes, s.recount_bytes());
    // One more edge the same day does not grow the sender (its list is full).
    edge(&mut s, 1, 99_999, 10, T0 + 200_000);
    let grown = s.accounted_bytes() - bytes;
    // The tables are accounted from the number of keys alone: a store of
    // `Ever` counts (no heap state) gives their bytes for `n` keys.
    let tables = |n: u128| {
        let mut c = FeatureStore::new(FeatureConfig {
            window: Window::Ever,
            aggregate: Aggregate::Count,
            max_keys: 1_000,
            lateness_ms: 0,
        })
        .expect("valid");
        for k in 0..n {
            c.apply(
                k,
                Some(Obs {
                    at_ms: 0,
                    value: ObsValue::None,
                }),
                0,
            );
        }
        c.accounted_bytes()
    };
    let fresh_node_heap = {
        let mut one = store(10);
        edge(&mut one, 1, 2, 10, T0);
        (one.accounted_bytes() - tables(2)) / 2
    };
    let keys = s.len() as u128;
    assert_eq!(
        grown,
        fresh_node_heap + tables(keys) - tables(keys - 1),
        "only the new receiver's node is added"
    );
    // The oldest edges are gone: 1 -> 1000 no longer closes a cycle back.
    assert_eq!(edge(&mut s, 1000, 1, 10, T0 + 200_001).cycle, 0);
    assert_eq!(edge(&mut s, 99_999, 1, 10, T0 + 200_002).cycle, 2);
}

#[test]
fn the_key_cap_evicts_the_least_recent_nodes() {
    let mut s = store(16);
    for p in 0..40u128 {
        edge(&mut s, p, p + 1000, 10, T0 + p as i64 * 1000);
    }
    assert!(s.len() <= 16);
    assert!(s.evicted_total() > 0);
    assert_eq!(s.accounted_bytes(), s.recount_bytes());
}

#[test]
fn expired_nodes_are_swept_and_self_edges_change_nothing() {
    let mut s = store(1000);
    edge(&mut s, 1, 2, 10, T0);
    let before = s.state_digest();
    assert_eq!(edge(&mut s, 3, 3, 10, T0).cycle, 0);
    assert_eq!(s.state_digest(), before);
    edge(&mut s, 4, 5, 10, T0 + 60 * D);
    assert_eq!(s.len(), 2, "1 and 2 swept once their edges left the window");
    assert_eq!(s.accounted_bytes(), s.recount_bytes());
}

#[test]
fn replay_and_snapshot_give_the_same_state_and_readings() {
    let run = || {
        let mut s = store(64);
        let mut reads = Vec::new();
        let mut x: u64 = 7;
        for i in 0..2000i64 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let a = u128::from((x >> 33) % 50);
            let b = u128::from((x >> 13) % 50);
            reads.push(edge(&mut s, a, b, (x % 1000) as i64 + 500, T0 + i * 60_000));
        }
        (s, reads)
    };
    let (s1, r1) = run();
    let (s2, r2) = run();
    assert_eq!(r1, r2);
    assert_eq!(s1.state_digest(), s2.state_digest());
    let bytes = serde_json::to_vec(&s1).expect("serialize");
    let back: FeatureStore = serde_json::from_slice(&bytes).expect("restore");
    assert_eq!(back.state_digest(), s1.state_digest());
    assert_eq!(back.accounted_bytes(), s1.accounted_bytes());
    assert!(
        r1.iter().any(|r| r.cycle >= 3),
        "the random graph has rings"
    );
}

#[test]
fn other_aggregates_have_no_edges() {
    let mut s = FeatureStore::new(FeatureConfig {
        window: Window::sliding(D, H).expect("window"),
        aggregate: Aggregate::Count,
        max_keys: 10,
        lateness_ms: 0,
    })
    .expect("store");
    assert!(s.apply_edge(1, 2, 10, T0, T0).is_none());
    assert!(s.read_node(1, T0).is_none());
}

#[test]
fn money_that_came_back_marks_its_sender_until_it_leaves_the_window() {
    let mut s = store(1000);
    edge(&mut s, 1, 2, 99_000, T0);
    edge(&mut s, 2, 3, 98_500, T0 + H);
    assert_eq!(
        s.read_node(1, T0 + H).expect("graph").cycled,
        0,
        "not back yet"
    );
    // 3 -> 1 closes the ring: 1's money came back to it.
    assert_eq!(edge(&mut s, 3, 1, 98_000, T0 + 2 * H).cycle, 3);
    assert_eq!(s.read_node(1, T0 + 3 * H).expect("graph").cycled, 3);
    // 1's next withdrawal (an edge out to a fresh node) still reads it.
    assert_eq!(edge(&mut s, 1, 99, 97_000, T0 + 4 * H).cycled, 3);
    // 2 and 3 are on the ring too: their edges out came back.
    assert_eq!(
        s.read_node(2, T0 + 4 * H).expect("graph").cycled,
        0,
        "2 -> 3 -> 1 is not back at 2"
    );
    // A node that only received is not marked.
    assert_eq!(s.read_node(99, T0 + 4 * H).expect("graph").cycled, 0);
    // Past the window the edges are pruned and the mark goes with them.
    edge(&mut s, 7, 8, 1, T0 + 40 * D);
    assert_eq!(s.read_node(1, T0 + 40 * D).expect("graph").cycled, 0);
}

#[test]
fn back_and_forth_marks_a_cycle_of_two_and_unrelated_amounts_none() {
    let mut s = store(1000);
    edge(&mut s, 1, 2, 5_000, T0);
    edge(&mut s, 2, 1, 5_000, T0 + H);
    assert_eq!(s.read_node(1, T0 + H).expect("graph").cycled, 2);
    let mut t = store(1000);
    edge(&mut t, 1, 2, 5_000, T0);
    edge(&mut t, 2, 3, 5_000, T0 + H);
    edge(&mut t, 3, 1, 50_000, T0 + 2 * H);
    assert_eq!(
        t.read_node(1, T0 + 2 * H).expect("graph").cycled,
        0,
        "not the same money"
    );
}

#[test]
fn small_leftover_hops_do_not_hide_money_that_came_back() {
    let mut s = store(1000);
    edge(&mut s, 1, 2, 98_000, T0);
    edge(&mut s, 2, 3, 97_500, T0 + H);
    edge(&mut s, 3, 1, 97_000, T0 + 2 * H);
    // Then 1 passes on small leftovers, more than a handful of times.
    for k in 0..6 {
        edge(&mut s, 1, 2, 300 + k, T0 + (3 + k) * H);
    }
    assert_eq!(s.read_node(1, T0 + 10 * H).expect("graph").cycled, 3);
}
