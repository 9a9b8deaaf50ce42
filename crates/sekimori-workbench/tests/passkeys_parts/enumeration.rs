//! Login enumeration through a sign-in's `allowCredentials` (attacker's
//! review finding 9): a login without passkeys (unknown, or disabled) gets
//! stand-in ids shaped as the stored ones are: as many as some analyst
//! has, each as long as some stored id, the same on every ask.

use super::*;
use std::collections::BTreeSet;

/// The ids a sign-in started for `login` lists, as their base64url text.
async fn listed(b: &Bench, login: &str) -> Vec<String> {
    let (_, _, raw) = start(b, Some(login)).await;
    raw["publicKey"]["allowCredentials"]
        .as_array()
        .expect("allowCredentials")
        .iter()
        .map(|c| c["id"].as_str().expect("id").to_string())
        .collect()
}

/// The byte length of unpadded base64url text.
fn bytes(id: &str) -> usize {
    id.trim_end_matches('=').len() * 3 / 4
}

#[tokio::test]
async fn a_login_without_passkeys_answers_in_a_real_shape() {
    let b = Bench::new();
    let (mut laptop, mut phone, mut key) = (
        SoftPasskey::new(true),
        SoftPasskey::new(true),
        SoftPasskey::new(true),
    );
    let aiko = with_passkey(&b, "aiko", Role::Analyst, &mut laptop).await;
    register(&b, &aiko, &mut phone, "phone").await;
    with_passkey(&b, "bo", Role::Analyst, &mut key).await;

    let real = [listed(&b, "aiko").await, listed(&b, "bo").await];
    let counts: BTreeSet<usize> = real.iter().map(Vec::len).collect();
    assert_eq!(counts, BTreeSet::from([1, 2]));
    let lengths: BTreeSet<usize> = real.iter().flatten().map(|id| bytes(id)).collect();

    let mut seen_counts = BTreeSet::new();
    let mut seen_ids = BTreeSet::new();
    for n in 0..40 {
        let login = format!("nobody-{n}");
        let ids = listed(&b, &login).await;
        assert!(counts.contains(&ids.len()), "{login}: {} ids", ids.len());
        for id in &ids {
            assert!(lengths.contains(&bytes(id)), "{login}: {} bytes", bytes(id));
            assert!(seen_ids.insert(id.clone()), "{login}: an id seen before");
        }
        // The same on every ask, as a real login's are.
        assert_eq!(listed(&b, &login).await, ids, "{login}");
        seen_counts.insert(ids.len());
    }
    // Both counts occur among stand-ins (a decoy is not always one id).
    assert_eq!(seen_counts, counts);
    // A real login's answer is its own ids, unchanged.
    assert_eq!(listed(&b, "aiko").await, real[0]);
}
