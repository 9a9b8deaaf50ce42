//! PIN checks: 4 to 8 ASCII digits.
//!
//! * **Frequency** (4-digit PINs): rank and share of the PIN among all
//!   10,000 four-digit strings by their real Have I Been Pwned counts
//!   (`data/pins/pin4_hibp_pwned_counts.csv`, embedded at build time). Rank
//!   1 is the most common (`1234`); ties share a rank.
//! * **Patterns** (any length): all digits the same (`0000`), a repeated
//!   group (`1212`, `123123`, `12341234`), ascending or descending runs
//!   including the wrap between 9 and 0 (`1234`, `9876`, `7890`, `8901`).
//! * **Dates**: the holder's birth date written as `MMDD`, `DDMM`, `YYYY`,
//!   `YYMM`, `MMYY`, `YYMMDD`, `DDMMYY`, `MMDDYY`, `YYYYMMDD`, `DDMMYYYY`,
//!   `MMDDYYYY` (and the same without leading zeros, e.g. `3489` for
//!   1989-03-04 as `M D YY`); and, without a birth date to compare with, any
//!   PIN that reads as a calendar date or a year 1900–2099.
//!
//! See [`crate::Code`] for the codes and [`crate::Policy`] for
//! how they become a verdict.

use std::str::FromStr;
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

use crate::{Code, Policy, Verdict};

/// Shortest PIN accepted.
pub const MIN_PIN_LEN: usize = 4;
/// Longest PIN accepted.
pub const MAX_PIN_LEN: usize = 8;

static PIN4_CSV: &str = include_str!("../../../data/pins/pin4_hibp_pwned_counts.csv");

/// The frequency of one 4-digit PIN in Have I Been Pwned.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct PinFrequency {
    /// 1 = most common; equal counts share a rank.
    pub rank: u32,
    /// Times seen in Pwned Passwords.
    pub count: u64,
    /// `count` over the total of all 10,000 four-digit strings.
    pub share: f64,
}

struct Pin4Table {
    /// Indexed by the PIN's value 0..=9999.
    entries: Vec<PinFrequency>,
}

fn parse_pin4_table(csv: &str) -> Result<Pin4Table, String> {
    let mut counts = vec![None::<u64>; 10_000];
    let mut lines = csv.lines();
    if lines.next().map(str::trim) != Some("pin,pwned_count,share") {
        return Err("unexpected header".into());
    }
    for (i, line) in lines.enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let mut cols = line.split(',');
        let (Some(pin), Some(count)) = (cols.next(), cols.next()) else {
            return Err(format!("line {}: too few columns", i + 2));
        };
        if pin.len() != 4 || !pin.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("line {}: bad pin", i + 2));
        }
        let idx: usize = pin
            .parse()
            .map_err(|_| format!("line {}: bad pin", i + 2))?;
        let count: u64 = count
            .parse()
            .map_err(|_| format!("line {}: bad count", i + 2))?;
        if counts[idx].replace(count).is_some() {
            return Err(format!("line {}: repeated pin", i + 2));
        }
    }
    let counts: Vec<u64> = counts
        .into_iter()
        .collect::<Option<_>>()
        .ok_or("not all 10000 pins present")?;
    let total: u64 = counts.iter().sum();
    let mut sorted = counts.clone();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    let entries = counts
        .iter()
        .map(|&count| {
            // Competition ranking: 1 + how many PINs are strictly more common.
            let above = sorted.partition_point(|&c| c > count);
            PinFrequency {
                rank: u32::try_from(above + 1).unwrap_or(u32::MAX),
                count,
                share: if total == 0 {
                    0.0
                } else {
                    count as f64 / total as f64
                },
            }
        })
        .collect();
    Ok(Pin4Table { entries })
}

static PIN4: LazyLock<Result<Pin4Table, String>> = LazyLock::new(|| parse_pin4_table(PIN4_CSV));

/// Rank, count and share of a 4-digit PIN in Have I Been Pwned; `None` for
/// anything that is not exactly four ASCII digits.
pub fn pin4_frequency(pin: &str) -> Option<PinFrequency> {
    if pin.len() != 4 || !pin.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let idx: usize = pin.parse().ok()?;
    PIN4.as_ref().ok()?.entries.get(idx).copied()
}

/// A date of birth, `YYYY-MM-DD`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct BirthDate {
    year: u16,
    month: u8,
    day: u8,
}

