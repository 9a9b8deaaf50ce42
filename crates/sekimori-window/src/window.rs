//! Window geometry: validation and the default resolution rule.

use crate::{Aggregate, FeatureConfig, Window, WindowError};

/// Finest allowed bucket resolution (one second).
pub const MIN_RESOLUTION_MS: i64 = 1_000;
/// Longest allowed sliding window (90 days).
pub const MAX_LENGTH_MS: i64 = 90 * 24 * 3_600_000;
/// Most buckets a sliding window may have.
pub const MAX_BUCKETS: i64 = 1_440;
/// Largest allowed `DistinctCount::exact_limit`.
pub const MAX_EXACT_LIMIT: u32 = 100_000;

impl Window {
    /// A sliding window of `length_ms` with buckets of `resolution_ms`.
    ///
    /// The length must be a positive multiple of the resolution, the resolution at least
    /// 1000 ms, the length at most 90 days and `length / resolution <= 1440`.
    pub fn sliding(length_ms: i64, resolution_ms: i64) -> Result<Window, WindowError> {
        check_length(length_ms)?;
        if resolution_ms < MIN_RESOLUTION_MS {
            return Err(WindowError::ResolutionTooFine { resolution_ms });
        }
        if length_ms % resolution_ms != 0 {
            return Err(WindowError::NotMultiple {
                length_ms,
                resolution_ms,
            });
        }
        let buckets = length_ms / resolution_ms;
        if buckets > MAX_BUCKETS {
            return Err(WindowError::TooManyBuckets {
                length_ms,
                resolution_ms,
                buckets,
            });
        }
        Ok(Window::Sliding {
            length_ms,
            resolution_ms,
        })
    }

    /// A sliding window of `length_ms` with the default resolution.
    ///
    /// Rule: the resolution is the largest divisor of `length_ms` that is a whole number
    /// of seconds and at most `length_ms / 60` (so the window has at least 60 buckets);
    /// if there is none, 1000 ms. The result is then validated like [`Window::sliding`],
    /// so e.g. a length that is not a whole number of seconds is rejected, and so is a
    /// length whose only whole-second divisor is one second when that would need more
    /// than 1440 buckets (e.g. a prime number of seconds above 1440).
    pub fn sliding_default(length_ms: i64) -> Result<Window, WindowError> {
        check_length(length_ms)?;
        Window::sliding(length_ms, default_resolution(length_ms))
    }

    /// Checks a window built directly from the enum variants.
    pub fn validate(&self) -> Result<(), WindowError> {
        match *self {
            Window::Ever => Ok(()),
            Window::Sliding {
                length_ms,
                resolution_ms,
            } => Window::sliding(length_ms, resolution_ms).map(|_| ()),
        }
    }
}

fn check_length(length_ms: i64) -> Result<(), WindowError> {
    if length_ms <= 0 {
        return Err(WindowError::NonPositiveLength { length_ms });
    }
    if length_ms > MAX_LENGTH_MS {
        return Err(WindowError::TooLong {
            length_ms,
            max_ms: MAX_LENGTH_MS,
        });
    }
    Ok(())
}

/// Largest whole-second divisor of `length_ms` that is `<= length_ms / 60`, else 1000.
fn default_resolution(length_ms: i64) -> i64 {
    if length_ms % 1_000 != 0 {
        return MIN_RESOLUTION_MS;
    }
    let secs = length_ms / 1_000;
    let limit = length_ms / 60 / 1_000;
    let mut best = 0;
    let mut i = 1;
    while i * i <= secs {
        if secs % i == 0 {
            for d in [i, secs / i] {
                if d <= limit && d > best {
                    best = d;
                }
            }
        }
        i += 1;
    }
    if best == 0 {
        MIN_RESOLUTION_MS
    } else {
        best * 1_000
    }
}

impl FeatureConfig {
    /// Checks the window, `max_keys >= 1`, `lateness_ms >= 0` and the distinct exact limit.
    pub fn validate(&self) -> Result<(), WindowError> {
        self.window.validate()?;
        if self.max_keys == 0 {
            return Err(WindowError::ZeroMaxKeys);
        }
        if self.lateness_ms < 0 {
            return Err(WindowError::NegativeLateness {
                lateness_ms: self.lateness_ms,
            });
        }
        if let Aggregate::DistinctCount { exact_limit } = self.aggregate {
            if exact_limit > MAX_EXACT_LIMIT {
                return Err(WindowError::ExactLimitTooLarge { exact_limit });
            }
        }
        Ok(())
    }
}

/// The bucket range a reading or an update works on, derived from the watermark.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Span {
    /// Bucket resolution; 0 for `Ever`.
    res: i64,
    /// First bucket of the window as of the watermark.
    pub start: i64,
    /// Bucket of the watermark (last bucket of the window).
    pub end: i64,
    /// Buckets below this can never be read again (retention cutoff).
    pub cutoff: i64,
}

impl Span {
    pub fn new(config: &FeatureConfig, now_ms: i64) -> Span {
        match config.window {
            Window::Sliding {
                length_ms,
                resolution_ms,
            } if resolution_ms > 0 => {
                let n = length_ms / resolution_ms;
                let end = now_ms.div_euclid(resolution_ms);
                let oldest = now_ms.saturating_sub(config.lateness_ms.max(0));
                Span {
                    res: resolution_ms,
                    start: end - n + 1,
                    end,
                    cutoff: oldest.div_euclid(resolution_ms) - n + 1,
                }
            }
            _ => Span {
                res: 0,
                start: i64::MIN,
                end: i64::MAX,
                cutoff: i64::MIN,
            },
        }
    }

    /// A span over explicit buckets (unit tests).
    #[cfg(test)]
    pub fn buckets(start: i64, end: i64, cutoff: i64) -> Span {
        Span {
            res: 1,
            start,
            end,
            cutoff,
        }
    }

    /// Bucket index of an event time (0 for `Ever`, where buckets are unused).
    pub fn bucket(&self, at_ms: i64) -> i64 {
        if self.res > 0 {
            at_ms.div_euclid(self.res)
        } else {
            0
        }
    }

    pub fn contains(&self, bucket: i64) -> bool {
        self.start <= bucket && bucket <= self.end
    }
}
