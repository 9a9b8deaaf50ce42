//! The JSON entry point: request shapes, reports, policy, errors, and that a
//! secret never comes back out.

use std::path::PathBuf;
use std::sync::LazyLock;

use sekimori_secrets::{
    Assessment, CheckError, CheckRequest, Checker, Code, Corpus, Kind, PasswordCheck, Policy,
    Report, Verdict,
};
use serde_json::{json, Value};

static CHECKER: LazyLock<Checker> = LazyLock::new(|| {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/hibp/common.txt");
    Checker::new(Some(Corpus::load(path).expect("shipped corpus loads")))
});

fn request(v: Value) -> CheckRequest {
    serde_json::from_value(v).expect("a valid request")
}

fn check(v: Value) -> Result<Report, CheckError> {
    CHECKER.check(&request(v))
}

fn assessment(v: Value) -> Assessment {
    match check(v).expect("checked") {
        Report::Assessment(a) => a,
        other => panic!("expected an assessment, got {other:?}"),
    }
}

#[test]
fn range_mode() {
    let report = check(json!({"kind": "password", "sha1_prefix": "5baa6"})).expect("checked");
    let json = serde_json::to_value(&report).expect("serializes");
    assert_eq!(json["mode"], "range");
    assert_eq!(json["kind"], "password");
    assert_eq!(json["prefix"], "5BAA6");
    let lines = json["suffixes"].as_array().expect("an array");
    assert!(lines.iter().any(|l| l
        .as_str()
        .is_some_and(|l| l.starts_with("1E4C9B93F3F0682250B6CF8331B7EE68FD8:"))));
    for l in lines {
        let (suffix, count) = l
            .as_str()
            .and_then(|l| l.split_once(':'))
            .expect("SUFFIX:COUNT");
        assert_eq!(suffix.len(), 35);
        assert!(count.parse::<u64>().expect("a count") > 0);
    }
    let back: Report = serde_json::from_value(json).expect("round-trips");
    assert_eq!(back, report);
}

#[test]
fn breached_weak_password() {
    let a = assessment(json!({"kind": "password", "secret": "password"}));
    assert_eq!(a.kind, Kind::Password);
    assert_eq!(a.verdict, Verdict::Reject);
    assert_eq!(a.codes, vec![Code::Breached, Code::Weak]);
    assert!(a.pwned_count.is_some_and(|n| n > 0));
    let s = a.strength.as_ref().expect("scored");
    assert_eq!(s.score, 0);
    assert!(s.warning.is_some());
    assert!(a.pin.is_none());
    let json = serde_json::to_value(&a).expect("serializes");
    assert_eq!(json["codes"], json!(["breached", "weak"]));
    assert_eq!(json["verdict"], "reject");
}

#[test]
fn strong_password_is_ok() {
    let a = assessment(json!({"kind": "password", "secret": "plum-Orbit-47-quietly-Saxophone"}));
    assert_eq!(a.verdict, Verdict::Ok, "{a:?}");
    assert_eq!(a.codes, vec![]);
    assert_eq!(a.pwned_count, Some(0));
    assert_eq!(a.strength.as_ref().map(|s| s.score), Some(4));
}

#[test]
fn user_inputs_weaken_and_flag() {
    let secret = "Yamada-Taro-Kabushiki!";
    let plain = assessment(json!({"kind": "password", "secret": secret}));
    let with = assessment(json!({
        "kind": "password", "secret": secret,
        "user_inputs": ["tyamada", "taro.yamada@example.jp"]
    }));
    assert!(with.codes.contains(&Code::UserInput));
    assert!(!plain.codes.contains(&Code::UserInput));
    let (p, w) = (
        plain.strength.expect("scored").guesses_log10,
        with.strength.expect("scored").guesses_log10,
    );
    assert!(w < p, "{w} < {p}");
    assert!(with.verdict >= Verdict::Warn);
}

#[test]
fn pins() {
    let a = assessment(json!({"kind": "pin", "secret": "1234"}));
    assert_eq!(a.verdict, Verdict::Reject);
    assert_eq!(a.codes, vec![Code::Common, Code::Sequential]);
    assert_eq!(a.pwned_count, Some(2_634_445));
    let pin = a.pin.as_ref().expect("pin details");
    assert_eq!((pin.length, pin.rank), (4, Some(1)));
    assert!(pin.share.is_some_and(|s| s > 0.09));
    assert!(a.strength.is_none());

    let a = assessment(json!({"kind": "pin", "secret": "1204", "birth_date": "1990-12-04"}));
    assert!(a.codes.contains(&Code::BirthDate));
    assert_eq!(a.verdict, Verdict::Reject);

    let a = assessment(json!({"kind": "pin", "secret": "19901204", "birth_date": "1990-12-04"}));
    assert_eq!(a.codes, vec![Code::BirthDate]);

    let a = assessment(json!({"kind": "pin", "secret": "0849"}));
    assert_eq!(a.verdict, Verdict::Ok);
    assert_eq!(a.pwned_count, Some(518));

    // A 7-digit PIN found in the password corpus (zxcvbn list): warn only.
    let a = assessment(json!({"kind": "pin", "secret": "8675309"}));
    assert_eq!(a.codes, vec![Code::Breached]);
    assert_eq!(a.verdict, Verdict::Warn);
    assert!(a.pwned_count.is_some_and(|n| n > 0));
    assert_eq!(a.pin.as_ref().and_then(|p| p.rank), None);

    let a = assessment(json!({"kind": "pin", "secret": "58317264"}));
    assert_eq!(a.verdict, Verdict::Ok);
    assert_eq!(a.pwned_count, Some(0));

    let report = check(json!({"kind": "pin", "secret": "1111"})).expect("checked");
    let json = serde_json::to_value(&report).expect("serializes");
    assert_eq!(json["mode"], "assessment");
    assert_eq!(json["kind"], "pin");
    // 11 November reads as a date, too.
    assert_eq!(json["codes"], json!(["common", "repeated", "date_like"]));
    assert_eq!(json["pin"]["rank"], 2);
    assert!(json.get("strength").is_none());
}

