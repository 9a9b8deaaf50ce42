//! A journal record: its bytes, and reading records back up to a torn one.
//! The layout is in the parent module's docs.

use xxhash_rust::xxh3::Xxh3;

/// Bytes before a record's payload.
pub(super) const HEADER: usize = 4 + 8 + 8;

fn checksum(batch: u64, payload: &[u8]) -> u64 {
    let mut hasher = Xxh3::new();
    hasher.update(&batch.to_le_bytes());
    hasher.update(payload);
    hasher.digest()
}

/// One record's bytes; `None` when the payload's length does not fit the header.
pub(super) fn encode(batch: u64, payload: &[u8]) -> Option<Vec<u8>> {
    let len = u32::try_from(payload.len()).ok()?;
    let mut record = Vec::with_capacity(HEADER + payload.len());
    record.extend_from_slice(&len.to_le_bytes());
    record.extend_from_slice(&batch.to_le_bytes());
    record.extend_from_slice(&checksum(batch, payload).to_le_bytes());
    record.extend_from_slice(payload);
    Some(record)
}

/// The record at byte `at` of `bytes`, (batch, payload, end), if it is whole
/// and passes its checksum.
fn record_at(bytes: &[u8], at: usize) -> Option<(u64, &[u8], usize)> {
    let header = bytes.get(at..at.checked_add(HEADER)?)?;
    let field = |from: usize, to: usize| header.get(from..to).unwrap_or_default();
    let len = u32::from_le_bytes(field(0, 4).try_into().ok()?);
    let batch = u64::from_le_bytes(field(4, 12).try_into().ok()?);
    let sum = u64::from_le_bytes(field(12, 20).try_into().ok()?);
    let start = at + HEADER;
    let end = start.checked_add(usize::try_from(len).ok()?)?;
    let payload = bytes.get(start..end)?;
    (checksum(batch, payload) == sum).then_some((batch, payload, end))
}

/// The whole records at the start of `bytes`, (batch, payload), up to the
/// first that is short (a torn append) or fails its checksum, and the byte
/// where they end.
pub(super) fn records(bytes: &[u8]) -> (Vec<(u64, &[u8])>, usize) {
    let mut out = Vec::new();
    let mut at = 0usize;
    while let Some((batch, payload, end)) = record_at(bytes, at) {
        out.push((batch, payload));
        at = end;
    }
    (out, at)
}

/// Where a good record of one of the batches after `last + 1` starts, past
/// byte `from`: the records behind a damaged one (batch `last + 1`, or a few
/// damaged in a row). Looks only where the batch number's bytes are found.
pub(super) fn record_after_damage(bytes: &[u8], from: usize, last: u64) -> Option<usize> {
    // A preallocated segment's zeros hold no record: search before them.
    let written = bytes.iter().rposition(|&b| b != 0).map_or(0, |p| p + 1);
    let rest = bytes.get(from.checked_add(1)?..written)?;
    (2..=4u64).find_map(|k| {
        let pattern = last.checked_add(k)?.to_le_bytes();
        rest.windows(pattern.len())
            .enumerate()
            .filter_map(|(i, w)| (w == pattern).then_some(from + 1 + i))
            .filter_map(|p| p.checked_sub(4))
            .find(|&at| at > from && record_at(bytes, at).is_some())
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::{EventKey, Op};

    pub(crate) fn append(seq: u64) -> Op {
        Op::Append {
            seq,
            event: Some(EventKey::new("svc", format!("e{seq}"))),
            bytes: vec![u8::try_from(seq % 251).unwrap_or(0); 40],
        }
    }

    pub(crate) fn record(batch: u64, ops: &[Op]) -> Vec<u8> {
        encode(batch, &postcard::to_stdvec(ops).expect("encode")).expect("record")
    }

    #[test]
    fn a_torn_tail_ends_the_segment_at_every_cut() {
        let mut bytes = record(1, &[append(1)]);
        let whole = bytes.len();
        bytes.extend(record(2, &[append(2)]));
        for cut in whole..bytes.len() {
            let got: Vec<u64> = records(&bytes[..cut]).0.into_iter().map(|r| r.0).collect();
            assert_eq!(got, vec![1], "cut at {cut}");
        }
        assert_eq!(records(&bytes).0.len(), 2);
    }

    #[test]
    fn a_flipped_bit_ends_the_segment() {
        let mut bytes = record(1, &[append(1)]);
        let first = bytes.len();
        bytes.extend(record(2, &[append(2)]));
        let second = bytes.len();
        bytes.extend(record(3, &[append(3)]));
        for at in first..bytes.len() {
            let mut bad = bytes.clone();
            bad[at] ^= 0x10;
            let got: Vec<u64> = records(&bad).0.into_iter().map(|r| r.0).collect();
            assert!(got == vec![1] || got == vec![1, 2], "flip at {at}: {got:?}");
            // Damage in record 2 leaves record 3 whole behind it: found.
            let behind = record_after_damage(&bad, records(&bad).1, got[got.len() - 1]);
            assert_eq!(behind.is_some(), at < second, "flip at {at}");
        }
    }

    #[test]
    fn the_record_format_is_fixed() {
        // The bytes an older build's journal holds must decode the same
        // after any change: a reordered `Op` variant changes this.
        let ops = vec![
            Op::Append {
                seq: 7,
                event: Some(EventKey::new("s", "i")),
                bytes: b"r".to_vec(),
            },
            Op::PutMeta {
                key: "k".into(),
                bytes: b"m".to_vec(),
            },
            Op::PutPack {
                version: "v".into(),
                bytes: b"p".to_vec(),
            },
            Op::StartAt { seq: 9 },
            Op::StepUp {
                entries: vec![("a".into(), None), ("b".into(), Some(b"x".to_vec()))],
            },
        ];
        let payload = postcard::to_stdvec(&ops).expect("encode");
        let hex: String = payload.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "0500070101730169017202016b016d0301760170040905020161000162010178"
        );
        let back: Vec<Op> = postcard::from_bytes(&payload).expect("decode");
        assert_eq!(back, ops);
    }

    #[test]
    fn a_zeroed_tail_ends_the_records_and_is_no_damage() {
        let mut bytes = record(1, &[append(1)]);
        bytes.extend(record(2, &[append(2)]));
        let written = bytes.len();
        bytes.resize(written + 70_000, 0);
        let (found, end) = records(&bytes);
        assert_eq!(found.len(), 2);
        assert_eq!(end, written);
        assert_eq!(record_after_damage(&bytes, end, 2), None);
    }
}
