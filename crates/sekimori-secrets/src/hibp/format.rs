//! The text of HIBP's corpora: hex digits, prefixes, and `HEX:COUNT` lines.

use std::io::BufRead;
use std::path::Path;

use sha1::{Digest, Sha1};

use super::{CorpusError, RangeError, PREFIX_LEN};

/// SHA-1 of `secret` (RustCrypto `sha1`).
pub fn sha1(secret: &[u8]) -> [u8; 20] {
    Sha1::digest(secret).into()
}

/// SHA-1 of `secret` as 40 uppercase hex digits, the way HIBP writes it.
pub fn sha1_hex(secret: &[u8]) -> String {
    hex_upper(&sha1(secret))
}

/// Uppercase hex of `bytes`.
pub(crate) fn hex_upper(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    s
}

pub(super) fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Parses a range prefix: exactly five hex digits, either case. Returns its
/// 20-bit value.
pub fn parse_prefix(prefix: &str) -> Result<u32, RangeError> {
    let b = prefix.as_bytes();
    if b.len() != PREFIX_LEN {
        return Err(RangeError::InvalidPrefix);
    }
    b.iter().try_fold(0u32, |acc, &c| {
        nibble(c)
            .map(|n| (acc << 4) | u32::from(n))
            .ok_or(RangeError::InvalidPrefix)
    })
}

/// The 20-bit prefix of a hash.
pub(super) fn prefix_of(h: &[u8; 20]) -> u32 {
    (u32::from(h[0]) << 12) | (u32::from(h[1]) << 4) | (u32::from(h[2]) >> 4)
}

pub(super) fn prefix_hex(p: u32) -> String {
    format!("{p:05X}")
}

/// Why a corpus (or one of its range files) could not be read.
/// Splits `HEX:COUNT`, validating both halves. `hex_len` is 40 for full
/// hashes, 35 for range suffixes.
pub(super) fn parse_line(
    line: &[u8],
    hex_len: usize,
) -> Result<Option<(&[u8], u32)>, &'static str> {
    let Some(colon) = line.iter().position(|&c| c == b':') else {
        return Err(if hex_len == 40 {
            "expected SHA1HEX:COUNT (40 hex digits, a colon, a count)"
        } else {
            "expected SUFFIX:COUNT (35 hex digits, a colon, a count)"
        });
    };
    let (hash, count) = (&line[..colon], &line[colon + 1..]);
    if hash.len() != hex_len || !hash.iter().all(|&c| nibble(c).is_some()) {
        return Err(if hex_len == 40 {
            "hash is not 40 hex digits (SHA-1; NTLM corpora are not supported)"
        } else {
            "suffix is not 35 hex digits (SHA-1; NTLM corpora are not supported)"
        });
    }
    if count.is_empty() || count.len() > 20 || !count.iter().all(u8::is_ascii_digit) {
        return Err("count is not a decimal integer");
    }
    let n = count
        .iter()
        .try_fold(0u64, |acc, &d| {
            acc.checked_mul(10)?.checked_add(u64::from(d - b'0'))
        })
        .and_then(|n| u32::try_from(n).ok())
        .ok_or("count exceeds 4294967295")?;
    Ok((n > 0).then_some((hash, n)))
}

/// Feeds each non-blank line (without its line ending) to `f` with its
/// 1-based number.
pub(super) fn for_each_line<R: BufRead>(
    mut r: R,
    path: &Path,
    mut f: impl FnMut(u64, &[u8]) -> Result<(), CorpusError>,
) -> Result<(), CorpusError> {
    let mut buf = Vec::with_capacity(64);
    let mut line_no = 0u64;
    loop {
        buf.clear();
        let n = r
            .read_until(b'\n', &mut buf)
            .map_err(|source| CorpusError::Io {
                path: path.to_path_buf(),
                source,
            })?;
        if n == 0 {
            return Ok(());
        }
        line_no += 1;
        let mut line = buf.as_slice();
        if line_no == 1 {
            line = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line);
        }
        while let [rest @ .., b'\n' | b'\r'] = line {
            line = rest;
        }
        if line.is_empty() {
            continue;
        }
        f(line_no, line)?;
    }
}

pub(super) fn decode_hex_into(hex: &[u8], out: &mut [u8]) {
    for (o, pair) in out.iter_mut().zip(hex.chunks_exact(2)) {
        let hi = nibble(pair[0]).unwrap_or(0);
        let lo = nibble(pair[1]).unwrap_or(0);
        *o = (hi << 4) | lo;
    }
}
