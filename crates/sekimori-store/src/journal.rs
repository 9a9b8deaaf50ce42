//! The write-ahead journal in front of redb (format 3).
//!
//! A durable redb commit rewrites the copy-on-write path of every table it
//! touches (a dozen pages in several places of the file) and syncs them: about
//! 0.4 ms a group on the development VM, where appending a few kilobytes to a
//! file and `fdatasync`ing it takes 0.15 ms. So the writer appends each group's
//! ops to the journal, syncs it, adds them to the in-memory overlay (which every
//! read consults first) and answers; the applier thread commits them to redb
//! later, many groups in one durable commit, which also records in META
//! ([`JOURNAL_BATCH`](crate::tables::JOURNAL_BATCH)) the last batch it covers.
//!
//! # Segments and records
//!
//! The journal is a sequence of segment files, `journal-` and the number of
//! their first batch; the writer starts a new one after [`SEGMENT_BYTES`], and
//! the applier deletes a closed one once a durable commit covers all of it.
//! After the first, a segment is zero-filled ahead by a background thread
//! (`journal.spare`, renamed when it is rotated in), so that an append's sync
//! writes data and no file-system metadata; zeros end the records.
//! Each group commit is one record, numbered by a batch counter that never goes
//! back:
//!
//! | bytes | field |
//! |---|---|
//! | 4 | payload length, little-endian `u32` |
//! | 8 | batch number, little-endian `u64` |
//! | 8 | xxh3-64 of the batch number's bytes then the payload |
//! | n | the batch's ops, postcard-encoded |
//!
//! # Recovery
//!
//! [`recover`] reads the segments in order, each up to its first record that is
//! short (a torn append) or fails its checksum. Only a segment's last record can
//! be torn (appends are serial, each synced before the next): a good record of a
//! following batch behind a bad one is damage, and refuses the open. Records at
//! or below the
//! checkpointed batch are in the database already and skipped; the rest must
//! run on from it without a gap, or the open fails ([`StoreError::Journal`])
//! rather than run with acknowledged ops missing. The store replays them in one
//! durable commit, then starts the journal afresh. Replaying a record twice is
//! harmless: every op is an absolute write (an append rewrites its own seq; a
//! put or delete sets its key), so a suffix applied again leaves the same state.
//!
//! The checksum finds torn bytes, not tampering: the journal is in the private
//! data directory, next to the database it protects.

use crate::format::sync_dir;
use crate::writer::Op;
use crate::StoreError;
use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use xxhash_rust::xxh3::Xxh3;

/// A journal segment's file name: this prefix, then the number of its first
/// batch (20 digits, so that names sort as numbers).
pub const JOURNAL_PREFIX: &str = "journal-";
/// The writer starts a new segment once the current one holds this many bytes.
pub const SEGMENT_BYTES: u64 = 8 * 1024 * 1024;
/// Bytes before a record's payload.
const HEADER: usize = 4 + 8 + 8;

/// Closed segments, oldest first: (last batch it holds, path). The applier
/// deletes the ones a durable commit covers.
pub(crate) type Closed = Arc<Mutex<VecDeque<(u64, PathBuf)>>>;

/// The journal: the current segment, open for appends, and the closed ones.
#[derive(Debug)]
pub(crate) struct Journal {
    dir: PathBuf,
    file: File,
    path: PathBuf,
    /// Bytes in the current segment.
    len: u64,
    closed: Closed,
    /// The next segment's file, being zero-filled in the background.
    spare: Option<JoinHandle<Result<File, StoreError>>>,
}

/// A journaled batch not yet in a durable database commit.
#[derive(Debug)]
pub(crate) struct Pending {
    pub(crate) batch: u64,
    pub(crate) ops: Vec<Op>,
}

/// The segment files of `dir`, ordered by their first batch, with it.
fn segments_from(dir: &Path) -> Result<Vec<(u64, PathBuf)>, StoreError> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(StoreError::io(dir))? {
        let entry = entry.map_err(StoreError::io(dir))?;
        let name = entry.file_name();
        let Some(first) = name
            .to_str()
            .and_then(|n| n.strip_prefix(JOURNAL_PREFIX))
            .and_then(|n| n.parse::<u64>().ok())
        else {
            continue;
        };
        found.push((first, entry.path()));
    }
    found.sort();
    Ok(found)
}

