//! The journal's files: listing the segments, creating one, and the spare
//! zero-filled ahead.

use super::{JOURNAL_PREFIX, SEGMENT_BYTES};
use crate::format::sync_dir;
use crate::StoreError;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// The segment files of `dir`, ordered by their first batch, with it.
pub(super) fn segments_from(dir: &Path) -> Result<Vec<(u64, PathBuf)>, StoreError> {
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
pub(super) fn segments(dir: &Path) -> Result<Vec<PathBuf>, StoreError> {
    Ok(segments_from(dir)?
        .into_iter()
        .map(|(_, path)| path)
        .collect())
}

/// Name of the spare segment while it is being zero-filled.
pub(super) const SPARE_FILE: &str = "journal.spare";
/// The spare is zero-filled this many bytes at a time, each step synced...
const SPARE_STEP: usize = 256 * 1024;
/// ... and followed by this pause (32 steps: at least 0.16 s a segment, well
/// within the time the writer takes to fill three quarters of one).
const SPARE_PAUSE: std::time::Duration = std::time::Duration::from_millis(5);

/// Deletes a spare segment file, if there is one.
pub(super) fn remove_spare(dir: &Path) -> Result<(), StoreError> {
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
pub(super) fn zeroed(dir: &Path) -> Result<File, StoreError> {
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
pub(super) fn name_segment(
    dir: &Path,
    file: File,
    first: u64,
) -> Result<(File, PathBuf), StoreError> {
    let path = segment_path(dir, first);
    std::fs::rename(dir.join(SPARE_FILE), &path).map_err(StoreError::io(&path))?;
    sync_dir(dir)?;
    Ok((file, path))
}

/// Creates segment `first` (mode 0600) and makes its name durable: records
/// acknowledged from it must be found after a crash.
pub(super) fn create_segment(dir: &Path, first: u64) -> Result<(File, PathBuf), StoreError> {
    let path = segment_path(dir, first);
    let file = create_private(&path)?;
    sync_dir(dir)?;
    Ok((file, path))
}

/// Segment `first`'s file name in `dir`.
pub(super) fn segment_path(dir: &Path, first: u64) -> PathBuf {
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
