//! Passkeys in the audit trail: a registration and every removal (an
//! admin's, one or all; a reset's) are `Entry::Analyst` acts, so a passkey
//! someone else added to an account is visible in the log.

use super::*;
use harness::log_entries;
use sekimori_engine::Entry;

/// The logged passkey acts, in log order: (by, act).
fn passkey_acts(b: &Bench) -> Vec<(String, Value)> {
    log_entries(b)
        .into_iter()
        .filter_map(|(_, e)| match e {
            Entry::Analyst { by, act, .. }
                if act["type"] == "passkey_registered" || act["type"] == "passkeys_removed" =>
            {
                Some((by, act))
            }
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn registrations_and_removals_are_logged_acts() {
    let b = Bench::new();
    let mut laptop = SoftPasskey::new(true);
    let mut phone = SoftPasskey::new(true);
    let uri = b.analyst("aiko", Role::Supervisor);
    let bearer = b.api_sign_in("aiko", &uri).await;
    let first = register(&b, &bearer, &mut laptop, "laptop").await;
    let second = register(&b, &bearer, &mut phone, "phone").await;
    let admin_uri = b.analyst("root", Role::Admin);
    let admin = b.api_sign_in("root", &admin_uri).await;

    let acts = passkey_acts(&b);
    assert_eq!(acts.len(), 2, "{acts:?}");
    for ((by, act), (key, name)) in acts.iter().zip([(&first, "laptop"), (&second, "phone")]) {
        assert_eq!(by, "aiko");
        assert_eq!(act["type"], "passkey_registered");
        assert_eq!(act["login"], "aiko");
        assert_eq!(act["id"], key["id"]);
        assert_eq!(act["name"], name);
        // Never key material.
        assert!(act.get("passkey").is_none() && act.get("public_key").is_none());
    }

    // An admin removes one: its id, not all, reason admin.
    let (status, body) = b
        .api(
            "POST",
            "/v1/workbench/passkeys/remove",
            &admin,
            Some(json!({"login": "aiko", "id": first["id"]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let acts = passkey_acts(&b);
    assert_eq!(acts.len(), 3, "{acts:?}");
    let (by, act) = &acts[2];
    assert_eq!(by, "root");
    assert_eq!(act["type"], "passkeys_removed");
    assert_eq!(act["login"], "aiko");
    assert_eq!(act["ids"], json!([first["id"]]));
    assert_eq!(act["all"], false);
    assert_eq!(act["reason"], "admin");

    // A reset takes the rest, and says so.
    let (status, body) = b
        .api(
            "POST",
            "/v1/analysts/aiko/reset",
            &admin,
            Some(json!({"password": "a new long passphrase 7"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let acts = passkey_acts(&b);
    assert_eq!(acts.len(), 4, "{acts:?}");
    let (by, act) = &acts[3];
    assert_eq!(by, "root");
    assert_eq!(act["ids"], json!([second["id"]]));
    assert_eq!(act["all"], true);
    assert_eq!(act["reason"], "reset");

    // Nothing left: removing all again changes nothing and logs nothing;
    // a reset of an analyst without passkeys logs no removal.
    let (status, body) = b
        .api(
            "POST",
            "/v1/workbench/passkeys/remove",
            &admin,
            Some(json!({"login": "aiko"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["removed"], 0);
    let (status, _) = b
        .api(
            "POST",
            "/v1/analysts/aiko/reset",
            &admin,
            Some(json!({"password": "another long passphrase 8"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(passkey_acts(&b).len(), 4);
}
