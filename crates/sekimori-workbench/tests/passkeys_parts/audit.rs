//! Passkeys in the audit trail: a registration and every removal (an
//! admin's, one or all; a reset's) are `Entry::Analyst` acts, so a passkey
//! someone else added to an account is visible in the log; and a reset
//! removes them all (attacker's review finding 1).

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
    let bearer = session(&b, "aiko", Role::Supervisor).await;
    let first = register(&b, &bearer, &mut laptop, "laptop").await;
    let second = register(&b, &bearer, &mut phone, "phone").await;
    let admin = session(&b, "root", Role::Admin).await;

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
    let (status, body) =
        remove_passkeys(&b, &admin, json!({"login": "aiko", "id": first["id"]})).await;
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
    let (status, body) = reset(&b, &admin, "aiko", "a new long passphrase 7").await;
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
    let (status, body) = remove_passkeys(&b, &admin, json!({"login": "aiko"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["removed"], 0);
    let (status, _) = reset(&b, &admin, "aiko", "another long passphrase 8").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(passkey_acts(&b).len(), 4);
}

#[tokio::test]
async fn a_reset_removes_the_passkeys_whoever_registered_them() {
    let b = Bench::new();
    let mut dev = SoftPasskey::new(true);
    // Whoever held aiko's session registered a passkey.
    with_passkey(&b, "aiko", Role::Supervisor, &mut dev).await;
    let admin = session(&b, "root", Role::Admin).await;
    let (ceremony, options, _) = start(&b, Some("aiko")).await;
    let credential = sign(&mut dev, options, RP_ORIGIN);
    assert_eq!(stored_passkeys(&b, "aiko"), 1);
    // The admin rotates aiko's credentials.
    let (status, body) = reset(&b, &admin, "aiko", "a new long passphrase 7").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // The passkey no longer signs in: not with a ceremony started before
    // the reset, nor with a new one.
    let (status, body) = finish(&b, &ceremony, &credential).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "before: {body}");
    let (ceremony, options, _) = start(&b, Some("aiko")).await;
    if let Ok(credential) = dev.do_authentication(url(RP_ORIGIN), options) {
        let credential = serde_json::to_value(credential).expect("json");
        let (status, body) = finish(&b, &ceremony, &credential).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "after: {body}");
    }
    assert_eq!(stored_passkeys(&b, "aiko"), 0);
}

/// How many passkeys `login`'s record in analysts.json holds.
fn stored_passkeys(b: &Bench, login: &str) -> usize {
    let stored = std::fs::read_to_string(b.dir.path().join("analysts.json")).expect("file");
    let records: Value = serde_json::from_str(&stored).expect("json");
    let record = records
        .as_array()
        .and_then(|a| a.iter().find(|r| r["login"] == login))
        .cloned()
        .expect("the analyst is stored");
    record["passkeys"].as_array().map_or(0, Vec::len)
}