/// The segment files of `dir`, ordered by their first batch.
fn segments(dir: &Path) -> Result<Vec<PathBuf>, StoreError> {
    Ok(segments_from(dir)?
        .into_iter()
        .map(|(_, path)| path)
        .collect())
}

/// Reads every segment of `dir` and returns the batches after `checkpointed`,
/// the last batch the database holds durably, in order.
pub(crate) fn recover(dir: &Path, checkpointed: u64) -> Result<Vec<Pending>, StoreError> {
    let mut pending: Vec<Pending> = Vec::new();
    for (first, path) in segments_from(dir)? {
        let mut bytes = Vec::new();
        File::open(&path)
            .and_then(|mut f| f.read_to_end(&mut bytes))
            .map_err(StoreError::io(&path))?;
        let bad = |detail: String| StoreError::Journal {
            path: path.clone(),
            detail,
        };
        let (found, end) = records(&bytes);
        // Appends are serial and each is synced before the next: only the
        // last record of a segment can be torn. A bad record with a good one
        // behind it is damage, and what follows it was acknowledged.
        let last = found.last().map_or(first.saturating_sub(1), |r| r.0);
        if let Some(at) = record_after_damage(&bytes, end, last) {
            return Err(bad(format!(
                "the record at byte {end} is damaged and a good one follows it at byte {at}"
            )));
        }
        for (batch, payload) in found {
            if batch <= checkpointed {
                continue;
            }
            let expected = pending.last().map_or(checkpointed, |p| p.batch) + 1;
            if batch != expected {
                return Err(bad(format!(
                    "batch {batch} follows batch {} of a database checkpointed at {checkpointed}: \
                     batches in between are missing",
                    expected - 1
                )));
            }
            let ops: Vec<Op> = postcard::from_bytes(payload).map_err(|e| {
                bad(format!(
                    "batch {batch} passes its checksum but does not decode: {e}"
                ))
            })?;
            pending.push(Pending { batch, ops });
        }
    }
    Ok(pending)
}

impl Journal {
    /// Starts the journal afresh at batch `first`, once the database holds
    /// every batch before it durably: the old segments are deleted.
    pub(crate) fn start(dir: &Path, first: u64) -> Result<Journal, StoreError> {
        for path in segments(dir)? {
            std::fs::remove_file(&path).map_err(StoreError::io(&path))?;
        }
        remove_spare(dir)?;
        // The first segment grows as it is written; the spare is begun once
        // it is a quarter full (a store that writes little never pays for it).
        let (file, path) = create_segment(dir, first)?;
        Ok(Journal {
            dir: dir.to_path_buf(),
            file,
            path,
            len: 0,
            closed: Closed::default(),
            spare: None,
        })
    }

    /// Starts zero-filling the next segment's file in the background.
    fn prepare_spare(&mut self) {
        let dir = self.dir.clone();
        self.spare = std::thread::Builder::new()
            .name("sekimori-store-spare".into())
            .spawn(move || zeroed(&dir))
            .ok();
    }

    /// The next segment, named for batch `first`: the spare when it is
    /// ready, else a file that grows as it is written (slower syncs, no
    /// wait now).
    fn next_segment(&mut self, first: u64) -> Result<(File, PathBuf), StoreError> {
        match self.spare.take() {
            Some(spare) if spare.is_finished() => {
                let ready = spare.join().ok().and_then(Result::ok);
                match ready {
                    Some(file) => name_segment(&self.dir, file, first),
                    // A failed zero-fill (a full disk?) costs speed, not data.
                    None => create_segment(&self.dir, first),
                }
            }
            pending => {
                self.spare = pending;
                create_segment(&self.dir, first)
            }
        }
    }

    /// The closed segments, for the applier to delete.
    pub(crate) fn closed(&self) -> Closed {
        Arc::clone(&self.closed)
    }

