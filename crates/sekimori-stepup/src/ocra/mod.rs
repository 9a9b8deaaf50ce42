//! OCRA, the OATH Challenge-Response Algorithm (RFC 6287).
//!
//! A suite such as `OCRA-1:HOTP-SHA256-8:C-QN08-PSHA1` is parsed into an [`OcraSuite`];
//! [`compute`] then evaluates
//!
//! ```text
//! OCRA = Truncate(HMAC-alg(K, DataInput)),
//! DataInput = suite ASCII || 0x00 || C || Q || P || S || T
//! ```
//!
//! where each part is present only if the suite declares it:
//!
//! | part | encoding |
//! |---|---|
//! | `C` | the counter, 8 bytes big-endian |
//! | `Q` | 128 bytes: the question as a hex-digit string, **left-justified** and right-padded with `0`s. `QN`: the decimal number converted to hexadecimal (no leading zeros, `0` for zero; an odd number of hex digits fills the high nibble first, as the RFC reference code does); `QA`: the ASCII bytes; `QH`: the hex digits as given |
//! | `P` | the PIN hash (`PSHA1`/`PSHA256`/`PSHA512`), exactly the hash length; see [`pin_hash`] |
//! | `S` | session information, `nnn` bytes (`S064` …), shorter input left-padded with zero bytes |
//! | `T` | number of time steps since the epoch, 8 bytes big-endian; see [`TimeStep::counter`] |
//!
//! Truncation is the HOTP dynamic truncation modulo `10^digits` (digits 4..=10), or for
//! `HOTP-SHAx-0` no truncation: the whole HMAC as lower-case hex.
//!
//! Question length: the suite's `xx` (04..=64) is the nominal challenge length. Mutual
//! challenge-response concatenates two challenges (RFC 6287 appendix C.2 uses 16-character
//! questions with `QA08`), so [`compute`] accepts any non-empty question that encodes into
//! the 128-byte field; [`mutual_server_question`] and [`mutual_client_question`] build them.

mod suite;

pub use suite::{OcraSuite, QuestionFormat, TimeStep};

use subtle::ConstantTimeEq;

use crate::error::OcraError;
use crate::otp::{dynamic_truncate, format_digits, Algorithm};

/// Size of the question field in the data input.
const QUESTION_BYTES: usize = 128;

/// The variable inputs of one OCRA computation. Fields the suite does not use must be `None`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OcraInput<'a> {
    /// Counter `C` (required iff the suite has `C`).
    pub counter: Option<u64>,
    /// The question, in the suite's format (decimal digits, hex digits, or ASCII text).
    pub question: &'a str,
    /// The PIN hash (required iff the suite has `P`), see [`pin_hash`].
    pub pin_hash: Option<&'a [u8]>,
    /// Session information (required iff the suite has `S`), at most `nnn` bytes.
    pub session: Option<&'a [u8]>,
    /// Time-step counter `T` (required iff the suite has `T`), see [`TimeStep::counter`].
    pub timestamp: Option<u64>,
}

/// Hash of a PIN for the `P` component: the suite's PIN hash over the PIN's UTF-8 bytes.
pub fn pin_hash(algorithm: Algorithm, pin: &str) -> Vec<u8> {
    algorithm.digest(pin.as_bytes())
}

/// The question a server computes its response over in mutual challenge-response:
/// the client's challenge followed by the server's (RFC 6287 §7.3).
pub fn mutual_server_question(client_challenge: &str, server_challenge: &str) -> String {
    format!("{client_challenge}{server_challenge}")
}

/// The question a client computes its response over in mutual challenge-response:
/// the server's challenge followed by the client's.
pub fn mutual_client_question(client_challenge: &str, server_challenge: &str) -> String {
    format!("{server_challenge}{client_challenge}")
}

/// Pushes hex nibbles, high nibble first, into a 128-byte left-justified field.
fn nibbles_to_field(nibbles: &[u8]) -> Result<[u8; QUESTION_BYTES], OcraError> {
    if nibbles.is_empty() {
        return Err(OcraError::InvalidQuestion("empty question"));
    }
    if nibbles.len() > QUESTION_BYTES * 2 {
        return Err(OcraError::InvalidQuestion("question longer than 128 bytes"));
    }
    let mut field = [0u8; QUESTION_BYTES];
    for (i, nibble) in nibbles.iter().enumerate() {
        let shift = if i % 2 == 0 { 4 } else { 0 };
        field[i / 2] |= nibble << shift;
    }
    Ok(field)
}

