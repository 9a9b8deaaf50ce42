//! One log entry as a stream message: postcard of [`Wire`] (format 1) or
//! [`WireV2`] (format 2: with step-up records), the format first so a
//! later one can be told apart. An entry without step-up records is still
//! written in format 1, so a node of the previous build reads it during a
//! rolling upgrade. Format 3 wraps either with the leader's MAC
//! ([`encode_signed`], [`decode_checked`]): a node holding the shard's
//! keys writes only that one, so upgrade the followers first.

use crate::log::{Record, StepUpWrites};
use sekimori_store::EventKey;
use serde::{Deserialize, Serialize};

const VERSION: u8 = 1;
const VERSION_STEPUP: u8 = 2;

/// The message body of one entry (format 1).
#[derive(Debug, Serialize, Deserialize)]
struct Wire {
    version: u8,
    /// (service, id) of the event the entry carries.
    event: Option<(String, String)>,
    /// A pack published with the entry: version and stored record.
    pack: Option<(String, Vec<u8>)>,
    /// The entry (`sekimori_engine::Entry` as the log stores it).
    entry: Vec<u8>,
}

/// Format 2: format 1 and the step-up records written with the entry.
#[derive(Debug, Serialize, Deserialize)]
struct WireV2 {
    version: u8,
    event: Option<(String, String)>,
    pack: Option<(String, Vec<u8>)>,
    entry: Vec<u8>,
    stepup: StepUpWrites,
}

/// The message body of `record`.
pub fn encode(record: &Record) -> Vec<u8> {
    let event = record
        .event
        .as_ref()
        .map(|k| (k.service.clone(), k.id.clone()));
    if record.stepup.is_empty() {
        let wire = Wire {
            version: VERSION,
            event,
            pack: record.pack.clone(),
            entry: record.bytes.clone(),
        };
        return postcard::to_stdvec(&wire).unwrap_or_default();
    }
    let wire = WireV2 {
        version: VERSION_STEPUP,
        event,
        pack: record.pack.clone(),
        entry: record.bytes.clone(),
        stepup: record.stepup.clone(),
    };
    postcard::to_stdvec(&wire).unwrap_or_default()
}

/// The record of a message body.
pub fn decode(bytes: &[u8]) -> Result<Record, String> {
    let bad = |e: postcard::Error| format!("stream entry does not decode: {e}");
    match bytes.first() {
        Some(&VERSION) => {
            let wire: Wire = postcard::from_bytes(bytes).map_err(bad)?;
            Ok(Record {
                event: wire.event.map(|(s, i)| EventKey::new(s, i)),
                bytes: wire.entry,
                pack: wire.pack,
                stepup: Vec::new(),
            })
        }
        Some(&VERSION_STEPUP) => {
            let wire: WireV2 = postcard::from_bytes(bytes).map_err(bad)?;
            check_stepup_writes(&wire.entry, &wire.stepup)?;
            Ok(Record {
                event: wire.event.map(|(s, i)| EventKey::new(s, i)),
                bytes: wire.entry,
                pack: wire.pack,
                stepup: wire.stepup,
            })
        }
        Some(&VERSION_SIGNED) => {
            Err("a signed stream entry read without the shard's key (decode_checked)".into())
        }
        Some(v) => Err(format!(
            "stream entry of format {v} (this build reads {VERSION}, {VERSION_STEPUP} and {VERSION_SIGNED})"
        )),
        None => Err("stream entry is empty".into()),
    }
}

/// Format 3: a format-1 or -2 message and the leader's MAC over it
/// (attacker's review F1).
const VERSION_SIGNED: u8 = 3;
/// The domain of an entry's MAC (never a snapshot object's).
const ENTRY_DOMAIN: &[u8] = b"sekimori-entry/v1";

#[derive(Debug, Serialize, Deserialize)]
struct Signed {
    version: u8,
    /// The format-1 or -2 message.
    body: Vec<u8>,
    /// HMAC-SHA256 under the shard's object key over the domain, the
    /// stream's name, the entry's sequence and `body`.
    mac: Vec<u8>,
}

fn entry_parts<'a>(stream: &'a str, seq: &'a [u8; 8], body: &'a [u8]) -> [&'a [u8]; 4] {
    [ENTRY_DOMAIN, stream.as_bytes(), seq, body]
}

/// The message body of `record`, signed as entry `seq` of `stream`: the
/// leader knows the sequence when it appends (it publishes expecting the
/// one before), so a message moved to another sequence or stream, or
/// published by anyone without the shard's key, does not verify.
pub fn encode_signed(record: &Record, stream: &str, seq: u64, sign: &super::ObjectSign) -> Vec<u8> {
    let body = encode(record);
    let mac = sign(&entry_parts(stream, &seq.to_be_bytes(), &body)).to_vec();
    postcard::to_stdvec(&Signed {
        version: VERSION_SIGNED,
        body,
        mac,
    })
    .unwrap_or_default()
}