    /// Appends one batch's ops as record `batch` and syncs the file's data:
    /// when this returns `Ok`, the record survives a crash. A full segment is
    /// closed afterwards and the next one started.
    pub(crate) fn append(&mut self, batch: u64, ops: &[Op]) -> Result<(), StoreError> {
        let payload = postcard::to_stdvec(ops).map_err(|e| StoreError::Journal {
            path: self.path.clone(),
            detail: format!("encoding batch {batch}: {e}"),
        })?;
        let record = encode(batch, &payload).ok_or_else(|| StoreError::Journal {
            path: self.path.clone(),
            detail: format!("batch {batch} is too large for a record"),
        })?;
        self.file
            .write_all_at(&record, self.len)
            .and_then(|()| self.file.sync_data())
            .map_err(StoreError::io(&self.path))?;
        self.len += u64::try_from(record.len()).unwrap_or(u64::MAX);
        if self.spare.is_none() && self.len >= SEGMENT_BYTES / 4 {
            self.prepare_spare();
        }
        if self.len >= SEGMENT_BYTES {
            let (file, path) = self.next_segment(batch + 1)?;
            let old = std::mem::replace(&mut self.path, path);
            self.file = file;
            self.len = 0;
            if let Ok(mut closed) = self.closed.lock() {
                closed.push_back((batch, old));
            }
        }
        Ok(())
    }

    /// Deletes every segment, once the database holds all of their batches
    /// (the store closes).
    pub(crate) fn finish(mut self) -> Result<(), StoreError> {
        if let Some(spare) = self.spare.take() {
            let _ = spare.join();
        }
        drop(self.file);
        for path in segments(&self.dir)? {
            std::fs::remove_file(&path).map_err(StoreError::io(&path))?;
        }
        remove_spare(&self.dir)
    }
}

/// Deletes the closed segments whose batches are all at or before `checkpointed`.
pub(crate) fn forget_through(closed: &Closed, checkpointed: u64) -> Result<(), StoreError> {
    let Ok(mut closed) = closed.lock() else {
        return Ok(());
    };
    while let Some((last, path)) = closed.front() {
        if *last > checkpointed {
            break;
        }
        std::fs::remove_file(path).map_err(StoreError::io(path))?;
        closed.pop_front();
    }
    Ok(())
}

/// Name of the spare segment while it is being zero-filled.
const SPARE_FILE: &str = "journal.spare";
/// The spare is zero-filled this many bytes at a time, each step synced...
const SPARE_STEP: usize = 256 * 1024;
/// ... and followed by this pause (32 steps: at least 0.16 s a segment, well
/// within the time the writer takes to fill three quarters of one).
const SPARE_PAUSE: std::time::Duration = std::time::Duration::from_millis(5);

/// Deletes a spare segment file, if there is one.
fn remove_spare(dir: &Path) -> Result<(), StoreError> {
    let path = dir.join(SPARE_FILE);
    match std::fs::remove_file(&path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(StoreError::io(&path)(e)),
        _ => Ok(()),
    }
}

/// A spare segment: [`SEGMENT_BYTES`] of zeros, written and synced (mode
/// 0600). Appends then overwrite blocks the file already has, so a record's
/// `fdatasync` writes its data and no file-system metadata (the file's size
/// does not change): on the development VM 0.10 ms instead of 0.15, and it
/// does not wait for the file system's journal, which the database's own
/// syncs also use. Zeros end the records: a zero header fails its checksum.
fn zeroed(dir: &Path) -> Result<File, StoreError> {
    let path = dir.join(SPARE_FILE);
    let file = create_private(&path)?;
    // In small synced steps with pauses: one 8 MB flush would hold the disk
    // while the writer's next journal sync waits behind it.
    let chunk = vec![0u8; SPARE_STEP];
    let mut at = 0u64;
    while at < SEGMENT_BYTES {
        file.write_all_at(&chunk, at)
            .and_then(|()| file.sync_data())
            .map_err(StoreError::io(&path))?;
        at += chunk.len() as u64;
        std::thread::sleep(SPARE_PAUSE);
    }
    file.sync_all().map_err(StoreError::io(&path))?;
    Ok(file)
}

