//! The snapshot object's format: signed, parsed, refused.

use super::*;
use sekimori_store::Op;
use std::sync::Arc;

const STREAM: &str = "SEKIMORI_bank";

/// Test keys: a keyed checksum stands in for the HMAC the server's keys
/// compute (`sekimori-workbench`'s `analyst_log::verifier`, tested there).
fn keys(key: u8) -> ShardKeys {
    fn sum(key: u8, parts: &[&[u8]]) -> [u8; 32] {
        let mut out = [key; 32];
        let mut at = 0usize;
        for part in parts {
            for b in (part.len() as u64).to_le_bytes().iter().chain(part.iter()) {
                out[at % 32] = out[at % 32].wrapping_mul(31).wrapping_add(*b);
                at += 1;
            }
        }
        out
    }
    ShardKeys {
        analysts: Arc::new(|_: &str, _: &[u8]| None),
        sign_object: Arc::new(move |parts: &[&[u8]]| sum(key, parts)),
        check_object: Arc::new(move |parts: &[&[u8]], mac: &[u8]| sum(key, parts) == mac),
    }
}

/// A format-4 object as the format-3 object it signs (no MAC).
fn unsigned(object: &[u8]) -> Vec<u8> {
    let mut out = OBJECT_V3.to_vec();
    out.extend(&object[SIGNED_FROM..]);
    out
}

/// A joining node uses a signed object only when its MAC holds over every
/// byte and the stream's name: a changed record, another shard's or key's
/// object and an unsigned (older format) one are refused.
#[test]
fn only_a_signed_object_opens() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = Store::open(dir.path()).expect("store");
    store
        .submit_blocking(Op::PutPack {
            version: "v1".into(),
            bytes: b"{}".to_vec(),
        })
        .expect("pack");
    store
        .submit_blocking(Op::StepUp {
            entries: vec![("analyst/mallory".into(), Some(b"{\"rev\":5}".to_vec()))],
        })
        .expect("records");
    let object = snapshot_object(&store, 9, b"v1\nSTATE", STREAM, &keys(1)).expect("object");
    let opened = open_snapshot_object(&object, STREAM, &keys(1)).expect("opens");
    assert_eq!((opened.seq, opened.stepup.len()), (9, 1));
    // The planted object of F4: an older record spliced in (same length),
    // the MAC left as it was.
    let mut spliced = object.clone();
    let at = spliced
        .windows(8)
        .position(|w| w == b"\"rev\":5}")
        .expect("record");
    spliced[at + 6] = b'3';
    assert_eq!(
        parse_snapshot_object(&spliced).expect("parses").stepup[0].1,
        b"{\"rev\":3}"
    );
    let refused = open_snapshot_object(&spliced, STREAM, &keys(1)).expect_err("refused");
    assert!(refused.contains("does not verify"), "{refused}");
    // A later seq claimed: refused.
    let mut later = object.clone();
    later[SIGNED_FROM] = 200;
    assert!(open_snapshot_object(&later, STREAM, &keys(1)).is_err());
    // Another shard's stream, another key.
    assert!(open_snapshot_object(&object, "SEKIMORI_other", &keys(1)).is_err());
    assert!(open_snapshot_object(&object, STREAM, &keys(2)).is_err());
    // Unsigned: the format before, whatever it holds.
    let old = unsigned(&object);
    assert_eq!(parse_snapshot_object(&old).expect("parses").seq, 9);
    let refused = open_snapshot_object(&old, STREAM, &keys(1)).expect_err("refused");
    assert!(refused.contains("not signed"), "{refused}");
    // Truncated to the MAC: refused, not a panic.
    assert!(open_snapshot_object(&object[..20], STREAM, &keys(1)).is_err());
}

/// A joining node keeps the higher rev of its own and the object's
/// analyst records, and never one that does not verify (F4): an old
/// genuine record in a planted object rolls nobody back.
#[test]
fn a_snapshot_object_never_rolls_an_analyst_back() {
    // A verifier that takes records whose "mac" is "ok".
    let verify: super::super::AnalystVerifier = std::sync::Arc::new(|_: &str, v: &[u8]| {
        let v: serde_json::Value = serde_json::from_slice(v).ok()?;
        (v["mac"] == "ok").then(|| v["rev"].as_u64()).flatten()
    });
    let rec = |rev: u64, mac: &str| format!(r#"{{"rev":{rev},"mac":"{mac}"}}"#).into_bytes();
    let held = |k: &str| match k {
        "analyst/mallory" => 5, // disabled at rev 5 on this node
        "analyst/aiko" => 2,
        _ => 0,
    };
    let object = vec![
        ("analyst/mallory".to_string(), rec(3, "ok")), // before the disable
        ("analyst/aiko".to_string(), rec(4, "ok")),    // newer: taken
        ("analyst/ken".to_string(), rec(9, "forged")), // does not verify
        ("tenant/b/a".to_string(), b"{}".to_vec()),
    ];
    let (kept, revs) = newer_analysts(object, held, &verify);
    let keys: Vec<&str> = kept.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["analyst/aiko", "tenant/b/a"]);
    assert_eq!(revs, [("analyst/aiko".to_string(), 4)]);
}

