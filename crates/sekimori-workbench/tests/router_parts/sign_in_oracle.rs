//! The attacker's review 2026-12-05b, finding 8: a right password with a
//! wrong code answers exactly as a wrong password does, over HTTP, from
//! any address (before: 429 from the sixth try, telling the password).

use super::*;
use sekimori_workbench::testing::totp_code;

/// A code none of the accepted steps (the current one, one either side) has.
fn wrong_code(uri: &str, now_ms: i64) -> String {
    let taken: Vec<String> = [-30_000, 0, 30_000]
        .iter()
        .map(|d| totp_code(uri, now_ms + d))
        .collect();
    (0u32..)
        .map(|n| format!("{n:06}"))
        .find(|c| !taken.contains(c))
        .expect("a code")
}

async fn try_sign_in(
    b: &Bench,
    from: &str,
    login: &str,
    password: &str,
    code: &str,
) -> (StatusCode, serde_json::Value) {
    b.api_from(
        Some(from),
        "POST",
        "/v1/workbench/sessions",
        "",
        Some(json!({"login": login, "password": password, "code": code})),
    )
    .await
}

#[tokio::test]
async fn a_wrong_code_with_the_right_password_answers_as_a_wrong_password() {
    let b = Bench::new();
    let aiko = b.analyst("aiko", Role::Analyst);
    let ken = b.analyst("ken", Role::Analyst);
    // From fresh addresses (no per-address back-off), and then from one.
    let (mut wrong_password, mut right_password) = (Vec::new(), Vec::new());
    for i in 0..16 {
        let fresh = i < 10;
        let from = |net: u8| {
            if fresh {
                format!("198.51.{net}.{i}")
            } else {
                format!("198.51.{net}.200")
            }
        };
        let code = totp_code(&aiko, b.now());
        wrong_password.push(try_sign_in(&b, &from(100), "aiko", "not the password", &code).await);
        let code = wrong_code(&ken, b.now());
        right_password.push(try_sign_in(&b, &from(101), "ken", harness::PASSWORD, &code).await);
    }
    assert_eq!(
        wrong_password, right_password,
        "the same statuses and bodies"
    );
    let statuses: Vec<StatusCode> = wrong_password.iter().map(|(s, _)| *s).collect();
    assert!(statuses[..10]
        .iter()
        .all(|s| *s == StatusCode::UNAUTHORIZED));
    assert_eq!(
        statuses[15],
        StatusCode::TOO_MANY_REQUESTS,
        "one address backs off, either way"
    );
}
