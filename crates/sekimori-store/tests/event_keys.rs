//! Events are indexed by (service, id), and a format-1 directory (ids
//! unique across services, `event_index`) still opens with its index.

use redb::{Database, TableDefinition};
use sekimori_store::{EventKey, Op, Store, FORMAT_FILE, META_FORMAT_VERSION};
use std::fs;

fn append(store: &Store, seq: u64, service: &str, id: &str) {
    store
        .submit_blocking(Op::Append {
            seq,
            event: Some(EventKey::new(service, id)),
            bytes: format!("{service}/{id}").into_bytes(),
        })
        .expect("append");
}

#[test]
fn the_same_id_from_two_services_is_two_events() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path()).expect("open");
    append(&store, 1, "a", "e1");
    append(&store, 2, "b", "e1");
    assert_eq!(store.seq_of_service_event("a", "e1").expect("idx"), Some(1));
    assert_eq!(store.seq_of_service_event("b", "e1").expect("idx"), Some(2));
    assert_eq!(store.seq_of_service_event("c", "e1").expect("idx"), None);
    assert_eq!(store.seq_of_service_event("a", "e2").expect("idx"), None);
    assert_eq!(store.seqs_of_event("e1").expect("idx"), vec![1, 2]);
    // A prefix of another id is another id.
    append(&store, 3, "a", "e10");
    assert_eq!(store.seqs_of_event("e1").expect("idx"), vec![1, 2]);
    assert_eq!(store.seq_of_event("e10").expect("idx"), Some(3));
}

#[test]
fn many_keys_are_looked_up_in_one_read_as_one_by_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path()).expect("open");
    append(&store, 1, "a", "e1");
    append(&store, 2, "b", "e1");
    append(&store, 3, "a", "e2");
    let keys = [
        ("a", "e1"),
        ("b", "e1"),
        ("c", "e1"),
        ("a", "e2"),
        ("b", "e2"),
        ("a", "e1"),
    ];
    let many = store.seqs_of_service_events(&keys).expect("idx");
    let one_by_one: Vec<_> = keys
        .iter()
        .map(|(s, id)| store.seq_of_service_event(s, id).expect("idx"))
        .collect();
    assert_eq!(many, one_by_one);
    assert_eq!(many, [Some(1), Some(2), None, Some(3), None, Some(1)]);
    assert!(store.seqs_of_service_events(&[]).expect("idx").is_empty());
}

/// A data directory as format 1 wrote it: `event_index` keyed by id alone.
fn write_format_1(dir: &std::path::Path) {
    const LOG: TableDefinition<u64, &[u8]> = TableDefinition::new("log");
    const EVENT_INDEX: TableDefinition<&str, u64> = TableDefinition::new("event_index");
    const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
    let db = Database::create(dir.join(sekimori_store::DB_FILE)).expect("create");
    let txn = db.begin_write().expect("txn");
    {
        let mut log = txn.open_table(LOG).expect("log");
        log.insert(1, b"a/old".as_slice()).expect("log");
        let mut index = txn.open_table(EVENT_INDEX).expect("index");
        index.insert("old", 1).expect("index");
        let mut meta = txn.open_table(META).expect("meta");
        meta.insert(META_FORMAT_VERSION, b"1".as_slice())
            .expect("meta");
    }
    txn.commit().expect("commit");
    fs::write(dir.join(FORMAT_FILE), "sekimori-data 1\n").expect("FORMAT");
}

#[test]
fn a_format_1_directory_opens_upgraded_with_its_index() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_format_1(dir.path());
    let store = Store::open(dir.path()).expect("a format-1 directory opens");
    assert_eq!(
        fs::read_to_string(dir.path().join(FORMAT_FILE)).expect("FORMAT"),
        "sekimori-data 3\n"
    );
    assert_eq!(
        store.meta(META_FORMAT_VERSION).expect("meta"),
        Some(b"3".to_vec())
    );
    assert_eq!(store.last_seq().expect("last"), 1);
    // The old index still finds the event; the record tells its service,
    // which the caller checks.
    assert_eq!(
        store.seq_of_service_event("a", "old").expect("idx"),
        Some(1)
    );
    assert_eq!(store.seq_of_event("old").expect("idx"), Some(1));
    // Another service's use of the id is a new event, indexed per service.
    append(&store, 2, "b", "old");
    assert_eq!(
        store.seq_of_service_event("b", "old").expect("idx"),
        Some(2)
    );
    assert_eq!(store.seqs_of_event("old").expect("idx"), vec![2, 1]);
    drop(store);
    let store = Store::open(dir.path()).expect("reopens as format 2");
    assert_eq!(
        store.seq_of_service_event("a", "old").expect("idx"),
        Some(1)
    );
    assert_eq!(
        store.seq_of_service_event("b", "old").expect("idx"),
        Some(2)
    );
}
