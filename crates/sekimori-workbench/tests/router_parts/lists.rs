//! Part 4's list items from a case: added with an expiry, expired by the
//! sweep, and never the operator's own entry.

use super::*;
use harness::log_entries;
use sekimori_engine::Entry;

#[tokio::test]
async fn a_list_item_added_from_a_case_expires() {
    let b = Bench::new();
    let id = transfer_case(&b).await;
    let uri = b.analyst("sup1", Role::Supervisor);
    let sup = b.api_sign_in("sup1", &uri).await;
    let add = format!("/v1/cases/{id}/lists");
    let item = json!({"list": "blocked_ips", "item": "198.51.100.99",
                      "expires_in_hours": 2, "reason": "the mule's proxy"});
    let (status, body) = b.api("POST", &add, &sup, Some(item)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let listed = |b: &Bench| {
        let g = b.host.engine.lock().expect("lock");
        g.0.list("blocked_ips")
            .expect("declared")
            .contains("198.51.100.99")
    };
    assert!(listed(&b));
    let (status, body) = b
        .api(
            "POST",
            &add,
            &sup,
            Some(
                json!({"list": "no_such_list", "item": "x", "expires_in_hours": 2, "reason": "r"}),
            ),
        )
        .await;
    assert_eq!(
        (status, body["error"]["path"].as_str()),
        (StatusCode::BAD_REQUEST, Some("list")),
        "{body}"
    );
    // A list that configures the pack (here, which services share customers)
    // is never the workbench's: one supervisor would join tenants.
    let (status, body) = b
        .api(
            "POST",
            &add,
            &sup,
            Some(json!({"list": "linked_services", "item": "evil-tenant",
                        "expires_in_hours": 2, "reason": "r"})),
        )
        .await;
    assert_eq!(
        (status, body["error"]["path"].as_str()),
        (StatusCode::BAD_REQUEST, Some("list")),
        "{body}"
    );
    assert!(!b
        .host
        .engine
        .lock()
        .expect("lock")
        .0
        .list("linked_services")
        .expect("declared")
        .contains("evil-tenant"));
    let (status, body) = b
        .api(
            "POST",
            &add,
            &sup,
            Some(json!({"list": "blocked_ips", "item": "x", "expires_in_hours": 0, "reason": "r"})),
        )
        .await;
    assert_eq!(
        (status, body["error"]["path"].as_str()),
        (StatusCode::BAD_REQUEST, Some("expires_in_hours"))
    );
    assert_eq!(b.wb.expire_list_items().await.expect("sweep"), 0, "not yet");
    b.advance(2 * 3_600_000 + 1);
    assert_eq!(b.wb.expire_list_items().await.expect("sweep"), 1);
    assert!(!listed(&b), "taken off at its expiry");
    let expired = log_entries(&b).into_iter().any(|(_, e)| {
        matches!(&e, Entry::List { by, items, .. } if by == "workbench:expiry" && items.is_empty())
    });
    assert!(expired, "the removal is a list entry through the ledger");
}

/// The attacker's review (second round, finding 3): an address the
/// operator blocked, added again from a case for an hour, stayed blocked
/// for an hour only: the expiry took the operator's entry off.
#[tokio::test]
async fn an_expiry_never_lifts_the_operators_own_entry() {
    use sekimori_workbench::Host;
    let b = Bench::new();
    let id = transfer_case(&b).await;
    b.host
        .edit_list(
            "blocked_ips".into(),
            vec!["203.0.113.9".into()],
            Vec::new(),
            "key:ops".into(),
        )
        .await
        .expect("the operator's PUT");
    let uri = b.analyst("sup1", Role::Supervisor);
    let sup = b.api_sign_in("sup1", &uri).await;
    let add = format!("/v1/cases/{id}/lists");
    for item in ["203.0.113.9", "203.0.113.10"] {
        let body = json!({"list": "blocked_ips", "item": item,
                          "expires_in_hours": 1, "reason": "the scanner"});
        let (status, body) = b.api("POST", &add, &sup, Some(body)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    b.advance(3_600_000 + 1);
    assert_eq!(
        b.wb.expire_list_items().await.expect("sweep"),
        1,
        "only the workbench's own"
    );
    let g = b.host.engine.lock().expect("lock");
    let list = g.0.list("blocked_ips").expect("declared");
    assert!(list.contains("203.0.113.9"), "the operator's entry stays");
    assert!(
        !list.contains("203.0.113.10"),
        "the workbench's own expires"
    );
}
