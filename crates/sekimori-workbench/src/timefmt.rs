//! Times in the analyst's zone (jiff, with the tz database bundled).

use jiff::tz::TimeZone;
use jiff::Timestamp;

/// `2026-11-23 11:00:05 JST`; UTC when the zone is unknown.
pub fn format_ms(ms: i64, zone: &str) -> String {
    let Ok(ts) = Timestamp::from_millisecond(ms) else {
        return ms.to_string();
    };
    let tz = TimeZone::get(zone).unwrap_or(TimeZone::UTC);
    ts.to_zoned(tz).strftime("%Y-%m-%d %H:%M:%S %Z").to_string()
}

/// Whether `zone` is a known IANA zone name.
pub fn known_zone(zone: &str) -> bool {
    zone.len() <= 64 && TimeZone::get(zone).is_ok()
}

/// A span for people: `3d 4h`, `5h 10m`, `42m`.
pub fn format_span(ms: i64) -> String {
    let m = ms.max(0) / 60_000;
    let (d, h, m) = (m / 1440, (m / 60) % 24, m % 60);
    if d > 0 {
        format!("{d}d {h}h")
    } else if h > 0 {
        format!("{h}h {m}m")
    } else {
        format!("{m}m")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_show_in_the_analysts_zone() {
        let ms = 1_795_399_200_000; // 2026-11-23T02:00:00Z
        assert_eq!(format_ms(ms, "UTC"), "2026-11-23 02:00:00 UTC");
        assert_eq!(format_ms(ms, "Asia/Tokyo"), "2026-11-23 11:00:00 JST");
        assert_eq!(format_ms(ms, "Not/AZone"), "2026-11-23 02:00:00 UTC");
        assert!(known_zone("Europe/London") && !known_zone("Mars/Olympus"));
        assert_eq!(format_span(3 * 86_400_000 + 4 * 3_600_000), "3d 4h");
        assert_eq!(format_span(42 * 60_000), "42m");
    }
}
