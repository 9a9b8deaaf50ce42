//! Acceptance tests: dynamic linking of transaction codes, and the `StepUpState` facade.

use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use sekimori_stepup::{
    device_response, totp, Algorithm, OtpauthUri, SealError, Sealer, StepUpError, StepUpState,
    TotpError, Transaction, TxChallenge, TxError, MAX_OPEN_CHALLENGES_PER_ACCOUNT,
    TX_CHALLENGE_TTL_MS, TX_MAX_FAILURES,
};

const NOW: i64 = 1_750_000_000_000;

fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

fn sealer() -> Sealer {
    Sealer::new(&[0x5e; 32])
}

fn tx(amount_minor: i64, payee: &str) -> Transaction {
    Transaction {
        account: "alice".into(),
        amount_minor,
        currency: "EUR".into(),
        payee: payee.into(),
    }
}

const P: &str = "bank:0001-123-4567890";
const P2: &str = "bank:0001-123-4567891";
const KEY: [u8; 32] = [0x11; 32];

// ------------------------------------------------------------ TxChallenge (pure)

#[test]
fn code_is_bound_to_amount_and_payee() {
    let original = tx(10_000, P);
    let mut c = issue(&original);
    // same code, payee changed
    let code = device_response(&KEY, &original, &c.nonce).expect("code");
    assert_eq!(
        c.verify(&KEY, &tx(10_000, P2), &code, NOW),
        Err(TxError::TransactionChanged)
    );
    // same code, amount changed
    assert_eq!(
        c.verify(&KEY, &tx(10_001, P), &code, NOW),
        Err(TxError::TransactionChanged)
    );
    // a device tricked into signing the altered transaction does not help either
    let code_p2 = device_response(&KEY, &tx(10_000, P2), &c.nonce).expect("code");
    assert_eq!(
        c.verify(&KEY, &tx(10_000, P2), &code_p2, NOW),
        Err(TxError::TransactionChanged)
    );
    let code_a2 = device_response(&KEY, &tx(99_999, P), &c.nonce).expect("code");
    assert_eq!(
        c.verify(&KEY, &original, &code_a2, NOW),
        Err(TxError::WrongCode)
    );
    assert_eq!(c.failures, 4);
    // the genuine pair still works, once
    assert_eq!(c.verify(&KEY, &original, &code, NOW), Ok(()));
    assert!(c.used);
    assert_eq!(c.verify(&KEY, &original, &code, NOW), Err(TxError::Used));
}

fn issue(t: &Transaction) -> TxChallenge {
    TxChallenge::issue(t, NOW, &mut rng(3))
}

#[test]
fn code_is_bound_to_its_challenge() {
    // a code captured for one challenge is useless for a new challenge of the identical payment
    let t = tx(50_000, P);
    let mut r = rng(4);
    let first = TxChallenge::issue(&t, NOW, &mut r);
    let mut second = TxChallenge::issue(&t, NOW, &mut r);
    assert_ne!(first.nonce, second.nonce);
    assert_eq!(first.tx_digest, second.tx_digest);
    let code_first = device_response(&KEY, &t, &first.nonce).expect("code");
    assert_eq!(
        second.verify(&KEY, &t, &code_first, NOW),
        Err(TxError::WrongCode)
    );
}

#[test]
fn wrong_key_is_wrong_code() {
    let t = tx(1, P);
    let mut c = issue(&t);
    let code = device_response(&[0x22; 32], &t, &c.nonce).expect("code");
    assert_eq!(c.verify(&KEY, &t, &code, NOW), Err(TxError::WrongCode));
    assert_eq!(
        c.verify(&KEY, &t, "not-a-code", NOW),
        Err(TxError::WrongCode)
    );
    assert_eq!(c.failures, 2);
}

#[test]
fn challenge_expires_after_five_minutes() {
    let t = tx(2_000, P);
    let c = issue(&t);
    assert_eq!(c.expires_at_ms, NOW + 300_000);
    assert_eq!(TX_CHALLENGE_TTL_MS, 300_000);
    let code = device_response(&KEY, &t, &c.nonce).expect("code");

    let mut late = c.clone();
    assert_eq!(
        late.verify(&KEY, &t, &code, NOW + 300_000),
        Err(TxError::Expired)
    );
    assert_eq!(
        late.verify(&KEY, &t, &code, NOW + 3_600_000),
        Err(TxError::Expired)
    );
    assert_eq!(late.failures, 0, "expiry is not a failure");
    assert!(late.is_dead(NOW + 300_000));

    let mut in_time = c;
    assert!(!in_time.is_dead(NOW + 299_999));
    assert_eq!(in_time.verify(&KEY, &t, &code, NOW + 299_999), Ok(()));
    assert!(in_time.is_dead(NOW + 299_999));
}