impl std::fmt::Debug for BirthDate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BirthDate(<redacted>)")
    }
}

/// A birth date that is not a valid `YYYY-MM-DD` calendar date.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("birth_date must be a calendar date written YYYY-MM-DD")]
pub struct BirthDateError;

fn is_leap(y: u16) -> bool {
    (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400)
}

fn days_in_month(y: u16, m: u8) -> u8 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(y) => 29,
        2 => 28,
        _ => 0,
    }
}

fn valid_date(y: u16, m: u8, d: u8) -> bool {
    (1..=12).contains(&m) && d >= 1 && d <= days_in_month(y, m)
}

impl BirthDate {
    /// A birth date from its parts, if it is a real calendar date.
    pub fn new(year: u16, month: u8, day: u8) -> Result<BirthDate, BirthDateError> {
        if (1..=9999).contains(&year) && valid_date(year, month, day) {
            Ok(BirthDate { year, month, day })
        } else {
            Err(BirthDateError)
        }
    }

    /// Every way this date is commonly written as a 4- to 8-digit PIN.
    fn pin_forms(&self) -> Vec<String> {
        let yyyy = format!("{:04}", self.year);
        let yy = format!("{:02}", self.year % 100);
        let mms = [format!("{:02}", self.month), self.month.to_string()];
        let dds = [format!("{:02}", self.day), self.day.to_string()];
        let mut forms = vec![yyyy.clone()];
        for mm in &mms {
            for dd in &dds {
                forms.push(format!("{mm}{dd}"));
                forms.push(format!("{dd}{mm}"));
                for y in [&yyyy, &yy] {
                    forms.push(format!("{y}{mm}{dd}"));
                    forms.push(format!("{mm}{dd}{y}"));
                    forms.push(format!("{dd}{mm}{y}"));
                }
            }
            for y in [&yyyy, &yy] {
                forms.push(format!("{y}{mm}"));
                forms.push(format!("{mm}{y}"));
            }
        }
        forms.retain(|f| (MIN_PIN_LEN..=MAX_PIN_LEN).contains(&f.len()));
        forms.sort_unstable();
        forms.dedup();
        forms
    }
}

impl FromStr for BirthDate {
    type Err = BirthDateError;

    fn from_str(s: &str) -> Result<BirthDate, BirthDateError> {
        let b = s.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return Err(BirthDateError);
        }
        let num = |r: std::ops::Range<usize>| -> Result<u16, BirthDateError> {
            let part = s.get(r).ok_or(BirthDateError)?;
            if !part.bytes().all(|c| c.is_ascii_digit()) {
                return Err(BirthDateError);
            }
            part.parse().map_err(|_| BirthDateError)
        };
        let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
        let m = u8::try_from(m).map_err(|_| BirthDateError)?;
        let d = u8::try_from(d).map_err(|_| BirthDateError)?;
        BirthDate::new(y, m, d)
    }
}

/// A PIN that is not 4 to 8 ASCII digits. Never carries the PIN.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("a PIN is {MIN_PIN_LEN} to {MAX_PIN_LEN} ASCII digits")]
pub struct PinError;

/// What the PIN checks found.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PinAssessment {
    /// Number of digits.
    pub length: usize,
    /// Findings, in [`Code`] order.
    pub codes: Vec<Code>,
    /// The verdict under the policy used.
    pub verdict: Verdict,
    /// HIBP frequency, for 4-digit PINs.
    pub frequency: Option<PinFrequency>,
}

fn digits(pin: &str) -> Result<Vec<u8>, PinError> {
    if !(MIN_PIN_LEN..=MAX_PIN_LEN).contains(&pin.len()) || !pin.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(PinError);
    }
    Ok(pin.bytes().map(|b| b - b'0').collect())
}

/// All digits equal: `0000`, `77777`.
pub fn is_repeated(pin: &str) -> bool {
    let b = pin.as_bytes();
    b.len() > 1 && b.iter().all(|&c| c == b[0])
}

/// A group of 2 or more digits repeated to fill the PIN: `1212`, `123123`,
/// `12341234`, `252525`. (All-same-digit PINs are [`is_repeated`].)
pub fn is_repeated_pattern(pin: &str) -> bool {
    let b = pin.as_bytes();
    let n = b.len();
    (2..=n / 2).any(|p| n.is_multiple_of(p) && b.chunks(p).all(|c| c == &b[..p]))
        && !is_repeated(pin)
}

