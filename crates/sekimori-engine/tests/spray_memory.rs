//! A credential-stuffing spray (failed logins, a fresh account each, one
//! address, device and secret) through the default pack must not make the
//! engine hold more than it accounts (attacker's review, session 25,
//! finding 1: each such event leaves records tracked by one feature of
//! their key list, whose allocation was not accounted; the windows held
//! 1.21x what was accounted). The windows' bytes are measured from their
//! structures' real capacities (`Engine::window_footprint`: tables at
//! their capacities, records' allocations and states' heap as the
//! allocator rounds them) over the spray's last events, so the fixed
//! overhead of the empty tables cancels; they must grow by no more than
//! the engine's accounted bytes (which also count the risk profiles: the
//! check is on the safe side of the windows' own share). The pack with its
//! features grouped and the same pack with its key lists written apart
//! (which groups nothing) both hold.
//!
//! **The layout's spread.** A solo store's tables are accounted at their
//! *expected* bytes over the random spread of its keys over the shards
//! (`sekimori_window`'s layout model), and the engine draws a fresh shard
//! seed each run, so the bytes its real tables hold miss the accounted
//! ones by a random amount either way: across 46 runs of the pack written
//! apart, held/accounted ran 0.979 to 1.021 (mean 1.002, sd 0.010), and a
//! check of `held <= accounted` with no allowance failed in 29 of them.
//! The pack written apart is therefore allowed its layout's spread
//! above ([`layout_allowance`]: six standard deviations, measured under
//! fixed seeds); the grouped pack, whose records carry a 50-byte charge a
//! state (held/accounted 0.83-0.85, about 40 of its own spreads below 1),
//! is allowed nothing, as `sekimori-window/tests/held.rs` does. Since
//! short windows are grouped apart from long ones (6a5b21a), the grouped
//! pack's 15-minute failures by account is a store of its own (the only
//! short window on its list): one of the two stores the spray grows is
//! solo, and its spread (about 23 KB at six deviations here) sits well
//! inside the grouped store's charge (held/accounted 0.886 over the
//! spray, 100 KB below), so the grouped pack is still allowed nothing.

mod common;

use common::packs;
use std::sync::Arc;

use sekimori_engine::Engine;
use sekimori_event::{decode_value, format_rfc3339_ms, Event};
use sekimori_rules::Pack;
use sekimori_window::{Aggregate, FeatureConfig, FeatureStore, Obs, ObsValue, ShardSeed, Window};
use serde_json::json;

const T0: i64 = 1_767_225_600_000;
const WARM: u64 = 500;
const SPRAY: u64 = 4_000;

fn failed_login(i: u64) -> Event {
    decode_value(json!({
        "id": format!("f{i}"), "type": "login.attempt",
        "at": format_rfc3339_ms(T0 + i as i64 * 10),
        "service": "bank", "account": format!("user-{i}"), "factor": "password",
        "result": "failure", "secret_fp": format!("k1:{:064x}", 7),
        "actor": {"ip": "10.0.0.1", "device": "dev-1"}}))
    .expect("a valid event")
}

/// What the spray grew: windows opened, and bytes the windows held and the
/// engine accounted, over the spray after warm-up.
struct Growth {
    windows: u64,
    held: u64,
    accounted: u64,
}

fn spray(pack: Arc<Pack>) -> Growth {
    let mut e = Engine::new(pack);
    let events: Vec<Event> = (0..WARM + SPRAY).map(failed_login).collect();
    for x in &events[..WARM as usize] {
        e.decide(x);
    }
    let (w0, a0) = (e.window_footprint(), e.memory().accounted_bytes);
    for x in &events[WARM as usize..] {
        e.decide(x);
    }
    let (w1, a1) = (e.window_footprint(), e.memory().accounted_bytes);
    assert!(w1.0 > w0.0, "the spray opened windows");
    Growth {
        windows: (w1.0 - w0.0) as u64,
        held: (w1.1 - w0.1) as u64,
        accounted: a1 - a0,
    }
}

/// Six standard deviations of what one solo store's real tables gain over
/// its accounted bytes while it grows from `from` to `to` keys (the
/// spray's fresh accounts), over 256 fixed seeds; times `stores`, the
/// stores that grew (their layouts share the engine's seed, so their
/// deviations may add up: the sum of their deviations has at most the sum
/// of their standard deviations). A table slot has one size whatever the
/// aggregate, and a state's heap is the same under every seed, so a count
/// store stands for every feature's. Only the spread is allowed, not the
/// mean: a store that accounts less than it holds under every seed (a real
/// under-accounting) still fails. Integers only; the same every run.
fn layout_allowance(from: u64, to: u64, stores: u64) -> u64 {
    const SEEDS: u64 = 256;
    let config = FeatureConfig {
        window: Window::Sliding {
            length_ms: 3_600_000,
            resolution_ms: 60_000,
        },
        aggregate: Aggregate::Count,
        max_keys: 10_000_000,
        lateness_ms: 0,
    };
    let excess = |s: &FeatureStore| s.approx_bytes() as i128 - i128::from(s.accounted_bytes());
    let deviations: Vec<i128> = (0..SEEDS)
        .map(|seed| {
            let seed = ShardSeed::from_parts(seed, seed ^ 0x5eed_5eed);
            let mut s = FeatureStore::with_seed(config, seed).expect("valid");
            let grow = |s: &mut FeatureStore, keys: std::ops::Range<u64>| {
                for i in keys {
                    let key = u128::from(i).wrapping_mul(0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C835);
                    let obs = Obs {
                        at_ms: T0,
                        value: ObsValue::None,
                    };
                    s.apply(key, Some(obs), T0);
                }
            };
            grow(&mut s, 0..from);
            let before = excess(&s);
            grow(&mut s, from..to);
            excess(&s) - before
        })
        .collect();
    let n = i128::from(SEEDS);
    let sum: i128 = deviations.iter().sum();
    // n^2 variance = n * sum(x^2) - sum(x)^2.
    let spread = n * deviations.iter().map(|d| d * d).sum::<i128>() - sum * sum;
    let sd = (spread as u128).isqrt() as u64 / SEEDS;
    assert!(sd > 0, "the layouts differ under different seeds");
    6 * sd * stores
}

#[test]
fn a_failed_login_spray_holds_no_more_than_it_accounts() {
    let (grouped, apart) = packs();
    for (label, pack) in [("grouped", grouped), ("apart", apart)] {
        let Growth {
            windows,
            held,
            accounted,
        } = spray(pack);
        // Each fresh account opens one window in each store keyed by it.
        assert_eq!(windows % SPRAY, 0, "{label}: {windows} windows opened");
        let allowed = if label == "grouped" {
            0
        } else {
            layout_allowance(WARM, WARM + SPRAY, windows / SPRAY)
        };
        eprintln!(
            "{label}: windows held +{held} B ({:.1} an event), accounted +{accounted} B \
             ({:.1} an event), held/accounted {:.3}, allowed {allowed} B above ({} stores grew)",
            held as f64 / SPRAY as f64,
            accounted as f64 / SPRAY as f64,
            held as f64 / accounted as f64,
            windows / SPRAY
        );
        assert!(
            held <= accounted + allowed,
            "{label}: windows held +{held} B > accounted +{accounted} B + {allowed}"
        );
    }
}
