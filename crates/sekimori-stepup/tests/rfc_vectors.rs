//! Every published test vector of RFC 4226 (appendix D), RFC 6238 (appendix B, with the
//! per-hash seeds of the reference implementation / erratum) and RFC 6287 (appendix C).

use sekimori_stepup::ocra::{self, mutual_client_question, mutual_server_question, pin_hash};
use sekimori_stepup::otp::dynamic_truncate;
use sekimori_stepup::{hotp, totp, Algorithm, OcraInput, OcraSuite};

const SEED20: &[u8] = b"12345678901234567890";
const SEED32: &[u8] = b"12345678901234567890123456789012";
const SEED64: &[u8] = b"1234567890123456789012345678901234567890123456789012345678901234";

// ---------------------------------------------------------------- RFC 4226 appendix D

#[test]
fn rfc4226_hmac_truncation_and_hotp() {
    // (HMAC-SHA-1, truncated decimal, HOTP)
    let table: [(&str, u32, &str); 10] = [
        (
            "cc93cf18508d94934c64b65d8ba7667fb7cde4b0",
            1_284_755_224,
            "755224",
        ),
        (
            "75a48a19d4cbe100644e8ac1397eea747a2d33ab",
            1_094_287_082,
            "287082",
        ),
        (
            "0bacb7fa082fef30782211938bc1c5e70416ff44",
            137_359_152,
            "359152",
        ),
        (
            "66c28227d03a2d5529262ff016a1e6ef76557ece",
            1_726_969_429,
            "969429",
        ),
        (
            "a904c900a64b35909874b33e61c5938a8e15ed1c",
            1_640_338_314,
            "338314",
        ),
        (
            "a37e783d7b7233c083d4f62926c7a25f238d0316",
            868_254_676,
            "254676",
        ),
        (
            "bc9cd28561042c83f219324d3c607256c03272ae",
            1_918_287_922,
            "287922",
        ),
        (
            "a4fb960c0bc06e1eabb804e5b397cdc4b45596fa",
            82_162_583,
            "162583",
        ),
        (
            "1b3c89f65e6c9e883012052823443f048b4332db",
            673_399_871,
            "399871",
        ),
        (
            "1637409809a679dc698207310c8c7fc07290d9e5",
            645_520_489,
            "520489",
        ),
    ];
    for (counter, (mac_hex, truncated, code)) in (0u64..).zip(table) {
        let mac = Algorithm::Sha1
            .hmac(SEED20, &[&counter.to_be_bytes()])
            .expect("hmac");
        assert_eq!(hex::encode(&mac), mac_hex, "HMAC, count {counter}");
        assert_eq!(
            dynamic_truncate(&mac).expect("truncate"),
            truncated,
            "count {counter}"
        );
        assert_eq!(
            hotp(Algorithm::Sha1, SEED20, counter, 6).expect("hotp"),
            code,
            "count {counter}"
        );
    }
}

// ---------------------------------------------------------------- RFC 6238 appendix B

#[test]
fn rfc6238_all_vectors() {
    // (time, SHA1, SHA256, SHA512), 8 digits, 30 s step, T0 = 0
    let table: [(u64, &str, &str, &str); 6] = [
        (59, "94287082", "46119246", "90693936"),
        (1_111_111_109, "07081804", "68084774", "25091201"),
        (1_111_111_111, "14050471", "67062674", "99943326"),
        (1_234_567_890, "89005924", "91819424", "93441116"),
        (2_000_000_000, "69279037", "90698825", "38618901"),
        (20_000_000_000, "65353130", "77737706", "47863826"),
    ];
    for (time, sha1, sha256, sha512) in table {
        assert_eq!(
            totp(Algorithm::Sha1, SEED20, time, 30, 8).expect("totp"),
            sha1,
            "SHA1 t={time}"
        );
        assert_eq!(
            totp(Algorithm::Sha256, SEED32, time, 30, 8).expect("totp"),
            sha256,
            "SHA256 t={time}"
        );
        assert_eq!(
            totp(Algorithm::Sha512, SEED64, time, 30, 8).expect("totp"),
            sha512,
            "SHA512 t={time}"
        );
        // TOTP is HOTP over the step counter (RFC 6238 §4.2)
        assert_eq!(
            hotp(Algorithm::Sha1, SEED20, time / 30, 8).expect("hotp"),
            sha1
        );
        assert_eq!(
            hotp(Algorithm::Sha256, SEED32, time / 30, 8).expect("hotp"),
            sha256
        );
        assert_eq!(
            hotp(Algorithm::Sha512, SEED64, time / 30, 8).expect("hotp"),
            sha512
        );
    }
}