/// Gives the spare `file` its segment name (`first`), durably.
fn name_segment(dir: &Path, file: File, first: u64) -> Result<(File, PathBuf), StoreError> {
    let path = segment_path(dir, first);
    std::fs::rename(dir.join(SPARE_FILE), &path).map_err(StoreError::io(&path))?;
    sync_dir(dir)?;
    Ok((file, path))
}

/// Creates segment `first` (mode 0600) and makes its name durable: records
/// acknowledged from it must be found after a crash.
fn create_segment(dir: &Path, first: u64) -> Result<(File, PathBuf), StoreError> {
    let path = segment_path(dir, first);
    let file = create_private(&path)?;
    sync_dir(dir)?;
    Ok((file, path))
}

/// Segment `first`'s file name in `dir`.
fn segment_path(dir: &Path, first: u64) -> PathBuf {
    dir.join(format!("{JOURNAL_PREFIX}{first:020}"))
}

/// Creates `path` empty (truncating what was there), mode 0600, for reading
/// and writing.
fn create_private(path: &Path) -> Result<File, StoreError> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(StoreError::io(path))
}

fn checksum(batch: u64, payload: &[u8]) -> u64 {
    let mut hasher = Xxh3::new();
    hasher.update(&batch.to_le_bytes());
    hasher.update(payload);
    hasher.digest()
}

