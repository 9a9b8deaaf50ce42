//! ISO 4217 minor-unit exponents, and a short list of crypto assets.
//!
//! Source: ISO 4217 List One ("Current currency & funds code list"), as
//! published by SIX Financial Information, the standard's maintenance agency
//! (<https://www.six-group.com/en/products-services/financial-information/data-standards.html>),
//! 2025 edition: every code whose minor unit is a number. Codes whose minor
//! unit is "N.A." (gold, silver, platinum, palladium, the SDR, the bond-market
//! units, XSU, XUA, XTS, XXX) are left out: they are not money a service moves.
//! Codes withdrawn recently that integrations may still send (ANG, CUC, HRK,
//! SLL, ZWL) are kept with their last exponent. Re-check this table against the
//! agency's list when it is amended.

/// Exponents other than 2, in code order; every other code of [`TWO`] has 2.
const OTHER: &[(&str, u32)] = &[
    ("BHD", 3),
    ("BIF", 0),
    ("CLF", 4),
    ("CLP", 0),
    ("DJF", 0),
    ("GNF", 0),
    ("IQD", 3),
    ("ISK", 0),
    ("JOD", 3),
    ("JPY", 0),
    ("KMF", 0),
    ("KRW", 0),
    ("KWD", 3),
    ("LYD", 3),
    ("OMR", 3),
    ("PYG", 0),
    ("RWF", 0),
    ("TND", 3),
    ("UGX", 0),
    ("UYI", 0),
    ("UYW", 4),
    ("VND", 0),
    ("VUV", 0),
    ("XAF", 0),
    ("XOF", 0),
    ("XPF", 0),
];

/// Codes with two decimals.
const TWO: &[&str] = &[
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT",
    "BGN", "BMD", "BND", "BOB", "BOV", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD", "CDF",
    "CHE", "CHF", "CHW", "CNY", "COP", "COU", "CRC", "CUC", "CUP", "CVE", "CZK", "DKK", "DOP",
    "DZD", "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS", "GIP", "GMD", "GTQ",
    "GYD", "HKD", "HNL", "HRK", "HTG", "HUF", "IDR", "ILS", "INR", "IRR", "JMD", "KES", "KGS",
    "KHR", "KPW", "KYD", "KZT", "LAK", "LBP", "LKR", "LRD", "LSL", "MAD", "MDL", "MGA", "MKD",
    "MMK", "MNT", "MOP", "MRU", "MUR", "MVR", "MWK", "MXN", "MXV", "MYR", "MZN", "NAD", "NGN",
    "NIO", "NOK", "NPR", "NZD", "PAB", "PEN", "PGK", "PHP", "PKR", "PLN", "QAR", "RON", "RSD",
    "RUB", "SAR", "SBD", "SCR", "SDG", "SEK", "SGD", "SHP", "SLE", "SLL", "SOS", "SRD", "SSP",
    "STN", "SVC", "SYP", "SZL", "THB", "TJS", "TMT", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH",
    "USD", "USN", "UYU", "UZS", "VED", "VES", "WST", "XCD", "XCG", "YER", "ZAR", "ZMW", "ZWG",
    "ZWL",
];

/// Crypto assets a pack may name without declaring them, with the decimals
/// their ledgers count in (a pack's `money.assets` adds others or overrides
/// these, never an ISO code).
pub const CRYPTO: &[(&str, u32)] = &[
    ("BCH", 8),
    ("BTC", 8),
    ("DAI", 18),
    ("ETH", 18),
    ("LTC", 8),
    ("USDC", 6),
    ("USDT", 6),
    ("XEM", 6),
    ("XRP", 6),
];

/// The ISO 4217 minor-unit exponent of `code` (upper case), if it is a
/// current code with a numeric minor unit.
pub fn iso_exponent(code: &str) -> Option<u32> {
    if let Ok(i) = OTHER.binary_search_by(|(c, _)| (*c).cmp(code)) {
        return Some(OTHER[i].1);
    }
    TWO.binary_search(&code).ok().map(|_| 2)
}

/// The built-in exponent of a crypto asset.
pub fn crypto_exponent(code: &str) -> Option<u32> {
    CRYPTO
        .binary_search_by(|(c, _)| (*c).cmp(code))
        .ok()
        .map(|i| CRYPTO[i].1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_sorted_and_disjoint() {
        assert!(OTHER.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(TWO.windows(2).all(|w| w[0] < w[1]));
        assert!(CRYPTO.windows(2).all(|w| w[0].0 < w[1].0));
        for (c, _) in OTHER {
            assert!(TWO.binary_search(c).is_err(), "{c} twice");
        }
        for (c, _) in CRYPTO {
            assert_eq!(iso_exponent(c), None, "{c} is not ISO");
        }
        assert!(OTHER.len() + TWO.len() > 150);
    }

    #[test]
    fn known_exponents() {
        for (code, exp) in [
            ("JPY", 0),
            ("KRW", 0),
            ("USD", 2),
            ("EUR", 2),
            ("GBP", 2),
            ("BHD", 3),
            ("KWD", 3),
            ("CLF", 4),
        ] {
            assert_eq!(iso_exponent(code), Some(exp), "{code}");
        }
        assert_eq!(iso_exponent("XAU"), None);
        assert_eq!(iso_exponent("usd"), None);
        assert_eq!(iso_exponent("BTC"), None);
        assert_eq!(crypto_exponent("BTC"), Some(8));
        assert_eq!(crypto_exponent("ETH"), Some(18));
        assert_eq!(crypto_exponent("XEM"), Some(6));
    }
}
