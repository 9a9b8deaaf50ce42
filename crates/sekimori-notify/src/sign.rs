//! The `Sekimori-Signature` header: HMAC-SHA256 over `"<t>.<raw body>"`.

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Name of the signature header.
pub const SIGNATURE_HEADER: &str = "Sekimori-Signature";
/// Name of the header carrying the notice id (for receivers' de-duplication).
pub const NOTICE_ID_HEADER: &str = "Sekimori-Notice-Id";
/// The only signature scheme this version emits.
const SCHEME: &str = "v1";

/// Why [`verify`] refused a notice.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The header is not `t=<integer>,v1=<hex>[,v1=<hex>...]`.
    #[error("malformed Sekimori-Signature header: {0}")]
    Malformed(&'static str),
    /// No `v1` signature matches the body under this secret.
    #[error("the signature does not match the body")]
    BadSignature,
    /// The signature is authentic but `t` is further than the tolerance from now.
    #[error("the signature timestamp is {age_s} s away from now (tolerance {tolerance_s} s)")]
    Stale {
        /// `now_unix - t` (negative when `t` is in the future).
        age_s: i64,
        /// The tolerance the receiver asked for.
        tolerance_s: i64,
    },
}

/// The keyed MAC over `"<t>.<body>"`. HMAC takes keys of any length, so
/// this fails only if the `hmac` crate changes that contract.
fn mac(secret: &[u8], t: i64, body: &[u8]) -> Option<HmacSha256> {
    let mut mac = <HmacSha256 as Mac>::new_from_slice(secret).ok()?;
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Some(mac)
}

/// The `Sekimori-Signature` header value for `body` sent at `t` (Unix
/// seconds): `t=<t>,v1=<lowercase hex HMAC-SHA256(secret, "<t>.<body>")>`.
///
/// `None` only if the HMAC key is refused, which HMAC-SHA256 never does.
pub fn signature_header(secret: &[u8], t: i64, body: &[u8]) -> Option<String> {
    let tag = mac(secret, t, body)?.finalize().into_bytes();
    Some(format!("t={t},{SCHEME}={}", hex::encode(tag)))
}

/// Checks a `Sekimori-Signature` header against the raw request body, for
/// receivers.
///
/// `body` must be the bytes exactly as received (before any JSON parsing).
/// Every `v1=` entry is tried (so a sender may sign with two secrets while
/// rotating keys); entries of other schemes are ignored. The comparison is
/// constant-time. The signature is checked first, then the timestamp:
/// `|now_unix - t|` must be at most `tolerance_s` (300 is a good default),
/// so [`VerifyError::Stale`] means "authentic but replayed or delayed".
pub fn verify(
    secret: &[u8],
    header: &str,
    body: &[u8],
    now_unix: i64,
    tolerance_s: i64,
) -> Result<(), VerifyError> {
    let (t, signatures) = parse(header)?;
    let mac = mac(secret, t, body).ok_or(VerifyError::BadSignature)?;
    let authentic = signatures
        .iter()
        .any(|sig| mac.clone().verify_slice(sig).is_ok());
    if !authentic {
        return Err(VerifyError::BadSignature);
    }
    let age_s = now_unix.saturating_sub(t);
    if age_s.checked_abs().is_none_or(|age| age > tolerance_s) {
        return Err(VerifyError::Stale { age_s, tolerance_s });
    }
    Ok(())
}

