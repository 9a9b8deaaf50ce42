//! `/ui/analysts` lists each analyst's passkeys by name and date (English
//! and Japanese), and an admin removes one, or all, with a reason: CSRF
//! checked, admins only, the reason required and logged as the act's
//! `why`, the analyst's sessions ended.

use super::*;
use harness::log_entries;
use sekimori_engine::Entry;
use serde_json::Value;
use webauthn_authenticator_rs::softpasskey::SoftPasskey;

async fn register(b: &Bench, bearer: &str, name: &str) -> Value {
    harness::passkeys::register(b, bearer, &mut SoftPasskey::new(true), name).await
}

/// The `<tr>` of `login` on the analysts page.
fn row<'a>(page: &'a str, login: &str) -> &'a str {
    let at = page
        .find(&format!(r#"<tr data-login="{login}""#))
        .unwrap_or_else(|| panic!("no row for {login}: {page}"));
    let rest = &page[at..];
    &rest[..rest.find("</tr>").expect("row ends")]
}

/// `2026-12-05T06:20:30.000Z` as the page writes it in UTC.
fn in_utc(rfc3339: &str) -> String {
    format!("{} {} UTC", &rfc3339[..10], &rfc3339[11..19])
}

/// The `passkeys_removed` acts in the log: (by, act, why).
fn removals(b: &Bench) -> Vec<(String, Value, String)> {
    log_entries(b)
        .into_iter()
        .filter_map(|(_, e)| match e {
            Entry::Analyst { by, act, why, .. } if act["type"] == "passkeys_removed" => {
                Some((by, act, why))
            }
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn an_admin_sees_passkeys_by_name_and_date_and_removes_one_then_all_with_a_reason() {
    let b = Bench::new();
    let root_uri = b.analyst("root", Role::Admin);
    let aiko_uri = b.analyst("aiko", Role::Analyst);
    let aiko = b.api_sign_in("aiko", &aiko_uri).await;
    let laptop = register(&b, &aiko, "laptop").await;
    b.advance(120_000);
    let phone = register(&b, &aiko, "phone & <key>").await;
    let (laptop_id, phone_id) = (
        laptop["id"].as_str().expect("id").to_string(),
        phone["id"].as_str().expect("id").to_string(),
    );
    let (cookie, csrf) = b.sign_in("root", &root_uri).await;
    b.post_form(
        "/ui/prefs",
        &cookie,
        &[("csrf", &csrf), ("lang", "en"), ("tz", "UTC")],
    )
    .await;

    let (status, _, page) = b.get("/ui/analysts", &cookie).await;
    assert_eq!(status, StatusCode::OK);
    let aiko_row = row(&page, "aiko");
    for (key, name) in [(&laptop, "laptop"), (&phone, "phone &amp; &lt;key&gt;")] {
        let id = key["id"].as_str().expect("id");
        assert!(
            aiko_row.contains(&format!(r#"data-passkey="{id}""#)),
            "{aiko_row}"
        );
        assert!(aiko_row.contains(name), "the name, escaped: {aiko_row}");
        let created = key["created_at"].as_str().expect("date");
        let added = format!(r#"<time datetime="{created}">{}</time>"#, in_utc(created));
        assert!(aiko_row.contains(&added), "{added} in {aiko_row}");
        assert!(aiko_row.contains(&format!(r#"name="id" value="{id}""#)));
    }
    assert!(!aiko_row.contains("<key>"), "names are escaped");
    assert!(aiko_row.contains("Remove this passkey") && aiko_row.contains("Remove all passkeys"));
    assert_eq!(
        aiko_row.matches(r#"name="reason""#).count(),
        3,
        "one, one, all"
    );
    assert_eq!(
        aiko_row.matches(r#"name="csrf""#).count(),
        3 + 2,
        "+ disable, reset: {aiko_row}"
    );
    let root_row = row(&page, "root");
    assert!(root_row.contains("No passkey yet.") && !root_row.contains("data-passkey"));

    // In Japanese, in Tokyo's time.
    b.post_form(
        "/ui/prefs",
        &cookie,
        &[("csrf", &csrf), ("lang", "ja"), ("tz", "Asia/Tokyo")],
    )
    .await;
    let (_, _, page) = b.get("/ui/analysts", &cookie).await;
    let aiko_row = row(&page, "aiko");
    for text in [
        "このパスキーを削除",
        "すべてのパスキーを削除",
        "登録日時",
        "理由",
        "JST",
        "laptop",
    ] {
        assert!(aiko_row.contains(text), "{text}: {aiko_row}");
    }
    assert!(!aiko_row.contains(" UTC<"), "{aiko_row}");
    assert!(row(&page, "root").contains("パスキーはまだありません。"));

    let remove = "/ui/analysts/aiko/passkeys/remove";
    let listed = |page: &str| {
        [&laptop_id, &phone_id]
            .map(|id| row(page, "aiko").contains(&format!(r#"data-passkey="{id}""#)))
    };
    // Refusals remove nothing: a wrong CSRF token, no reason, a reason of
    // two lines, an unknown passkey.
    for (form, status) in [
        (
            vec![
                ("csrf", "forged"),
                ("id", laptop_id.as_str()),
                ("reason", "lost"),
            ],
            StatusCode::FORBIDDEN,
        ),
        (
            vec![("csrf", csrf.as_str()), ("id", laptop_id.as_str())],
            StatusCode::BAD_REQUEST,
        ),
        (
            vec![
                ("csrf", csrf.as_str()),
                ("id", laptop_id.as_str()),
                ("reason", "  "),
            ],
            StatusCode::BAD_REQUEST,
        ),
        (
            vec![
                ("csrf", csrf.as_str()),
                ("id", laptop_id.as_str()),
                ("reason", "a\nb"),
            ],
            StatusCode::BAD_REQUEST,
        ),
        (
            vec![("csrf", csrf.as_str()), ("id", "00ff"), ("reason", "lost")],
            StatusCode::NOT_FOUND,
        ),
    ] {
        let (got, _, body) = b.post_form(remove, &cookie, &form).await;
        assert_eq!(got, status, "{form:?}: {body}");
    }
    let (_, _, page) = b.get("/ui/analysts", &cookie).await;
    assert_eq!(listed(&page), [true, true]);
    assert!(removals(&b).is_empty());
    let (status, _) = b.api("GET", "/v1/workbench/passkeys", &aiko, None).await;
    assert_eq!(status, StatusCode::OK, "aiko is still signed in");

    // A supervisor is not an admin.
    let sora_uri = b.analyst("sora", Role::Supervisor);
    let (sora, sora_csrf) = b.sign_in("sora", &sora_uri).await;
    let (status, _, _) = b.get("/ui/analysts", &sora).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) = b
        .post_form(
            remove,
            &sora,
            &[("csrf", &sora_csrf), ("reason", "mine now")],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // One, with a reason: logged, aiko signed out, the other kept.
    let (status, headers, _) = b
        .post_form(
            remove,
            &cookie,
            &[
                ("csrf", &csrf),
                ("id", &laptop_id),
                ("reason", "laptop lost on the train"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[axum::http::header::LOCATION], "/ui/analysts");
    let (_, _, page) = b.get("/ui/analysts", &cookie).await;
    assert_eq!(listed(&page), [false, true]);
    assert!(
        !row(&page, "aiko").contains("すべてのパスキーを削除"),
        "one left: no 'all'"
    );
    let (status, _) = b.api("GET", "/v1/workbench/passkeys", &aiko, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "aiko's sessions ended");
    let logged = removals(&b);
    assert_eq!(logged.len(), 1);
    let (by, act, why) = &logged[0];
    assert_eq!(
        (by.as_str(), why.as_str()),
        ("root", "laptop lost on the train")
    );
    assert_eq!(act["login"], "aiko");
    assert_eq!(act["ids"], json!([laptop_id]));
    assert_eq!(
        (act["all"].as_bool(), act["reason"].as_str()),
        (Some(false), Some("admin"))
    );

    // All (no id), with a reason.
    let (status, _, _) = b
        .post_form(
            remove,
            &cookie,
            &[("csrf", &csrf), ("reason", "left the team")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, _, page) = b.get("/ui/analysts", &cookie).await;
    assert_eq!(listed(&page), [false, false]);
    assert!(row(&page, "aiko").contains("パスキーはまだありません。"));
    let logged = removals(&b);
    assert_eq!(logged.len(), 2);
    let (_, act, why) = &logged[1];
    assert_eq!(why, "left the team");
    assert_eq!(
        (act["ids"].clone(), act["all"].as_bool()),
        (json!([phone_id]), Some(true))
    );
}