/// One record's bytes; `None` when the payload's length does not fit the header.
fn encode(batch: u64, payload: &[u8]) -> Option<Vec<u8>> {
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
fn records(bytes: &[u8]) -> (Vec<(u64, &[u8])>, usize) {
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
fn record_after_damage(bytes: &[u8], from: usize, last: u64) -> Option<usize> {
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
mod tests {
    use super::*;
    use crate::EventKey;

    fn append(seq: u64) -> Op {
        Op::Append {
            seq,
            event: Some(EventKey::new("svc", format!("e{seq}"))),
            bytes: vec![u8::try_from(seq % 251).unwrap_or(0); 40],
        }
    }

    fn record(batch: u64, ops: &[Op]) -> Vec<u8> {
        encode(batch, &postcard::to_stdvec(ops).expect("encode")).expect("record")
    }

    fn batches(pending: &[Pending]) -> Vec<u64> {
        pending.iter().map(|p| p.batch).collect()
    }

    fn write_segment(dir: &Path, first: u64, bytes: &[u8]) {
        std::fs::write(segment_path(dir, first), bytes).expect("write");
    }

    #[test]
    fn recovers_what_follows_the_checkpoint_across_segments() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut one = record(5, &[append(1), append(2)]);
        one.extend(record(6, &[append(3)]));
        write_segment(dir.path(), 5, &one);
        write_segment(dir.path(), 7, &record(7, &[append(4)]));
        let pending = recover(dir.path(), 5).expect("recover");
        assert_eq!(batches(&pending), vec![6, 7]);
        assert_eq!(pending[0].ops, vec![append(3)]);
        assert!(recover(dir.path(), 7).expect("recover").is_empty());
        assert_eq!(
            batches(&recover(dir.path(), 4).expect("recover")),
            vec![5, 6, 7]
        );
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
    fn damage_in_the_middle_of_the_last_segment_refuses_the_open() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut bytes = record(1, &[append(1)]);
        let second = bytes.len();
        bytes.extend(record(2, &[append(2)]));
        bytes.extend(record(3, &[append(3)]));
        bytes[second + HEADER + 2] ^= 0x40;
        write_segment(dir.path(), 1, &bytes);
        let err = recover(dir.path(), 0).expect_err("record 3 was acknowledged");
        assert!(err.to_string().contains("is damaged"), "{err}");
        // A torn last record is no damage: the good ones before it replay.
        let dir = tempfile::tempdir().expect("tempdir");
        let mut bytes = record(1, &[append(1)]);
        let torn = record(2, &[append(2)]);
        bytes.extend(&torn[..torn.len() - 3]);
        write_segment(dir.path(), 1, &bytes);
        assert_eq!(batches(&recover(dir.path(), 0).expect("recover")), vec![1]);
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

    #[test]
    fn a_gap_after_the_checkpoint_refuses_the_open() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut bytes = record(7, &[append(7)]);
        bytes.extend(record(8, &[append(8)]));
        write_segment(dir.path(), 7, &bytes);
        let err = recover(dir.path(), 5).expect_err("batch 6 is missing");
        assert!(err.to_string().contains("batch 7 follows batch 5"), "{err}");
        // A record lost inside a segment: the next segment does not follow.
        let dir = tempfile::tempdir().expect("tempdir");
        let mut bytes = record(1, &[append(1)]);
        let mut torn = record(2, &[append(2)]);
        torn[HEADER] ^= 1;
        bytes.extend(torn);
        write_segment(dir.path(), 1, &bytes);
        write_segment(dir.path(), 3, &record(3, &[append(3)]));
        assert!(recover(dir.path(), 0).is_err());
    }

    #[test]
    fn segments_roll_over_and_closed_ones_go_once_checkpointed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut journal = Journal::start(dir.path(), 1).expect("start");
        let big = Op::PutPack {
            version: "v".into(),
            bytes: vec![3; usize::try_from(SEGMENT_BYTES).expect("fits") / 2 + 1],
        };
        for batch in 1..=5 {
            journal
                .append(batch, std::slice::from_ref(&big))
                .expect("append");
        }
        // Two records fill a segment: 1-2, 3-4, then 5 in the current one.
        assert_eq!(segments(dir.path()).expect("list").len(), 3);
        assert_eq!(
            batches(&recover(dir.path(), 0).expect("recover")),
            vec![1, 2, 3, 4, 5]
        );
        let closed = journal.closed();
        forget_through(&closed, 3).expect("forget");
        assert_eq!(
            segments(dir.path()).expect("list").len(),
            2,
            "1-2 is covered"
        );
        assert_eq!(
            batches(&recover(dir.path(), 3).expect("recover")),
            vec![4, 5]
        );
        forget_through(&closed, 5).expect("forget");
        assert_eq!(
            segments(dir.path()).expect("list").len(),
            1,
            "the current one stays"
        );
        journal.finish().expect("finish");
        assert!(segments(dir.path()).expect("list").is_empty());
    }

    #[test]
    fn a_ready_spare_becomes_the_next_segment() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut journal = Journal::start(dir.path(), 1).expect("start");
        let quarter = usize::try_from(SEGMENT_BYTES / 4).expect("fits");
        let pack = |n: usize| Op::PutPack {
            version: "v".into(),
            bytes: vec![5; n],
        };
        journal.append(1, &[pack(quarter)]).expect("append");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while !journal.spare.as_ref().is_some_and(JoinHandle::is_finished) {
            assert!(
                std::time::Instant::now() < deadline,
                "the spare never got ready"
            );
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        journal.append(2, &[pack(3 * quarter)]).expect("append");
        journal.append(3, &[append(3)]).expect("append");
        let names = segments(dir.path()).expect("list");
        assert_eq!(names.len(), 2);
        let size = std::fs::metadata(&names[1]).expect("segment").len();
        assert_eq!(
            size, SEGMENT_BYTES,
            "the second segment is the zero-filled spare"
        );
        assert!(
            !dir.path().join(SPARE_FILE).exists(),
            "the spare was renamed"
        );
        assert_eq!(
            batches(&recover(dir.path(), 0).expect("recover")),
            vec![1, 2, 3]
        );
        journal.finish().expect("finish");
        assert!(segments(dir.path()).expect("list").is_empty());
    }

    #[test]
    fn a_fresh_start_deletes_the_old_segments() {
        let dir = tempfile::tempdir().expect("tempdir");
        write_segment(dir.path(), 1, &record(1, &[append(1)]));
        let mut journal = Journal::start(dir.path(), 2).expect("start");
        journal.append(2, &[append(2)]).expect("append");
        assert_eq!(batches(&recover(dir.path(), 1).expect("recover")), vec![2]);
        let names: Vec<PathBuf> = segments(dir.path()).expect("list");
        assert_eq!(names.len(), 1);
        assert!(names[0].ends_with("journal-00000000000000000002"));
    }
}
