//! Params: the pack's named amounts, durations, counts and ratios, checked
//! and turned into integers once, when the pack compiles. Rules read them
//! as `params.name`; an amount is per currency and is compared only through
//! `amount_at_least`, `amount_over`, `amount_under` and `amount_priced`
//! (see `expr::params`).

use crate::compile::{valid_name, Problems};
use crate::duration::parse_ms;
use crate::money::{self, Rate};
use crate::source::{MoneySource, ParamSource, UnknownCurrency};
use std::collections::BTreeMap;

/// The most currencies one amount param may hold, listed and converted.
pub const MAX_PARAM_CURRENCIES: usize = 200;

/// Compiled params, by name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Params {
    values: BTreeMap<String, Param>,
    /// What a currency an amount param cannot price counts as.
    pub unknown_currency: UnknownCurrency,
}

/// One compiled param.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Param {
    /// A duration in milliseconds, a count, or a ratio in basis points.
    Int(i64),
    /// Minor units per currency: the listed ones, and every currency with a
    /// rate converted from the reference amount (rounded down).
    Amount(BTreeMap<String, i64>),
}

impl Params {
    pub fn get(&self, name: &str) -> Option<&Param> {
        self.values.get(name)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &Param)> {
        self.values.iter()
    }
}

/// The decimals of a currency or asset code: the pack's own assets, then
/// ISO 4217, then the built-in crypto list.
pub fn exponent(money: &MoneySource, code: &str) -> Option<u32> {
    money
        .assets
        .get(code)
        .copied()
        .or_else(|| money::iso_exponent(code))
        .or_else(|| money::crypto_exponent(code))
}

fn unknown_code(code: &str) -> String {
    format!(
        "`{code}` is not an ISO 4217 currency or a built-in asset: declare it under \
         money.assets with its decimals"
    )
}

/// Checks `money` and compiles every param, reporting each problem with the
/// param's name and the currency.
pub(crate) fn compile(
    money: &MoneySource,
    src: &BTreeMap<String, ParamSource>,
    p: &mut Problems,
) -> Params {
    let rates = check_money(money, p);
    let reference = money
        .reference
        .as_deref()
        .and_then(|r| Some((r, exponent(money, r)?)));
    let mut values = BTreeMap::new();
    for (name, param) in src {
        let loc = format!("param `{name}`");
        if !valid_name(name) {
            p.add(&loc, "name must match [a-z][a-z0-9_]{0,63}");
        }
        let value = match param {
            ParamSource::Amount(amounts) => amount(money, reference, &rates, amounts, &loc, p),
            ParamSource::Duration(s) => match parse_ms(s) {
                Ok(ms) => Some(Param::Int(ms)),
                Err(e) => {
                    p.add(&loc, e);
                    None
                }
            },
            ParamSource::Count(n) => Some(Param::Int(*n)),
            ParamSource::Ratio(s) => match parse_ratio(s) {
                Ok(bp) => Some(Param::Int(bp)),
                Err(e) => {
                    p.add(&loc, e);
                    None
                }
            },
        };
        if let Some(v) = value {
            values.insert(name.clone(), v);
        }
    }
    Params {
        values,
        unknown_currency: money.unknown_currency,
    }
}

fn check_money(money: &MoneySource, p: &mut Problems) -> BTreeMap<String, Rate> {
    let valid_code = |c: &str| {
        (2..=12).contains(&c.len())
            && c.bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    };
    for (code, exp) in &money.assets {
        if !valid_code(code) {
            p.add("money", format!("assets: `{code}` is not 2 to 12 upper-case letters or digits, as an event's currency is"));
        } else if money::iso_exponent(code).is_some() {
            p.add(
                "money",
                format!("assets: `{code}` is an ISO 4217 currency; its decimals are built in"),
            );
        }
        if *exp > 18 {
            p.add(
                "money",
                format!("assets: `{code}` has {exp} decimals; at most 18"),
            );
        }
    }
    if let Some(r) = &money.reference {
        if exponent(money, r).is_none() {
            p.add("money", format!("reference: {}", unknown_code(r)));
        }
    } else if !money.rates.is_empty() {
        p.add(
            "money",
            "rates need a `reference` currency they are quoted in",
        );
    }
    let mut rates = BTreeMap::new();
    for (code, text) in &money.rates {
        if exponent(money, code).is_none() {
            p.add("money", format!("rates: {}", unknown_code(code)));
            continue;
        }
        if money.reference.as_deref() == Some(code.as_str()) {
            p.add(
                "money",
                format!("rates: `{code}` is the reference currency"),
            );
            continue;
        }
        match money::parse_rate(text) {
            Ok(rate) => {
                rates.insert(code.clone(), rate);
            }
            Err(e) => p.add("money", format!("rates: {code}: {e}")),
        }
    }
    rates
}

