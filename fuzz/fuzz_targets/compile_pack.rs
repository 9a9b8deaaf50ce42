//! Arbitrary bytes into the rule-pack compiler and the CEL front end: whatever
//! the input, compiling must return (a pack or a list of problems), never panic.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(source) = serde_json::from_str::<sekimori_rules::PackSource>(text) {
        let _ = sekimori_rules::compile(source);
    }
    let _ = sekimori_rules::Expr::compile(text);
});