/// Decimal string → hex nibbles (most significant first, no leading zeros, `[0]` for zero).
fn decimal_to_nibbles(decimal: &str) -> Result<Vec<u8>, OcraError> {
    if decimal.is_empty() || !decimal.bytes().all(|b| b.is_ascii_digit()) {
        return Err(OcraError::InvalidQuestion(
            "QN question must be decimal digits",
        ));
    }
    // little-endian base-16 digits; multiply by 10 and add each decimal digit.
    let mut le: Vec<u8> = Vec::new();
    for b in decimal.bytes() {
        let mut carry = u32::from(b - b'0');
        for nibble in le.iter_mut() {
            let v = u32::from(*nibble) * 10 + carry;
            *nibble = (v & 0xf) as u8;
            carry = v >> 4;
        }
        while carry > 0 {
            le.push((carry & 0xf) as u8);
            carry >>= 4;
        }
        if le.len() > QUESTION_BYTES * 2 {
            return Err(OcraError::InvalidQuestion("question longer than 128 bytes"));
        }
    }
    if le.is_empty() {
        le.push(0);
    }
    le.reverse();
    Ok(le)
}

/// Encodes a question into the 128-byte `Q` field per its format.
pub fn encode_question(format: QuestionFormat, question: &str) -> Result<[u8; 128], OcraError> {
    match format {
        QuestionFormat::Numeric => nibbles_to_field(&decimal_to_nibbles(question)?),
        QuestionFormat::Hex => {
            let nibbles = question
                .chars()
                .map(|c| c.to_digit(16).map(|d| d as u8))
                .collect::<Option<Vec<u8>>>()
                .ok_or(OcraError::InvalidQuestion("QH question must be hex digits"))?;
            nibbles_to_field(&nibbles)
        }
        QuestionFormat::Alphanumeric => {
            let bytes = question.as_bytes();
            if bytes.is_empty() {
                return Err(OcraError::InvalidQuestion("empty question"));
            }
            if !bytes.iter().all(|b| (0x20..0x7f).contains(b)) {
                return Err(OcraError::InvalidQuestion(
                    "QA question must be printable ASCII",
                ));
            }
            if bytes.len() > QUESTION_BYTES {
                return Err(OcraError::InvalidQuestion("question longer than 128 bytes"));
            }
            let mut field = [0u8; QUESTION_BYTES];
            field[..bytes.len()].copy_from_slice(bytes);
            Ok(field)
        }
    }
}

/// Builds the RFC 6287 §5.1 data input for `suite` and `input`.
pub fn data_input(suite: &OcraSuite, input: &OcraInput<'_>) -> Result<Vec<u8>, OcraError> {
    let mut out = Vec::with_capacity(suite.text.len() + 1 + 8 + QUESTION_BYTES + 64 + 8);
    out.extend_from_slice(suite.text.as_bytes());
    out.push(0);
    match (suite.counter, input.counter) {
        (true, Some(c)) => out.extend_from_slice(&c.to_be_bytes()),
        (false, None) => {}
        _ => return Err(OcraError::CounterMismatch),
    }
    out.extend_from_slice(&encode_question(suite.question, input.question)?);
    match (suite.pin, input.pin_hash) {
        (Some(alg), Some(p)) if p.len() == alg.output_len() => out.extend_from_slice(p),
        (None, None) => {}
        _ => return Err(OcraError::PinMismatch),
    }
    match (suite.session_len, input.session) {
        (Some(n), Some(s)) if s.len() <= usize::from(n) => {
            out.resize(out.len() + usize::from(n) - s.len(), 0);
            out.extend_from_slice(s);
        }
        (None, None) => {}
        _ => return Err(OcraError::SessionMismatch),
    }
    match (suite.timestamp, input.timestamp) {
        (Some(_), Some(t)) => out.extend_from_slice(&t.to_be_bytes()),
        (None, None) => {}
        _ => return Err(OcraError::TimestampMismatch),
    }
    Ok(out)
}

/// Computes the OCRA response for `suite` under `key`.
pub fn compute(suite: &OcraSuite, key: &[u8], input: &OcraInput<'_>) -> Result<String, OcraError> {
    let data = data_input(suite, input)?;
    let mac = suite.algorithm.hmac(key, &[&data])?;
    if suite.digits == 0 {
        return Ok(hex::encode(mac));
    }
    Ok(format_digits(dynamic_truncate(&mac)?, suite.digits))
}

/// Recomputes the response and compares it with `response` in constant time.
/// Returns `Ok(false)` for a wrong response and `Err` only for inputs that do not fit the suite.
pub fn verify(
    suite: &OcraSuite,
    key: &[u8],
    input: &OcraInput<'_>,
    response: &str,
) -> Result<bool, OcraError> {
    let expected = compute(suite, key, input)?;
    Ok(ct_eq_str(&expected, response))
}

