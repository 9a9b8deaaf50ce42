//! Money in packs: amounts written in major units per currency, turned into
//! exact integer minor units with the currency's exponent, and operator rates
//! kept as exact decimals. No float anywhere: a threshold is an `i64` of minor
//! units, as `amount_minor` is.

mod iso4217;

pub use iso4217::{crypto_exponent, iso_exponent};

/// The most decimals a written amount or rate may have.
const MAX_DECIMALS: u32 = 18;

/// A positive exact decimal: `num / 10^scale`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    num: u128,
    scale: u32,
}

/// Splits a plain decimal (`200000`, `0.01`, `1_500.25`) into its digits and
/// the number of decimals. Underscores may separate digits.
fn decimal(s: &str) -> Result<(u128, u32), String> {
    let bad = || format!("`{s}` is not a plain decimal such as 200000, 1500.50 or 0.01");
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (s, None),
    };
    let digits = |part: &str| {
        !part.is_empty()
            && !part.starts_with('_')
            && !part.ends_with('_')
            && !part.contains("__")
            && part.bytes().all(|b| b.is_ascii_digit() || b == b'_')
    };
    if !digits(int) || frac.is_some_and(|f| !digits(f)) {
        return Err(bad());
    }
    let frac = frac.unwrap_or("");
    let decimals = frac.bytes().filter(u8::is_ascii_digit).count() as u32;
    if decimals > MAX_DECIMALS {
        return Err(format!("`{s}` has more than {MAX_DECIMALS} decimals"));
    }
    let mut n: u128 = 0;
    for b in int.bytes().chain(frac.bytes()).filter(u8::is_ascii_digit) {
        n = n
            .checked_mul(10)
            .and_then(|n| n.checked_add(u128::from(b - b'0')))
            .ok_or_else(|| format!("`{s}` is too large"))?;
    }
    Ok((n, decimals))
}

fn pow10(e: u32) -> Option<u128> {
    10u128.checked_pow(e)
}

/// An amount in major units (`"1500.50"`) as minor units of a currency with
/// `exp` decimals (150050 for USD). More decimals than the currency has is an
/// error, never a rounding.
pub fn parse_amount(s: &str, code: &str, exp: u32) -> Result<i64, String> {
    let (n, decimals) = decimal(s)?;
    if decimals > exp {
        return Err(format!(
            "`{s}` has {decimals} decimals, but {code} has {exp} (its minor unit is 1/{})",
            pow10(exp).unwrap_or(1)
        ));
    }
    pow10(exp - decimals)
        .and_then(|m| n.checked_mul(m))
        .and_then(|v| i64::try_from(v).ok())
        .ok_or_else(|| format!("`{s}` {code} is more than an event's amount_minor can hold"))
}

/// A rate: how many units of the reference currency one unit of another is
/// worth (`"150.25"` yen per dollar). It must be above zero.
pub fn parse_rate(s: &str) -> Result<Rate, String> {
    let (num, scale) = decimal(s)?;
    if num == 0 {
        return Err(format!("`{s}` is not above zero"));
    }
    Ok(Rate { num, scale })
}

