//! Snapshot, META and PACKS; the FORMAT file; locking.

use sekimori_store::{Op, Store, StoreError, DB_FILE, FORMAT_FILE, META_FORMAT_VERSION};
use std::fs;

#[test]
fn snapshot_is_replaced() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let store = Store::open(dir.path()).expect("open");
        for (seq, bytes) in [(10, b"first".to_vec()), (20, b"second".to_vec())] {
            store
                .submit_blocking(Op::Snapshot { seq, bytes })
                .expect("snapshot");
        }
        assert_eq!(
            store.snapshot().expect("snap"),
            Some((20, b"second".to_vec()))
        );
    }
    let store = Store::open(dir.path()).expect("reopen");
    assert_eq!(
        store.snapshot().expect("snap"),
        Some((20, b"second".to_vec()))
    );
}

#[test]
fn meta_packs_keys_put_get_list() {
    let dir = tempfile::tempdir().expect("tempdir");
    let put = |store: &Store, op| store.submit_blocking(op).expect("put");
    {
        let store = Store::open(dir.path()).expect("open");
        put(
            &store,
            Op::PutMeta {
                key: "pack".into(),
                bytes: b"v2".to_vec(),
            },
        );
        put(
            &store,
            Op::PutMeta {
                key: "pack".into(),
                bytes: b"v3".to_vec(),
            },
        );
        for v in ["v2", "v1", "v3"] {
            let bytes = format!("pack {v}").into_bytes();
            put(
                &store,
                Op::PutPack {
                    version: v.into(),
                    bytes,
                },
            );
        }
    }
    let store = Store::open(dir.path()).expect("reopen");
    assert_eq!(store.meta("pack").expect("meta"), Some(b"v3".to_vec()));
    assert_eq!(store.meta("missing").expect("meta"), None);
    assert_eq!(
        store.meta(META_FORMAT_VERSION).expect("meta"),
        Some(b"3".to_vec())
    );
    assert_eq!(store.pack("v1").expect("pack"), Some(b"pack v1".to_vec()));
    assert_eq!(store.pack("v9").expect("pack"), None);
    let versions: Vec<String> = store
        .packs()
        .expect("packs")
        .into_iter()
        .map(|p| p.0)
        .collect();
    assert_eq!(versions, ["v1", "v2", "v3"]);
    assert_eq!(store.stats().commits, 0, "stats count since open");
}

#[test]
fn fresh_dir_gets_format_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("nested").join("data");
    let store = Store::open(&data).expect("open creates the dir");
    let text = fs::read_to_string(data.join(FORMAT_FILE)).expect("FORMAT");
    assert_eq!(text, "sekimori-data 3\n");
    assert!(data.join(DB_FILE).exists());
    drop(store);
    Store::open(&data).expect("reopen with FORMAT");
}

#[test]
fn wrong_format_version_refuses_to_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    drop(Store::open(dir.path()).expect("open"));
    fs::write(dir.path().join(FORMAT_FILE), "sekimori-data 4\n").expect("write");
    match Store::open(dir.path()) {
        Err(StoreError::Format { found, expected }) => {
            assert_eq!(found, "sekimori-data 4");
            assert_eq!(expected, "sekimori-data 3");
        }
        other => panic!("expected Format error, got {other:?}"),
    }
}

#[test]
fn format_version_in_fresh_dir_is_checked_before_creating_db() {
    let dir = tempfile::tempdir().expect("tempdir");
    fs::write(dir.path().join(FORMAT_FILE), "something else").expect("write");
    assert!(matches!(
        Store::open(dir.path()),
        Err(StoreError::Format { .. })
    ));
    assert!(!dir.path().join(DB_FILE).exists());
}

#[test]
fn missing_format_file_next_to_db_refuses_to_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    drop(Store::open(dir.path()).expect("open"));
    fs::remove_file(dir.path().join(FORMAT_FILE)).expect("rm");
    let err = Store::open(dir.path()).expect_err("must refuse");
    assert!(matches!(err, StoreError::Format { .. }), "{err:?}");
}

#[test]
fn second_open_is_locked() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path()).expect("open");
    let err = Store::open(dir.path()).expect_err("second open must fail");
    assert!(matches!(err, StoreError::Locked { .. }), "{err:?}");
    drop(store);
    Store::open(dir.path()).expect("open after close");
}

#[test]
fn store_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Store>();
    assert_send_sync::<StoreError>();
}
