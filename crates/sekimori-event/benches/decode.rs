//! Micro-benchmarks of event decoding and canonical encoding.
//!
//! - `decode`: `sekimori_event::decode(bytes)` (JSON parse, secret-name scan,
//!   envelope and body validation) on four realistic events: a PIN
//!   `login.attempt`, a `transfer` to a bank account, a custody
//!   `wallet.outflow` and a `purchase`.
//! - `to_json`: `Event::to_json`, the canonical JSON value of a decoded event.
//! - `to_vec`: serializing a decoded event straight to JSON bytes.
//! - `canonical_json`: the log's bytes written from the typed event (the
//!   bytes of `to_json`'s value, with no value built).
//!
//! Run with:
//!
//! ```sh
//! cargo bench -p sekimori-event --bench decode
//! ```

use divan::{black_box, Bencher};
use sekimori_event::{decode, Event};

fn main() {
    divan::main();
}

const LOGIN: &str = r#"{"id": "e0", "type": "login.attempt", "at": "2026-11-18T11:06:40.000Z", "service": "bank", "account": "acct-9886", "factor": "pin", "result": "success", "secret_fp": "k1:0000000000000000000000000000000000000000000000000000000000000317", "actor": {"ip": "198.51.37.48", "device": "d47931"}}"#;

const TRANSFER: &str = r#"{"id":"ev-0105","type":"transfer","at":"2026-11-20T13:05:00Z","service":"netbank","actor":{"account":"b-2001","ip":"198.51.100.23","device":"dev-b7"},"account":"b-2001","amount_minor":480000,"currency":"JPY","destination":{"kind":"bank","bank_code":"0009","branch":"456","number":"7654321","holder_name":"ﾔﾏﾀﾞ ﾀﾛｳ"},"payee_id":"p-31"}"#;

const WALLET_OUTFLOW: &str = r#"{"id":"ev-0203","type":"wallet.outflow","at":"2026-11-20T16:06:00Z","service":"exchange-signer","wallet":"hot-xem-1","stage":"signing","amount_minor":1500000000,"currency":"XEM","address":"NBZMQO7ZPBYNBDUR7F75MAKA2S3DHDCIFG775N3D","request_id":"wr-77","account":"x-5001","hot_balance_minor":52300000000000,"cold_balance_minor":410000000000000}"#;

const PURCHASE: &str = r#"{"id":"ev-0103","type":"purchase","at":"2026-11-20T12:30:00+09:00","service":"qr-pay","actor":{"account":"w-1001","ip":"203.0.113.10","device":"dev-a1","country":"JP"},"account":"w-1001","amount_minor":520,"currency":"JPY","merchant":"conv-seven","store":"store-tokyo-0042","sku":"ecig-cartridge-5p","category":"tobacco","attrs":{"channel":"app","basket":{"items":2}}}"#;

const EVENTS: &[&str] = &["login.attempt", "transfer", "wallet.outflow", "purchase"];

fn json_of(kind: &str) -> &'static str {
    match kind {
        "login.attempt" => LOGIN,
        "transfer" => TRANSFER,
        "wallet.outflow" => WALLET_OUTFLOW,
        "purchase" => PURCHASE,
        other => panic!("no sample event of type {other}"),
    }
}

fn decoded(kind: &str) -> Event {
    decode(json_of(kind).as_bytes()).expect("sample events are valid")
}

/// `decode` from JSON bytes to a validated `Event`.
#[divan::bench(name = "decode", args = EVENTS)]
fn decode_event(bencher: Bencher, kind: &str) {
    let bytes = json_of(kind).as_bytes();
    decode(bytes).expect("sample events are valid");
    bencher
        .counter(divan::counter::BytesCount::new(bytes.len()))
        .bench(|| decode(black_box(bytes)));
}

/// `Event::to_json`: the canonical JSON value.
#[divan::bench(args = EVENTS)]
fn to_json(bencher: Bencher, kind: &str) {
    let event = decoded(kind);
    bencher.bench(|| black_box(&event).to_json());
}

/// Serializing the event to canonical JSON bytes.
#[divan::bench(args = EVENTS)]
fn to_vec(bencher: Bencher, kind: &str) {
    let event = decoded(kind);
    bencher.bench(|| serde_json::to_vec(black_box(&event)).expect("an event serializes"));
}

/// `Event::canonical_json`: the log's bytes, no value built.
#[divan::bench(args = EVENTS)]
fn canonical_json(bencher: Bencher, kind: &str) {
    let event = decoded(kind);
    bencher.bench(|| black_box(&event).canonical_json());
}

/// `to_json` then its bytes: what `canonical_json` replaced.
#[divan::bench(args = EVENTS)]
fn to_json_bytes(bencher: Bencher, kind: &str) {
    let event = decoded(kind);
    bencher.bench(|| serde_json::to_vec(&black_box(&event).to_json()).expect("a value serializes"));
}
