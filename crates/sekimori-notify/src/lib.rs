//! Holder notices over a signed webhook.
//!
//! Every charge, bank link, payee addition, credential change and
//! withdrawal that sekimori decides on can produce a [`Notice`] for the
//! account holder (the 2020 docomo koza victims learned of their losses
//! from their passbooks). sekimori POSTs it to the payment service's
//! webhook; the service forwards it to the holder. [`Notifier::send`] never
//! blocks: one background thread delivers, retries and, when it must give
//! up, writes the notice to a dead-letter log, so nothing accepted is lost
//! silently.
//!
//! # Wire format
//!
//! One request per notice (plain `http://` only: this build has no TLS
//! client, so point it at a relay on the service's side for `https`). With
//! the secret `whsec_example` (the 13 ASCII bytes) and `t = 1717200000`,
//! this is a complete, correctly signed request (the body is one line of
//! 204 bytes):
//!
//! ```text
//! POST /hooks/sekimori HTTP/1.1
//! Content-Type: application/json
//! Sekimori-Notice-Id: evt_81f2:charge
//! Sekimori-Signature: t=1717200000,v1=de1498b9837df72b6a206b18d3fb144be4b00043f0ae4babc9da1251d868f3d9
//! User-Agent: sekimori-notify/0.1.0
//!
//! {"id":"evt_81f2:charge","kind":"charge","account":"acct_42","service":"wallet","at":"2024-06-01T00:00:00.000Z","action":"allow","summary":{"amount_minor":5000,"currency":"JPY","destination":"merchant_9"}}
//! ```
//!
//! Header names are case-insensitive (HTTP/1.1 sends them in lowercase).
//! The body is the [`Notice`] as compact UTF-8 JSON with exactly the keys
//! `id`, `kind`, `account` (string or `null`), `service`, `at` (RFC 3339, the *event's* time, not the send time),
//! `action` (the decision) and `summary` (free-form details; never
//! secrets). Receivers should ignore keys they do not know.
//!
//! ## Verifying the signature
//!
//! `Sekimori-Signature` is a comma-separated list of `key=value` entries:
//! one `t` (the send time, integer Unix seconds) and one or more `v1`
//! (64 lowercase hex digits; more than one only while a secret is being
//! rotated). Other keys must be ignored. To verify:
//!
//! 1. Take the raw request body bytes, *before* any JSON parsing.
//! 2. Build the signed payload: the ASCII decimal digits of `t`, a `.`,
//!    then the raw body: `"1717200000." + body`.
//! 3. Compute HMAC-SHA256 with the shared secret (its raw bytes) as the key
//!    over the signed payload, and hex-encode it (lowercase).
//! 4. Compare it with each `v1` in constant time; accept if any matches.
//! 5. Reject if `|now − t|` exceeds your tolerance (300 s is suggested).
//! 6. De-duplicate on `Sekimori-Notice-Id` (= the body's `id`): delivery
//!    is at-least-once, and a retry or a redrive may repeat a notice, with
//!    a fresh `t` and signature.
//!
//! In Python, for instance:
//!
//! ```text
//! items = [kv.strip().split("=", 1) for kv in header.split(",")]
//! t = next(int(v) for k, v in items if k == "t")
//! mac = hmac.new(secret, str(t).encode() + b"." + raw_body, hashlib.sha256).hexdigest()
//! ok = any(hmac.compare_digest(mac, v) for k, v in items if k == "v1")
//! ok = ok and abs(time.time() - t) <= 300
//! ```
//!
//! In Rust, [`verify`] does all of it:
//!
//! ```
//! let secret = b"whsec_test";
//! let body = br#"{"id":"n1"}"#;
//! let header = sekimori_notify::signature_header(secret, 1_717_200_000, body).unwrap_or_default();
//! assert!(sekimori_notify::verify(secret, &header, body, 1_717_200_010, 300).is_ok());
//! assert!(sekimori_notify::verify(secret, &header, b"{}", 1_717_200_010, 300).is_err());
//! ```
//!
//! ## Responses and retries
//!
//! - Any `2xx` means delivered (the body is ignored).
//! - `408`, `429`, any `5xx`, a timeout ([`NotifyConfig::timeout`], whole
//!   request) or a connection error is retried. The wait after the n-th
//!   failed attempt is `min(first_backoff × 2^(n−1), max_backoff)`, plus a
//!   jitter of 0–20 % fixed per notice id, never more than `max_backoff`
//!   (see [`backoff_delay`]). `Retry-After` is not read.
//! - Any other status (other `4xx`, `1xx`, `3xx`: redirects are not
//!   followed) is permanent: the notice is dead-lettered at once.
//! - After [`NotifyConfig::max_attempts`] attempts the notice is
//!   dead-lettered.
//!
//! Retries wait in a schedule inside the worker, so a receiver that is down
//! delays only the notices being retried; new notices are still attempted
//! as they arrive.
//!
//! ## Dead-letter log
//!
//! [`NotifyConfig::dead_letter`] is a JSON Lines file (parent directories
//! are created), appended and flushed one line per notice given up on:
//!
//! ```text
//! {"notice":{"id":"evt_81f2:charge",...},"attempts":8,"last_error":"HTTP 503","failed_at":"2024-06-01T00:09:12.52Z"}
//! ```
//!
//! `attempts` counts HTTP attempts (0 if it never left the queue);
//! `last_error` is `HTTP <status>`, `timeout`, `connection error: ...`,
//! `queue_full` (the queue was full when it was sent),
//! `retry_queue_full: ...`, or a shutdown reason; `failed_at` is the wall
//! clock in RFC 3339. Read it with [`read_dead_letters`]; resend it with
//! [`Notifier::redrive`].