#[test]
fn policy_is_adjustable() {
    let checker = Checker::new(None).with_policy(Policy {
        pin_reject_top: 1,
        pin_warn_top: 5,
        ..Policy::default()
    });
    let r = checker
        .check(&request(json!({"kind": "pin", "secret": "1111"})))
        .expect("checked");
    let Report::Assessment(a) = r else {
        panic!("expected an assessment")
    };
    assert_eq!(
        a.codes,
        vec![Code::Frequent, Code::Repeated, Code::DateLike]
    );
    // Without a corpus passwords have no breach count.
    let r = checker
        .check(&request(json!({"kind": "password", "secret": "password"})))
        .expect("checked");
    let Report::Assessment(a) = r else {
        panic!("expected an assessment")
    };
    assert_eq!(a.pwned_count, None);
    assert_eq!(a.codes, vec![Code::Weak]);
    let json = serde_json::to_value(&a).expect("serializes");
    assert!(json["pwned_count"].is_null());
}

#[test]
fn errors_have_stable_codes() {
    let cases = [
        (
            json!({"kind": "password", "sha1_prefix": "5BAA", }),
            "invalid_prefix",
        ),
        (
            json!({"kind": "password", "sha1_prefix": "5BAG6"}),
            "invalid_prefix",
        ),
        (
            json!({"kind": "password", "sha1_prefix": "5BAA6", "secret": "x"}),
            "ambiguous",
        ),
        (json!({"kind": "password"}), "missing_secret"),
        (
            json!({"kind": "password", "sha1_prefix": "5BAA6", "user_inputs": ["a"]}),
            "user_inputs_need_secret",
        ),
        (json!({"kind": "password", "secret": ""}), "empty_secret"),
        (
            json!({"kind": "password", "secret": "a".repeat(257)}),
            "too_long",
        ),
        (
            json!({"kind": "password", "secret": "x", "user_inputs": vec!["u"; 17]}),
            "too_many_user_inputs",
        ),
        (
            json!({"kind": "password", "secret": "x", "user_inputs": ["u".repeat(257)]}),
            "user_input_too_long",
        ),
        (json!({"kind": "pin", "secret": "123"}), "invalid_pin"),
        (json!({"kind": "pin", "secret": "123456789"}), "invalid_pin"),
        (json!({"kind": "pin", "secret": "12a4"}), "invalid_pin"),
        (
            json!({"kind": "pin", "secret": "1234", "birth_date": "04/12/1990"}),
            "invalid_birth_date",
        ),
        (
            json!({"kind": "pin", "secret": "1234", "birth_date": "1990-02-30"}),
            "invalid_birth_date",
        ),
    ];
    for (req, code) in cases {
        let e = check(req.clone()).expect_err(code);
        assert_eq!(e.code(), code, "{req}");
        assert!(e.is_client_error());
    }
    // 256 characters is the limit, not an error.
    assert!(check(json!({"kind": "password", "secret": "a".repeat(256)})).is_ok());

    let no_corpus = Checker::new(None);
    let e = no_corpus
        .check(&request(
            json!({"kind": "password", "sha1_prefix": "5BAA6"}),
        ))
        .expect_err("no corpus");
    assert_eq!(e.code(), "no_corpus");
    assert!(!e.is_client_error());
}

#[test]
fn malformed_requests_do_not_parse() {
    for bad in [
        json!({"kind": "password", "password": "hunter2"}),
        json!({"kind": "pin", "secret": "1234", "sha1_prefix": "5BAA6"}),
        json!({"kind": "pin"}),
        json!({"kind": "passphrase", "secret": "x"}),
        json!({"secret": "x"}),
        json!({"kind": "password", "secret": 1234}),
    ] {
        assert!(
            serde_json::from_value::<CheckRequest>(bad.clone()).is_err(),
            "{bad}"
        );
    }
}

#[test]
fn secrets_never_come_back_out() {
    let secret = "Sup3r-Secret-Pa55phrase";
    let req = request(json!({
        "kind": "password", "secret": secret, "user_inputs": ["taro@example.jp"]
    }));
    let dbg = format!("{req:?}");
    assert!(!dbg.contains(secret), "{dbg}");
    assert!(!dbg.contains("taro"), "{dbg}");
    assert!(dbg.contains("<redacted>"));
    let report = CHECKER.check(&req).expect("checked");
    let out = serde_json::to_string(&report).expect("serializes");
    assert!(!out.contains(secret), "{out}");
    assert!(!format!("{report:?}").contains(secret));

    let pin = request(json!({"kind": "pin", "secret": "7391", "birth_date": "1990-12-04"}));
    let dbg = format!("{pin:?}");
    assert!(!dbg.contains("7391") && !dbg.contains("1990"), "{dbg}");

    let long = "S3cret".repeat(50);
    let e = check(json!({"kind": "password", "secret": long})).expect_err("too long");
    assert!(!e.to_string().contains("S3cret"));
    let e = check(json!({"kind": "pin", "secret": "98765x"})).expect_err("bad pin");
    assert!(!e.to_string().contains("98765"));

    let built = PasswordCheck {
        secret: Some("hunter2".into()),
        ..PasswordCheck::default()
    };
    assert!(!format!("{built:?}").contains("hunter2"));
}

#[test]
fn checker_is_shareable_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Checker>();
    assert_send_sync::<Corpus>();
}