fn amount(
    money: &MoneySource,
    reference: Option<(&str, u32)>,
    rates: &BTreeMap<String, Rate>,
    amounts: &BTreeMap<String, String>,
    loc: &str,
    p: &mut Problems,
) -> Option<Param> {
    if amounts.is_empty() {
        p.add(loc, "an amount lists no currency");
        return None;
    }
    let mut out = BTreeMap::new();
    let mut ok = true;
    for (code, text) in amounts {
        let parsed = exponent(money, code)
            .ok_or_else(|| unknown_code(code))
            .and_then(|exp| money::parse_amount(text, code, exp));
        match parsed {
            Ok(minor) => {
                out.insert(code.clone(), minor);
            }
            Err(e) => {
                p.add(loc, format!("{code}: {e}"));
                ok = false;
            }
        }
    }
    // Every currency with a rate that the param does not list gets the
    // reference amount, converted exactly and rounded down.
    if let Some((reference, ref_exp)) = reference {
        if let Some(&base) = out.get(reference) {
            for (code, rate) in rates.iter().filter(|(c, _)| !amounts.contains_key(*c)) {
                let Some(exp) = exponent(money, code) else {
                    continue;
                };
                match money::convert_down(base, ref_exp, *rate, exp) {
                    Ok(minor) => {
                        out.insert(code.clone(), minor);
                    }
                    Err(e) => {
                        p.add(
                            loc,
                            format!("{code}: the {reference} amount at the rate {e}"),
                        );
                        ok = false;
                    }
                }
            }
        }
    }
    if out.len() > MAX_PARAM_CURRENCIES {
        p.add(
            loc,
            format!(
                "prices {} currencies; at most {MAX_PARAM_CURRENCIES}",
                out.len()
            ),
        );
        ok = false;
    }
    ok.then_some(Param::Amount(out))
}

