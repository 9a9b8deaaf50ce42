//! End-to-end delivery over real HTTP to an axum receiver on 127.0.0.1.

mod common;

use common::{
    config, dead, notice, notice_id, now_unix, refused_url, wait_until, Receiver, MS, SECRET,
};
use sekimori_notify::{
    signature_header, verify, Notice, Notifier, NotifyConfig, NotifyError, VerifyError, QUEUE_FULL,
};
use std::time::{Duration, Instant};

#[test]
fn delivers_once_with_a_verifiable_signature() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rx = Receiver::ok();
    let cfg = config(&rx.url, dir.path());
    let dl = cfg.dead_letter.clone();
    let notifier = Notifier::start(cfg).expect("start");
    let sent = notice("evt_1:charge");
    notifier.send(sent.clone()).expect("send");
    let stats = notifier.stats();
    wait_until("delivery", || stats.snapshot().delivered == 1);
    notifier.shutdown(Duration::from_secs(1)).expect("shutdown");

    let hits = rx.hits();
    assert_eq!(hits.len(), 1, "delivered exactly once");
    let hit = &hits[0];
    let header = |name: &str| {
        hit.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("header {name} missing"))
            .to_owned()
    };
    assert_eq!(header("content-type"), "application/json");
    assert_eq!(hit.headers.get_all("content-type").iter().count(), 1);
    assert_eq!(header("sekimori-notice-id"), "evt_1:charge");
    let signature = header("sekimori-signature");
    assert!(signature.starts_with("t=") && signature.contains(",v1="));
    assert_eq!(
        verify(SECRET, &signature, &hit.body, now_unix(), 300),
        Ok(())
    );
    let got: Notice = serde_json::from_slice(&hit.body).expect("body is a notice");
    assert_eq!(got, sent);

    let s = stats.snapshot();
    assert_eq!((s.queued, s.delivered, s.retried), (1, 1, 0));
    assert_eq!((s.dead_lettered, s.pending, s.lost), (0, 0, 0));
    assert!(dead(&dl).is_empty());
}

#[test]
fn retries_5xx_with_backoff_then_delivers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rx = Receiver::start(|_, nth| if nth <= 2 { 500 } else { 200 });
    let cfg = config(&rx.url, dir.path());
    let first = cfg.first_backoff;
    let dl = cfg.dead_letter.clone();
    let notifier = Notifier::start(cfg).expect("start");
    notifier.send(notice("evt_2:charge")).expect("send");
    let stats = notifier.stats();
    wait_until("delivery", || stats.snapshot().delivered == 1);
    notifier.shutdown(Duration::from_secs(1)).expect("shutdown");

    let hits = rx.hits();
    assert_eq!(hits.len(), 3, "delivered on the third attempt");
    let waits: Vec<Duration> = hits.windows(2).map(|w| w[1].at - w[0].at).collect();
    assert!(waits[0] >= first, "first wait {:?}", waits[0]);
    assert!(waits[1] >= 2 * first, "second wait {:?}", waits[1]);
    let s = stats.snapshot();
    assert_eq!((s.delivered, s.retried, s.dead_lettered), (1, 2, 0));
    assert!(dead(&dl).is_empty());
}

#[test]
fn retries_408_and_429() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rx = Receiver::start(|_, nth| [408, 429, 200][nth.min(3) - 1]);
    let notifier = Notifier::start(config(&rx.url, dir.path())).expect("start");
    notifier.send(notice("evt_3:charge")).expect("send");
    let stats = notifier.stats();
    wait_until("delivery", || stats.snapshot().delivered == 1);
    notifier.shutdown(Duration::from_secs(1)).expect("shutdown");
    assert_eq!(rx.hits().len(), 3);
    assert_eq!(stats.snapshot().retried, 2);
}

#[test]
fn dead_letters_after_max_attempts_when_the_receiver_is_down() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = config(&refused_url(), dir.path());
    let dl = cfg.dead_letter.clone();
    let notifier = Notifier::start(cfg).expect("start");
    let sent = notice("evt_4:charge");
    notifier.send(sent.clone()).expect("send");
    let stats = notifier.stats();
    wait_until("dead letter", || stats.snapshot().dead_lettered == 1);
    notifier.shutdown(Duration::from_secs(1)).expect("shutdown");

    let letters = dead(&dl);
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].notice, sent);
    assert_eq!(letters[0].attempts, 3);
    assert!(
        letters[0].last_error.starts_with("connection error"),
        "{}",
        letters[0].last_error
    );
    assert!(time::OffsetDateTime::parse(
        &letters[0].failed_at,
        &time::format_description::well_known::Rfc3339
    )
    .is_ok());
    let s = stats.snapshot();
    assert_eq!((s.retried, s.delivered, s.pending), (2, 0, 0));
}

