//! Retry delays: exponential, capped, with a jitter fixed per notice id.

use std::time::Duration;

/// The wait before the next attempt of notice `id` after `failed_attempts`
/// failed attempts (1 for the wait between attempts 1 and 2).
///
/// `delay = min(max, min(first × 2^(failed_attempts − 1), max) × (1 + j))`,
/// where `j = (xxh3_64(id) mod 1000) / 5000`, in `[0, 0.2)`. So a delay is
/// never below `first` (unless `max < first`) and never above `max`, and
/// the same id always gets the same delays, which keeps tests reproducible
/// while notices that failed together spread out instead of retrying in
/// lockstep.
pub fn backoff_delay(first: Duration, max: Duration, id: &str, failed_attempts: u32) -> Duration {
    let doublings = failed_attempts.saturating_sub(1);
    let factor = 2_u32.checked_pow(doublings).unwrap_or(u32::MAX);
    let base = first.saturating_mul(factor).min(max);
    let jitter = base.saturating_mul(jitter_permille(id)) / 5000;
    base.saturating_add(jitter).min(max)
}

/// `xxh3_64(id) mod 1000`: the per-id jitter, in thousandths of 20 %.
fn jitter_permille(id: &str) -> u32 {
    // The remainder is below 1000, so the conversion cannot fail.
    u32::try_from(xxhash_rust::xxh3::xxh3_64(id.as_bytes()) % 1000).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn doubles_from_first_and_stays_within_twenty_percent() {
        let first = Duration::from_secs(1);
        let max = Duration::from_secs(300);
        for id in [
            "a",
            "evt_1:charge",
            "evt_2:charge",
            "x".repeat(300).as_str(),
        ] {
            for n in 1..=8_u32 {
                let base = first * 2_u32.pow(n - 1);
                let d = backoff_delay(first, max, id, n);
                assert!(d >= base, "{id} {n}: {d:?} < {base:?}");
                assert!(d < base + base / 5, "{id} {n}: {d:?} too much jitter");
            }
        }
    }

    #[test]
    fn is_capped_at_max() {
        let first = Duration::from_secs(1);
        let max = Duration::from_secs(300);
        for n in [10, 31, 32, 33, 1000, u32::MAX] {
            assert_eq!(backoff_delay(first, max, "id", n), max, "{n}");
        }
        // A huge first backoff and the cap below it.
        assert_eq!(backoff_delay(Duration::MAX, max, "id", 1), max);
        assert_eq!(backoff_delay(first, 500 * MS, "id", 1), 500 * MS);
    }

    #[test]
    fn is_deterministic_per_id_and_varies_across_ids() {
        let first = 20 * MS;
        let max = Duration::from_secs(60);
        let a = backoff_delay(first, max, "evt_1", 3);
        assert_eq!(a, backoff_delay(first, max, "evt_1", 3));
        let distinct: std::collections::BTreeSet<Duration> = (0..50)
            .map(|i| backoff_delay(first, max, &format!("evt_{i}"), 3))
            .collect();
        assert!(distinct.len() > 10, "jitter barely varies: {distinct:?}");
    }

    #[test]
    fn zero_and_first_attempt_edge_cases() {
        assert_eq!(
            backoff_delay(Duration::ZERO, Duration::ZERO, "id", 5),
            Duration::ZERO
        );
        // failed_attempts = 0 is treated like 1 rather than underflowing.
        assert_eq!(
            backoff_delay(20 * MS, Duration::from_secs(1), "id", 0),
            backoff_delay(20 * MS, Duration::from_secs(1), "id", 1)
        );
    }
}
