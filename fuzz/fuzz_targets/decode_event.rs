//! Arbitrary bytes into the event decoder: it must never panic, every rejection
//! must carry one of the documented codes, and every accepted event must survive
//! a round trip through its canonical JSON form unchanged; the log's bytes
//! written straight from the typed event are those of the canonical value;
//! and `decode` (which takes the bytes straight into the typed event when it
//! can) answers exactly as decoding through the JSON value does.

#![no_main]

use libfuzzer_sys::fuzz_target;

use sekimori_event::DECODE_CODES as CODES;

fuzz_target!(|data: &[u8]| {
    let decoded = sekimori_event::decode(data);
    if data.len() <= sekimori_event::MAX_EVENT_BYTES {
        let through_value =
            sekimori_event::parse_unique(data).and_then(sekimori_event::decode_value);
        assert_eq!(decoded, through_value, "the fast path answers differently");
    }
    match decoded {
        Ok(event) => {
            let canonical = event.to_json();
            assert_eq!(
                event.canonical_json(),
                serde_json::to_vec(&canonical).expect("a value serializes"),
                "the log's bytes are not the canonical value's"
            );
            // `decode_value`, not `decode`: the canonical form may be a few bytes
            // longer than the input (`at` gains milliseconds), so a maximal
            // input could trip the size limit on the way back.
            let again = sekimori_event::decode_value(canonical.clone()).unwrap_or_else(|err| {
                panic!("canonical form does not decode: {err}\ncanonical: {canonical}")
            });
            assert_eq!(event, again, "canonical round trip changed the event");
            assert_eq!(canonical, again.to_json(), "canonical form is not stable");
        }
        Err(err) => {
            assert!(
                CODES.contains(&err.code),
                "undocumented error code {}",
                err.code
            );
        }
    }
});