#[test]
fn permanent_400_is_dead_lettered_after_one_attempt() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rx = Receiver::start(|_, _| 400);
    let cfg = config(&rx.url, dir.path());
    let dl = cfg.dead_letter.clone();
    let notifier = Notifier::start(cfg).expect("start");
    notifier.send(notice("evt_5:charge")).expect("send");
    let stats = notifier.stats();
    wait_until("dead letter", || stats.snapshot().dead_lettered == 1);
    notifier.shutdown(Duration::from_secs(1)).expect("shutdown");

    assert_eq!(rx.hits().len(), 1);
    let letters = dead(&dl);
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].attempts, 1);
    assert_eq!(letters[0].last_error, "HTTP 400");
    assert_eq!(stats.snapshot().retried, 0);
}

#[test]
fn a_full_queue_dead_letters_with_queue_full() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rx = Receiver::ok();
    rx.hold();
    let mut cfg = config(&rx.url, dir.path());
    cfg.queue_capacity = 1;
    let dl = cfg.dead_letter.clone();
    let notifier = Notifier::start(cfg).expect("start");

    // The worker takes A and waits on the held receiver; B fills the queue.
    notifier.send(notice("a")).expect("send a");
    wait_until("a at the receiver", || rx.hits().len() == 1);
    notifier.send(notice("b")).expect("send b");
    let c = notice("c");
    assert!(matches!(
        notifier.send(c.clone()),
        Err(NotifyError::QueueFull)
    ));
    let letters = dead(&dl);
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].notice, c);
    assert_eq!(letters[0].attempts, 0);
    assert_eq!(letters[0].last_error, QUEUE_FULL);

    rx.release();
    let stats = notifier.stats();
    wait_until("a and b delivered", || stats.snapshot().delivered == 2);
    notifier.shutdown(Duration::from_secs(1)).expect("shutdown");
    let ids: Vec<String> = rx.hits().iter().map(|h| notice_id(h).to_owned()).collect();
    assert_eq!(ids, ["a", "b"]);
    let s = stats.snapshot();
    assert_eq!(
        (s.queued, s.delivered, s.dead_lettered, s.pending),
        (2, 2, 1, 0)
    );
}

#[test]
fn redrive_resends_dead_letters_and_empties_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    // First the receiver is down: both notices are dead-lettered.
    let mut cfg = config(&refused_url(), dir.path());
    cfg.max_attempts = 1;
    let dl = cfg.dead_letter.clone();
    let down = Notifier::start(cfg).expect("start");
    down.send(notice("r1")).expect("send");
    down.send(notice("r2")).expect("send");
    let stats = down.stats();
    wait_until("dead letters", || stats.snapshot().dead_lettered == 2);
    down.shutdown(Duration::from_secs(1)).expect("shutdown");
    assert_eq!(dead(&dl).len(), 2);

    // Then it is up; redrive the same file through a notifier that uses it.
    let rx = Receiver::ok();
    let up = Notifier::start(config(&rx.url, dir.path())).expect("start");
    assert_eq!(up.redrive(&dl).expect("redrive"), 2);
    assert!(dead(&dl).is_empty());
    assert_eq!(std::fs::metadata(&dl).expect("file").len(), 0);
    let stats = up.stats();
    wait_until("redriven delivery", || stats.snapshot().delivered == 2);
    up.shutdown(Duration::from_secs(1)).expect("shutdown");
    let mut ids: Vec<String> = rx.hits().iter().map(|h| notice_id(h).to_owned()).collect();
    ids.sort();
    assert_eq!(ids, ["r1", "r2"]);
    let hit = &rx.hits()[0];
    let sig = hit.headers["sekimori-signature"].to_str().expect("ascii");
    assert_eq!(verify(SECRET, sig, &hit.body, now_unix(), 300), Ok(()));
    // Redriving an empty or missing file is a no-op.
    let again = Notifier::start(config(&rx.url, dir.path())).expect("start");
    assert_eq!(again.redrive(&dl).expect("redrive"), 0);
    assert_eq!(
        again
            .redrive(dir.path().join("none.jsonl"))
            .expect("redrive"),
        0
    );
    again.shutdown(Duration::ZERO).expect("shutdown");
}

