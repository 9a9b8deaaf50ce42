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

mod common;

use common::packs;
use std::sync::Arc;

use sekimori_engine::Engine;
use sekimori_event::{decode_value, format_rfc3339_ms, Event};
use sekimori_rules::Pack;
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

/// (windows held, accounted) bytes gained over the spray after warm-up.
fn spray(pack: Arc<Pack>) -> (u64, u64) {
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
    ((w1.1 - w0.1) as u64, a1 - a0)
}

#[test]
fn a_failed_login_spray_holds_no_more_than_it_accounts() {
    let (grouped, apart) = packs();
    for (label, pack) in [("grouped", grouped), ("apart", apart)] {
        let (held, accounted) = spray(pack);
        eprintln!(
            "{label}: windows held +{held} B ({:.1} an event), accounted +{accounted} B \
             ({:.1} an event), held/accounted {:.3}",
            held as f64 / SPRAY as f64,
            accounted as f64 / SPRAY as f64,
            held as f64 / accounted as f64
        );
        assert!(
            held <= accounted,
            "{label}: windows held +{held} B > accounted +{accounted} B"
        );
    }
}
