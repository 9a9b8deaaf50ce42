//! Times `Engine::decide` over a JSONL event log with a pack directory:
//! `cargo run --release -p sekimori-engine --example decide -- EVENTS PACK_DIR [OUT]`.
//! Decoding is done first and not timed. With OUT, writes the decisions.

use sekimori_engine::Engine;
use std::io::Write;
use std::sync::Arc;
use std::time::Instant;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let text = std::fs::read_to_string(&args[1]).expect("events file");
    let events: Vec<_> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| sekimori_event::decode(l.as_bytes()).expect("event"))
        .collect();
    let source = sekimori_rules::load_pack(std::path::Path::new(&args[2])).expect("pack");
    let pack = sekimori_rules::compile(source).expect("compiles");
    let mut engine = Engine::new(Arc::new(pack));
    let keep = args.len() > 3;
    let mut decisions = Vec::new();
    let start = Instant::now();
    for e in &events {
        let d = engine.decide(e);
        if keep {
            decisions.push(d);
        }
    }
    let s = start.elapsed().as_secs_f64();
    eprintln!(
        "{} events in {s:.3} s: {:.0} events/s",
        events.len(),
        events.len() as f64 / s
    );
    if let Some(out) = args.get(3) {
        let mut w = std::io::BufWriter::new(std::fs::File::create(out).expect("out"));
        for d in decisions {
            serde_json::to_writer(&mut w, &d).expect("write");
            w.write_all(b"\n").expect("write");
        }
    }
}