#[test]
fn verify_rejects_tampering_wrong_secret_stale_and_malformed() {
    let body = serde_json::to_vec(&notice("v1")).expect("json");
    let t = 1_717_200_000;
    let header = signature_header(SECRET, t, &body).expect("sign");
    assert_eq!(verify(SECRET, &header, &body, t + 10, 300), Ok(()));

    let mut tampered = body.clone();
    tampered[10] ^= 1;
    assert_eq!(
        verify(SECRET, &header, &tampered, t, 300),
        Err(VerifyError::BadSignature)
    );
    assert_eq!(
        verify(b"another secret", &header, &body, t, 300),
        Err(VerifyError::BadSignature)
    );
    // Replaying the signature with a new timestamp does not verify either.
    let moved = header.replacen(&t.to_string(), &(t + 1000).to_string(), 1);
    assert_eq!(
        verify(SECRET, &moved, &body, t + 1000, 300),
        Err(VerifyError::BadSignature)
    );
    assert!(matches!(
        verify(SECRET, &header, &body, t + 301, 300),
        Err(VerifyError::Stale { age_s: 301, .. })
    ));
    assert!(matches!(
        verify(SECRET, &header, &body, t - 301, 300),
        Err(VerifyError::Stale { age_s: -301, .. })
    ));
    for bad in ["", "v1=abc", "t=1717200000", "t=abc,v1=00", "nonsense"] {
        assert!(
            matches!(
                verify(SECRET, bad, &body, t, 300),
                Err(VerifyError::Malformed(_))
            ),
            "{bad:?}"
        );
    }
}

#[test]
fn a_retrying_notice_does_not_hold_up_new_ones() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rx = Receiver::start(|id, _| if id == "stuck" { 503 } else { 200 });
    let mut cfg = config(&rx.url, dir.path());
    cfg.first_backoff = 300 * MS;
    cfg.max_backoff = Duration::from_secs(1);
    cfg.max_attempts = 2;
    let notifier = Notifier::start(cfg).expect("start");
    notifier.send(notice("stuck")).expect("send");
    wait_until("first attempt", || rx.hits().len() == 1);
    notifier.send(notice("fresh")).expect("send");
    let stats = notifier.stats();
    wait_until("both settled", || {
        let s = stats.snapshot();
        s.delivered == 1 && s.dead_lettered == 1
    });
    notifier.shutdown(Duration::from_secs(1)).expect("shutdown");
    let stuck = rx.hits_for("stuck");
    let fresh = rx.hits_for("fresh");
    assert_eq!((stuck.len(), fresh.len()), (2, 1));
    assert!(
        fresh[0].at < stuck[1].at,
        "the new notice waited for the retry"
    );
}

#[test]
fn shutdown_tries_pending_once_more_then_dead_letters() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cfg = config(&refused_url(), dir.path());
    cfg.first_backoff = Duration::from_secs(60);
    cfg.max_backoff = Duration::from_secs(60);
    cfg.max_attempts = 5;
    let dl = cfg.dead_letter.clone();
    let notifier = Notifier::start(cfg).expect("start");
    notifier.send(notice("s1")).expect("send");
    let stats = notifier.stats();
    wait_until("a retry scheduled", || stats.snapshot().retried == 1);
    let started = Instant::now();
    notifier.shutdown(Duration::from_secs(2)).expect("shutdown");
    assert!(started.elapsed() < Duration::from_secs(2));
    let letters = dead(&dl);
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].attempts, 2, "one more attempt at shutdown");
    assert!(letters[0].last_error.starts_with("connection error"));
    assert_eq!(stats.snapshot().pending, 0);
}

#[test]
fn start_and_send_refuse_bad_input() {
    let dir = tempfile::tempdir().expect("tempdir");
    let refused = |cfg: NotifyConfig| matches!(Notifier::start(cfg), Err(NotifyError::Config(_)));
    let good = config("http://127.0.0.1:9/hook", dir.path());
    assert!(refused(NotifyConfig {
        url: "https://example.test/hook".into(),
        ..good.clone()
    }));
    assert!(refused(NotifyConfig {
        url: "ftp://x".into(),
        ..good.clone()
    }));
    assert!(refused(NotifyConfig {
        secret: Vec::new(),
        ..good.clone()
    }));
    assert!(refused(NotifyConfig {
        queue_capacity: 0,
        ..good.clone()
    }));
    assert!(refused(NotifyConfig {
        max_attempts: 0,
        ..good.clone()
    }));
    assert!(
        !format!("{good:?}").contains("whsec"),
        "Debug leaks the secret"
    );
    let with_token = NotifyConfig {
        url: "http://user:Hunter2Pass@relay.test:8080/hook?token=Tok3nValue".into(),
        ..good.clone()
    };
    let shown = format!("{with_token:?}");
    assert!(
        shown.contains("http://<redacted>@relay.test:8080/hook"),
        "{shown}"
    );
    // Distinctive credentials: a short one such as "pw" can occur in the tempdir's random name.
    assert!(
        !shown.contains("Hunter2Pass") && !shown.contains("Tok3nValue"),
        "{shown}"
    );

    let notifier = Notifier::start(good).expect("start");
    let mut bad_id = notice("has space");
    assert!(matches!(
        notifier.send(bad_id.clone()),
        Err(NotifyError::InvalidNotice(_))
    ));
    bad_id.id = "ok".into();
    bad_id.at = "yesterday".into();
    assert!(matches!(
        notifier.send(bad_id),
        Err(NotifyError::InvalidNotice(_))
    ));
    notifier.shutdown(Duration::ZERO).expect("shutdown");
}