/// Each digit one more (or each one less) than the previous, wrapping
/// between 9 and 0: `1234`, `56789`, `7890`, `8901`, `9876`, `3210`, `1098`.
pub fn is_sequential(pin: &str) -> bool {
    let d: Vec<u8> = pin.bytes().map(|b| b.wrapping_sub(b'0')).collect();
    if d.len() < 2 || d.iter().any(|&x| x > 9) {
        return false;
    }
    let step_all = |step: u8| d.windows(2).all(|w| (w[0] + step) % 10 == w[1]);
    step_all(1) || step_all(9)
}

fn two(d: &[u8]) -> u8 {
    d[0] * 10 + d[1]
}

fn four(d: &[u8]) -> u16 {
    u16::from(two(&d[..2])) * 100 + u16::from(two(&d[2..]))
}

/// Reads as a calendar date or a year, without knowing whose: `MMDD`,
/// `DDMM` or `19YY`/`20YY` for 4 digits; `DDMMYY`, `MMDDYY`, `YYMMDD` for 6;
/// `DDMMYYYY`, `MMDDYYYY`, `YYYYMMDD` with a year 1900–2099 for 8.
pub fn is_date_like(pin: &str) -> bool {
    let Ok(d) = digits(pin) else { return false };
    // A leap year, so that 29 February reads as a date.
    const LEAP: u16 = 2000;
    let century = |y: u16| (1900..=2099).contains(&y);
    match d.len() {
        4 => {
            let (a, b) = (two(&d[..2]), two(&d[2..]));
            valid_date(LEAP, a, b) || valid_date(LEAP, b, a) || century(four(&d))
        }
        6 => {
            let (a, b, c) = (two(&d[..2]), two(&d[2..4]), two(&d[4..]));
            valid_date(LEAP, b, a) || valid_date(LEAP, a, b) || valid_date(LEAP, b, c)
        }
        8 => {
            let (a, b) = (two(&d[..2]), two(&d[2..4]));
            let (y_tail, y_head) = (four(&d[4..]), four(&d[..4]));
            let (m, dd) = (two(&d[4..6]), two(&d[6..]));
            (century(y_tail) && (valid_date(y_tail, b, a) || valid_date(y_tail, a, b)))
                || (century(y_head) && valid_date(y_head, m, dd))
        }
        _ => false,
    }
}

/// Whether `pin` is one of the ways `birth` is commonly written.
pub fn matches_birth_date(pin: &str, birth: &BirthDate) -> bool {
    birth.pin_forms().iter().any(|f| f == pin)
}

