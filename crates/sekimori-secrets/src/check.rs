//! The single entry point: [`Checker::check`].

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};
use zeroize::Zeroize;

use crate::hibp::{self, Corpus, CorpusError, RangeError};
use crate::pin::{self, BirthDate, BirthDateError, PinError};
use crate::strength::{self, Strength, StrengthError};
use crate::{verdict_for, Code, Kind, Policy, Verdict};

/// A secret sent in the clear. No `Serialize`, no `Display`; `Debug` prints
/// `Secret(<redacted>)`; zeroed on drop.
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(secret: impl Into<String>) -> Secret {
        Secret(secret.into())
    }

    /// The secret itself, for checking. Do not keep, log or echo it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Secret {
        Secret(s)
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Secret {
        Secret(s.to_owned())
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Secret, D::Error> {
        String::deserialize(d).map(Secret)
    }
}

/// A request to [`Checker::check`], tagged by `"kind"`. See the
/// [crate docs](crate) for the JSON.
#[derive(Debug, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CheckRequest {
    /// `{"kind": "password", ...}`
    Password(PasswordCheck),
    /// `{"kind": "pin", ...}`
    Pin(PinCheck),
}

/// A password check: exactly one of `sha1_prefix` (k-anonymity range mode)
/// or `secret` (assessment mode).
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordCheck {
    /// First 5 hex digits of the SHA-1 of the UTF-8 password.
    #[serde(default)]
    pub sha1_prefix: Option<String>,
    /// The password in the clear, at most 256 characters.
    #[serde(default)]
    pub secret: Option<Secret>,
    /// Account name, e-mail address and the like; at most 16, each at most
    /// 256 characters. Only with `secret`.
    #[serde(default)]
    pub user_inputs: Vec<String>,
}

impl fmt::Debug for PasswordCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasswordCheck")
            .field("sha1_prefix", &self.sha1_prefix)
            .field("secret", &self.secret)
            .field(
                "user_inputs",
                &format_args!("<{} redacted>", self.user_inputs.len()),
            )
            .finish()
    }
}

/// A PIN check.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PinCheck {
    /// 4 to 8 ASCII digits.
    pub secret: Secret,
    /// The holder's birth date, `YYYY-MM-DD`.
    #[serde(default)]
    pub birth_date: Option<String>,
}

impl fmt::Debug for PinCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PinCheck")
            .field("secret", &self.secret)
            .field(
                "birth_date",
                &self.birth_date.as_ref().map(|_| format_args!("<redacted>")),
            )
            .finish()
    }
}

/// The answer to a [`CheckRequest`], tagged by `"mode"`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum Report {
    /// k-anonymity range mode: every known suffix under the prefix.
    Range(RangeReport),
    /// A secret was checked.
    Assessment(Assessment),
}

/// Range-mode answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RangeReport {
    /// Always `password`.
    pub kind: Kind,
    /// The prefix, uppercase.
    pub prefix: String,
    /// HIBP `SUFFIX:COUNT` lines, sorted by suffix.
    pub suffixes: Vec<String>,
}

/// Assessment-mode answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Assessment {
    /// What was checked.
    pub kind: Kind,
    /// The most severe verdict among `codes`.
    pub verdict: Verdict,
    /// Findings, in [`Code`] order; empty when nothing was found.
    pub codes: Vec<Code>,
    /// Times seen in breaches: from the corpus, or for a 4-digit PIN from
    /// the embedded HIBP PIN table; `null` when there is nothing to ask.
    pub pwned_count: Option<u64>,
    /// zxcvbn's estimate (passwords).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strength: Option<Strength>,
    /// PIN details (PINs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin: Option<PinDetails>,
}

/// PIN details in an [`Assessment`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PinDetails {
    /// Number of digits.
    pub length: usize,
    /// 4-digit PINs: 1 = most common in HIBP.
    pub rank: Option<u32>,
    /// 4-digit PINs: the PIN's share of all 4-digit PIN occurrences in HIBP.
    pub share: Option<f64>,
}

/// Why a request could not be checked. Messages never contain the secret.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// `sha1_prefix` is not 5 hex digits.
    #[error("sha1_prefix must be exactly 5 hexadecimal digits")]
    InvalidPrefix,
    /// Both `sha1_prefix` and `secret`.
    #[error("send either sha1_prefix or secret, not both")]
    Ambiguous,
    /// Neither `sha1_prefix` nor `secret`.
    #[error("send sha1_prefix or secret")]
    MissingSecret,
    /// `user_inputs` with `sha1_prefix`.
    #[error("user_inputs apply only with secret")]
    UserInputsNeedSecret,
    /// The password breaks a limit.
    #[error(transparent)]
    Strength(#[from] StrengthError),
    /// The PIN is not 4 to 8 digits.
    #[error(transparent)]
    Pin(#[from] PinError),
    /// `birth_date` is not a `YYYY-MM-DD` date.
    #[error(transparent)]
    BirthDate(#[from] BirthDateError),
    /// Range mode needs a breach corpus and none is configured.
    #[error("no breach corpus is configured")]
    NoCorpus,
    /// The breach corpus could not be read (directory layout).
    #[error("breach corpus unavailable: {0}")]
    Corpus(#[source] CorpusError),
}

impl CheckError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            CheckError::InvalidPrefix => "invalid_prefix",
            CheckError::Ambiguous => "ambiguous",
            CheckError::MissingSecret => "missing_secret",
            CheckError::UserInputsNeedSecret => "user_inputs_need_secret",
            CheckError::Strength(StrengthError::Empty) => "empty_secret",
            CheckError::Strength(StrengthError::TooLong { .. }) => "too_long",
            CheckError::Strength(StrengthError::TooManyUserInputs { .. }) => "too_many_user_inputs",
            CheckError::Strength(StrengthError::UserInputTooLong { .. }) => "user_input_too_long",
            CheckError::Pin(_) => "invalid_pin",
            CheckError::BirthDate(_) => "invalid_birth_date",
            CheckError::NoCorpus => "no_corpus",
            CheckError::Corpus(_) => "corpus_unavailable",
        }
    }

    /// Whether the request is at fault (HTTP 4xx) rather than the server
    /// (`no_corpus`, `corpus_unavailable`: 5xx).
    pub fn is_client_error(&self) -> bool {
        !matches!(self, CheckError::NoCorpus | CheckError::Corpus(_))
    }
}