/// Converts `amount` minor units of the reference currency (`from_exp`
/// decimals) into minor units of a currency worth `rate` reference units
/// each (`to_exp` decimals), exactly, rounding down: a threshold converted
/// this way is never above the reference one, so a rule fires no later in
/// the other currency.
pub fn convert_down(amount: i64, from_exp: u32, rate: Rate, to_exp: u32) -> Result<i64, String> {
    let amount = u128::try_from(amount).map_err(|_| "a negative amount".to_string())?;
    let too_large = || "too large to convert exactly".to_string();
    let numerator = pow10(rate.scale + to_exp)
        .and_then(|m| amount.checked_mul(m))
        .ok_or_else(too_large)?;
    let denominator = pow10(from_exp)
        .and_then(|m| rate.num.checked_mul(m))
        .ok_or_else(too_large)?;
    i64::try_from(numerator / denominator)
        .map_err(|_| "converts to more than an event's amount_minor can hold".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_follow_the_currency_exponent() {
        assert_eq!(parse_amount("200000", "JPY", 0), Ok(200_000));
        assert_eq!(parse_amount("200_000", "JPY", 0), Ok(200_000));
        assert_eq!(parse_amount("1500", "USD", 2), Ok(150_000));
        assert_eq!(parse_amount("1500.5", "USD", 2), Ok(150_050));
        assert_eq!(parse_amount("1500.50", "USD", 2), Ok(150_050));
        assert_eq!(parse_amount("1.234", "BHD", 3), Ok(1_234));
        assert_eq!(parse_amount("0.01", "BTC", 8), Ok(1_000_000));
        assert_eq!(parse_amount("2000", "XEM", 6), Ok(2_000_000_000));
        assert_eq!(parse_amount("0.5", "ETH", 18), Ok(500_000_000_000_000_000));
        assert_eq!(parse_amount("0", "JPY", 0), Ok(0));
    }

    #[test]
    fn more_decimals_than_the_currency_is_an_error() {
        let e = parse_amount("1.234", "JPY", 0).expect_err("an error");
        assert!(e.contains("has 3 decimals, but JPY has 0"), "{e}");
        let e = parse_amount("10.005", "USD", 2).expect_err("an error");
        assert!(e.contains("USD has 2"), "{e}");
        // Trailing zeros are decimals too: "100.0" yen is not a yen amount.
        assert!(parse_amount("100.0", "JPY", 0).is_err());
    }

    #[test]
    fn malformed_amounts_are_errors() {
        for bad in [
            "", "-5", "+5", "1e6", "1,500", "1.", ".5", "1.2.3", " 5", "5 ", "_5", "5_", "1__0",
            "NaN", "0x10",
        ] {
            assert!(parse_amount(bad, "USD", 2).is_err(), "{bad:?}");
        }
        let e = parse_amount("10000000000", "ETH", 18).expect_err("an error");
        assert!(e.contains("more than an event's amount_minor"), "{e}");
        assert!(parse_amount(&"9".repeat(60), "JPY", 0).is_err());
    }

    #[test]
    fn rates_are_positive_decimals() {
        assert_eq!(
            parse_rate("150.25"),
            Ok(Rate {
                num: 15025,
                scale: 2
            })
        );
        assert!(parse_rate("0").is_err());
        assert!(parse_rate("0.000").is_err());
        assert!(parse_rate("-1").is_err());
        assert!(parse_rate("1e2").is_err());
    }

    #[test]
    fn conversion_is_exact_and_rounds_down() {
        let usd = parse_rate("150").expect("ok");
        // 200,000 yen at 150 yen a dollar: 1,333.333... dollars -> 133,333 cents.
        assert_eq!(convert_down(200_000, 0, usd, 2), Ok(133_333));
        // Exact when it divides.
        assert_eq!(convert_down(300_000, 0, usd, 2), Ok(200_000));
        // 1,500.25 yen per unit, into a 3-decimal currency.
        let bhd = parse_rate("399.5").expect("ok");
        assert_eq!(convert_down(200_000, 0, bhd, 3), Ok(500_625)); // 500.6257...
                                                                   // Never rounded up: the converted amount is worth at most the reference.
        for (amount, rate, exp) in [(199_999, "151.37", 2), (7, "3", 0), (1, "0.9", 2)] {
            let r = parse_rate(rate).expect("ok");
            let got = i128::from(convert_down(amount, 0, r, exp).expect("ok"));
            // got * rate <= amount, and (got + 1) * rate > amount, all exact.
            let (num, scale) = (r.num as i128, r.scale);
            let lhs = |g: i128| g * num;
            let rhs = i128::from(amount) * 10i128.pow(scale + exp);
            assert!(lhs(got) <= rhs && lhs(got + 1) > rhs, "{amount} at {rate}");
        }
        // A currency worth less than the reference: KRW at 0.108 yen.
        let krw = parse_rate("0.108").expect("ok");
        assert_eq!(convert_down(200_000, 0, krw, 0), Ok(1_851_851));
        // From a currency with decimals.
        assert_eq!(
            convert_down(150_000, 2, parse_rate("0.0066").expect("ok"), 0),
            Ok(227_272)
        );
    }

    #[test]
    fn conversion_overflow_is_an_error_not_a_panic() {
        let tiny = parse_rate("0.000000000000000001").expect("ok");
        assert!(convert_down(i64::MAX, 0, tiny, 18).is_err());
        assert!(convert_down(-1, 0, parse_rate("1").expect("ok"), 0).is_err());
    }
}
