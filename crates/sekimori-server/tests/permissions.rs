//! The files the server creates in the data directory are private.

mod common;

use sekimori_server::keys::{create_key, Scope};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).expect("metadata").permissions().mode() & 0o777
}

#[tokio::test]
async fn keys_store_and_stepup_key_are_private() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("data");
    // `sekimori keys create` before the first start creates the directory.
    create_key(&dir, "ingest", vec![Scope::Ingest]).expect("key");
    assert_eq!(mode(&dir), 0o700, "data directory");
    assert_eq!(mode(&dir.join("keys.json")), 0o600, "keys.json");
    let app = common::open(common::config(&dir, None)).await;
    assert_eq!(mode(&dir.join("sekimori.redb")), 0o600, "store");
    assert_eq!(mode(&dir.join("stepup.key")), 0o600, "step-up key");
    drop(app);
    // A second key rewrites keys.json: still private.
    create_key(&dir, "reader", vec![Scope::Read]).expect("key");
    assert_eq!(mode(&dir.join("keys.json")), 0o600, "keys.json rewritten");
}
