//! The dead-letter log: JSON Lines, one failed notice a line.

use crate::{Notice, NotifyError};
use serde::{Deserialize, Serialize};
use std::fs::{self, OpenOptions};
use std::io::{BufRead, BufReader, ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Reason recorded when [`crate::Notifier::send`] finds the queue full.
pub const QUEUE_FULL: &str = "queue_full";

/// One line of the dead-letter log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeadLetter {
    /// The notice, exactly as it would have been sent.
    pub notice: Notice,
    /// HTTP attempts made (0 when it never left the queue).
    pub attempts: u32,
    /// Why the last attempt failed, e.g. `HTTP 400`, `timeout`,
    /// `connection error: connection refused`, `queue_full`.
    pub last_error: String,
    /// When it was given up on (RFC 3339, UTC, wall clock).
    pub failed_at: String,
}

impl DeadLetter {
    /// A dead letter stamped with the current wall-clock time.
    pub(crate) fn now(notice: Notice, attempts: u32, last_error: String) -> Self {
        let failed_at = OffsetDateTime::now_utc()
            .format(&Rfc3339)
            .unwrap_or_default();
        DeadLetter {
            notice,
            attempts,
            last_error,
            failed_at,
        }
    }
}

/// Reads every dead letter in `path` (JSON Lines; blank lines are
/// skipped). A missing file holds no dead letters.
pub fn read_dead_letters(path: impl AsRef<Path>) -> Result<Vec<DeadLetter>, NotifyError> {
    let path = path.as_ref();
    let file = match fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_error(path, e)),
    };
    let mut letters = Vec::new();
    for (index, line) in BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|e| io_error(path, e))?;
        if line.trim().is_empty() {
            continue;
        }
        let letter = serde_json::from_str(&line).map_err(|source| NotifyError::Corrupt {
            path: path.to_path_buf(),
            line: index + 1,
            source,
        })?;
        letters.push(letter);
    }
    Ok(letters)
}

/// Replaces the content of `path` with `letters` (an empty slice truncates).
pub(crate) fn rewrite(path: &Path, letters: &[DeadLetter]) -> Result<(), NotifyError> {
    let mut text = String::new();
    for letter in letters {
        text.push_str(&line(letter)?);
    }
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
        .map_err(|e| io_error(path, e))?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.flush())
        .map_err(|e| io_error(path, e))
}

fn line(letter: &DeadLetter) -> Result<String, NotifyError> {
    let mut line = serde_json::to_string(letter).map_err(NotifyError::Json)?;
    line.push('\n');
    Ok(line)
}

fn io_error(path: &Path, source: std::io::Error) -> NotifyError {
    NotifyError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The notifier's own log. Writers (the worker, and callers whose notice
/// found the queue full) take the lock, so lines never interleave and a
/// redrive of this file sees no append between reading and truncating.
#[derive(Debug)]
pub(crate) struct DeadLetterLog {
    path: PathBuf,
    lock: Mutex<()>,
}

impl DeadLetterLog {
    /// Creates the parent directories and checks the file can be opened
    /// for appending.
    pub(crate) fn open(path: PathBuf) -> Result<Self, NotifyError> {
        create_parent(&path)?;
        OpenOptions::new()
            .append(true)
            .create(true)
            .open(&path)
            .map_err(|e| io_error(&path, e))?;
        Ok(DeadLetterLog {
            path,
            lock: Mutex::new(()),
        })
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, ()> {
        self.lock.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Appends one line and flushes it. The file is opened per line, so an
    /// operator may move it away (rotate it) at any time.
    pub(crate) fn append(&self, letter: &DeadLetter) -> Result<(), NotifyError> {
        let text = line(letter)?;
        let _guard = self.lock();
        create_parent(&self.path)?;
        let mut file = OpenOptions::new()
            .append(true)
            .create(true)
            .open(&self.path)
            .map_err(|e| io_error(&self.path, e))?;
        file.write_all(text.as_bytes())
            .and_then(|()| file.flush())
            .map_err(|e| io_error(&self.path, e))
    }

    /// Whether `other` names this log's file.
    pub(crate) fn is(&self, other: &Path) -> bool {
        if other == self.path {
            return true;
        }
        match (fs::canonicalize(other), fs::canonicalize(&self.path)) {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        }
    }
}

fn create_parent(path: &Path) -> Result<(), NotifyError> {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => {
            fs::create_dir_all(parent).map_err(|e| io_error(parent, e))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn notice(id: &str) -> Notice {
        Notice {
            id: id.into(),
            kind: "charge".into(),
            account: Some("acct_1".into()),
            service: "wallet".into(),
            at: "2024-01-01T00:00:00.000Z".into(),
            action: "allow".into(),
            summary: json!({"amount_minor": 500, "currency": "JPY"}),
        }
    }

    #[test]
    fn append_read_rewrite() {
        let dir = tempfile::tempdir().expect("ok");
        let path = dir.path().join("a/b/dead.jsonl");
        let log = DeadLetterLog::open(path.clone()).expect("ok");
        assert_eq!(read_dead_letters(&path).expect("ok"), vec![]);
        let one = DeadLetter::now(notice("n1"), 3, "HTTP 503".into());
        let two = DeadLetter::now(notice("n2"), 0, QUEUE_FULL.into());
        log.append(&one).expect("ok");
        log.append(&two).expect("ok");
        let text = fs::read_to_string(&path).expect("ok");
        assert_eq!(text.lines().count(), 2);
        assert!(text.ends_with('\n'));
        assert_eq!(
            read_dead_letters(&path).expect("ok"),
            vec![one, two.clone()]
        );
        assert!(OffsetDateTime::parse(&two.failed_at, &Rfc3339).is_ok());
        rewrite(&path, std::slice::from_ref(&two)).expect("ok");
        assert_eq!(read_dead_letters(&path).expect("ok"), vec![two]);
        rewrite(&path, &[]).expect("ok");
        assert_eq!(fs::metadata(&path).expect("ok").len(), 0);
        assert!(log.is(&dir.path().join("a/./b/dead.jsonl")));
        assert!(!log.is(&dir.path().join("other.jsonl")));
    }

    #[test]
    fn corrupt_line_is_reported_with_its_number() {
        let dir = tempfile::tempdir().expect("ok");
        let path = dir.path().join("dead.jsonl");
        let good =
            serde_json::to_string(&DeadLetter::now(notice("n1"), 1, "x".into())).expect("ok");
        fs::write(&path, format!("{good}\n\n{{\"notice\":\n")).expect("ok");
        match read_dead_letters(&path) {
            Err(NotifyError::Corrupt { line, .. }) => assert_eq!(line, 3),
            other => panic!("{other:?}"),
        }
    }
}
