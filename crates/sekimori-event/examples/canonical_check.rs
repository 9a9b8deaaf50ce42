//! Checks a file of events (JSON lines, such as the simulator's
//! `sekimori simulate --events` output): every line that decodes must write
//! the same log bytes straight from the typed event
//! (`Event::canonical_json`) as through its JSON value (`Event::to_json`).
//!
//! ```sh
//! cargo run --release -p sekimori-event --example canonical_check -- EVENTS.jsonl
//! ```

use std::io::BufRead;

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: canonical_check EVENTS.jsonl");
        std::process::exit(2);
    };
    let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let (mut same, mut refused) = (0u64, 0u64);
    for (i, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.unwrap_or_else(|e| panic!("{path}:{}: {e}", i + 1));
        let Ok(event) = sekimori_event::decode(line.as_bytes()) else {
            refused += 1;
            continue;
        };
        let want = serde_json::to_vec(&event.to_json()).expect("a value serializes");
        if event.canonical_json() != want {
            eprintln!("{path}:{}: the bytes differ", i + 1);
            std::process::exit(1);
        }
        same += 1;
    }
    println!("{path}: {same} events byte-identical, {refused} lines refused by the decoder");
}
