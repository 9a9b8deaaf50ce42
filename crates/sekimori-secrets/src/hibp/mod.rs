//! Breached secrets: a local copy of Have I Been Pwned's Pwned Passwords
//! (SHA-1 flavour), served through the k-anonymity *range* protocol.
//!
//! A client hashes the secret with SHA-1, sends the first five hex digits
//! (the *prefix*) and gets back every known hash starting with them, as
//! 35-hex-digit *suffixes* with their breach counts. The client looks for its
//! own suffix locally, so the server never learns which secret was checked.
//!
//! # Corpus layouts and memory
//!
//! [`Corpus::load`] accepts the two layouts HIBP publishes:
//!
//! * **One file** of `SHA1HEX:COUNT` lines (40 hex digits), such as
//!   `pwned-passwords-sha1-ordered-by-hash-v*.txt` or the shipped
//!   `data/hibp/common.txt`. The whole file is parsed and validated at load
//!   time and kept in memory as a sorted `Vec<([u8; 20], u32)>` (24 bytes a
//!   hash); a range is two binary searches. Use it for subsets up to some
//!   tens of millions of hashes; the full corpus (about a billion hashes,
//!   ~24 GB this way) belongs in the directory layout.
//! * **A directory** of range files named `XXXXX` or `XXXXX.txt` (five hex
//!   digits), each holding `SUFFIX:COUNT` lines: what the official
//!   PwnedPasswordsDownloader writes with one file per prefix. Loading only
//!   indexes the file names (about 1 MB for all 1,048,576 prefixes); each
//!   [`Corpus::range`] reads and validates that one file (~30 KB), so the
//!   full ~38 GB corpus is never held in memory and the operating system's
//!   page cache does the caching. Malformed lines in the directory layout are
//!   therefore reported at lookup time ([`RangeError::Corpus`]);
//!   [`Corpus::verify`] checks every file up front.
//!
//! Lines may end in LF or CRLF; blank lines and a leading UTF-8 byte-order
//! mark are ignored; counts of 0 (HIBP's optional padding entries) are
//! skipped. Any other malformed line is an error naming the file and the
//! 1-based line number.

use std::collections::HashMap;
use std::ffi::OsString;
use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Hex digits in a range prefix.
pub const PREFIX_LEN: usize = 5;
/// Hex digits in a range suffix.
pub const SUFFIX_LEN: usize = 35;
/// Number of distinct prefixes (16^5).
const PREFIXES: usize = 1 << 20;

mod error;
mod format;

pub use error::{CorpusError, RangeError};
pub(crate) use format::hex_upper;
use format::{decode_hex_into, for_each_line, parse_line, prefix_hex, prefix_of};
pub use format::{parse_prefix, sha1, sha1_hex};

/// What a loaded corpus holds, for logs and health checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "layout", rename_all = "snake_case")]
pub enum CorpusKind {
    /// One `SHA1HEX:COUNT` file, held in memory.
    InMemory {
        /// Distinct hashes loaded.
        hashes: usize,
    },
    /// A directory of range files, read per lookup.
    Directory {
        /// Range files found.
        range_files: usize,
    },
}

/// A breached-secret corpus in HIBP's format. See the [module docs](self).
pub struct Corpus {
    inner: Inner,
}

enum Inner {
    Memory(Vec<([u8; 20], u32)>),
    Directory(DirIndex),
}

/// Which range files exist and what they are called.
struct DirIndex {
    dir: PathBuf,
    /// Per prefix: 0 none, 1 `XXXXX`, 2 `XXXXX.txt` (uppercase), 3 see `other`.
    names: Vec<u8>,
    /// Range files whose names are not in canonical uppercase form.
    other: HashMap<u32, OsString>,
    files: usize,
}

impl fmt::Debug for Corpus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner {
            Inner::Memory(v) => f
                .debug_struct("Corpus")
                .field("layout", &"in_memory")
                .field("hashes", &v.len())
                .finish(),
            Inner::Directory(d) => f
                .debug_struct("Corpus")
                .field("layout", &"directory")
                .field("dir", &d.dir)
                .field("range_files", &d.files)
                .finish(),
        }
    }
}

