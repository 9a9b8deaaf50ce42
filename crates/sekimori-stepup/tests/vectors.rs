//! The shared test vectors of the client libraries (`clients/vectors.json`),
//! computed here by the real implementations: the transaction encoding,
//! digest, OCRA question and response and passkey binding of
//! `sekimori_stepup::txsign`, the webhook signatures of `sekimori_notify`,
//! and secret fingerprints as docs/events.md specifies them (checked
//! against the event decoder, which refuses any other form). The Python and
//! TypeScript clients' tests check the same file, so the three cannot
//! disagree. This test fails when the committed file is stale.

use hmac::{Hmac, Mac};
use sekimori_stepup::{
    device_response, tx_question, webauthn_challenge_bytes, Transaction, TX_OCRA_SUITE,
};
use serde_json::{json, Value};
use sha2::Sha256;

const COMMITTED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../clients/vectors.json");
const REGENERATE: &str = "SEKIMORI_WRITE_VECTORS=1 cargo test -p sekimori-stepup --test vectors";

/// Deterministic bytes for keys and nonces: SHA-256 of a label, cut.
fn bytes_of(label: &str, n: usize) -> Vec<u8> {
    use sha2::Digest;
    let mut out = Vec::new();
    let mut i = 0u32;
    while out.len() < n {
        let mut h = Sha256::new();
        h.update(label.as_bytes());
        h.update(i.to_be_bytes());
        out.extend_from_slice(&h.finalize());
        i += 1;
    }
    out.truncate(n);
    out
}

fn fingerprint(key: &[u8], key_id: &str, secret: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(secret.as_bytes());
    format!("{key_id}:{}", hex::encode(mac.finalize().into_bytes()))
}

fn fingerprints() -> Value {
    let doc_key = b"example-only-key-0123456789abcdef".to_vec();
    let k1 = bytes_of("sekimori vectors key k1", 32);
    let k2 = bytes_of("sekimori vectors key k2", 32);
    let cases: Vec<(Vec<u8>, &str, &str)> = vec![
        (doc_key.clone(), "k2026", "1234"),
        (doc_key.clone(), "k2026", "0042"),
        (doc_key, "k2026", "password"),
        (k1.clone(), "k1", "correct horse battery staple"),
        (k2.clone(), "k2", "correct horse battery staple"),
        (k1.clone(), "k1", "パスワード"),
        (k1.clone(), "k1", " trailing space "),
        (k2, "k2", ""),
        (k1, "k1", "Ünïcödé-NFC"),
    ];
    let out: Vec<Value> = cases
        .into_iter()
        .map(|(key, id, secret)| {
            let fp = fingerprint(&key, id, secret);
            // The decoder accepts exactly this form (and refuses others).
            let event = json!({"id": "fp-1", "type": "login.attempt", "at": "2026-11-20T09:00:00Z",
                "service": "vectors", "account": "a-1", "factor": "password",
                "secret_fp": fp, "result": "failure", "failure_reason": "bad_secret"});
            sekimori_event::decode_value(event).expect("the decoder accepts the fingerprint");
            json!({"key_hex": hex::encode(&key), "key_id": id, "secret": secret, "fingerprint": fp})
        })
        .collect();
    Value::Array(out)
}

fn transactions() -> Value {
    let cases = [
        ("a-1", 250_000, "JPY", "bank:0001-123-4567890"),
        (
            "acct-7",
            0,
            "USD",
            "crypto:bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh",
        ),
        ("口座-42", i64::MAX, "BTC", "account:山田"),
        ("w-9", 1, "EUR", "merchant:shop"),
    ];
    let out: Vec<Value> = cases
        .iter()
        .enumerate()
        .map(|(i, (account, amount, currency, payee))| {
            let tx = Transaction {
                account: account.to_string(),
                amount_minor: *amount,
                currency: currency.to_string(),
                payee: payee.to_string(),
            };
            let nonce: [u8; 16] = bytes_of(&format!("nonce {i}"), 16)
                .try_into()
                .expect("16 bytes");
            let key = bytes_of(&format!("device key {i}"), 32);
            let digest = tx.digest();
            json!({
                "account": account, "amount_minor": amount, "currency": currency, "payee": payee,
                // The amount's digits, for readers whose JSON numbers are doubles.
                "amount_minor_text": amount.to_string(),
                "canonical_hex": hex::encode(tx.canonical_bytes()),
                "digest_hex": hex::encode(digest),
                "challenge_id": hex::encode(nonce),
                "question": tx_question(&digest, &nonce),
                "suite": TX_OCRA_SUITE,
                "device_key_hex": hex::encode(&key),
                "ocra_response": device_response(&key, &tx, &nonce).expect("ocra"),
                "webauthn_challenge_hex": hex::encode(webauthn_challenge_bytes(&digest, &nonce)),
            })
        })
        .collect();
    Value::Array(out)
}

