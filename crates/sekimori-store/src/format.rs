//! The `FORMAT` file of the data directory.

use crate::StoreError;
use std::fs::{self, File};
use std::io::{ErrorKind, Write};
use std::path::Path;

/// The on-disk format version this build writes. Version 3 adds the
/// write-ahead `journal` (acknowledged ops may be there and not yet in a
/// durable database commit); version 2 indexes events by (service, id) (the
/// `events` table). This build also opens versions 1 (ids unique across
/// services, `event_index`) and 2, and upgrades them in place, keeping
/// version 1's index for reading. An older build refuses a newer directory,
/// which it would read with half an index or without its journal's ops.
pub const FORMAT_VERSION: u32 = 3;
/// The formats this build upgrades in place: 1 (before events were indexed
/// per service) and 2 (before the journal).
pub(crate) const OLDER_FORMATS: [u32; 2] = [1, 2];

/// Name of the plain-text version file inside the data directory.
pub const FORMAT_FILE: &str = "FORMAT";

/// The first line of the `FORMAT` file, without its newline.
pub(crate) fn format_line() -> String {
    format!("sekimori-data {FORMAT_VERSION}")
}

/// Checks the `FORMAT` file of `dir`, creating it in a fresh directory.
///
/// `db_exists` tells whether the database file is already there: a database without a
/// `FORMAT` file is refused rather than silently adopted.
pub(crate) fn check_or_create(dir: &Path, db_exists: bool) -> Result<(), StoreError> {
    let path = dir.join(FORMAT_FILE);
    match fs::read(&path) {
        Ok(bytes) => match check_contents(&bytes)? {
            Some(_) => Ok(()),
            // An older format upgrades in place (the database follows in `tables::init`).
            None => write_format(dir),
        },
        Err(e) if e.kind() == ErrorKind::NotFound && db_exists => Err(StoreError::Format {
            found: format!("no {FORMAT_FILE} file next to an existing database"),
            expected: format_line(),
        }),
        Err(e) if e.kind() == ErrorKind::NotFound => write_format(dir),
        Err(e) => Err(StoreError::io(&path)(e)),
    }
}

/// `Some(())` for the current format, `None` for an older one (to upgrade).
fn check_contents(bytes: &[u8]) -> Result<Option<()>, StoreError> {
    let text = String::from_utf8_lossy(bytes);
    let found = text.trim_end();
    if found == format_line() {
        Ok(Some(()))
    } else if OLDER_FORMATS
        .iter()
        .any(|v| found == format!("sekimori-data {v}"))
    {
        Ok(None)
    } else {
        Err(StoreError::Format {
            found: found.to_string(),
            expected: format_line(),
        })
    }
}

/// Writes the file atomically: a temporary file, fsync, rename, fsync of the directory.
fn write_format(dir: &Path) -> Result<(), StoreError> {
    let tmp = dir.join(format!("{FORMAT_FILE}.tmp"));
    let path = dir.join(FORMAT_FILE);
    let mut file = {
        use std::os::unix::fs::OpenOptionsExt;
        fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(StoreError::io(&tmp))?
    };
    file.write_all(format!("{}\n", format_line()).as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(StoreError::io(&tmp))?;
    drop(file);
    fs::rename(&tmp, &path).map_err(StoreError::io(&path))?;
    sync_dir(dir)
}

/// Makes the names of `dir`'s entries durable (a new or renamed file).
#[cfg(unix)]
pub(crate) fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(StoreError::io(dir))
}

#[cfg(not(unix))]
pub(crate) fn sync_dir(_dir: &Path) -> Result<(), StoreError> {
    Ok(())
}
