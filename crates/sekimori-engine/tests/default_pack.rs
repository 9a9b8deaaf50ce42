//! The shipped default pack compiles and passes its own inline tests.

use sekimori_engine::run_pack_tests;
use sekimori_rules::{compile, load_pack};
use std::path::Path;
use std::sync::Arc;

#[test]
fn default_pack_passes_its_inline_tests() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../rules/default");
    let source = load_pack(&dir).expect("loads");
    let pack = Arc::new(compile(source).unwrap_or_else(|e| panic!("compiles: {e:?}")));
    let outcomes = run_pack_tests(&pack);
    assert!(outcomes.len() >= 9, "the default pack carries its tests");
    let failed: Vec<_> = outcomes.iter().filter(|o| !o.passed()).collect();
    assert!(failed.is_empty(), "{failed:#?}");
}