#[test]
fn sixth_attempt_after_five_failures_is_refused_even_with_the_right_code() {
    let t = tx(7_700, P);
    let mut c = issue(&t);
    let code = device_response(&KEY, &t, &c.nonce).expect("code");
    let wrong = if code == "00000000" {
        "00000001"
    } else {
        "00000000"
    };
    for i in 0..TX_MAX_FAILURES {
        let r = if i % 2 == 0 {
            c.verify(&KEY, &t, wrong, NOW + i64::from(i))
        } else {
            c.verify(&KEY, &tx(7_701, P), &code, NOW + i64::from(i))
        };
        assert!(
            matches!(r, Err(TxError::WrongCode | TxError::TransactionChanged)),
            "{r:?}"
        );
    }
    assert_eq!(c.failures, 5);
    assert_eq!(
        c.verify(&KEY, &t, &code, NOW + 10),
        Err(TxError::TooManyFailures)
    );
    assert!(!c.used);
    assert!(c.is_dead(NOW + 10));
}

#[test]
fn four_failures_then_right_code_succeeds() {
    let t = tx(7_700, P);
    let mut c = issue(&t);
    let code = device_response(&KEY, &t, &c.nonce).expect("code");
    for _ in 0..4 {
        assert_eq!(
            c.verify(&KEY, &tx(1, P), &code, NOW),
            Err(TxError::TransactionChanged)
        );
    }
    assert_eq!(c.verify(&KEY, &t, &code, NOW), Ok(()));
}

// ------------------------------------------------------------ StepUpState

fn seed_of(uri: &OtpauthUri) -> Vec<u8> {
    sekimori_stepup::seed_from_otpauth_uri(uri.expose())
        .expect("seed")
        .expose()
        .to_vec()
}

fn totp_code(seed: &[u8], ms: i64) -> String {
    totp(
        Algorithm::Sha1,
        seed,
        u64::try_from(ms / 1000).expect("time"),
        30,
        6,
    )
    .expect("totp")
}

#[test]
fn state_totp_enroll_verify_replay() {
    let s = sealer();
    let mut r = rng(10);
    let mut state = StepUpState::new();
    let uri = state
        .enroll_totp(&s, "alice", "Sekimori", NOW, &mut r)
        .expect("enroll");
    assert!(uri
        .expose()
        .starts_with("otpauth://totp/Sekimori:alice?secret="));
    assert_eq!(
        state
            .enroll_totp(&s, "alice", "Sekimori", NOW, &mut r)
            .map(|_| ()),
        Err(StepUpError::AlreadyEnrolled)
    );
    let seed = seed_of(&uri);
    assert_eq!(seed.len(), 20);
    // the stored form does not contain the seed
    let json = serde_json::to_string(&state).expect("ser");
    assert!(!json.contains(&hex::encode(&seed)));

    let code = totp_code(&seed, NOW);
    assert_eq!(state.verify_totp(&s, "alice", &code, NOW + 5_000), Ok(()));
    assert_eq!(
        state.verify_totp(&s, "alice", &code, NOW + 6_000),
        Err(StepUpError::Totp(TotpError::Replayed))
    );
    assert_eq!(
        state.verify_totp(&s, "bob", &code, NOW),
        Err(StepUpError::NotEnrolled)
    );
    let later = totp_code(&seed, NOW + 60_000);
    assert_eq!(state.verify_totp(&s, "alice", &later, NOW + 60_000), Ok(()));
    assert!(state.remove_totp("alice"));
    assert!(state
        .enroll_totp(&s, "alice", "Sekimori", NOW, &mut r)
        .is_ok());
    assert_eq!(
        state
            .enroll_totp(&s, "a:b", "Sekimori", NOW, &mut r)
            .map(|_| ()),
        Err(StepUpError::InvalidLabel)
    );
}

