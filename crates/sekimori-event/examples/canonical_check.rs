//! Checks a file of events (JSON lines, such as the simulator's
//! `sekimori simulate --events` output): every line must decode the same
//! through `decode` (straight into the typed event when it can) as through
//! the JSON value (`parse_unique` then `decode_value`), and every event must
//! write the same log bytes straight from the typed event
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
        let decoded = sekimori_event::decode(line.as_bytes());
        let through_value =
            sekimori_event::parse_unique(line.as_bytes()).and_then(sekimori_event::decode_value);
        // (`decode` also refuses a line past `MAX_EVENT_BYTES` first.)
        if line.len() <= sekimori_event::MAX_EVENT_BYTES && decoded != through_value {
            eprintln!("{path}:{}: the decoders answer differently", i + 1);
            std::process::exit(1);
        }
        let Ok(event) = decoded else {
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
    println!(
        "{path}: {same} events decoded alike and byte-identical, {refused} lines refused alike"
    );
}
