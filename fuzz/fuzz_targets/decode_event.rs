//! Arbitrary bytes into the event decoder: it must never panic, every rejection
//! must carry one of the documented codes, and every accepted event must survive
//! a round trip through its canonical JSON form unchanged; the log's bytes
//! written straight from the typed event are those of the canonical value.

#![no_main]

use libfuzzer_sys::fuzz_target;

use sekimori_event::DECODE_CODES as CODES;

fuzz_target!(|data: &[u8]| {
    match sekimori_event::decode(data) {
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
