//! Analyst records: creation, sign-in, disable and reset, independence.

use super::*;
use sekimori_stepup::TOTP_LOCK_AFTER;

/// The current code of a provisioning URI, as an authenticator app computes it.
pub(crate) fn code_now(uri: &OtpauthUri, now_ms: i64) -> String {
    crate::testing::totp_code(uri.expose(), now_ms)
}

#[test]
fn create_then_sign_in_with_password_and_code() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = Analysts::open(dir.path()).expect("open");
    let now = 1_780_000_000_000;
    let (info, uri) = a
        .create("aiko", Role::Admin, "correct horse battery", "cli", now)
        .expect("create");
    assert_eq!(info.role, Role::Admin);
    let stored = std::fs::read_to_string(dir.path().join(ANALYSTS_FILE)).expect("file");
    assert!(
        !stored.contains("correct horse"),
        "no password in the clear"
    );
    let seed = uri.expose().split("secret=").nth(1).expect("secret");
    let seed = seed.split('&').next().expect("seed");
    assert!(!stored.contains(seed), "no seed in the clear");
    let wrong = a.verify("aiko", "wrong password!!", &code_now(&uri, now), now);
    assert!(matches!(wrong, Err(WbError::SignInFailed)));
    let ok = a.verify("aiko", "correct horse battery", &code_now(&uri, now), now);
    assert_eq!(ok.expect("signs in").login, "aiko");
    // The same code again is a replay.
    let again = a.verify("aiko", "correct horse battery", &code_now(&uri, now), now);
    assert!(again.is_err());
    assert!(a
        .create("aiko", Role::Analyst, "another password", "cli", now)
        .is_err());
    assert!(a.create("bo", Role::Analyst, "short", "cli", now).is_err());
}

#[test]
fn disabled_analysts_cannot_sign_in_and_a_reset_enrols_anew() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = Analysts::open(dir.path()).expect("open");
    let now = 1_780_000_000_000;
    let (_, uri) = a
        .create("ken", Role::Analyst, "correct horse battery", "cli", now)
        .expect("create");
    a.set_disabled("ken", true).expect("disable");
    let r = a.verify("ken", "correct horse battery", &code_now(&uri, now), now);
    assert!(matches!(r, Err(WbError::SignInFailed)), "{r:?}");
    a.set_disabled("ken", false).expect("enable");
    let (info, new_uri) = a
        .reset("ken", "another long password", "boss", now + 60_000)
        .expect("reset");
    assert_eq!(info.enrolled_by, "boss");
    let later = now + 120_000;
    let old = a.verify(
        "ken",
        "correct horse battery",
        &code_now(&uri, later),
        later,
    );
    assert!(old.is_err(), "the old password no longer works");
    let new = a.verify(
        "ken",
        "another long password",
        &code_now(&new_uri, later),
        later,
    );
    assert!(new.is_ok(), "{new:?}");
}

#[test]
fn an_analyst_is_not_independent_of_whom_they_made_recently() {
    let day = 86_400_000;
    let info = |login: &str, by: &str, at: i64| AnalystInfo {
        login: login.into(),
        role: Role::Supervisor,
        created_at: sekimori_event::format_rfc3339_ms(at),
        created_by: by.into(),
        enrolled_by: String::new(),
        enrolled_at: String::new(),
        disabled: false,
        passkeys: 0,
    };
    let now = 1_780_000_000_000;
    let admin = info("root", "cli", now - 100 * day);
    let sock = info("root2", "root", now - day);
    assert!(!independent(&admin, &sock, now), "made yesterday");
    assert!(!independent(&sock, &admin, now), "either order");
    assert!(!independent(&admin, &admin, now), "one person");
    let old = info("ayu", "root", now - 30 * day);
    assert!(independent(&admin, &old, now), "made a month ago");
    let mut reset = old.clone();
    reset.enrolled_by = "root".into();
    reset.enrolled_at = sekimori_event::format_rfc3339_ms(now - day);
    assert!(!independent(&admin, &reset, now), "re-enrolled yesterday");
}