mod backoff;
mod dead_letter;
mod notifier;
mod sign;
mod worker;

pub use backoff::backoff_delay;
pub use dead_letter::{read_dead_letters, DeadLetter, QUEUE_FULL};
pub use notifier::{Notifier, Stats, StatsSnapshot};
pub use sign::{signature_header, verify, VerifyError, NOTICE_ID_HEADER, SIGNATURE_HEADER};

pub(crate) use notifier::Shared;

use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// One notice for an account holder: the JSON body of the webhook request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Notice {
    /// Unique delivery id (e.g. the event id plus a suffix), 1–256 visible
    /// ASCII characters; also sent as `Sekimori-Notice-Id`.
    pub id: String,
    /// What happened: `charge`, `link.bank`, `hold.placed`, ...
    pub kind: String,
    /// The holder's account, when the event names one.
    #[serde(default)]
    pub account: Option<String>,
    /// The service that emitted the event.
    pub service: String,
    /// The event's time, RFC 3339 (never the wall clock; e.g.
    /// `sekimori_event::format_rfc3339_ms(event.at_ms)`).
    pub at: String,
    /// The decision taken.
    pub action: String,
    /// Free-form details (amount_minor, currency, destination id, ...).
    /// Never put secrets here: it is logged to the dead-letter file.
    #[serde(default)]
    pub summary: serde_json::Value,
}

/// Where and how to deliver notices.
#[derive(Clone)]
pub struct NotifyConfig {
    /// The webhook, `http://host[:port]/path`.
    pub url: String,
    /// The HMAC-SHA256 key shared with the receiver (non-empty).
    pub secret: Vec<u8>,
    /// HTTP attempts per notice before it is dead-lettered (default 8).
    pub max_attempts: u32,
    /// Wait after the first failed attempt (default 1 s); doubles after each.
    pub first_backoff: Duration,
    /// Longest wait between attempts (default 5 min).
    pub max_backoff: Duration,
    /// Whole-request timeout of one attempt (default 5 s).
    pub timeout: Duration,
    /// The dead-letter JSON Lines file.
    pub dead_letter: PathBuf,
    /// Notices the queue holds before [`Notifier::send`] dead-letters
    /// (default 10 000); also the most notices waiting for a retry.
    pub queue_capacity: usize,
}

impl NotifyConfig {
    /// A configuration with the defaults above.
    pub fn new(
        url: impl Into<String>,
        secret: impl Into<Vec<u8>>,
        dead_letter: impl Into<PathBuf>,
    ) -> Self {
        NotifyConfig {
            url: url.into(),
            secret: secret.into(),
            max_attempts: 8,
            first_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(5 * 60),
            timeout: Duration::from_secs(5),
            dead_letter: dead_letter.into(),
            queue_capacity: 10_000,
        }
    }

    /// Refuses a configuration the worker could not honour.
    fn validate(&self) -> Result<(), NotifyError> {
        let invalid = |why: &str| Err(NotifyError::Config(why.to_owned()));
        if self.url.starts_with("https://") {
            return invalid(
                "https:// needs TLS, which this build does not include; use an http:// relay",
            );
        }
        let Some(rest) = self.url.strip_prefix("http://") else {
            return invalid("url must start with http://");
        };
        if rest.is_empty() || rest.starts_with('/') {
            return invalid("url has no host");
        }
        if self.secret.is_empty() {
            return invalid("secret is empty");
        }
        if self.max_attempts == 0 {
            return invalid("max_attempts must be at least 1");
        }
        if self.queue_capacity == 0 {
            return invalid("queue_capacity must be at least 1");
        }
        if self.timeout.is_zero() {
            return invalid("timeout must be positive");
        }
        Ok(())
    }
}

/// Leaves out the secret, and the URL's credentials and query (they may
/// hold a token).
impl fmt::Debug for NotifyConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let url = self.url.split(['?', '#']).next().unwrap_or_default();
        let url = match url.split_once("://") {
            Some((scheme, rest)) => {
                let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
                match authority.rsplit_once('@') {
                    Some((_, host)) => format!("{scheme}://<redacted>@{host}{path}"),
                    None => url.to_owned(),
                }
            }
            None => url.to_owned(),
        };
        f.debug_struct("NotifyConfig")
            .field("url", &url)
            .field("secret", &"<redacted>")
            .field("max_attempts", &self.max_attempts)
            .field("first_backoff", &self.first_backoff)
            .field("max_backoff", &self.max_backoff)
            .field("timeout", &self.timeout)
            .field("dead_letter", &self.dead_letter)
            .field("queue_capacity", &self.queue_capacity)
            .finish()
    }
}

/// What can go wrong starting, feeding or stopping a [`Notifier`].
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error("invalid notifier configuration: {0}")]
    Config(String),
    /// The notice was refused and is *not* in the dead-letter log.
    #[error("invalid notice: {0}")]
    InvalidNotice(String),
    /// The queue was full: the notice is in the dead-letter log with
    /// `last_error` `queue_full` (redrive it later; do not resend it).
    #[error("the notice queue is full; the notice was dead-lettered")]
    QueueFull,
    /// The worker is gone: the notice is in the dead-letter log.
    #[error("the notifier worker has stopped; the notice was dead-lettered")]
    Stopped,
    #[error("dead-letter log {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("dead-letter log {path}, line {line}: {source}")]
    Corrupt {
        path: PathBuf,
        line: usize,
        source: serde_json::Error,
    },
    #[error("could not encode a dead letter: {0}")]
    Json(serde_json::Error),
    #[error("could not start the notifier thread: {0}")]
    Spawn(std::io::Error),
    #[error("the notifier worker panicked")]
    WorkerPanicked,
}
