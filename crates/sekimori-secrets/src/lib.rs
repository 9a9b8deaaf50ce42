//! Secret hygiene for sekimori: is this password breached or weak, is this
//! PIN guessable? Built for a `POST /v1/secrets/check` endpoint.
//!
//! * [`hibp`]: breached secrets from a local copy of Have I Been Pwned's
//!   Pwned Passwords, served through HIBP's k-anonymity range protocol
//!   ([`Corpus`]).
//! * [`strength`](mod@strength): password strength with `zxcvbn`.
//! * [`pin`]: PIN frequency (real HIBP counts of 4-digit PINs), patterns and
//!   birth dates.
//! * [`Checker::check`]: one entry point taking a [`CheckRequest`] and
//!   returning a [`Report`], both serde types shaped for JSON.
//!
//! # Requests
//!
//! The request is a JSON object tagged by `"kind"`; unknown fields are
//! rejected.
//!
//! ```json
//! {"kind": "password", "sha1_prefix": "5BAA6"}
//! {"kind": "password", "secret": "hunter2", "user_inputs": ["taro", "taro@example.jp"]}
//! {"kind": "pin", "secret": "1204", "birth_date": "1990-12-04"}
//! ```
//!
//! * `password` with `sha1_prefix` (k-anonymity mode): the first 5 hex
//!   digits (either case) of the SHA-1 of the UTF-8 password. The engine
//!   never sees the password. `secret` and `user_inputs` must be absent.
//! * `password` with `secret`: the password in the clear (at most 256
//!   characters), and optionally up to 16 `user_inputs` (account name,
//!   e-mail address, display name) that make it weaker when it contains
//!   them. Checked against the breach corpus (by exact SHA-1) and scored by
//!   zxcvbn.
//! * `pin` with `secret`: 4 to 8 ASCII digits, and optionally the holder's
//!   `birth_date` as `YYYY-MM-DD`.
//!
//! # Responses
//!
//! Tagged by `"mode"` (numbers illustrative):
//!
//! ```json
//! {"mode": "range", "kind": "password", "prefix": "5BAA6",
//!  "suffixes": ["1E4C9B93F3F0682250B6CF8331B7EE68FD8:9220558", "..."]}
//!
//! {"mode": "assessment", "kind": "password", "verdict": "reject",
//!  "codes": ["breached", "weak"], "pwned_count": 9220558,
//!  "strength": {"score": 0, "guesses_log10": 0.3, "warning": "This is a top-10 common password.",
//!               "suggestions": ["Add another word or two. Uncommon words are better."],
//!               "contains_user_input": false}}
//!
//! {"mode": "assessment", "kind": "pin", "verdict": "reject",
//!  "codes": ["common", "sequential"], "pwned_count": 2634445,
//!  "pin": {"length": 4, "rank": 1, "share": 0.0901}}
//! ```
//!
//! `suffixes` are HIBP's `SUFFIX:COUNT` lines (35 uppercase hex digits, a
//! colon, a count), sorted; [`Corpus::range_text`] gives the same as a
//! CRLF-joined text body for an HIBP-compatible `GET /range/{prefix}`.
//! `pwned_count` is `null` when no breach corpus is configured; for a 4-digit
//! PIN it is the real HIBP count from the embedded PIN table. `codes` are
//! the stable strings of [`Code`], in that enum's order. Errors are
//! [`CheckError`]s, each with a stable [`CheckError::code`].
//!
//! # Policy
//!
//! The verdict is the most severe of the codes found ([`Policy`] holds the
//! thresholds):
//!
//! | code | when | verdict |
//! | --- | --- | --- |
//! | `breached` | seen at least `breach_min_count` (1) times in the corpus | password: reject; PIN of 5–8 digits: warn |
//! | `weak` | zxcvbn score below `min_password_score` (3) | reject |
//! | `user_input` | the password contains a user input (or a 4+ character piece of one) | warn |
//! | `common` | 4-digit PIN among the `pin_reject_top` (100) most common by HIBP count | reject |
//! | `frequent` | 4-digit PIN among the `pin_warn_top` (1000) most common | warn |
//! | `repeated` | all digits the same (`0000`) | reject |
//! | `repeated_pattern` | a repeated group (`1212`, `123123`) | reject |
//! | `sequential` | ascending or descending, wrapping 9→0 (`1234`, `9876`, `8901`) | reject |
//! | `birth_date` | the holder's birth date (`MMDD`, `DDMM`, `YYYY`, `YYMMDD`, …) | reject |
//! | `date_like` | reads as some date or a year 1900–2099, with no birth date match | warn |
//!
//! No code means `ok`.
//!
//! # Secrets in the clear
//!
//! A secret is held in a [`Secret`], which has no `Serialize` and no
//! `Display`, prints as `Secret(<redacted>)` with `Debug`, and is zeroed when
//! dropped (best effort: serde's input buffer and zxcvbn's internal copies
//! are outside its reach). Request structs print birth dates and user inputs
//! redacted too. Nothing here logs, stores, or echoes a secret: reports and
//! error messages never contain it. This crate has no logging dependency.

