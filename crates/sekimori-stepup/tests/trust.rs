//! Issue 12: step-up time bounded by the server clock too, and TOTP
//! throttling that a stranger cannot turn into a lock-out.

use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use sekimori_stepup::{
    client_key, device_response, seed_from_otpauth_uri, totp, Algorithm, Now, Sealer, StepUpError,
    StepUpState, TotpError, Transaction, TxChallenge, TxError, TOTP_LOCK_AFTER,
};

const AT: i64 = 1_750_000_000_000;
const SERVER: i64 = 1_790_000_000_000;

fn tx(amount_minor: i64, payee: &str) -> Transaction {
    Transaction {
        account: "alice".into(),
        amount_minor,
        currency: "JPY".into(),
        payee: payee.into(),
    }
}

#[test]
fn an_expired_tx_challenge_stays_expired_whatever_at_says() {
    let key = [0x11u8; 32];
    let t = tx(100, "bank:0001-123-4567890");
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let mut c = TxChallenge::issue(&t, Now::new(AT, SERVER), &mut rng);
    let code = device_response(&key, &t, &c.nonce).expect("code");
    // `at` says 10 s later, the server clock 5 minutes later: expired.
    assert_eq!(
        c.verify(&key, &t, &code, Now::new(AT + 10_000, SERVER + 300_000)),
        Err(TxError::Expired)
    );
    // Then an older `at` (even a year before issue) and a young server time: still expired.
    assert_eq!(
        c.verify(&key, &t, &code, Now::new(AT + 1_000, SERVER + 1_000)),
        Err(TxError::Expired)
    );
    assert!(c.is_dead(Now::new(AT + 1_000, SERVER + 1_000)));
    let mut fresh = TxChallenge::issue(&t, Now::new(AT, SERVER), &mut rng);
    let code = device_response(&key, &t, &fresh.nonce).expect("code");
    assert_eq!(
        fresh.verify(
            &key,
            &t,
            &code,
            Now::new(AT - 365 * 86_400_000, SERVER + 1_000)
        ),
        Err(TxError::BeforeIssue)
    );
    assert_eq!(
        fresh.verify(&key, &t, &code, Now::new(AT + 1_000, SERVER + 1_000)),
        Ok(())
    );
}

fn totp_setup() -> (Sealer, StepUpState, Vec<u8>) {
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let sealer = Sealer::new(&[0x5e; 32]);
    let mut state = StepUpState::for_service("bank");
    let uri = state
        .enroll_totp(&sealer, "alice", "sekimori", AT, &mut rng)
        .expect("enroll");
    let seed = seed_from_otpauth_uri(uri.expose())
        .expect("seed")
        .expose()
        .to_vec();
    (sealer, state, seed)
}

fn code(seed: &[u8], ms: i64) -> String {
    totp(Algorithm::Sha1, seed, (ms / 1000) as u64, 30, 6).expect("totp")
}

fn wrong(seed: &[u8], ms: i64) -> &'static str {
    if code(seed, ms) == "000000" {
        "111111"
    } else {
        "000000"
    }
}

#[test]
fn totp_at_far_from_the_server_clock_is_refused() {
    let (sealer, mut state, seed) = totp_setup();
    let old = AT - 3_600_000;
    assert_eq!(
        state.verify_totp(&sealer, "alice", &code(&seed, old), Now::new(old, AT)),
        Err(StepUpError::Totp(TotpError::ClockSkew))
    );
    assert_eq!(
        state.verify_totp(
            &sealer,
            "alice",
            &code(&seed, AT),
            Now::new(AT, AT + 20_000)
        ),
        Ok(())
    );
}

#[test]
fn a_stranger_cannot_lock_out_a_familiar_client() {
    let (sealer, mut state, seed) = totp_setup();
    let holder = client_key(Some("d-holder"), Some("203.0.113.5"));
    let stranger = client_key(Some("d-evil"), None);
    let newcomer = client_key(None, Some("198.51.100.9"));
    state
        .verify_totp_from(&sealer, "alice", &code(&seed, AT), AT, holder.as_deref())
        .expect("the holder passes once");
    // One wrong code every 15 minutes for five hours.
    let mut t = AT;
    for _ in 0..20 {
        t += 15 * 60_000;
        let r = state.verify_totp_from(&sealer, "alice", wrong(&seed, t), t, stranger.as_deref());
        assert!(
            matches!(
                r,
                Err(StepUpError::Totp(
                    TotpError::WrongCode | TotpError::Throttled
                ))
            ),
            "{r:?}"
        );
    }
    // A client that never passed waits out the account's back-off...
    let soon = t + 1_000;
    assert_eq!(
        state.verify_totp_from(
            &sealer,
            "alice",
            &code(&seed, soon),
            soon,
            newcomer.as_deref()
        ),
        Err(StepUpError::Totp(TotpError::Throttled))
    );
    // ...the holder's own client with the right code passes.
    assert_eq!(
        state.verify_totp_from(
            &sealer,
            "alice",
            &code(&seed, soon),
            soon,
            holder.as_deref()
        ),
        Ok(())
    );
    // and the success cleared the account's count: the newcomer may try again.
    let later = soon + 60_000;
    assert_eq!(
        state.verify_totp_from(
            &sealer,
            "alice",
            &code(&seed, later),
            later,
            newcomer.as_deref()
        ),
        Ok(())
    );
}

#[test]
fn a_hundred_failures_lock_until_reset() {
    let (sealer, mut state, seed) = totp_setup();
    let holder = client_key(Some("d-holder"), None);
    state
        .verify_totp_from(&sealer, "alice", &code(&seed, AT), AT, holder.as_deref())
        .expect("passes");
    let mut t = AT;
    let mut counted = 0;
    // Each attempt from a new client, each after the longest back-off.
    while counted < TOTP_LOCK_AFTER {
        t += 3_600_000;
        let who = client_key(Some(&format!("d-{counted}")), None);
        match state.verify_totp_from(&sealer, "alice", wrong(&seed, t), t, who.as_deref()) {
            Err(StepUpError::Totp(TotpError::WrongCode)) => counted += 1,
            other => panic!("{other:?}"),
        }
    }
    t += 3_600_000;
    assert_eq!(
        state.verify_totp_from(&sealer, "alice", &code(&seed, t), t, holder.as_deref()),
        Err(StepUpError::Totp(TotpError::Locked)),
        "100 consecutive failures lock even the familiar client"
    );
    assert!(state.reset_totp_throttle("alice"));
    assert_eq!(
        state.verify_totp_from(&sealer, "alice", &code(&seed, t), t, holder.as_deref()),
        Ok(())
    );
}
