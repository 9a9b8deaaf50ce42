//! Findings of the attacker's review on bounds: a full case index evicts
//! closed cases and never drops a held one, catching up a long log leaves
//! the async workers free, claims are bounded (one analyst cannot claim the
//! whole queue) and notes refuse control characters.

use super::*;
use sekimori_engine::Entry;
use std::sync::Arc;

/// A failed PIN on a new account: the tour's brute force goes on (deny).
async fn one_more_guess(b: &Bench, n: u32) -> String {
    b.event(json!({
        "id": format!("more-{n}"), "type": "login.attempt",
        "at": format!("2026-11-23T02:01:{:02}Z", n % 60), "service": "netbank",
        "actor": {"ip": format!("198.51.100.{}", 100 + n)}, "account": format!("acct-1{n:02}"),
        "factor": "pin", "result": "failure",
        "secret_fp": "k1:81dc9bdb52d04dc20036dbd8313ed055aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}))
        .await
}

#[tokio::test]
async fn a_full_case_index_evicts_closed_cases_and_never_drops_a_held_one() {
    let b = Bench::with_cap(3);
    b.brute_force().await;
    assert_eq!(one_more_guess(&b, 1).await, "deny");
    assert_eq!(one_more_guess(&b, 2).await, "deny");
    let full = b.wb.sync().await.expect("index").len();
    assert_eq!(full, 3, "the brute force's cases fill it");
    assert_eq!(one_more_guess(&b, 3).await, "deny");
    {
        let index = b.wb.sync().await.expect("index");
        assert_eq!(
            (index.len(), index.overflow),
            (3, 1),
            "a deny is refused, counted"
        );
    }
    let uri = b.analyst("aiko", Role::Analyst);
    let token = b.api_sign_in("aiko", &uri).await;
    let oldest = b.wb.index().cases().next().expect("case").id;
    let close = json!({"disposition": "false_positive", "note": "a typo storm"});
    let (status, body) = b
        .api(
            "POST",
            &format!("/v1/cases/{oldest}/close"),
            &token,
            Some(close),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let terms_before = b.wb.index().term_count();
    assert_eq!(held_transfer_of(&b, 900).await, "review");
    {
        let index = b.wb.sync().await.expect("index");
        assert_eq!(
            (index.len(), index.evicted),
            (3, 1),
            "the closed case made room"
        );
        assert!(index.case(oldest).is_none());
        assert!(index.search("tour-8", None, 10).is_empty());
        // Its terms (account, address) went; the new case's (account,
        // payee) came: event ids are found through the event map.
        assert_eq!(
            index.term_count(),
            terms_before,
            "the evicted case left the search index"
        );
    }
    // Nothing closed is left: a held payment still opens (the reserve).
    assert_eq!(held_transfer_of(&b, 901).await, "review");
    let index = b.wb.sync().await.expect("index");
    assert_eq!(index.len(), 4, "a held payment opens past the cap");
    assert!(index.case_of_event("netbank", "xfer-900").is_some());
    assert!(index.case_of_event("netbank", "xfer-901").is_some());
    assert_eq!(index.overflow, 1);
}

/// A password reset, then a transfer of 95% of the balance of `acct-{n}`.
async fn held_transfer_of(b: &Bench, n: u32) -> String {
    b.event(
        json!({"id": format!("reset-{n}"), "type": "credential.change", "service": "netbank",
        "account": format!("acct-{n}"), "credential": "password", "channel": "email_link",
        "at": "2026-11-23T03:00:00Z"}),
    )
    .await;
    b.event(json!({"id": format!("xfer-{n}"), "type": "transfer", "service": "netbank",
        "account": format!("acct-{n}"), "amount_minor": 950000, "currency": "JPY",
        "balance_before_minor": 1000000, "at": "2026-11-23T04:00:00Z",
        "destination": {"kind": "bank", "bank_code": "0009", "branch": "200", "number": "7100001"}}))
    .await
}

#[tokio::test]
async fn catching_up_a_long_log_leaves_the_async_workers_free() {
    let b = Bench::new();
    // Entries the index has not seen: labels straight into the log.
    // Written from another thread while this one (the runtime's only one)
    // blocks, so the workbench's background catch-up cannot read them first.
    let host = Arc::clone(&b.host);
    std::thread::spawn(move || {
        let pending: Vec<_> = (0..3_000)
            .map(|i| {
                host.submit(
                    None,
                    &Entry::Label {
                        service: "netbank".into(),
                        event_id: format!("e-{i}"),
                        label: "dispute".into(),
                        by: "key:x".into(),
                        at: "2026-12-05T09:00:00Z".into(),
                        note: String::new(),
                    },
                )
            })
            .collect();
        for p in pending {
            p.blocking_recv().expect("written").expect("durable");
        }
    })
    .join()
    .expect("writer");
    // A read that may not wait applies a bounded number on its own thread.
    let inline = b.wb.catch_up().expect("index").last_seq;
    assert!(inline < 3_000, "bounded inline catch-up: {inline}");
    let order = Arc::new(std::sync::Mutex::new(Vec::new()));
    let (w, o) = (Arc::clone(&b.wb), Arc::clone(&order));
    let sync = tokio::spawn(async move {
        let last = w.sync().await.expect("sync").last_seq;
        o.lock().expect("lock").push("sync");
        last
    });
    let o = Arc::clone(&order);
    let other = tokio::spawn(async move { o.lock().expect("lock").push("other") });
    other.await.expect("other");
    assert_eq!(sync.await.expect("sync"), 3_000);
    assert_eq!(
        *order.lock().expect("lock"),
        ["other", "sync"],
        "another task ran while the log was read (a one-thread runtime)"
    );
}

#[tokio::test]
async fn claims_are_bounded_and_notes_refuse_control_characters() {
    let b = Bench::new();
    b.brute_force().await;
    let uri = b.analyst("aiko", Role::Analyst);
    let token = b.api_sign_in("aiko", &uri).await;
    let ids: Vec<u64> =
        b.wb.sync()
            .await
            .expect("index")
            .cases()
            .map(|c| c.id)
            .collect();
    let (status, body) = b
        .api(
            "POST",
            &format!("/v1/cases/{}/notes", ids[0]),
            &token,
            Some(json!({"note": "looks fine\u{1b}[2J\u{202e}"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"]["path"], "note");
    let (status, _) = b
        .api(
            "POST",
            &format!("/v1/cases/{}/notes", ids[0]),
            &token,
            Some(json!({"note": "line one\r\nline two"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        b.wb.index().case(ids[0]).expect("case").notes[0].why,
        "line one\nline two"
    );
}

#[tokio::test]
async fn one_analyst_cannot_claim_the_whole_queue() {
    let b = Bench::new();
    b.brute_force().await;
    let limit = sekimori_workbench::actions::MAX_CLAIMS_PER_ANALYST;
    for n in 1..=limit as u32 {
        assert_eq!(one_more_guess(&b, n).await, "deny");
    }
    let ids: Vec<u64> =
        b.wb.sync()
            .await
            .expect("index")
            .cases()
            .map(|c| c.id)
            .collect();
    assert!(ids.len() > limit, "{} cases", ids.len());
    let uri = b.analyst("aiko", Role::Analyst);
    let token = b.api_sign_in("aiko", &uri).await;
    let claim = |id: u64| format!("/v1/cases/{id}/claim");
    for id in &ids[..limit] {
        let (status, body) = b.api("POST", &claim(*id), &token, None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let (status, _) = b.api("POST", &claim(ids[limit]), &token, None).await;
    assert_eq!(status, StatusCode::CONFLICT, "past the claim limit");
    // Renewing one's own claim is not a new one.
    let (status, _) = b.api("POST", &claim(ids[0]), &token, None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = b
        .api(
            "POST",
            &format!("/v1/cases/{}/release", ids[0]),
            &token,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = b.api("POST", &claim(ids[limit]), &token, None).await;
    assert_eq!(status, StatusCode::OK, "room again after a release");
}
