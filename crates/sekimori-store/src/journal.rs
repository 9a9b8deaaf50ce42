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

mod files;
mod record;

use crate::writer::Op;
use crate::StoreError;
use files::{create_segment, name_segment, remove_spare, segments, segments_from, zeroed};
use record::{encode, record_after_damage, records};
use std::collections::VecDeque;
use std::fs::File;
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// A journal segment's file name: this prefix, then the number of its first
/// batch (20 digits, so that names sort as numbers).
pub const JOURNAL_PREFIX: &str = "journal-";
/// The writer starts a new segment once the current one holds this many bytes.
pub const SEGMENT_BYTES: u64 = 8 * 1024 * 1024;
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

#[cfg(test)]
mod tests {
    use super::files::{segment_path, SPARE_FILE};
    use super::record::tests::{append, record};
    use super::record::HEADER;
    use super::*;

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