/// `"15%"` (two decimals at most) or `"25bp"`, in basis points.
fn parse_ratio(s: &str) -> Result<i64, String> {
    let bad = || format!("`{s}` is not a ratio such as 15%, 2.5% or 25bp");
    if let Some(pct) = s.strip_suffix('%') {
        return money::parse_amount(pct, "a percentage", 2).map_err(|e| {
            if e.contains("decimals") {
                format!("`{s}` has more than 2 decimals: write basis points (25bp)")
            } else {
                bad()
            }
        });
    }
    if let Some(bp) = s.strip_suffix("bp") {
        return money::parse_amount(bp, "basis points", 0).map_err(|_| bad());
    }
    Err(bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn money() -> MoneySource {
        MoneySource {
            reference: Some("JPY".into()),
            rates: [
                ("USD", "150"),
                ("EUR", "160"),
                ("KRW", "0.108"),
                ("BHD", "399.5"),
            ]
            .into_iter()
            .map(|(c, r)| (c.to_string(), r.to_string()))
            .collect(),
            assets: [("XYM".to_string(), 6)].into(),
            unknown_currency: UnknownCurrency::Exceeds,
        }
    }

    fn run(money: &MoneySource, params: &[(&str, ParamSource)]) -> (Params, Vec<String>) {
        let mut p = Problems::default();
        let src = params
            .iter()
            .map(|(n, s)| (n.to_string(), s.clone()))
            .collect();
        let out = compile(money, &src, &mut p);
        (out, p.into_strings())
    }

    fn amount(pairs: &[(&str, &str)]) -> ParamSource {
        ParamSource::Amount(
            pairs
                .iter()
                .map(|(c, a)| (c.to_string(), a.to_string()))
                .collect(),
        )
    }

    #[test]
    fn listed_amounts_and_converted_ones() {
        let (params, errors) = run(
            &money(),
            &[(
                "large_transfer",
                amount(&[
                    ("JPY", "200000"),
                    ("USD", "1500"),
                    ("BTC", "0.01"),
                    ("XYM", "5"),
                ]),
            )],
        );
        assert_eq!(errors, Vec::<String>::new());
        let Some(Param::Amount(m)) = params.get("large_transfer") else {
            panic!("not an amount");
        };
        assert_eq!(m["JPY"], 200_000);
        assert_eq!(m["USD"], 150_000, "a listed amount wins over the rate");
        assert_eq!(m["EUR"], 125_000, "200,000 / 160 = 1,250.00 EUR");
        assert_eq!(m["KRW"], 1_851_851, "rounded down");
        assert_eq!(m["BHD"], 500_625);
        assert_eq!(m["BTC"], 1_000_000);
        assert_eq!(m["XYM"], 5_000_000);
        assert!(!m.contains_key("GBP"), "no amount and no rate: unpriced");
    }

    #[test]
    fn without_the_reference_nothing_is_converted() {
        let (params, errors) = run(&money(), &[("cap", amount(&[("BTC", "50")]))]);
        assert!(errors.is_empty(), "{errors:?}");
        let Some(Param::Amount(m)) = params.get("cap") else {
            panic!("not an amount");
        };
        assert_eq!(m.len(), 1);
    }

    #[test]
    fn errors_name_the_param_and_the_currency() {
        let (_, errors) = run(
            &money(),
            &[
                ("a", amount(&[("JPY", "1.234")])),
                ("b", amount(&[("ABC", "5")])),
                ("c", amount(&[("USD", "12,50")])),
                ("d", amount(&[])),
                ("e", ParamSource::Duration("48 h".into())),
                ("f", ParamSource::Ratio("15".into())),
                ("Bad", ParamSource::Count(1)),
            ],
        );
        // In name order (upper case first).
        let want = [
            "param `Bad`: name must match",
            "param `a`: JPY: `1.234` has 3 decimals, but JPY has 0",
            "param `b`: ABC: `ABC` is not an ISO 4217 currency",
            "param `c`: USD: `12,50` is not a plain decimal",
            "param `d`: an amount lists no currency",
            "param `e`: `48 h`",
            "param `f`: `15` is not a ratio",
        ];
        assert_eq!(errors.len(), want.len(), "{errors:#?}");
        for (got, want) in errors.iter().zip(want) {
            assert!(
                got.starts_with(want),
                "{got:?} does not start with {want:?}"
            );
        }
    }

    #[test]
    fn money_errors() {
        let mut m = money();
        m.rates.insert("JPY".into(), "1".into());
        m.rates.insert("GBP".into(), "0".into());
        m.rates.insert("ZZZZ".into(), "3".into());
        m.assets.insert("USD".into(), 2);
        m.assets.insert("ETH2".into(), 30);
        let (_, errors) = run(&m, &[]);
        let joined = errors.join("\n");
        for want in [
            "money: rates: `JPY` is the reference currency",
            "money: rates: GBP: `0` is not above zero",
            "money: rates: `ZZZZ` is not an ISO 4217 currency",
            "money: assets: `USD` is an ISO 4217 currency",
            "money: assets: `ETH2` has 30 decimals",
        ] {
            assert!(joined.contains(want), "{want} missing from\n{joined}");
        }
        let no_reference = MoneySource {
            reference: None,
            ..money()
        };
        let (_, errors) = run(&no_reference, &[]);
        assert!(errors[0].contains("need a `reference`"), "{errors:?}");
    }

    #[test]
    fn durations_counts_ratios() {
        let (params, errors) = run(
            &MoneySource::default(),
            &[
                ("window", ParamSource::Duration("48h".into())),
                ("short", ParamSource::Duration("15m".into())),
                ("month", ParamSource::Duration("30d".into())),
                ("n", ParamSource::Count(5)),
                ("share", ParamSource::Ratio("15%".into())),
                ("half", ParamSource::Ratio("2.5%".into())),
                ("bp", ParamSource::Ratio("25bp".into())),
            ],
        );
        assert!(errors.is_empty(), "{errors:?}");
        let int = |n: &str| match params.get(n) {
            Some(Param::Int(i)) => *i,
            other => panic!("{n}: {other:?}"),
        };
        assert_eq!(int("window"), 172_800_000);
        assert_eq!(int("short"), 900_000);
        assert_eq!(int("month"), 2_592_000_000);
        assert_eq!(int("n"), 5);
        assert_eq!(int("share"), 1_500);
        assert_eq!(int("half"), 250);
        assert_eq!(int("bp"), 25);
        let (_, errors) = run(
            &MoneySource::default(),
            &[("x", ParamSource::Ratio("2.555%".into()))],
        );
        assert!(errors[0].contains("basis points"), "{errors:?}");
    }
}