/// Runs every PIN check. `birth_date` enables the `birth_date` code; breach
/// counts from a password corpus are not consulted here (see
/// [`Checker`](crate::Checker) for that).
pub fn assess_pin(
    pin: &str,
    birth_date: Option<&BirthDate>,
    policy: &Policy,
) -> Result<PinAssessment, PinError> {
    let d = digits(pin)?;
    let mut codes = Vec::new();
    let frequency = pin4_frequency(pin);
    if let Some(f) = frequency {
        if f.rank <= policy.pin_reject_top {
            codes.push(Code::Common);
        } else if f.rank <= policy.pin_warn_top {
            codes.push(Code::Frequent);
        }
    }
    if is_repeated(pin) {
        codes.push(Code::Repeated);
    }
    if is_repeated_pattern(pin) {
        codes.push(Code::RepeatedPattern);
    }
    if is_sequential(pin) {
        codes.push(Code::Sequential);
    }
    if birth_date.is_some_and(|b| matches_birth_date(pin, b)) {
        codes.push(Code::BirthDate);
    } else if is_date_like(pin) {
        codes.push(Code::DateLike);
    }
    codes.sort_unstable();
    let verdict = crate::verdict_for(crate::Kind::Pin, &codes);
    Ok(PinAssessment {
        length: d.len(),
        codes,
        verdict,
        frequency,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bd(s: &str) -> BirthDate {
        s.parse().expect("valid date")
    }

    #[test]
    fn embedded_table_is_complete() {
        let t = PIN4.as_ref().expect("embedded CSV parses");
        assert_eq!(t.entries.len(), 10_000);
        let total: f64 = t.entries.iter().map(|e| e.share).sum();
        assert!((total - 1.0).abs() < 1e-9);
        let top = pin4_frequency("1234").expect("a pin");
        assert_eq!(top.rank, 1);
        assert_eq!(top.count, 2_634_445);
        assert!((top.share - 0.0901).abs() < 0.0001);
        assert_eq!(pin4_frequency("1111").map(|f| f.rank), Some(2));
        assert_eq!(pin4_frequency("0000").map(|f| f.rank), Some(3));
        assert!(pin4_frequency("0849").expect("a pin").rank > 9_000);
        assert_eq!(pin4_frequency("12345"), None);
        assert_eq!(pin4_frequency("12a4"), None);
    }

    #[test]
    fn patterns() {
        for p in ["0000", "7777", "99999999"] {
            assert!(is_repeated(p), "{p}");
            assert!(!is_repeated_pattern(p), "{p}");
        }
        for p in ["1212", "123123", "12341234", "252525", "4545"] {
            assert!(is_repeated_pattern(p), "{p}");
        }
        for p in [
            "1234", "9876", "7890", "8901", "0987", "3210", "56789", "12345678",
        ] {
            assert!(is_sequential(p), "{p}");
        }
        for p in ["1357", "2468", "1243", "4820", "12121"] {
            assert!(
                !is_sequential(p) && !is_repeated(p) && !is_repeated_pattern(p),
                "{p}"
            );
        }
    }

    #[test]
    fn birth_date_forms() {
        let b = bd("1990-12-04");
        for p in [
            "1204", "0412", "1990", "9012", "1290", "901204", "041290", "120490", "19901204",
            "04121990", "12041990", "12490", "41290",
        ] {
            assert!(matches_birth_date(p, &b), "{p}");
        }
        for p in ["1991", "0413", "1234", "20041990"] {
            assert!(!matches_birth_date(p, &b), "{p}");
        }
        let b = bd("1989-03-04");
        assert!(matches_birth_date("3489", &b)); // M D YY
        assert!(matches_birth_date("0304", &b));
        assert!(matches_birth_date("198934", &b)); // YYYY M D
    }

    #[test]
    fn birth_date_parsing() {
        assert!("2000-02-29".parse::<BirthDate>().is_ok());
        for bad in [
            "1900-02-29",
            "1990-13-01",
            "1990-00-10",
            "1990-1-01",
            "19901204",
            "1990-12-32",
            "",
            "１９９０-12-04",
        ] {
            assert_eq!(bad.parse::<BirthDate>(), Err(BirthDateError), "{bad}");
        }
        assert_eq!(format!("{:?}", bd("1990-12-04")), "BirthDate(<redacted>)");
    }

    #[test]
    fn date_like() {
        for p in [
            "1225", "2512", "0229", "1987", "2024", "251290", "122590", "901225", "25121990",
            "19901225",
        ] {
            assert!(is_date_like(p), "{p}");
        }
        for p in ["1399", "9999", "3232", "8765", "99999999", "12345"] {
            assert!(!is_date_like(p), "{p}");
        }
    }

    #[test]
    fn assessments() {
        let policy = Policy::default();
        let a = assess_pin("1234", None, &policy).expect("valid");
        assert_eq!(a.codes, vec![Code::Common, Code::Sequential]);
        assert_eq!(a.verdict, Verdict::Reject);
        assert_eq!(a.frequency.map(|f| f.rank), Some(1));

        let a = assess_pin("1204", Some(&bd("1990-12-04")), &policy).expect("valid");
        assert!(a.codes.contains(&Code::BirthDate));
        assert!(!a.codes.contains(&Code::DateLike));
        assert_eq!(a.verdict, Verdict::Reject);

        let a = assess_pin("1204", None, &policy).expect("valid");
        assert!(a.codes.contains(&Code::DateLike));

        // 0849 is among the rarest four-digit strings and has no pattern.
        let a = assess_pin("0849", None, &policy).expect("valid");
        assert_eq!(a.codes, Vec::<Code>::new());
        assert_eq!(a.verdict, Verdict::Ok);

        let a = assess_pin("58317264", None, &policy).expect("valid");
        assert_eq!(a.verdict, Verdict::Ok);
        assert_eq!(a.frequency, None);
        assert_eq!(a.length, 8);

        for bad in ["123", "123456789", "12a4", "", "１２３４", " 1234"] {
            assert_eq!(assess_pin(bad, None, &policy), Err(PinError), "{bad:?}");
        }
    }
}
