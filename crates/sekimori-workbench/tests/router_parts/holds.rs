//! Part 4's holds from a case: placed by an analyst, lifted by two
//! supervisors (four eyes), and a lift asked for ends when the hold is
//! replaced; through the API and the pages.

use super::*;
use harness::log_entries;
use sekimori_engine::{Entry, HoldKey};

fn engine_holds(b: &Bench) -> Vec<HoldKey> {
    let g = b.host.engine.lock().expect("lock");
    g.0.holds().list().map(|(k, _)| k.clone()).collect()
}

#[tokio::test]
async fn holds_are_placed_from_a_case_and_lifted_by_two_supervisors() {
    let b = Bench::new();
    let id = transfer_case(&b).await;
    let analyst = b.analyst("aiko", Role::Analyst);
    let aiko = b.api_sign_in("aiko", &analyst).await;
    let place = format!("/v1/cases/{id}/holds");
    // A halt stops a whole scope: supervisors only.
    let (status, _) = b
        .api(
            "POST",
            &place,
            &aiko,
            Some(json!({"scope": "bank", "key": "0009", "reason": "mule bank"})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = b
        .api(
            "POST",
            &place,
            &aiko,
            Some(json!({"scope": "account", "key": "acct-900", "reason": "takeover suspected"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["action"], "freeze");
    let frozen = HoldKey::account("netbank", "acct-900");
    assert!(engine_holds(&b).contains(&frozen), "the engine holds it");
    let (status, _) = b
        .api(
            "POST",
            &place,
            &aiko,
            Some(json!({"scope": "account", "key": "acct-900", "reason": "again"})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "one hold per key");
    // Logged through the ledger as the service API does, with who and why.
    let placed = log_entries(&b).into_iter().any(|(_, e)| {
        matches!(e, Entry::Place { by, reason, .. } if by == "analyst:aiko" && reason == "takeover suspected")
    });
    assert!(placed, "Entry::Place by the analyst");

    let lift = format!("/v1/cases/{id}/holds/lift");
    let body = json!({"scope": "account", "key": "acct-900", "reason": "holder verified"});
    let (status, _) = b.api("POST", &lift, &aiko, Some(body.clone())).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "analysts do not lift");
    let one = b.analyst("sup1", Role::Supervisor);
    let sup1 = b.api_sign_in("sup1", &one).await;
    let (status, got) = b.api("POST", &lift, &sup1, Some(body.clone())).await;
    assert_eq!(
        (status, got["outcome"].as_str()),
        (StatusCode::OK, Some("requested"))
    );
    assert!(
        engine_holds(&b).contains(&frozen),
        "one supervisor lifts nothing"
    );
    let (status, _) = b.api("POST", &lift, &sup1, Some(body.clone())).await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "not the same supervisor twice"
    );
    let (_, holds) = b.api("GET", &place, &sup1, None).await;
    assert_eq!(holds["holds"][0]["lift_requested_by"], "sup1");
    let two = b.analyst("sup2", Role::Supervisor);
    let sup2 = b.api_sign_in("sup2", &two).await;
    let (status, got) = b.api("POST", &lift, &sup2, Some(body)).await;
    assert_eq!(
        (status, got["outcome"].as_str()),
        (StatusCode::OK, Some("lifted"))
    );
    assert!(!engine_holds(&b).contains(&frozen));
    let lifted = log_entries(&b)
        .into_iter()
        .any(|(_, e)| matches!(e, Entry::Lift { by, .. } if by == "analyst:sup2"));
    assert!(lifted);
    let history: Vec<String> =
        b.wb.index()
            .case(id)
            .expect("case")
            .history
            .iter()
            .map(|h| h.what.clone())
            .collect();
    assert!(
        history
            .iter()
            .any(|h| h.starts_with("place freeze on account acct-900")),
        "{history:?}"
    );
    assert!(
        history.iter().any(|h| h.contains("asked by sup1")),
        "{history:?}"
    );

    // The page: the section, labelled controls, and a place form that works.
    let (cookie, csrf) = b.sign_in("aiko", &analyst).await;
    let (_, _, page) = b.get(&format!("/ui/cases/{id}"), &cookie).await;
    assert!(page.contains(r#"id="holds""#) && page.contains(r#"for="hold-reason""#));
    let (status, _, body) = b
        .post_form(
            &format!("/ui/cases/{id}/hold"),
            &cookie,
            &[
                ("csrf", &csrf),
                ("scope", "account"),
                ("key", "acct-900"),
                ("reason", "again, by page"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert!(engine_holds(&b).contains(&frozen));
}

#[tokio::test]
async fn a_lift_asked_for_ends_when_the_hold_is_replaced() {
    use sekimori_workbench::Host;
    let b = Bench::new();
    let id = transfer_case(&b).await;
    let frozen = HoldKey::account("netbank", "acct-900");
    let place = |by: &str| {
        b.host.place_hold(
            frozen.clone(),
            sekimori_rules::Action::Freeze,
            by.into(),
            "operator".into(),
        )
    };
    assert!(place("key:ops").await.expect("placed"));
    let one = b.analyst("sup1", Role::Supervisor);
    let sup1 = b.api_sign_in("sup1", &one).await;
    let lift = format!("/v1/cases/{id}/holds/lift");
    let body = json!({"scope": "account", "key": "acct-900", "reason": "verified"});
    let (_, got) = b.api("POST", &lift, &sup1, Some(body.clone())).await;
    assert_eq!(got["outcome"], "requested");
    // The operator lifts it and places a new one through the service API.
    let lifted = b
        .host
        .lift_hold(frozen.clone(), "key:ops".into(), "x".into())
        .await;
    assert!(lifted.expect("lifted"));
    assert!(place("key:ops").await.expect("placed again"));
    let two = b.analyst("sup2", Role::Supervisor);
    let sup2 = b.api_sign_in("sup2", &two).await;
    let (_, got) = b.api("POST", &lift, &sup2, Some(body)).await;
    assert_eq!(
        got["outcome"], "requested",
        "the old request does not lift the new hold"
    );
    assert!(engine_holds(&b).contains(&frozen));
    // Another account's freeze is not this case's business.
    let other = HoldKey::account("netbank", "acct-555");
    let placed = b
        .host
        .place_hold(
            other,
            sekimori_rules::Action::Freeze,
            "key:ops".into(),
            "elsewhere".into(),
        )
        .await;
    assert!(placed.expect("placed"));
    let (_, holds) = b
        .api("GET", &format!("/v1/cases/{id}/holds"), &sup2, None)
        .await;
    let keys: Vec<&str> = holds["holds"]
        .as_array()
        .expect("holds")
        .iter()
        .filter_map(|h| h["hold"]["key"].as_str())
        .collect();
    assert_eq!(keys, ["acct-900"], "{holds}");
}