impl Corpus {
    /// Loads a corpus from a `SHA1HEX:COUNT` file or a directory of range
    /// files (see the [module docs](self)).
    pub fn load(path: impl AsRef<Path>) -> Result<Corpus, CorpusError> {
        let path = path.as_ref();
        let meta = std::fs::metadata(path).map_err(|source| CorpusError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        if meta.is_dir() {
            return Self::index_dir(path);
        }
        let file = File::open(path).map_err(|source| CorpusError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        // ~42 bytes a line in HIBP's file; capped so a huge file does not
        // reserve everything up front.
        let hint = usize::try_from(meta.len() / 42)
            .unwrap_or(usize::MAX)
            .min(64 << 20);
        Self::parse_full(BufReader::with_capacity(1 << 16, file), path, hint)
    }

    /// Parses `SHA1HEX:COUNT` lines from any reader; `name` is used in error
    /// messages.
    pub fn from_reader(reader: impl Read, name: impl AsRef<Path>) -> Result<Corpus, CorpusError> {
        Self::parse_full(BufReader::new(reader), name.as_ref(), 0)
    }

    fn parse_full<R: BufRead>(r: R, path: &Path, hint: usize) -> Result<Corpus, CorpusError> {
        let mut entries: Vec<([u8; 20], u32)> = Vec::with_capacity(hint);
        let mut sorted = true;
        for_each_line(r, path, |line_no, line| {
            let parsed = parse_line(line, 40).map_err(|reason| CorpusError::Malformed {
                path: path.to_path_buf(),
                line: line_no,
                reason,
            })?;
            if let Some((hex, count)) = parsed {
                let mut h = [0u8; 20];
                decode_hex_into(hex, &mut h);
                if let Some((last, _)) = entries.last() {
                    if *last == h {
                        return Err(CorpusError::Duplicate {
                            path: path.to_path_buf(),
                            sha1: hex_upper(&h),
                        });
                    }
                    sorted &= *last < h;
                }
                entries.push((h, count));
            }
            Ok(())
        })?;
        if !sorted {
            entries.sort_unstable_by_key(|e| e.0);
            if let Some(w) = entries.windows(2).find(|w| w[0].0 == w[1].0) {
                return Err(CorpusError::Duplicate {
                    path: path.to_path_buf(),
                    sha1: hex_upper(&w[0].0),
                });
            }
        }
        entries.shrink_to_fit();
        Ok(Corpus {
            inner: Inner::Memory(entries),
        })
    }

    fn index_dir(dir: &Path) -> Result<Corpus, CorpusError> {
        let io_err = |source| CorpusError::Io {
            path: dir.to_path_buf(),
            source,
        };
        let mut names = vec![0u8; PREFIXES];
        let mut other = HashMap::new();
        let mut files = 0usize;
        for entry in std::fs::read_dir(dir).map_err(io_err)? {
            let entry = entry.map_err(io_err)?;
            let name = entry.file_name();
            let Some(s) = name.to_str() else { continue };
            let (stem, ext) = match (s.len(), s.get(..5), s.get(5..)) {
                (5, Some(stem), _) => (stem, ""),
                (9, Some(stem), Some(ext)) if ext.eq_ignore_ascii_case(".txt") => (stem, ext),
                _ => continue,
            };
            let Ok(prefix) = parse_prefix(stem) else {
                continue;
            };
            if !entry.path().is_file() {
                continue;
            }
            let slot = &mut names[prefix as usize];
            if *slot != 0 {
                return Err(CorpusError::DuplicateRangeFile {
                    path: dir.to_path_buf(),
                    prefix: prefix_hex(prefix),
                });
            }
            let upper = !stem.bytes().any(|c| c.is_ascii_lowercase());
            *slot = match (upper, ext) {
                (true, "") => 1,
                (true, ".txt") => 2,
                _ => {
                    other.insert(prefix, name.clone());
                    3
                }
            };
            files += 1;
        }
        if files == 0 {
            return Err(CorpusError::NoRangeFiles {
                path: dir.to_path_buf(),
            });
        }
        Ok(Corpus {
            inner: Inner::Directory(DirIndex {
                dir: dir.to_path_buf(),
                names,
                other,
                files,
            }),
        })
    }

    /// What the corpus holds.
    pub fn kind(&self) -> CorpusKind {
        match &self.inner {
            Inner::Memory(v) => CorpusKind::InMemory { hashes: v.len() },
            Inner::Directory(d) => CorpusKind::Directory {
                range_files: d.files,
            },
        }
    }

    /// Every known suffix under `prefix5` (five hex digits, either case),
    /// sorted, as (35 uppercase hex digits, count). A prefix with no range
    /// file in the directory layout has no suffixes.
    pub fn range(&self, prefix5: &str) -> Result<Vec<(String, u64)>, RangeError> {
        let p = parse_prefix(prefix5)?;
        match &self.inner {
            Inner::Memory(v) => Ok(memory_range(v, p)
                .iter()
                .map(|(h, c)| (suffix_of(h), u64::from(*c)))
                .collect()),
            Inner::Directory(d) => Ok(d
                .read_range(p)?
                .into_iter()
                .map(|(s, c)| (hex_upper(&s)[1..].to_owned(), u64::from(c)))
                .collect()),
        }
    }

    /// The range in HIBP's response body format: `SUFFIX:COUNT` lines joined
    /// by CRLF, as `GET /range/{prefix}` returns them.
    pub fn range_text(&self, prefix5: &str) -> Result<String, RangeError> {
        Ok(self
            .range(prefix5)?
            .iter()
            .map(|(s, c)| format!("{s}:{c}"))
            .collect::<Vec<_>>()
            .join("\r\n"))
    }

    /// How often the secret with this SHA-1 was seen in breaches; 0 if
    /// never, or if its range file cannot be read (use [`Corpus::try_count`]
    /// to tell those apart).
    pub fn count(&self, sha1: &[u8; 20]) -> u64 {
        self.try_count(sha1).unwrap_or(0)
    }

    /// Like [`Corpus::count`], but reports an unreadable or malformed range
    /// file (directory layout) instead of answering 0.
    pub fn try_count(&self, sha1: &[u8; 20]) -> Result<u64, RangeError> {
        let p = prefix_of(sha1);
        match &self.inner {
            Inner::Memory(v) => Ok(v
                .binary_search_by(|(h, _)| h.cmp(sha1))
                .map_or(0, |i| u64::from(v[i].1))),
            Inner::Directory(d) => {
                let want = suffix_key(sha1);
                let range = d.read_range(p)?;
                Ok(range
                    .binary_search_by(|(s, _)| s.cmp(&want))
                    .map_or(0, |i| u64::from(range[i].1)))
            }
        }
    }

    /// Reads and validates every range file (directory layout); a no-op for
    /// the in-memory layout, which was validated when loaded. Slow on the
    /// full corpus: meant for an offline check after downloading it.
    pub fn verify(&self) -> Result<(), CorpusError> {
        if let Inner::Directory(d) = &self.inner {
            for p in 0..PREFIXES as u32 {
                if d.names[p as usize] != 0 {
                    d.read_range(p)?;
                }
            }
        }
        Ok(())
    }
}

fn memory_range(v: &[([u8; 20], u32)], p: u32) -> &[([u8; 20], u32)] {
    let lo = v.partition_point(|(h, _)| prefix_of(h) < p);
    let hi = v.partition_point(|(h, _)| prefix_of(h) <= p);
    &v[lo..hi]
}

fn suffix_of(h: &[u8; 20]) -> String {
    hex_upper(h)[PREFIX_LEN..].to_owned()
}

/// The last 35 hex digits of a hash, left-padded with a zero nibble into 18
/// bytes so that suffixes compare like the hashes they end.
type SuffixKey = [u8; 18];

fn suffix_key(h: &[u8; 20]) -> SuffixKey {
    let mut k = [0u8; 18];
    k[0] = h[2] & 0x0f;
    k[1..].copy_from_slice(&h[3..]);
    k
}

impl DirIndex {
    fn path_of(&self, p: u32) -> Option<PathBuf> {
        match self.names.get(p as usize).copied().unwrap_or(0) {
            1 => Some(self.dir.join(prefix_hex(p))),
            2 => Some(self.dir.join(format!("{}.txt", prefix_hex(p)))),
            3 => self.other.get(&p).map(|n| self.dir.join(n)),
            _ => None,
        }
    }

    /// One range file's entries, sorted by suffix.
    fn read_range(&self, p: u32) -> Result<Vec<(SuffixKey, u32)>, CorpusError> {
        let Some(path) = self.path_of(p) else {
            return Ok(Vec::new());
        };
        let file = File::open(&path).map_err(|source| CorpusError::Io {
            path: path.clone(),
            source,
        })?;
        let mut out: Vec<(SuffixKey, u32)> = Vec::with_capacity(1024);
        for_each_line(BufReader::new(file), &path, |line_no, line| {
            let parsed = parse_line(line, SUFFIX_LEN).map_err(|reason| CorpusError::Malformed {
                path: path.clone(),
                line: line_no,
                reason,
            })?;
            if let Some((hex, count)) = parsed {
                // Pad to 36 digits: a leading zero nibble, then the suffix.
                let mut padded = [b'0'; 36];
                padded[1..].copy_from_slice(hex);
                let mut k = [0u8; 18];
                decode_hex_into(&padded, &mut k);
                out.push((k, count));
            }
            Ok(())
        })?;
        out.sort_unstable_by_key(|e| e.0);
        if let Some(w) = out.windows(2).find(|w| w[0].0 == w[1].0) {
            return Err(CorpusError::Duplicate {
                sha1: format!("{}{}", prefix_hex(p), &hex_upper(&w[0].0)[1..]),
                path,
            });
        }
        Ok(out)
    }
}