/// Splits the header into its timestamp and its `v1` signatures.
fn parse(header: &str) -> Result<(i64, Vec<Vec<u8>>), VerifyError> {
    let mut t = None;
    let mut signatures = Vec::new();
    for item in header.split(',') {
        let (key, value) = item
            .trim()
            .split_once('=')
            .ok_or(VerifyError::Malformed("an entry is not key=value"))?;
        match key {
            "t" => {
                if t.is_some() {
                    return Err(VerifyError::Malformed("more than one t"));
                }
                let digits = value.strip_prefix('-').unwrap_or(value);
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(VerifyError::Malformed("t is not an integer"));
                }
                t = Some(
                    value
                        .parse::<i64>()
                        .map_err(|_| VerifyError::Malformed("t is out of range"))?,
                );
            }
            SCHEME => {
                let sig =
                    hex::decode(value).map_err(|_| VerifyError::Malformed("v1 is not hex"))?;
                if sig.len() != 32 {
                    return Err(VerifyError::Malformed("v1 is not 32 bytes"));
                }
                signatures.push(sig);
            }
            _ => {}
        }
    }
    let t = t.ok_or(VerifyError::Malformed("no t"))?;
    if signatures.is_empty() {
        return Err(VerifyError::Malformed("no v1 signature"));
    }
    Ok((t, signatures))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_answer() {
        // HMAC-SHA256("whsec", "1700000000.{}"), computed independently with
        // `printf '1700000000.{}' | openssl dgst -sha256 -hmac whsec`.
        let header = signature_header(b"whsec", 1_700_000_000, b"{}").expect("ok");
        assert_eq!(
            header,
            "t=1700000000,v1=7d44587dddbaf4c7f70fef20f48cd594834ffea1641e3ac227b84408298738af"
        );
    }

    /// The example request in the crate docs.
    #[test]
    fn documented_example() {
        let body = r#"{"id":"evt_81f2:charge","kind":"charge","account":"acct_42","service":"wallet","at":"2024-06-01T00:00:00.000Z","action":"allow","summary":{"amount_minor":5000,"currency":"JPY","destination":"merchant_9"}}"#;
        assert_eq!(body.len(), 204);
        let header =
            "t=1717200000,v1=de1498b9837df72b6a206b18d3fb144be4b00043f0ae4babc9da1251d868f3d9";
        assert_eq!(
            signature_header(b"whsec_example", 1_717_200_000, body.as_bytes()).as_deref(),
            Some(header)
        );
        assert_eq!(
            verify(
                b"whsec_example",
                header,
                body.as_bytes(),
                1_717_200_000,
                300
            ),
            Ok(())
        );
        let notice: crate::Notice = serde_json::from_str(body).expect("a notice");
        assert_eq!(serde_json::to_string(&notice).expect("json"), body);
    }

    #[test]
    fn round_trip_and_rotation() {
        let header = signature_header(b"new", 100, b"body").expect("ok");
        assert_eq!(verify(b"new", &header, b"body", 100, 300), Ok(()));
        let old = signature_header(b"old", 100, b"body").expect("ok");
        let v1_old = old.split_once(",").expect("ok").1;
        let both = format!("{header},{v1_old},v0=ignored");
        assert_eq!(verify(b"old", &both, b"body", 100, 300), Ok(()));
        assert_eq!(verify(b"new", &both, b"body", 100, 300), Ok(()));
    }

    #[test]
    fn malformed_headers() {
        for h in [
            "",
            "t=1",
            "v1=00",
            "t=x,v1=00",
            "t=1,v1=zz",
            "t=1,v1=00",
            "t=1,t=2,v1=0000000000000000000000000000000000000000000000000000000000000000",
            "t=+1,v1=0000000000000000000000000000000000000000000000000000000000000000",
            "t=99999999999999999999,v1=0000000000000000000000000000000000000000000000000000000000000000",
            "garbage",
        ] {
            assert!(
                matches!(verify(b"k", h, b"", 1, 300), Err(VerifyError::Malformed(_))),
                "{h:?}"
            );
        }
    }

    #[test]
    fn extreme_timestamps_do_not_overflow() {
        let header = signature_header(b"k", i64::MIN, b"").expect("ok");
        assert!(matches!(
            verify(b"k", &header, b"", i64::MAX, 300),
            Err(VerifyError::Stale { .. })
        ));
    }
}
