//! Amounts as people read them: integer minor units shown with the
//! currency's exponent (ISO 4217, or the built-in crypto assets of
//! `sekimori-rules`), digits grouped, no float anywhere.

/// `JPY 12,000`, `USD 1,234.56`, `BTC 0.50000000`; a currency of unknown
/// exponent shows its minor units (`XYZ 1234 (minor units)`).
pub fn format_amount(amount_minor: i64, currency: &str) -> String {
    let exp = sekimori_rules::iso_exponent(currency)
        .or_else(|| sekimori_rules::crypto_exponent(currency));
    let Some(exp) = exp else {
        return format!("{currency} {amount_minor} (minor units)");
    };
    let sign = if amount_minor < 0 { "-" } else { "" };
    let abs = amount_minor.unsigned_abs();
    let unit = 10u64.checked_pow(exp).unwrap_or(1);
    let major = group(abs / unit);
    if exp == 0 {
        return format!("{currency} {sign}{major}");
    }
    let minor = abs % unit;
    format!(
        "{currency} {sign}{major}.{minor:0width$}",
        width = exp as usize
    )
}

/// The number of decimal digits of the whole units of an amount (0 for
/// less than one unit): the money part of a case's priority.
pub fn major_digits(amount_minor: i64, currency: &str) -> u32 {
    let exp = sekimori_rules::iso_exponent(currency)
        .or_else(|| sekimori_rules::crypto_exponent(currency))
        .unwrap_or(0);
    let major = amount_minor.unsigned_abs() / 10u64.checked_pow(exp).unwrap_or(1);
    if major == 0 {
        0
    } else {
        major.ilog10() + 1
    }
}

fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_follow_the_currency_exponent() {
        let cases = [
            (1_200_000, "JPY", "JPY 1,200,000"),
            (123_456, "USD", "USD 1,234.56"),
            (5, "USD", "USD 0.05"),
            (-150, "EUR", "EUR -1.50"),
            (1_000, "KWD", "KWD 1.000"),
            (999, "JPY", "JPY 999"),
            (12, "XYZ", "XYZ 12 (minor units)"),
        ];
        for (minor, cur, want) in cases {
            assert_eq!(format_amount(minor, cur), want, "{minor} {cur}");
        }
        assert_eq!(major_digits(1_500_000, "JPY"), 7);
        assert_eq!(major_digits(150_000, "USD"), 4);
        assert_eq!(major_digits(99, "USD"), 0);
    }
}