fn webhooks() -> Value {
    let secret = b"whsec-vectors-0123456789";
    let body = br#"{"id":"ch-1","kind":"charge","account":"acct-7","service":"wallet","at":"2026-11-20T00:00:00.000Z","action":"allow","summary":{"amount_minor":5000,"currency":"JPY"}}"#;
    let t = 1_764_000_000_i64;
    let header = sekimori_notify::signature_header(secret, t, body).expect("sign");
    let other = sekimori_notify::signature_header(b"the-old-secret", t, body).expect("sign");
    let old_v1 = other.split("v1=").nth(1).expect("v1").to_string();
    let rotated = format!("{header},v1={old_v1}");
    let tampered_body = String::from_utf8_lossy(body).replace("5000", "5001");
    let cases: Vec<(&str, String, String, i64, &str)> = vec![
        (
            "valid",
            header.clone(),
            String::from_utf8_lossy(body).into(),
            t + 10,
            "ok",
        ),
        (
            "two v1 while rotating",
            rotated,
            String::from_utf8_lossy(body).into(),
            t,
            "ok",
        ),
        (
            "unknown keys ignored",
            format!("{header},v0=abc"),
            String::from_utf8_lossy(body).into(),
            t,
            "ok",
        ),
        (
            "tampered body",
            header.clone(),
            tampered_body,
            t,
            "bad_signature",
        ),
        (
            "too old",
            header.clone(),
            String::from_utf8_lossy(body).into(),
            t + 301,
            "stale",
        ),
        (
            "from the future",
            header.clone(),
            String::from_utf8_lossy(body).into(),
            t - 301,
            "stale",
        ),
        (
            "no t",
            format!("v1={}", header.split("v1=").nth(1).expect("v1")),
            String::from_utf8_lossy(body).into(),
            t,
            "malformed",
        ),
        (
            "no v1",
            format!("t={t}"),
            String::from_utf8_lossy(body).into(),
            t,
            "malformed",
        ),
        (
            "v1 not hex",
            format!("t={t},v1=zz"),
            String::from_utf8_lossy(body).into(),
            t,
            "malformed",
        ),
    ];
    let out: Vec<Value> = cases
        .into_iter()
        .map(|(name, header, body, now, want)| {
            let got = match sekimori_notify::verify(secret, &header, body.as_bytes(), now, 300) {
                Ok(()) => "ok",
                Err(sekimori_notify::VerifyError::BadSignature) => "bad_signature",
                Err(sekimori_notify::VerifyError::Stale { .. }) => "stale",
                Err(sekimori_notify::VerifyError::Malformed(_)) => "malformed",
            };
            assert_eq!(got, want, "{name}");
            json!({"name": name, "header": header, "body": body, "now": now,
                   "tolerance_s": 300, "result": want})
        })
        .collect();
    json!({"secret": String::from_utf8_lossy(secret), "t": t,
           "body": String::from_utf8_lossy(body), "header": header, "verify": out})
}

fn vectors() -> Value {
    json!({
        "about": format!("Shared test vectors of the sekimori client libraries, computed by the Rust implementations (crates/sekimori-stepup/tests/vectors.rs). Regenerate: {REGENERATE}"),
        "secret_fingerprints": fingerprints(),
        "transactions": transactions(),
        "webhook": webhooks(),
    })
}

#[test]
fn committed_vectors_are_current() {
    let mut fresh = serde_json::to_string_pretty(&vectors()).expect("json");
    fresh.push('\n');
    if std::env::var_os("SEKIMORI_WRITE_VECTORS").is_some() {
        std::fs::write(COMMITTED, &fresh).expect("write clients/vectors.json");
        return;
    }
    let committed = std::fs::read_to_string(COMMITTED).unwrap_or_default();
    assert!(
        committed == fresh,
        "clients/vectors.json is stale; regenerate it with:\n  {REGENERATE}"
    );
}

/// The documented worked example (docs/events.md) is among the vectors.
#[test]
fn the_documented_fingerprint_is_a_vector() {
    assert_eq!(
        fingerprint(b"example-only-key-0123456789abcdef", "k2026", "1234"),
        "k2026:301895cac1f384043fe14dd49ca978153ca71c5abb69d3783c258dca15bb4277"
    );
}
