//! Decodes the first lines of an events file (JSON lines) one way, for
//! counting instructions per event with callgrind:
//!
//! - `fast`: `sekimori_event::decode` (straight into the typed event when
//!   it can, else through the JSON value);
//! - `value`: `parse_unique` then `decode_value` (always through the value);
//! - `canonical`: decode, then the log's bytes both ways (`canonical_json`,
//!   and `to_json` then `serde_json::to_vec`).
//!
//! ```sh
//! cargo build --release -p sekimori-event --example decode_file
//! valgrind --tool=callgrind --toggle-collect='decode_file::fast' \
//!   target/release/examples/decode_file fast EVENTS.jsonl 20000
//! ```

use sekimori_event::{decode, decode_value, parse_unique, DecodeError, Event};
use std::hint::black_box;
use std::io::BufRead;

#[inline(never)]
fn fast(line: &[u8]) -> Result<Event, DecodeError> {
    decode(line)
}

#[inline(never)]
fn value(line: &[u8]) -> Result<Event, DecodeError> {
    parse_unique(line).and_then(decode_value)
}

#[inline(never)]
fn canonical_json(e: &Event) -> Vec<u8> {
    e.canonical_json()
}

#[inline(never)]
fn to_json_bytes(e: &Event) -> Vec<u8> {
    serde_json::to_vec(&e.to_json()).unwrap_or_default()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(mode), Some(path)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: decode_file fast|value|canonical EVENTS.jsonl [LIMIT]");
        std::process::exit(2);
    };
    let limit: usize = args
        .get(3)
        .and_then(|n| n.parse().ok())
        .unwrap_or(usize::MAX);
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let lines: Vec<String> = std::io::BufReader::new(file)
        .lines()
        .take(limit)
        .map(|l| l.expect("a line"))
        .collect();
    let (mut ok, mut bytes) = (0usize, 0usize);
    for line in &lines {
        let decoded = match mode.as_str() {
            "value" => value(line.as_bytes()),
            _ => fast(line.as_bytes()),
        };
        if let Ok(e) = decoded {
            ok += 1;
            if mode == "canonical" {
                bytes += black_box(canonical_json(&e)).len();
                bytes += black_box(to_json_bytes(&e)).len();
            }
        }
    }
    println!(
        "{ok} of {} lines decoded ({mode}); {bytes} canonical bytes",
        lines.len()
    );
}