#[test]
fn state_sealed_seed_cannot_be_moved_to_another_account() {
    let s = sealer();
    let mut r = rng(11);
    let mut state = StepUpState::new();
    let alice_uri = state
        .enroll_totp(&s, "alice", "Sekimori", NOW, &mut r)
        .expect("enroll");
    state
        .enroll_totp(&s, "bob", "Sekimori", NOW, &mut r)
        .expect("enroll");
    // an attacker with write access to storage copies alice's sealed seed over bob's
    let mut json: serde_json::Value = serde_json::to_value(&state).expect("ser");
    let alice_sealed = json["totp"]["alice"]["sealed_seed"].clone();
    json["totp"]["bob"]["sealed_seed"] = alice_sealed;
    let mut tampered: StepUpState = serde_json::from_value(json).expect("de");
    let alice_code = totp_code(&seed_of(&alice_uri), NOW);
    assert_eq!(
        tampered.verify_totp(&s, "bob", &alice_code, NOW),
        Err(StepUpError::Totp(TotpError::Seal(SealError::OpenFailed)))
    );
    // and a different master key opens nothing
    assert_eq!(
        state.verify_totp(&Sealer::new(&[0; 32]), "alice", &alice_code, NOW),
        Err(StepUpError::Totp(TotpError::Seal(SealError::OpenFailed)))
    );
}

#[test]
fn state_tx_flow_and_expire() {
    let s = sealer();
    let mut r = rng(12);
    let mut state = StepUpState::new();
    let t = tx(25_000, P);
    assert_eq!(
        state.issue_tx_challenge(&t, NOW, &mut r),
        Err(StepUpError::NotEnrolled)
    );
    let key = state.enroll_ocra(&s, "alice", NOW, &mut r).expect("enroll");
    assert_eq!(key.len(), 32);
    assert_eq!(format!("{key:?}"), "<redacted>");
    assert_eq!(
        state.enroll_ocra(&s, "alice", NOW, &mut r).map(|_| ()),
        Err(StepUpError::AlreadyEnrolled)
    );
    assert_eq!(
        state.ocra_device("alice").map(|d| d.suite.as_str()),
        Some("OCRA-1:HOTP-SHA256-8:QH64")
    );

    let c = state.issue_tx_challenge(&t, NOW, &mut r).expect("issue");
    let code = device_response(key.expose(), &t, &c.nonce).expect("code");
    assert_eq!(
        state.verify_tx(&s, &c.id(), &tx(25_000, P2), &code, NOW + 1),
        Err(StepUpError::Tx(TxError::TransactionChanged))
    );
    assert_eq!(state.challenge(&c.id()).map(|c| c.failures), Some(1));
    assert_eq!(state.verify_tx(&s, &c.id(), &t, &code, NOW + 2), Ok(()));
    assert_eq!(
        state.verify_tx(&s, &c.id(), &t, &code, NOW + 3),
        Err(StepUpError::Tx(TxError::Used))
    );
    assert_eq!(
        state.verify_tx(&s, "00", &t, &code, NOW + 3),
        Err(StepUpError::UnknownChallenge)
    );

    // a used challenge stays (answering `Used`) until pruned: by `expire`, or when the
    // account's next challenge is issued
    assert_eq!(state.challenge_count(), 1);
    let old = state
        .issue_tx_challenge(&tx(1, P), NOW + 10, &mut r)
        .expect("issue");
    assert_eq!(
        state.challenge_count(),
        1,
        "the used challenge was pruned on issue"
    );
    assert_eq!(
        state.verify_tx(&s, &c.id(), &t, &code, NOW + 11),
        Err(StepUpError::UnknownChallenge)
    );
    // `old` expires, `fresh` stays open
    let fresh = state
        .issue_tx_challenge(&tx(2, P), NOW + 200_000, &mut r)
        .expect("issue");
    assert_eq!(state.challenge_count(), 2);
    assert_eq!(state.expire(NOW + 10 + TX_CHALLENGE_TTL_MS - 1), 0);
    assert_eq!(state.expire(NOW + 10 + TX_CHALLENGE_TTL_MS), 1);
    assert_eq!(state.challenge_count(), 1);
    assert!(state.challenge(&fresh.id()).is_some());
    assert_eq!(
        state.verify_tx(&s, &old.id(), &tx(1, P), "00000000", NOW + 400_000),
        Err(StepUpError::UnknownChallenge)
    );
    let fresh_code = device_response(key.expose(), &tx(2, P), &fresh.nonce).expect("code");
    assert_eq!(
        state.verify_tx(&s, &fresh.id(), &tx(2, P), &fresh_code, NOW + 400_000),
        Ok(())
    );

    assert!(state.remove_ocra("alice"));
    assert_eq!(state.challenge_count(), 0);
}