// ---------------------------------------------------------------- RFC 6287 appendix C

/// `T` of the RFC vectors: 0x132d0b6 minutes ("Mar 25 2008, 12:06:30 GMT").
const RFC_T: u64 = 0x132d0b6;
/// 2008-03-25T12:06:30Z as event-time milliseconds.
const RFC_T_MS: i64 = 1_206_446_790_000;

fn suite(s: &str) -> OcraSuite {
    OcraSuite::parse(s).expect("suite")
}

fn run(suite_str: &str, key: &[u8], input: OcraInput<'_>) -> String {
    ocra::compute(&suite(suite_str), key, &input).expect("compute")
}

#[test]
fn rfc6287_pin_hash_and_timestamp() {
    assert_eq!(
        hex::encode(pin_hash(Algorithm::Sha1, "1234")),
        "7110eda4d09e062aa5e4a390b0a572ac0d2c0220"
    );
    let t = suite("OCRA-1:HOTP-SHA512-8:QN08-T1M")
        .timestamp()
        .expect("T");
    assert_eq!(t.counter(RFC_T_MS).expect("counter"), RFC_T);
}

#[test]
fn rfc6287_c1_one_way_sha1_6_qn08() {
    let table = [
        ("00000000", "237653"),
        ("11111111", "243178"),
        ("22222222", "653583"),
        ("33333333", "740991"),
        ("44444444", "608993"),
        ("55555555", "388898"),
        ("66666666", "816933"),
        ("77777777", "224598"),
        ("88888888", "750600"),
        ("99999999", "294470"),
    ];
    for (q, r) in table {
        let input = OcraInput {
            question: q,
            ..OcraInput::default()
        };
        assert_eq!(run("OCRA-1:HOTP-SHA1-6:QN08", SEED20, input), r, "Q={q}");
    }
}

#[test]
fn rfc6287_c1_one_way_sha256_8_c_qn08_psha1() {
    let table = [
        "65347737", "86775851", "78192410", "71565254", "10104329", "65983500", "70069104",
        "91771096", "75011558", "08522129",
    ];
    let pin = pin_hash(Algorithm::Sha1, "1234");
    for (c, r) in (0u64..).zip(table) {
        let input = OcraInput {
            counter: Some(c),
            question: "12345678",
            pin_hash: Some(&pin),
            ..OcraInput::default()
        };
        assert_eq!(
            run("OCRA-1:HOTP-SHA256-8:C-QN08-PSHA1", SEED32, input),
            r,
            "C={c}"
        );
    }
}

#[test]
fn rfc6287_c1_one_way_sha256_8_qn08_psha1() {
    let table = [
        ("00000000", "83238735"),
        ("11111111", "01501458"),
        ("22222222", "17957585"),
        ("33333333", "86776967"),
        ("44444444", "86807031"),
    ];
    let pin = pin_hash(Algorithm::Sha1, "1234");
    for (q, r) in table {
        let input = OcraInput {
            question: q,
            pin_hash: Some(&pin),
            ..OcraInput::default()
        };
        assert_eq!(
            run("OCRA-1:HOTP-SHA256-8:QN08-PSHA1", SEED32, input),
            r,
            "Q={q}"
        );
    }
}

#[test]
fn rfc6287_c1_one_way_sha512_8_c_qn08() {
    let table = [
        ("00000000", "07016083"),
        ("11111111", "63947962"),
        ("22222222", "70123924"),
        ("33333333", "25341727"),
        ("44444444", "33203315"),
        ("55555555", "34205738"),
        ("66666666", "44343969"),
        ("77777777", "51946085"),
        ("88888888", "20403879"),
        ("99999999", "31409299"),
    ];
    for (c, (q, r)) in (0u64..).zip(table) {
        let input = OcraInput {
            counter: Some(c),
            question: q,
            ..OcraInput::default()
        };
        assert_eq!(
            run("OCRA-1:HOTP-SHA512-8:C-QN08", SEED64, input),
            r,
            "C={c} Q={q}"
        );
    }
}

