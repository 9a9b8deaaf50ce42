//! Configuration and snapshot errors.

use thiserror::Error;

/// Why a window, feature configuration or serialized store was rejected.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum WindowError {
    /// Sliding window length was zero or negative.
    #[error("window length {length_ms} ms must be positive")]
    NonPositiveLength {
        /// The rejected length.
        length_ms: i64,
    },
    /// Sliding window longer than [`crate::MAX_LENGTH_MS`] (90 days).
    #[error("window length {length_ms} ms exceeds the maximum of 90 days ({max_ms} ms)")]
    TooLong {
        /// The rejected length.
        length_ms: i64,
        /// The maximum allowed length.
        max_ms: i64,
    },
    /// Resolution finer than [`crate::MIN_RESOLUTION_MS`] (one second).
    #[error("window resolution {resolution_ms} ms is finer than the minimum of 1000 ms")]
    ResolutionTooFine {
        /// The rejected resolution.
        resolution_ms: i64,
    },
    /// Length is not a whole number of resolution steps.
    #[error("window length {length_ms} ms is not a multiple of its resolution {resolution_ms} ms")]
    NotMultiple {
        /// The window length.
        length_ms: i64,
        /// The window resolution.
        resolution_ms: i64,
    },
    /// More than [`crate::MAX_BUCKETS`] buckets would be needed.
    #[error(
        "window length {length_ms} ms at resolution {resolution_ms} ms needs {buckets} buckets; \
         the maximum is 1440"
    )]
    TooManyBuckets {
        /// The window length.
        length_ms: i64,
        /// The window resolution.
        resolution_ms: i64,
        /// length / resolution.
        buckets: i64,
    },
    /// `DistinctCount::exact_limit` above [`crate::MAX_EXACT_LIMIT`].
    #[error("distinct-count exact_limit {exact_limit} exceeds the maximum of 100000")]
    ExactLimitTooLarge {
        /// The rejected limit.
        exact_limit: u32,
    },
    /// `max_keys` was zero.
    #[error("max_keys must be at least 1")]
    ZeroMaxKeys,
    /// `lateness_ms` was negative.
    #[error("lateness_ms {lateness_ms} must not be negative")]
    NegativeLateness {
        /// The rejected lateness.
        lateness_ms: i64,
    },
    /// A deserialized store is inconsistent with its configuration.
    #[error("invalid serialized feature store: {reason}")]
    InvalidSnapshot {
        /// What was wrong.
        reason: String,
    },
}