#[test]
fn another_process_holding_the_lock_makes_a_change_wait() {
    let dir = tempfile::tempdir().expect("tempdir");
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.path().join(ANALYSTS_LOCK_FILE))
        .expect("lock file");
    lock.lock().expect("held, as `sekimori users` would");
    let path = dir.path().to_path_buf();
    let (tx, rx) = std::sync::mpsc::channel();
    let t = std::thread::spawn(move || {
        let a = Analysts::open(&path).expect("open");
        let r = a.create("ken", Role::Analyst, "correct horse battery", "cli", 1);
        tx.send(r.is_ok()).expect("send");
    });
    assert!(
        rx.recv_timeout(std::time::Duration::from_millis(300))
            .is_err(),
        "the create waits for the other process"
    );
    lock.unlock().expect("unlock");
    assert_eq!(
        rx.recv_timeout(std::time::Duration::from_secs(10)),
        Ok(true)
    );
    t.join().expect("thread");
}

/// A code none of the accepted steps (the current one, one either side) has.
fn wrong_code(uri: &OtpauthUri, now_ms: i64) -> String {
    let taken: Vec<String> = [-30_000, 0, 30_000]
        .iter()
        .map(|d| code_now(uri, now_ms + d))
        .collect();
    (0u32..)
        .map(|n| format!("{n:06}"))
        .find(|c| !taken.contains(c))
        .expect("a code")
}

type Answer = Result<String, (axum::http::StatusCode, &'static str, String)>;

fn answer(r: Result<AnalystInfo, WbError>) -> Answer {
    r.map(|i| i.login)
        .map_err(|e| (e.status(), e.code(), e.to_string()))
}

#[test]
fn a_right_password_with_a_wrong_code_answers_as_a_wrong_password() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = Analysts::open(dir.path()).expect("open");
    let now = 1_780_000_000_000;
    let (_, aiko) = a
        .create("aiko", Role::Analyst, "correct horse battery", "cli", now)
        .expect("create");
    let (_, ken) = a
        .create("ken", Role::Analyst, "correct horse battery", "cli", now)
        .expect("create");
    // An attacker trying each from a fresh address (the sign-in back-off
    // per address never starts): the TOTP back-off must not tell them
    // apart either.
    let (mut wrong_password, mut right_password) = (Vec::new(), Vec::new());
    for i in 0..12 {
        let t = now + i * 1_000;
        let code = code_now(&aiko, t);
        let from = format!("198.51.100.{i}");
        let r = a.verify_from("aiko", "not the password", &code, t, Some(&from));
        wrong_password.push(answer(r));
        let from = format!("198.51.101.{i}");
        let code = wrong_code(&ken, t);
        let r = a.verify_from("ken", "correct horse battery", &code, t, Some(&from));
        right_password.push(answer(r));
    }
    assert_eq!(wrong_password, right_password);
    let failed = answer(Err(WbError::SignInFailed));
    assert!(wrong_password.iter().all(|r| *r == failed));
}

#[test]
fn someone_with_the_password_cannot_lock_the_analyst_out_of_their_device() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = Analysts::open(dir.path()).expect("open");
    let pw = "correct horse battery";
    let now = 1_780_000_000_000;
    let (_, uri) = a
        .create("ken", Role::Analyst, pw, "cli", now)
        .expect("create");
    let home = "192.0.2.10";
    a.verify_from("ken", pw, &code_now(&uri, now), now, Some(home))
        .expect("signs in from home");
    let mut t = now;
    for i in 0..TOTP_LOCK_AFTER + 20 {
        // Each past every back-off, so each code is checked.
        t += 2 * 3_600_000;
        let from = format!("203.0.113.{}", i % 200);
        let r = a.verify_from("ken", pw, &wrong_code(&uri, t), t, Some(&from));
        assert!(matches!(r, Err(WbError::SignInFailed)), "{r:?}");
    }
    // A stranger is still backed off account-wide...
    let r = a.verify_from("ken", pw, &code_now(&uri, t), t, Some("198.51.100.9"));
    assert!(matches!(r, Err(WbError::SignInFailed)), "{r:?}");
    // ...the analyst's own device is not, nor locked.
    let r = a.verify_from(
        "ken",
        pw,
        &code_now(&uri, t + 30_000),
        t + 30_000,
        Some(home),
    );
    assert_eq!(r.expect("signs in").login, "ken");
}