/// The record of message `seq` of `stream` and whether it was signed: a
/// signed message only when its MAC holds under `check` (else an error
/// that says so); an unsigned one as it is (the caller decides whether
/// it may be: see `Follower`).
pub fn decode_checked(
    bytes: &[u8],
    stream: &str,
    seq: u64,
    check: &super::ObjectCheck,
) -> Result<(Record, bool), String> {
    if bytes.first() != Some(&VERSION_SIGNED) {
        return decode(bytes).map(|r| (r, false));
    }
    let signed: Signed = postcard::from_bytes(bytes)
        .map_err(|e| format!("stream entry {seq} does not decode: {e}"))?;
    if !check(
        &entry_parts(stream, &seq.to_be_bytes(), &signed.body),
        &signed.mac,
    ) {
        return Err(format!(
            "stream entry {seq}'s MAC does not hold: not appended by a node of the shard (forged, moved, or another shard's or stepup.key's); refused"
        ));
    }
    if signed.body.first() == Some(&VERSION_SIGNED) {
        return Err(format!("stream entry {seq} is signed twice; refused"));
    }
    decode(&signed.body).map(|r| (r, true))
}

/// The record of a message, signed or not, without checking any MAC: for
/// audits and tests that read a stream they trust (`replay_stream`),
/// never for a node that applies it.
pub fn decode_unchecked(bytes: &[u8]) -> Result<Record, String> {
    if bytes.first() != Some(&VERSION_SIGNED) {
        return decode(bytes);
    }
    let signed: Signed =
        postcard::from_bytes(bytes).map_err(|e| format!("stream entry does not decode: {e}"))?;
    decode(&signed.body)
}

/// The step-up table prefixes a record may be written under.
const STEPUP_PREFIXES: &[&str] = &[
    "tenant/",
    "account/",
    "credential/",
    "totp/",
    "ocra/",
    // The workbench's analysts of a replicated shard (signed records, a
    // rev that only grows: see `analyst_rev`).
    "analyst/",
];

/// The rev an analyst record (`analyst/...`: `{"rev": n, ...}`) claims,
/// `None` when it has none (a deletion, or not such a record), read
/// without a key: never trusted as it is. Analysts are never deleted, and
/// each write raises its key's rev by one: a follower takes the rev only
/// from a record whose MAC its verifier checks (`Follower::open`) and
/// refuses a write that does not raise the rev it holds by one (an old
/// record replayed into the stream), and the workbench refuses any record
/// whose signature does not verify (a forged one).
pub fn analyst_rev(value: Option<&[u8]>) -> Option<u64> {
    #[derive(Deserialize)]
    struct Rev {
        rev: u64,
    }
    serde_json::from_slice::<Rev>(value?).ok().map(|r| r.rev)
}

