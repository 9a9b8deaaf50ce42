//! OCRA suites (RFC 6287 §6): `OCRA-1:HOTP-SHA256-8:C-QN08-PSHA1` parsed
//! into an [`OcraSuite`], with its question format and time step.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::OcraError;
use crate::otp::Algorithm;

/// Format of the OCRA question (challenge).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QuestionFormat {
    /// `QA`: alphanumeric (this crate accepts printable ASCII), sent as its ASCII bytes.
    Alphanumeric,
    /// `QN`: a decimal number, sent as its hexadecimal value.
    Numeric,
    /// `QH`: hexadecimal digits, sent as given.
    Hex,
}

/// The time-step size of an OCRA `T` component (`T1M`, `T30S`, `T1H`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimeStep {
    /// `TnS`, 1..=59 seconds.
    Seconds(u8),
    /// `TnM`, 1..=59 minutes.
    Minutes(u8),
    /// `TnH`, 1..=48 hours.
    Hours(u8),
}

impl TimeStep {
    /// The step length in seconds.
    pub fn seconds(self) -> u64 {
        match self {
            TimeStep::Seconds(n) => u64::from(n),
            TimeStep::Minutes(n) => u64::from(n) * 60,
            TimeStep::Hours(n) => u64::from(n) * 3600,
        }
    }

    /// The `T` value for event time `now_ms`: whole steps since the Unix epoch.
    /// A zero-length step (only constructible by hand, never parsed) is refused.
    pub fn counter(self, now_ms: i64) -> Result<u64, OcraError> {
        let secs = crate::otp::unix_seconds(now_ms)?;
        secs.checked_div(self.seconds())
            .ok_or(OcraError::Otp(crate::error::OtpError::InvalidStep))
    }
}

/// A parsed OCRA suite (RFC 6287 §6). Serializes as its suite string. Immutable: the parsed
/// components are read through accessors and always agree with [`as_str`](Self::as_str).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OcraSuite {
    pub(super) text: String,
    pub(super) algorithm: Algorithm,
    pub(super) digits: u8,
    pub(super) counter: bool,
    pub(super) question: QuestionFormat,
    pub(super) question_len: u8,
    pub(super) pin: Option<Algorithm>,
    pub(super) session_len: Option<u16>,
    pub(super) timestamp: Option<TimeStep>,
}

fn invalid(suite: &str, reason: &'static str) -> OcraError {
    OcraError::InvalidSuite {
        suite: suite.to_owned(),
        reason,
    }
}

fn parse_small(s: &str, suite: &str, reason: &'static str) -> Result<u16, OcraError> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || s.len() > 3 {
        return Err(invalid(suite, reason));
    }
    s.parse::<u16>().map_err(|_| invalid(suite, reason))
}

