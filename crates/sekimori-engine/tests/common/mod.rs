//! Helpers shared by the engine's integration tests on grouped windows.

use sekimori_rules::{compile, load_pack, Pack};
use std::path::Path;
use std::sync::Arc;

/// The default pack, and the same pack with every key written in its own
/// equivalent text (one paren, n spaces), so no two features share a key
/// list and nothing groups.
pub fn packs() -> (Arc<Pack>, Arc<Pack>) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../rules/default");
    let source = load_pack(&dir).expect("loads");
    let mut apart = source.clone();
    let mut n = 0;
    for f in apart.features.iter_mut() {
        for k in f.key.iter_mut() {
            n += 1;
            *k = format!("({}{k})", " ".repeat(n));
        }
    }
    (
        Arc::new(compile(source).expect("compiles")),
        Arc::new(compile(apart).expect("compiles apart")),
    )
}