impl From<RangeError> for CheckError {
    fn from(e: RangeError) -> CheckError {
        match e {
            RangeError::InvalidPrefix => CheckError::InvalidPrefix,
            RangeError::Corpus(c) => CheckError::Corpus(c),
        }
    }
}

/// Checks secrets against an optional breach corpus under a [`Policy`].
/// Share one per process; `check` takes `&self`.
#[derive(Debug, Default)]
pub struct Checker {
    corpus: Option<Corpus>,
    policy: Policy,
}

impl Checker {
    /// A checker with the default policy. Without a corpus, range mode
    /// answers [`CheckError::NoCorpus`] and `pwned_count` is `null` for
    /// passwords and 5- to 8-digit PINs.
    pub fn new(corpus: Option<Corpus>) -> Checker {
        Checker {
            corpus,
            policy: Policy::default(),
        }
    }

    /// Replaces the policy.
    pub fn with_policy(mut self, policy: Policy) -> Checker {
        self.policy = policy;
        self
    }

    /// The breach corpus, if any.
    pub fn corpus(&self) -> Option<&Corpus> {
        self.corpus.as_ref()
    }

    /// The policy in force.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Answers one request.
    pub fn check(&self, request: &CheckRequest) -> Result<Report, CheckError> {
        match request {
            CheckRequest::Password(p) => match (&p.sha1_prefix, &p.secret) {
                (Some(_), Some(_)) => Err(CheckError::Ambiguous),
                (None, None) => Err(CheckError::MissingSecret),
                (Some(prefix), None) => {
                    if !p.user_inputs.is_empty() {
                        return Err(CheckError::UserInputsNeedSecret);
                    }
                    self.range(prefix)
                }
                (None, Some(secret)) => self.password(secret.expose(), &p.user_inputs),
            },
            CheckRequest::Pin(p) => self.pin(p.secret.expose(), p.birth_date.as_deref()),
        }
    }

    fn range(&self, prefix: &str) -> Result<Report, CheckError> {
        hibp::parse_prefix(prefix)?;
        let corpus = self.corpus.as_ref().ok_or(CheckError::NoCorpus)?;
        let suffixes = corpus
            .range(prefix)?
            .into_iter()
            .map(|(s, c)| format!("{s}:{c}"))
            .collect();
        Ok(Report::Range(RangeReport {
            kind: Kind::Password,
            prefix: prefix.to_ascii_uppercase(),
            suffixes,
        }))
    }

    fn pwned(&self, secret: &str) -> Result<Option<u64>, CheckError> {
        self.corpus
            .as_ref()
            .map(|c| c.try_count(&hibp::sha1(secret.as_bytes())))
            .transpose()
            .map_err(CheckError::from)
    }

    fn password(&self, secret: &str, user_inputs: &[String]) -> Result<Report, CheckError> {
        strength::validate(secret, user_inputs)?;
        let pwned_count = self.pwned(secret)?;
        let strength = strength::strength(secret, user_inputs)?;
        let mut codes = Vec::new();
        if pwned_count.is_some_and(|n| self.policy.is_breached(n)) {
            codes.push(Code::Breached);
        }
        if strength.score < self.policy.min_password_score {
            codes.push(Code::Weak);
        }
        if strength.contains_user_input {
            codes.push(Code::UserInput);
        }
        Ok(Report::Assessment(Assessment {
            kind: Kind::Password,
            verdict: verdict_for(Kind::Password, &codes),
            codes,
            pwned_count,
            strength: Some(strength),
            pin: None,
        }))
    }

    fn pin(&self, secret: &str, birth_date: Option<&str>) -> Result<Report, CheckError> {
        let birth: Option<BirthDate> = birth_date.map(str::parse).transpose()?;
        let a = pin::assess_pin(secret, birth.as_ref(), &self.policy)?;
        let mut codes = a.codes;
        let pwned_count = match a.frequency {
            Some(f) => Some(f.count),
            None => {
                let n = self.pwned(secret)?;
                if n.is_some_and(|n| self.policy.is_breached(n)) {
                    codes.push(Code::Breached);
                    codes.sort_unstable();
                }
                n
            }
        };
        Ok(Report::Assessment(Assessment {
            kind: Kind::Pin,
            verdict: verdict_for(Kind::Pin, &codes),
            codes,
            pwned_count,
            strength: None,
            pin: Some(PinDetails {
                length: a.length,
                rank: a.frequency.map(|f| f.rank),
                share: a.frequency.map(|f| f.share),
            }),
        }))
    }
}