#[test]
fn a_snapshot_object_carries_its_pack_and_the_step_up_records() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = Store::open(dir.path()).expect("store");
    store
        .submit_blocking(Op::PutPack {
            version: "v1".into(),
            bytes: b"{\"pack\":1}".to_vec(),
        })
        .expect("pack");
    store
        .submit_blocking(Op::StepUp {
            entries: vec![
                ("tenant/b/a".into(), Some(b"{\"r\":1}".to_vec())),
                ("tenant/b/c".into(), Some(b"{}".to_vec())),
            ],
        })
        .expect("records");
    let object = snapshot_object(&store, 42, b"v1\nSTATE", STREAM, &keys(1)).expect("object");
    let parsed = parse_snapshot_object(&object).expect("parses");
    assert_eq!(parsed.seq, 42);
    assert_eq!(parsed.pack, ("v1".into(), b"{\"pack\":1}".to_vec()));
    assert_eq!(parsed.snapshot, b"v1\nSTATE".to_vec());
    assert_eq!(parsed.stepup.len(), 2);
    assert!(parsed.stepup_whole);
    assert_eq!(
        parsed.stepup[0],
        ("tenant/b/a".into(), b"{\"r\":1}".to_vec())
    );
    // A format-1 object (no records) still parses.
    let mut v1 = Vec::new();
    v1.extend(7u64.to_le_bytes());
    v1.extend(2u32.to_le_bytes());
    v1.extend(b"v1");
    v1.extend(2u64.to_le_bytes());
    v1.extend(b"{}");
    v1.extend(b"v1\nS");
    let old = parse_snapshot_object(&v1).expect("v1 parses");
    assert_eq!((old.seq, old.stepup.len()), (7, 0));
    assert_eq!(old.snapshot, b"v1\nS".to_vec());
    assert!(!old.stepup_whole);
    // Truncated: refused, not a panic.
    assert!(parse_snapshot_object(&object[..20]).is_none());
    // A format-2 object (records, no flag): never whole.
    let mut v2 = unsigned(&object);
    v2[..8].copy_from_slice(OBJECT_V2);
    let flag = v2.len() - b"v1\nSTATE".len() - 1;
    v2.remove(flag);
    let two = parse_snapshot_object(&v2).expect("v2 parses");
    assert_eq!((two.stepup.len(), two.stepup_whole), (2, false));
    assert_eq!(two.snapshot, b"v1\nSTATE".to_vec());
    // A node whose table came from a partial object uploads a table
    // that is not whole.
    store
        .submit_blocking(Op::PutMeta {
            key: STEPUP_INCOMPLETE.into(),
            bytes: b"1".to_vec(),
        })
        .expect("meta");
    let partial = snapshot_object(&store, 43, b"v1\nSTATE", STREAM, &keys(1)).expect("object");
    let parsed = parse_snapshot_object(&partial).expect("parses");
    assert_eq!((parsed.stepup.len(), parsed.stepup_whole), (2, false));
}

#[test]
fn a_joining_node_drops_records_the_whole_table_lacks() {
    let local = || vec!["tenant/b/gone".to_string(), "tenant/b/kept".to_string()];
    let object = vec![("tenant/b/kept".to_string(), b"new".to_vec())];
    let writes = stepup_join_writes(local(), object.clone(), true);
    assert_eq!(
        writes,
        vec![
            ("tenant/b/gone".to_string(), None),
            ("tenant/b/kept".to_string(), Some(b"new".to_vec())),
        ]
    );
    // A format-1 object says nothing of deletes: nothing is dropped.
    let writes = stepup_join_writes(local(), object, false);
    assert_eq!(
        writes,
        vec![("tenant/b/kept".to_string(), Some(b"new".to_vec()))]
    );
    // A format-2 object with no records empties the table.
    let writes = stepup_join_writes(local(), Vec::new(), true);
    assert_eq!(writes.len(), 2);
    assert!(writes.iter().all(|(_, v)| v.is_none()));
}
