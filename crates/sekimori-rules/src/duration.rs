//! Durations in packs: `500ms`, `30s`, `15m`, `1h`, `7d`.

/// Parses a duration into milliseconds.
pub fn parse_ms(s: &str) -> Result<i64, String> {
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: i64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a duration such as 30s, 15m, 1h or 7d"))?;
    let scale = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return Err(format!("`{s}` has an unknown unit; use ms, s, m, h or d")),
    };
    n.checked_mul(scale)
        .ok_or_else(|| format!("`{s}` is too long"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn units() {
        assert_eq!(super::parse_ms("15m"), Ok(900_000));
        assert_eq!(super::parse_ms("90d"), Ok(7_776_000_000));
        assert!(super::parse_ms("15 m").is_err());
        assert!(super::parse_ms("m").is_err());
        assert!(super::parse_ms("3w").is_err());
    }
}
