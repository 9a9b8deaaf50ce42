//! The log's JSON written straight from the typed event
//! ([`Event::canonical_json`]) is byte for byte the canonical value's
//! (`Event::to_json`) compact JSON, for every shipped example.

use sekimori_event::{decode, Event};

fn via_value(e: &Event) -> Vec<u8> {
    serde_json::to_vec(&e.to_json()).expect("a value serializes")
}

#[test]
fn every_example_writes_as_its_value() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/events");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).expect("examples dir") {
        let path = entry.expect("entry").path();
        let text = std::fs::read_to_string(&path).expect("read example");
        for (i, line) in text.lines().enumerate() {
            let e = decode(line.as_bytes()).unwrap_or_else(|e| panic!("{path:?}:{}: {e}", i + 1));
            let bytes = e.canonical_json();
            assert_eq!(bytes, via_value(&e), "{path:?}:{}", i + 1);
            // And the log's bytes decode back to the same event.
            assert_eq!(decode(&bytes).expect("canonical decodes"), e);
            n += 1;
        }
    }
    assert!(n >= 16, "{n} examples");
}