/// A format-2 message's step-up writes are exactly those its entry carries
/// (an `Entry::StepUp`, which `sekimori export` shows), under the step-up
/// table's own prefixes: writes riding on another kind of entry, or
/// differing from the entry's, are refused, so no hidden write reaches a
/// follower's step-up table.
fn check_stepup_writes(entry: &[u8], writes: &StepUpWrites) -> Result<(), String> {
    let refused = |why: &str| Err(format!("stream entry's step-up writes refused: {why}"));
    let Ok(sekimori_engine::Entry::StepUp {
        writes: carried, ..
    }) = sekimori_engine::Entry::from_bytes(entry)
    else {
        return refused("the entry is not a step-up entry");
    };
    if carried.len() != writes.len() {
        return refused("they differ from the entry's");
    }
    for ((ck, cv), (wk, wv)) in carried.iter().zip(writes) {
        if ck != wk || cv.as_ref().map(|v| v.as_bytes()) != wv.as_deref() {
            return refused("they differ from the entry's");
        }
        if !STEPUP_PREFIXES.iter().any(|p| wk.starts_with(p)) {
            return refused("a key outside the step-up table's prefixes");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn a_record_round_trips_and_garbage_is_refused() {
        let mut r = Record {
            event: Some(EventKey::new("svc", "e1")),
            bytes: b"{\"x\":1}".to_vec(),
            pack: Some(("v1".into(), b"{}".to_vec())),
            stepup: Vec::new(),
        };
        let v1 = encode(&r);
        assert_eq!(v1[0], VERSION);
        assert_eq!(decode(&v1).expect("decodes"), r);
        r.stepup = vec![
            ("tenant/svc/a".into(), Some(b"{\"r\":1}".to_vec())),
            ("account/a".into(), None),
        ];
        r.bytes = stepup_entry(&r.stepup);
        let v2 = encode(&r);
        assert_eq!(v2[0], VERSION_STEPUP);
        assert_eq!(decode(&v2).expect("decodes"), r);
        assert!(decode(b"\x07garbage").is_err());
        assert!(decode(b"").is_err());
    }

    /// A signed message reads only as its own sequence of its own stream
    /// under the shard's key; an unsigned one reads as unsigned.
    #[test]
    fn a_signed_entry_verifies_only_at_its_place() {
        // A keyed stand-in for the workbench's HMAC (the plumbing is
        // tested here; the MAC itself in sekimori-workbench).
        let keyed = |key: u8| {
            let sign: crate::jetstream::ObjectSign = Arc::new(move |parts: &[&[u8]]| {
                use std::hash::{Hash, Hasher};
                let mut h = std::collections::hash_map::DefaultHasher::new();
                key.hash(&mut h);
                for p in parts {
                    p.hash(&mut h);
                }
                let v = h.finish().to_be_bytes();
                let mut out = [0u8; 32];
                out.iter_mut()
                    .zip(v.iter().cycle())
                    .for_each(|(o, b)| *o = *b);
                out
            });
            let s = Arc::clone(&sign);
            let check: crate::jetstream::ObjectCheck =
                Arc::new(move |parts: &[&[u8]], mac: &[u8]| s(parts).as_slice() == mac);
            (sign, check)
        };
        let (sign, check) = keyed(1);
        let r = Record {
            event: Some(EventKey::new("svc", "e1")),
            bytes: b"{\"x\":1}".to_vec(),
            pack: Some(("v1".into(), b"{}".to_vec())),
            stepup: Vec::new(),
        };
        let m = encode_signed(&r, "SEKIMORI_bank", 7, &sign);
        assert_eq!(
            decode_checked(&m, "SEKIMORI_bank", 7, &check).expect("verifies"),
            (r.clone(), true)
        );
        assert!(
            decode_checked(&m, "SEKIMORI_bank", 8, &check).is_err(),
            "moved"
        );
        assert!(decode_checked(&m, "SEKIMORI_card", 7, &check).is_err());
        assert!(decode_checked(&m, "SEKIMORI_bank", 7, &keyed(2).1).is_err());
        let mut flipped = m.clone();
        let at = flipped.len() - 40;
        flipped[at] ^= 1;
        assert!(decode_checked(&flipped, "SEKIMORI_bank", 7, &check).is_err());
        assert!(decode(&m).is_err(), "never read without the key");
        assert_eq!(
            decode_checked(&encode(&r), "SEKIMORI_bank", 7, &check).expect("reads"),
            (r, false)
        );
    }

    fn stepup_entry(writes: &StepUpWrites) -> Vec<u8> {
        sekimori_engine::Entry::StepUp {
            what: "issued".into(),
            writes: writes
                .iter()
                .map(|(k, v)| {
                    let text = v
                        .as_ref()
                        .map(|v| String::from_utf8(v.clone()).expect("utf8"));
                    (k.clone(), text)
                })
                .collect(),
        }
        .to_bytes()
    }

    /// Analysts' records (`analyst/...`) ride on step-up entries like the
    /// step-up table's own, and their rev is read without any key.
    #[test]
    fn analyst_records_are_step_up_writes_with_a_rev() {
        let stepup: StepUpWrites = vec![
            (
                "analyst/aiko".into(),
                Some(br#"{"rev":3,"body":"{}","mac":"00"}"#.to_vec()),
            ),
            (
                "analyst/".into(),
                Some(br#"{"rev":1,"body":"[]","mac":"00"}"#.to_vec()),
            ),
        ];
        let r = Record {
            event: None,
            bytes: stepup_entry(&stepup),
            pack: None,
            stepup: stepup.clone(),
        };
        assert_eq!(decode(&encode(&r)).expect("decodes"), r);
        assert_eq!(analyst_rev(stepup[0].1.as_deref()), Some(3));
        assert_eq!(analyst_rev(None), None, "a deletion has no rev");
        assert_eq!(analyst_rev(Some(b"{}")), None);
    }

    /// Whoever can publish to the stream cannot hide step-up writes behind
    /// another entry, or write other records than the entry shows.
    #[test]
    fn step_up_writes_must_be_the_entrys_own() {
        let writes: StepUpWrites = vec![("account/victim".into(), None)];
        let analyst = sekimori_engine::Entry::Analyst {
            by: "aiko".into(),
            act: serde_json::json!({"type": "note"}),
            why: "n".into(),
            at: "2026-11-23T00:00:00Z".into(),
        };
        let hidden = Record {
            event: None,
            bytes: analyst.to_bytes(),
            pack: None,
            stepup: writes.clone(),
        };
        assert!(
            decode(&encode(&hidden)).is_err(),
            "writes behind an analyst entry"
        );
        let mut other = hidden.clone();
        other.bytes = stepup_entry(&vec![("account/someone".into(), None)]);
        assert!(
            decode(&encode(&other)).is_err(),
            "writes the entry does not show"
        );
        let mut outside = hidden.clone();
        outside.stepup = vec![("meta/leader".into(), None)];
        outside.bytes = stepup_entry(&outside.stepup);
        assert!(
            decode(&encode(&outside)).is_err(),
            "a key outside the table's prefixes"
        );
        let mut fine = hidden;
        fine.bytes = stepup_entry(&fine.stepup);
        assert_eq!(decode(&encode(&fine)).expect("decodes"), fine);
    }
}