/// Constant-time string equality (the length is not secret).
pub(crate) fn ct_eq_str(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rfc_suites() {
        let s = OcraSuite::parse("OCRA-1:HOTP-SHA256-8:C-QN08-PSHA1").expect("parse");
        assert_eq!(s.algorithm(), Algorithm::Sha256);
        assert_eq!(s.digits(), 8);
        assert!(s.has_counter());
        assert_eq!(s.question_format(), QuestionFormat::Numeric);
        assert_eq!(s.question_len(), 8);
        assert_eq!(s.pin(), Some(Algorithm::Sha1));
        assert_eq!(s.session_len(), None);
        assert_eq!(s.timestamp(), None);

        let s = OcraSuite::parse("OCRA-1:HOTP-SHA512-8:QN08-T1M").expect("parse");
        assert_eq!(s.timestamp(), Some(TimeStep::Minutes(1)));
        assert!(!s.has_counter());

        let s = OcraSuite::parse("OCRA-1:HOTP-SHA1-6:C-QH64-PSHA256-S128-T30S").expect("parse");
        assert_eq!(s.question_format(), QuestionFormat::Hex);
        assert_eq!(s.question_len(), 64);
        assert_eq!(s.pin(), Some(Algorithm::Sha256));
        assert_eq!(s.session_len(), Some(128));
        assert_eq!(s.timestamp(), Some(TimeStep::Seconds(30)));
        assert_eq!(s.to_string(), "OCRA-1:HOTP-SHA1-6:C-QH64-PSHA256-S128-T30S");

        for (suite, step) in [("T1H", 3600), ("T48H", 172_800), ("T59S", 59), ("T2M", 120)] {
            let s = OcraSuite::parse(&format!("OCRA-1:HOTP-SHA1-0:QA10-{suite}")).expect(suite);
            assert_eq!(s.timestamp().map(TimeStep::seconds), Some(step));
            assert_eq!(s.digits(), 0);
        }
    }

    #[test]
    fn time_step_counter() {
        assert_eq!(
            TimeStep::Minutes(1).counter(1_206_446_790_000),
            Ok(0x132d0b6)
        );
        assert_eq!(TimeStep::Seconds(30).counter(59_999), Ok(1));
        assert!(TimeStep::Hours(1).counter(-1).is_err());
        assert!(TimeStep::Seconds(0).counter(1_000).is_err());
    }

    #[test]
    fn rejects_bad_suites() {
        for bad in [
            "",
            "OCRA-2:HOTP-SHA1-6:QN08",
            "OCRA-1:HOTP-SHA1-6",
            "OCRA-1:HOTP-MD5-6:QN08",
            "OCRA-1:HOTP-SHA1-3:QN08",
            "OCRA-1:HOTP-SHA1-11:QN08",
            "OCRA-1:HOTP-SHA1-06:QN08",
            "OCRA-1:TOTP-SHA1-6:QN08",
            "OCRA-1:HOTP-SHA1-6:QX08",
            "OCRA-1:HOTP-SHA1-6:QN03",
            "OCRA-1:HOTP-SHA1-6:QN65",
            "OCRA-1:HOTP-SHA1-6:QN8",
            "OCRA-1:HOTP-SHA1-6:C",
            "OCRA-1:HOTP-SHA1-6:QN08-C",
            "OCRA-1:HOTP-SHA1-6:QN08-T1M-PSHA1",
            "OCRA-1:HOTP-SHA1-6:QN08-S64",
            "OCRA-1:HOTP-SHA1-6:QN08-T0H",
            "OCRA-1:HOTP-SHA1-6:QN08-T60S",
            "OCRA-1:HOTP-SHA1-6:QN08-T49H",
            "OCRA-1:HOTP-SHA1-6:QN08-T1X",
            "OCRA-1:HOTP-SHA1-6:QN08-PMD5",
            "OCRA-1:HOTP-SHA1-6:QN08:X",
            "ocra-1:hotp-sha1-6:qn08",
        ] {
            assert!(OcraSuite::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn numeric_question_is_left_justified_hex() {
        let f = encode_question(QuestionFormat::Numeric, "11111111").expect("q");
        // 11111111 = 0xA98AC7
        assert_eq!(&f[..4], &[0xA9, 0x8A, 0xC7, 0x00]);
        assert!(f[3..].iter().all(|&b| b == 0));
        // odd number of hex digits: 4095 = 0xFFF → FF F0
        let f = encode_question(QuestionFormat::Numeric, "4095").expect("q");
        assert_eq!(&f[..3], &[0xFF, 0xF0, 0x00]);
        let f = encode_question(QuestionFormat::Numeric, "00000000").expect("q");
        assert!(f.iter().all(|&b| b == 0));
        assert!(encode_question(QuestionFormat::Numeric, "12a").is_err());
        assert!(encode_question(QuestionFormat::Numeric, "").is_err());
    }

    #[test]
    fn hex_and_alpha_questions() {
        let f = encode_question(QuestionFormat::Hex, "abC").expect("q");
        assert_eq!(&f[..3], &[0xAB, 0xC0, 0x00]);
        assert!(encode_question(QuestionFormat::Hex, "xyz").is_err());
        assert!(encode_question(QuestionFormat::Hex, &"f".repeat(257)).is_err());
        assert!(encode_question(QuestionFormat::Hex, &"f".repeat(256)).is_ok());
        let f = encode_question(QuestionFormat::Alphanumeric, "SIG1").expect("q");
        assert_eq!(&f[..5], b"SIG1\0");
        assert!(encode_question(QuestionFormat::Alphanumeric, "é").is_err());
        assert!(encode_question(QuestionFormat::Alphanumeric, &"a".repeat(129)).is_err());
    }

    #[test]
    fn input_presence_must_match_suite() {
        let key = [0u8; 20];
        let s = OcraSuite::parse("OCRA-1:HOTP-SHA1-6:C-QN08-PSHA1-S064-T1M").expect("parse");
        let pin = pin_hash(Algorithm::Sha1, "1234");
        let full = OcraInput {
            counter: Some(1),
            question: "1234",
            pin_hash: Some(&pin),
            session: Some(b"session"),
            timestamp: Some(5),
        };
        assert!(compute(&s, &key, &full).is_ok());
        let data = data_input(&s, &full).expect("data");
        assert_eq!(data.len(), s.as_str().len() + 1 + 8 + 128 + 20 + 64 + 8);
        assert_eq!(
            compute(
                &s,
                &key,
                &OcraInput {
                    counter: None,
                    ..full
                }
            ),
            Err(OcraError::CounterMismatch)
        );
        assert_eq!(
            compute(
                &s,
                &key,
                &OcraInput {
                    pin_hash: Some(&pin[..19]),
                    ..full
                }
            ),
            Err(OcraError::PinMismatch)
        );
        assert_eq!(
            compute(
                &s,
                &key,
                &OcraInput {
                    session: Some(&[0u8; 65]),
                    ..full
                }
            ),
            Err(OcraError::SessionMismatch)
        );
        assert_eq!(
            compute(
                &s,
                &key,
                &OcraInput {
                    timestamp: None,
                    ..full
                }
            ),
            Err(OcraError::TimestampMismatch)
        );
        let plain = OcraSuite::parse("OCRA-1:HOTP-SHA1-6:QN08").expect("parse");
        assert_eq!(
            compute(&plain, &key, &full),
            Err(OcraError::CounterMismatch)
        );
    }

    #[test]
    fn no_truncation_returns_full_hmac_hex() {
        let s = OcraSuite::parse("OCRA-1:HOTP-SHA256-0:QH08").expect("parse");
        let r = compute(
            &s,
            b"key",
            &OcraInput {
                question: "deadbeef",
                ..Default::default()
            },
        )
        .expect("compute");
        assert_eq!(r.len(), 64);
    }

    #[test]
    fn ten_digit_truncation_zero_pads() {
        let s = OcraSuite::parse("OCRA-1:HOTP-SHA1-10:QN08").expect("parse");
        let r = compute(
            &s,
            b"key",
            &OcraInput {
                question: "1",
                ..Default::default()
            },
        )
        .expect("compute");
        assert_eq!(r.len(), 10);
        assert!(r.starts_with('0') || r.starts_with('1') || r.starts_with('2'));
    }

    #[test]
    fn verify_is_exact() {
        let s = OcraSuite::parse("OCRA-1:HOTP-SHA1-6:QN08").expect("parse");
        let input = OcraInput {
            question: "00000000",
            ..Default::default()
        };
        let key = b"12345678901234567890";
        assert_eq!(verify(&s, key, &input, "237653"), Ok(true));
        assert_eq!(verify(&s, key, &input, "237654"), Ok(false));
        assert_eq!(verify(&s, key, &input, "2376530"), Ok(false));
    }

    #[test]
    fn suite_serde_round_trip() {
        let s = OcraSuite::parse("OCRA-1:HOTP-SHA256-8:QH64").expect("parse");
        let json = serde_json::to_string(&s).expect("ser");
        assert_eq!(json, "\"OCRA-1:HOTP-SHA256-8:QH64\"");
        let back: OcraSuite = serde_json::from_str(&json).expect("de");
        assert_eq!(back, s);
        assert!(serde_json::from_str::<OcraSuite>("\"OCRA-1:bad\"").is_err());
    }
}
