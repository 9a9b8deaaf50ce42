//! Why a corpus or a range could not be read.

use std::io;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum CorpusError {
    /// The file or directory could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// What was being read.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// A line is not `HASH:COUNT`.
    #[error("{}:{line}: {reason}", path.display())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The same hash appears twice.
    #[error("{}: hash {sha1} appears more than once", path.display())]
    Duplicate {
        /// The file.
        path: PathBuf,
        /// The repeated hash, 40 uppercase hex digits.
        sha1: String,
    },
    /// Two range files in the directory have the same prefix (e.g. `ABCDE`
    /// and `abcde.txt`).
    #[error("{}: more than one range file for prefix {prefix}", path.display())]
    DuplicateRangeFile {
        /// The directory.
        path: PathBuf,
        /// The prefix, uppercase.
        prefix: String,
    },
    /// The directory holds no file named like a range file.
    #[error("{}: no range files (named XXXXX or XXXXX.txt) in this directory", path.display())]
    NoRangeFiles {
        /// The directory.
        path: PathBuf,
    },
}

/// Why a range (or count) lookup failed.
#[derive(Debug, thiserror::Error)]
pub enum RangeError {
    /// The prefix is not exactly five hex digits.
    #[error("a range prefix is exactly 5 hexadecimal digits")]
    InvalidPrefix,
    /// The range file could not be read or is malformed (directory layout).
    #[error(transparent)]
    Corpus(#[from] CorpusError),
}