pub mod hibp;
pub mod pin;
pub mod strength;

mod check;

pub use check::{
    Assessment, CheckError, CheckRequest, Checker, PasswordCheck, PinCheck, PinDetails,
    RangeReport, Report, Secret,
};
pub use hibp::{sha1, sha1_hex, Corpus, CorpusError, CorpusKind, RangeError};
pub use pin::{assess_pin, BirthDate, PinAssessment, PinFrequency};
pub use strength::{strength, Strength, StrengthError};

use serde::{Deserialize, Serialize};

/// What kind of secret a request is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A password.
    Password,
    /// A numeric PIN.
    Pin,
}

/// The outcome for one secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Nothing found.
    Ok,
    /// Acceptable, but the user should be told.
    Warn,
    /// Refuse this secret.
    Reject,
}

/// A finding, serialized as its stable snake_case string ([`Code::as_str`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Code {
    /// Seen in the breach corpus.
    Breached,
    /// zxcvbn score below the policy's minimum.
    Weak,
    /// Contains one of the request's user inputs.
    UserInput,
    /// A 4-digit PIN among the most common.
    Common,
    /// A 4-digit PIN among the fairly common.
    Frequent,
    /// All digits the same.
    Repeated,
    /// A group of digits repeated.
    RepeatedPattern,
    /// An ascending or descending run of digits.
    Sequential,
    /// The holder's birth date.
    BirthDate,
    /// Reads as a date or a year.
    DateLike,
}

impl Code {
    /// The stable string, as serialized.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Breached => "breached",
            Code::Weak => "weak",
            Code::UserInput => "user_input",
            Code::Common => "common",
            Code::Frequent => "frequent",
            Code::Repeated => "repeated",
            Code::RepeatedPattern => "repeated_pattern",
            Code::Sequential => "sequential",
            Code::BirthDate => "birth_date",
            Code::DateLike => "date_like",
        }
    }

    /// How much this code weighs for a secret of `kind`.
    pub fn severity(self, kind: Kind) -> Verdict {
        match self {
            Code::Breached if kind == Kind::Pin => Verdict::Warn,
            Code::Breached
            | Code::Weak
            | Code::Common
            | Code::Repeated
            | Code::RepeatedPattern
            | Code::Sequential
            | Code::BirthDate => Verdict::Reject,
            Code::UserInput | Code::Frequent | Code::DateLike => Verdict::Warn,
        }
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The most severe verdict among `codes`.
pub(crate) fn verdict_for(kind: Kind, codes: &[Code]) -> Verdict {
    codes
        .iter()
        .map(|c| c.severity(kind))
        .max()
        .unwrap_or(Verdict::Ok)
}

/// Thresholds behind the verdicts. [`Policy::default`] is the documented
/// policy in the [crate docs](crate).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Policy {
    /// Passwords scoring below this (0–4) get `weak`. Default 3, zxcvbn's
    /// own "safely unguessable" line.
    pub min_password_score: u8,
    /// A breach count at or above this gets `breached`. Default 1 (NIST SP
    /// 800-63B: refuse any password known from a breach). 0 is taken as 1.
    pub breach_min_count: u64,
    /// 4-digit PINs ranked at or above this get `common`. Default 100.
    pub pin_reject_top: u32,
    /// 4-digit PINs ranked at or above this (and below `pin_reject_top`) get
    /// `frequent`. Default 1000.
    pub pin_warn_top: u32,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            min_password_score: 3,
            breach_min_count: 1,
            pin_reject_top: 100,
            pin_warn_top: 1000,
        }
    }
}

impl Policy {
    fn is_breached(&self, count: u64) -> bool {
        count >= self.breach_min_count.max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_serialize_as_their_stable_strings() {
        for c in [
            Code::Breached,
            Code::Weak,
            Code::UserInput,
            Code::Common,
            Code::Frequent,
            Code::Repeated,
            Code::RepeatedPattern,
            Code::Sequential,
            Code::BirthDate,
            Code::DateLike,
        ] {
            let json = serde_json::to_string(&c).expect("serializes");
            assert_eq!(json, format!("\"{}\"", c.as_str()));
            assert_eq!(c.to_string(), c.as_str());
        }
    }

    #[test]
    fn verdict_is_the_worst_code() {
        assert_eq!(verdict_for(Kind::Password, &[]), Verdict::Ok);
        assert_eq!(
            verdict_for(Kind::Password, &[Code::UserInput]),
            Verdict::Warn
        );
        assert_eq!(
            verdict_for(Kind::Password, &[Code::UserInput, Code::Breached]),
            Verdict::Reject
        );
        assert_eq!(verdict_for(Kind::Pin, &[Code::Breached]), Verdict::Warn);
        assert_eq!(
            verdict_for(Kind::Pin, &[Code::DateLike, Code::BirthDate]),
            Verdict::Reject
        );
    }
}
