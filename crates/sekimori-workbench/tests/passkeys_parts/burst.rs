//! A burst of concurrent passkey sign-in finishes (attacker's review
//! finding 6): they share the password path's in-flight bound (at most
//! `MAX_SIGN_INS_IN_FLIGHT` checks at once, 429 past `SIGN_IN_WAIT_MS` of
//! waiting, unchecked and unlogged), and the back-off is asked again when
//! a check's turn comes, so a burst cannot all pass the first check.

use super::*;
use axum::body::Body;
use axum::http::{header, Request};
use harness::log_entries;
use sekimori_engine::Entry;
use sekimori_workbench::throttle::PAIR_FREE_FAILURES;
use sekimori_workbench::MAX_SIGN_INS_IN_FLIGHT;
use tower::ServiceExt;

/// `n` ceremonies started from `from` for `login`, each answered by `dev`
/// at a look-alike origin (every one fails its check).
async fn doomed(b: &Bench, from: &str, login: &str, dev: &mut SoftPasskey, n: usize) -> Vec<Value> {
    let mut out = Vec::new();
    for _ in 0..n {
        let (status, started) = b
            .api_from(
                Some(from),
                "POST",
                "/v1/workbench/passkeys/sign-in/start",
                "",
                Some(json!({"login": login})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{started}");
        let options = serde_json::from_value(started["options"].clone()).expect("options");
        let credential = sign(dev, options, "http://localhost:7879");
        out.push(json!({"ceremony": started["ceremony"], "credential": credential}));
    }
    out
}

/// Sends every finish at once from `from`; returns the tasks.
fn burst(b: &Bench, from: &str, bodies: Vec<Value>) -> Vec<tokio::task::JoinHandle<StatusCode>> {
    bodies
        .into_iter()
        .map(|body| {
            let router = b.router.clone();
            let addr = std::net::SocketAddr::new(from.parse().expect("ip"), 40_000);
            tokio::spawn(async move {
                let req = Request::builder()
                    .method("POST")
                    .uri("/v1/workbench/passkeys/sign-in/finish")
                    .extension(axum::extract::ConnectInfo(addr))
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(Body::from(body.to_string()))
                    .expect("request");
                router.oneshot(req).await.expect("answers").status()
            })
        })
        .collect()
}

async fn statuses(tasks: Vec<tokio::task::JoinHandle<StatusCode>>) -> Vec<StatusCode> {
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.expect("task"));
    }
    out
}

fn failures_logged(b: &Bench) -> usize {
    log_entries(b)
        .into_iter()
        .filter(|(_, e)| matches!(e, Entry::Analyst { act, .. } if act["type"] == "sign_in_failed"))
        .count()
}

fn count(s: &[StatusCode], want: StatusCode) -> usize {
    s.iter().filter(|x| **x == want).count()
}

#[tokio::test]
async fn finishes_past_the_in_flight_bound_are_429_unchecked() {
    let b = Bench::new();
    let mut dev = SoftPasskey::new(true);
    with_passkey(&b, "aiko", Role::Analyst, &mut dev).await;
    let n = 12;
    let bodies = doomed(&b, "198.51.100.20", "aiko", &mut dev, n).await;
    // Someone (here: the test) holds analysts.json's lock, so the checks
    // in flight cannot end: the rest wait for a turn, and give up.
    let lock = std::fs::OpenOptions::new()
        .write(true)
        .open(
            b.dir
                .path()
                .join(sekimori_workbench::analysts::ANALYSTS_LOCK_FILE),
        )
        .expect("lock file");
    lock.lock().expect("locked");
    let tasks = burst(&b, "198.51.100.20", bodies);
    tokio::time::sleep(std::time::Duration::from_millis(
        sekimori_workbench::SIGN_IN_WAIT_MS + 1_000,
    ))
    .await;
    lock.unlock().expect("unlocked");
    let got = statuses(tasks).await;
    assert_eq!(
        count(&got, StatusCode::UNAUTHORIZED),
        MAX_SIGN_INS_IN_FLIGHT,
        "{got:?}"
    );
    assert_eq!(
        count(&got, StatusCode::TOO_MANY_REQUESTS),
        n - MAX_SIGN_INS_IN_FLIGHT,
        "{got:?}"
    );
    assert_eq!(failures_logged(&b), MAX_SIGN_INS_IN_FLIGHT);
}

#[tokio::test]
async fn a_burst_of_failures_stops_at_the_back_off() {
    let b = Bench::new();
    let mut dev = SoftPasskey::new(true);
    with_passkey(&b, "aiko", Role::Analyst, &mut dev).await;
    let n = 14;
    let bodies = doomed(&b, "198.51.100.30", "aiko", &mut dev, n).await;
    let got = statuses(burst(&b, "198.51.100.30", bodies)).await;
    // Every finish passed the first check before any failed; the check
    // asked again at each one's turn stops the burst within one round of
    // the bound past the free failures.
    let failed = count(&got, StatusCode::UNAUTHORIZED);
    let bound = PAIR_FREE_FAILURES as usize + MAX_SIGN_INS_IN_FLIGHT;
    assert!(failed >= PAIR_FREE_FAILURES as usize, "{got:?}");
    assert!(failed < bound, "{failed} checked of {n}: {got:?}");
    assert_eq!(
        count(&got, StatusCode::TOO_MANY_REQUESTS),
        n - failed,
        "{got:?}"
    );
    assert_eq!(failures_logged(&b), failed);
    // The analyst's own address is not held back.
    let (ceremony, options, _) = start(&b, Some("aiko")).await;
    let credential = sign(&mut dev, options, RP_ORIGIN);
    assert_eq!(finish(&b, &ceremony, &credential).await.0, StatusCode::OK);
}

#[tokio::test]
async fn an_unknown_passkey_is_refused_without_the_file_lock() {
    // A passkey registered with another workbench (same relying party):
    // a well-formed assertion whose credential id nobody here holds.
    let elsewhere = Bench::new();
    let mut dev = SoftPasskey::new(true);
    with_passkey(&elsewhere, "aiko", Role::Analyst, &mut dev).await;
    let b = Bench::new();
    let mut own = SoftPasskey::new(true);
    with_passkey(&b, "aiko", Role::Analyst, &mut own).await;
    let (_, _, there) = start(&elsewhere, Some("aiko")).await;
    let (ceremony, _, raw) = start(&b, None).await;
    let mut picked = raw.clone();
    picked["publicKey"]["allowCredentials"] = there["publicKey"]["allowCredentials"].clone();
    let credential = sign(
        &mut dev,
        serde_json::from_value(picked).expect("options"),
        RP_ORIGIN,
    );
    // analysts.json's lock held (an admin change, `sekimori users`): the
    // made-up assertion is refused without waiting for it.
    let lock = std::fs::OpenOptions::new()
        .write(true)
        .open(
            b.dir
                .path()
                .join(sekimori_workbench::analysts::ANALYSTS_LOCK_FILE),
        )
        .expect("lock file");
    lock.lock().expect("locked");
    let answer = tokio::time::timeout(
        std::time::Duration::from_millis(1_500),
        finish(&b, &ceremony, &credential),
    )
    .await;
    lock.unlock().expect("unlocked");
    let (status, body) = answer.expect("answered without the file lock");
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(failures_logged(&b), 1);
}
