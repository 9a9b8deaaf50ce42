//! The cost of the ledger's snapshot copy under the lock, and of the events
//! decided right after it while the copy is still held (copy-on-write):
//! `cargo run --release -p sekimori-engine --example snapcost -- [ENTITIES]`
//! (default 100 000). A flood of fresh accounts, addresses and devices under
//! the default pack (every fourth entity also logs in and pays a fresh
//! payee), then 5 copies, each followed by 2 000 events with the copy held.

use sekimori_engine::Engine;
use sekimori_event::{decode_value, format_rfc3339_ms, Event};
use serde_json::json;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const T0: i64 = 1_767_225_600_000;

fn flood(i: u64, at_ms: i64) -> Vec<Event> {
    let ip = format!("10.{}.{}.{}", (i >> 16) & 255, (i >> 8) & 255, i & 255);
    let actor = json!({"ip": ip, "device": format!("dev-{i}")});
    let mut out = vec![json!({
        "id": format!("f{i}"), "type": "login.attempt", "at": format_rfc3339_ms(at_ms),
        "service": "bank", "account": format!("user-{i}"), "factor": "password",
        "result": "failure", "secret_fp": format!("k1:{:064x}", i.wrapping_mul(0x9E37_79B9)),
        "actor": actor})];
    if i.is_multiple_of(4) {
        out.push(json!({
            "id": format!("s{i}"), "type": "login.attempt", "at": format_rfc3339_ms(at_ms + 1),
            "service": "bank", "account": format!("user-{i}"), "factor": "password",
            "result": "success", "secret_fp": format!("k1:{:064x}", i + 1), "actor": actor}));
        out.push(json!({
            "id": format!("t{i}"), "type": "transfer", "at": format_rfc3339_ms(at_ms + 2),
            "service": "bank", "account": format!("user-{i}"), "amount_minor": 5000,
            "currency": "JPY", "actor": actor,
            "destination": {"kind": "bank", "bank_code": "0001", "branch": "100",
                            "number": format!("{:07}", i % 10_000_000)}}));
    }
    out.into_iter()
        .map(|v| decode_value(v).expect("valid event"))
        .collect()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../rules/default");
    let pack = sekimori_rules::compile(sekimori_rules::load_pack(&dir).expect("loads"));
    let mut engine = Engine::new(Arc::new(pack.expect("compiles")));
    let start = Instant::now();
    for i in 0..n {
        for e in flood(i, T0 + i as i64 * 10) {
            engine.decide(&e);
        }
    }
    println!(
        "{n} entities decided in {:.1} s",
        start.elapsed().as_secs_f64()
    );
    let mut i = n;
    for round in 0..5 {
        let t = Instant::now();
        let copy = engine.snapshot_copy();
        let copy_ms = ms(t.elapsed());
        let events: Vec<Event> = (0..2_000u64)
            .flat_map(|k| flood(i + k, T0 + (i + k) as i64 * 10))
            .collect();
        i += 2_000;
        let mut worst = Duration::ZERO;
        let t = Instant::now();
        for e in &events {
            let s = Instant::now();
            engine.decide(e);
            worst = worst.max(s.elapsed());
        }
        let after_ms = ms(t.elapsed());
        let t = Instant::now();
        let bytes = copy.to_bytes().len();
        let ser_ms = ms(t.elapsed());
        let t = Instant::now();
        drop(copy);
        let drop_ms = ms(t.elapsed());
        println!(
            "round {round}: copy {copy_ms:.3} ms; next {} events {after_ms:.1} ms \
             (slowest {:.3} ms); serialise {ser_ms:.0} ms ({bytes} B); drop {drop_ms:.1} ms",
            events.len(),
            ms(worst)
        );
    }
}