#[test]
fn rfc6287_c1_one_way_sha512_8_qn08_t1m() {
    let table = [
        ("00000000", "95209754"),
        ("11111111", "55907591"),
        ("22222222", "22048402"),
        ("33333333", "24218844"),
        ("44444444", "36209546"),
    ];
    let s = suite("OCRA-1:HOTP-SHA512-8:QN08-T1M");
    let t = s
        .timestamp()
        .expect("T")
        .counter(RFC_T_MS)
        .expect("counter");
    for (q, r) in table {
        let input = OcraInput {
            question: q,
            timestamp: Some(RFC_T),
            ..OcraInput::default()
        };
        assert_eq!(
            run("OCRA-1:HOTP-SHA512-8:QN08-T1M", SEED64, input),
            r,
            "Q={q}"
        );
        // the same from event time
        let input = OcraInput {
            question: q,
            timestamp: Some(t),
            ..OcraInput::default()
        };
        assert_eq!(ocra::compute(&s, SEED64, &input).expect("compute"), r);
    }
}

const CLIENT: [&str; 5] = ["CLI22220", "CLI22221", "CLI22222", "CLI22223", "CLI22224"];
const SERVER: [&str; 5] = ["SRV11110", "SRV11111", "SRV11112", "SRV11113", "SRV11114"];

#[test]
fn rfc6287_c2_mutual_sha256_8_qa08_server_and_client() {
    let server = ["28247970", "01984843", "65387857", "03351211", "83412541"];
    let client = ["15510767", "90175646", "33777207", "95285278", "28934924"];
    for i in 0..5 {
        let q = mutual_server_question(CLIENT[i], SERVER[i]);
        assert_eq!(q, format!("CLI2222{i}SRV1111{i}"));
        let input = OcraInput {
            question: &q,
            ..OcraInput::default()
        };
        assert_eq!(
            run("OCRA-1:HOTP-SHA256-8:QA08", SEED32, input),
            server[i],
            "server {q}"
        );

        let q = mutual_client_question(CLIENT[i], SERVER[i]);
        assert_eq!(q, format!("SRV1111{i}CLI2222{i}"));
        let input = OcraInput {
            question: &q,
            ..OcraInput::default()
        };
        assert_eq!(
            run("OCRA-1:HOTP-SHA256-8:QA08", SEED32, input),
            client[i],
            "client {q}"
        );
    }
}

#[test]
fn rfc6287_c2_mutual_sha512_8_qa08_server() {
    let server = ["79496648", "76831980", "12250499", "90856481", "12761449"];
    for i in 0..5 {
        let q = mutual_server_question(CLIENT[i], SERVER[i]);
        let input = OcraInput {
            question: &q,
            ..OcraInput::default()
        };
        assert_eq!(
            run("OCRA-1:HOTP-SHA512-8:QA08", SEED64, input),
            server[i],
            "server {q}"
        );
    }
}

#[test]
fn rfc6287_c2_mutual_sha512_8_qa08_psha1_client() {
    let client = ["18806276", "70020315", "01600026", "18951020", "32528969"];
    let pin = pin_hash(Algorithm::Sha1, "1234");
    for i in 0..5 {
        let q = mutual_client_question(CLIENT[i], SERVER[i]);
        let input = OcraInput {
            question: &q,
            pin_hash: Some(&pin),
            ..OcraInput::default()
        };
        assert_eq!(
            run("OCRA-1:HOTP-SHA512-8:QA08-PSHA1", SEED64, input),
            client[i],
            "client {q}"
        );
    }
}

#[test]
fn rfc6287_c3_plain_signature_sha256_8_qa08() {
    let table = [
        ("SIG10000", "53095496"),
        ("SIG11000", "04110475"),
        ("SIG12000", "31331128"),
        ("SIG13000", "76028668"),
        ("SIG14000", "46554205"),
    ];
    for (q, r) in table {
        let input = OcraInput {
            question: q,
            ..OcraInput::default()
        };
        assert_eq!(run("OCRA-1:HOTP-SHA256-8:QA08", SEED32, input), r, "Q={q}");
    }
}

#[test]
fn rfc6287_c3_plain_signature_sha512_8_qa10_t1m() {
    let table = [
        ("SIG1000000", "77537423"),
        ("SIG1100000", "31970405"),
        ("SIG1200000", "10235557"),
        ("SIG1300000", "95213541"),
        ("SIG1400000", "65360607"),
    ];
    for (q, r) in table {
        let input = OcraInput {
            question: q,
            timestamp: Some(RFC_T),
            ..OcraInput::default()
        };
        assert_eq!(
            run("OCRA-1:HOTP-SHA512-8:QA10-T1M", SEED64, input),
            r,
            "Q={q}"
        );
        assert_eq!(
            ocra::verify(&suite("OCRA-1:HOTP-SHA512-8:QA10-T1M"), SEED64, &input, r),
            Ok(true)
        );
    }
}