impl OcraSuite {
    /// Parses a suite string. Only canonical spellings are accepted (upper case, two-digit
    /// question length, three-digit session length), because the string itself is hashed
    /// into every response.
    pub fn parse(text: &str) -> Result<OcraSuite, OcraError> {
        let mut top = text.split(':');
        let (Some(version), Some(crypto), Some(data), None) =
            (top.next(), top.next(), top.next(), top.next())
        else {
            return Err(invalid(text, "expected Algorithm:CryptoFunction:DataInput"));
        };
        if version != "OCRA-1" {
            return Err(invalid(text, "unsupported version (expected OCRA-1)"));
        }

        // CryptoFunction: HOTP-SHAx-t
        let mut cf = crypto.split('-');
        let (Some("HOTP"), Some(hash), Some(trunc), None) =
            (cf.next(), cf.next(), cf.next(), cf.next())
        else {
            return Err(invalid(text, "crypto function must be HOTP-SHAx-t"));
        };
        let algorithm = Algorithm::from_name(hash).ok_or_else(|| invalid(text, "unknown hash"))?;
        let digits = parse_small(trunc, text, "truncation must be 0 or 4-10")?;
        if !(digits == 0 || (4..=10).contains(&digits))
            || trunc.len() > 2
            || (trunc.len() == 2 && trunc.starts_with('0'))
        {
            return Err(invalid(text, "truncation must be 0 or 4-10"));
        }
        let digits =
            u8::try_from(digits).map_err(|_| invalid(text, "truncation must be 0 or 4-10"))?;

        // DataInput: [C-]Qxxx[-PH][-Snnn][-Tg]
        let mut parts = data.split('-').peekable();
        let counter = parts.peek() == Some(&"C");
        if counter {
            parts.next();
        }
        let q = parts
            .next()
            .ok_or_else(|| invalid(text, "missing question"))?;
        let (question, qlen) = match q.get(..2) {
            Some("QA") => (QuestionFormat::Alphanumeric, &q[2..]),
            Some("QN") => (QuestionFormat::Numeric, &q[2..]),
            Some("QH") => (QuestionFormat::Hex, &q[2..]),
            _ => return Err(invalid(text, "question must be QA, QN or QH")),
        };
        if qlen.len() != 2 {
            return Err(invalid(text, "question length must be two digits"));
        }
        let question_len = parse_small(qlen, text, "question length must be 04-64")?;
        if !(4..=64).contains(&question_len) {
            return Err(invalid(text, "question length must be 04-64"));
        }
        let question_len = u8::try_from(question_len)
            .map_err(|_| invalid(text, "question length must be 04-64"))?;

        let mut pin = None;
        let mut session_len = None;
        let mut timestamp = None;
        let mut stage = 0u8; // enforces the order P, S, T
        for part in parts {
            if let Some(h) = part.strip_prefix('P') {
                if stage >= 1 {
                    return Err(invalid(text, "P must come before S and T, once"));
                }
                stage = 1;
                pin =
                    Some(Algorithm::from_name(h).ok_or_else(|| invalid(text, "unknown PIN hash"))?);
            } else if let Some(n) = part.strip_prefix('S') {
                if stage >= 2 {
                    return Err(invalid(text, "S must come before T, once"));
                }
                stage = 2;
                if n.len() != 3 {
                    return Err(invalid(text, "session length must be three digits"));
                }
                let n = parse_small(n, text, "session length must be 001-512")?;
                if !(1..=512).contains(&n) {
                    return Err(invalid(text, "session length must be 001-512"));
                }
                session_len = Some(n);
            } else if let Some(t) = part.strip_prefix('T') {
                if stage >= 3 {
                    return Err(invalid(text, "T must be last, once"));
                }
                stage = 3;
                let (num, unit) = t.split_at(t.len().saturating_sub(1));
                let n = parse_small(num, text, "bad time step")?;
                if num.len() > 2 || (num.len() == 2 && num.starts_with('0')) {
                    return Err(invalid(text, "bad time step"));
                }
                let n = u8::try_from(n).map_err(|_| invalid(text, "bad time step"))?;
                timestamp = Some(match unit {
                    "S" if (1..=59).contains(&n) => TimeStep::Seconds(n),
                    "M" if (1..=59).contains(&n) => TimeStep::Minutes(n),
                    "H" if (1..=48).contains(&n) => TimeStep::Hours(n),
                    _ => return Err(invalid(text, "time step must be 1-59S, 1-59M or 1-48H")),
                });
            } else {
                return Err(invalid(text, "unknown data input component"));
            }
        }

        Ok(OcraSuite {
            text: text.to_owned(),
            algorithm,
            digits,
            counter,
            question,
            question_len,
            pin,
            session_len,
            timestamp,
        })
    }

    /// The suite string, exactly as hashed into the data input.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The HMAC hash function.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// Number of response digits: 0 (no truncation) or 4..=10.
    pub fn digits(&self) -> u8 {
        self.digits
    }

    /// Whether a counter `C` is part of the data input.
    pub fn has_counter(&self) -> bool {
        self.counter
    }

    /// Question format.
    pub fn question_format(&self) -> QuestionFormat {
        self.question
    }

    /// Nominal question length `xx` (4..=64).
    pub fn question_len(&self) -> u8 {
        self.question_len
    }

    /// Hash of the PIN (`PSHA1` etc.), if the suite uses one.
    pub fn pin(&self) -> Option<Algorithm> {
        self.pin
    }

    /// Session-information length in bytes (`Snnn`), if used.
    pub fn session_len(&self) -> Option<u16> {
        self.session_len
    }

    /// Time step (`T…`), if used.
    pub fn timestamp(&self) -> Option<TimeStep> {
        self.timestamp
    }
}

impl fmt::Display for OcraSuite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl FromStr for OcraSuite {
    type Err = OcraError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        OcraSuite::parse(s)
    }
}

impl Serialize for OcraSuite {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for OcraSuite {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        OcraSuite::parse(&text).map_err(serde::de::Error::custom)
    }
}