#[test]
fn state_caps_open_challenges_per_account() {
    let s = sealer();
    let mut r = rng(13);
    let mut state = StepUpState::new();
    state.enroll_ocra(&s, "alice", NOW, &mut r).expect("enroll");
    for i in 0..MAX_OPEN_CHALLENGES_PER_ACCOUNT {
        state
            .issue_tx_challenge(&tx(i as i64, P), NOW, &mut r)
            .expect("issue");
    }
    assert_eq!(
        state.issue_tx_challenge(&tx(99, P), NOW, &mut r),
        Err(StepUpError::TooManyOpenChallenges)
    );
    // once they expire, issuing prunes them and works again
    assert!(state
        .issue_tx_challenge(&tx(99, P), NOW + TX_CHALLENGE_TTL_MS, &mut r)
        .is_ok());
    assert_eq!(state.challenge_count(), 1);
}

/// The same inputs and RNG seed give byte-identical state, and a serialized state restored
/// mid-flow decides the same.
#[test]
fn state_is_deterministic_and_survives_serde() {
    fn scenario(seed: u64) -> (String, StepUpState, Vec<u8>, TxChallenge) {
        let s = sealer();
        let mut r = rng(seed);
        let mut state = StepUpState::new();
        state
            .enroll_totp(&s, "alice", "Sekimori", NOW, &mut r)
            .expect("enroll");
        let key = state.enroll_ocra(&s, "alice", NOW, &mut r).expect("enroll");
        let c = state
            .issue_tx_challenge(&tx(5, P), NOW, &mut r)
            .expect("issue");
        let _ = state.verify_tx(&s, &c.id(), &tx(6, P), "12345678", NOW + 1);
        (
            serde_json::to_string(&state).expect("ser"),
            state,
            key.expose().to_vec(),
            c,
        )
    }
    let (a, _, _, _) = scenario(99);
    let (b, state_b, key, c) = scenario(99);
    let (other, _, _, _) = scenario(100);
    assert_eq!(a, b);
    assert_ne!(a, other);

    let mut restored: StepUpState = serde_json::from_str(&b).expect("de");
    assert_eq!(restored, state_b);
    assert_eq!(restored.challenge(&c.id()).map(|c| c.failures), Some(1));
    let code = device_response(&key, &tx(5, P), &c.nonce).expect("code");
    assert_eq!(
        restored.verify_tx(&sealer(), &c.id(), &tx(5, P), &code, NOW + 2),
        Ok(())
    );
}

#[test]
fn totp_guessing_is_throttled_after_five_failures() {
    use sekimori_stepup::{TotpEnrollment, TotpError, TotpParams, TOTP_LOCK_MS};
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
    let sealer = sekimori_stepup::Sealer::new(&[9u8; 32]);
    let now = 1_700_000_000_000i64;
    let (mut e, uri) = TotpEnrollment::create(
        &sealer,
        "totp/acct",
        "sekimori",
        "acct",
        TotpParams::default(),
        now,
        &mut rng,
    )
    .expect("enroll");
    let seed = seed_of(&uri);
    let code_at = |ms: i64| {
        sekimori_stepup::otp::totp(
            sekimori_stepup::otp::Algorithm::Sha1,
            &seed,
            (ms / 1000) as u64,
            30,
            6,
        )
        .expect("code")
    };
    for i in 0..5 {
        let wrong = if code_at(now) == "000000" {
            "111111"
        } else {
            "000000"
        };
        assert_eq!(
            e.verify(&sealer, "totp/acct", wrong, now + i),
            Err(TotpError::WrongCode)
        );
    }
    let later = now + 60_000;
    assert_eq!(
        e.verify(&sealer, "totp/acct", &code_at(later), later),
        Err(TotpError::Throttled),
        "the right code is refused while throttled"
    );
    let after = later + TOTP_LOCK_MS;
    assert!(e
        .verify(&sealer, "totp/acct", &code_at(after), after)
        .is_ok());
}
