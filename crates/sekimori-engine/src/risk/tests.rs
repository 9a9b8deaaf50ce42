//! Unit tests of the login-risk store.

use super::*;
use sekimori_event::MfaMethod;
use std::collections::BTreeMap;

fn v(network: &[u64], device: u64) -> Values {
    vec![network.to_vec(), vec![device]]
}

#[test]
fn no_history_is_neutral() {
    let s = RiskStore::new(100);
    assert_eq!(s.score(1, &v(&[1, 2, 3], 9)), 0);
}

#[test]
fn familiar_is_negative_and_new_device_is_positive() {
    let mut s = RiskStore::new(100);
    // A population: 50 other accounts on their own devices and networks.
    for other in 2..52u128 {
        s.learn(
            other,
            &v(&[1, other as u64 % 3, other as u64], 1000 + other as u64),
            1,
            0,
        );
    }
    for i in 0..9 {
        s.learn(1, &v(&[1, 7, 70], 9), 1, i);
    }
    let familiar = s.score(1, &v(&[1, 7, 70], 9));
    let new_device = s.score(1, &v(&[1, 7, 70], 10));
    let new_everything = s.score(1, &v(&[1, 8, 80], 10));
    assert!(familiar < -100, "familiar {familiar}");
    assert!(
        new_device < familiar + 300 && new_device > familiar,
        "{new_device}"
    );
    assert!(new_everything >= 150, "new everything {new_everything}");
    // A new ASN counts once: the finer levels under it add nothing.
    let only_network = s.score(1, &vec![vec![1, 8, 80], vec![]]);
    assert!((90..=110).contains(&only_network), "{only_network}");
}

fn parked(event: u64, at_ms: i64, values: &Values) -> Parked {
    Parked {
        event,
        at_ms,
        methods: vec![MfaMethod::Webauthn, MfaMethod::Totp],
        values: values.clone(),
    }
}

/// (parked events, their vector's capacity) of `subject`'s profile.
fn parked_capacity(s: &RiskStore, subject: u128) -> (usize, usize) {
    let p = s.profiles.get(&subject).expect("a profile");
    let capacity = p.pending.0.as_ref().map_or(0, |v| v.capacity());
    (p.pending.list().len(), capacity)
}

#[test]
fn parked_events_hold_no_spare_capacity() {
    // The accounting counts the parked list's length (review s25 finding 5):
    // the vector must never hold more slots than events.
    let mut s = RiskStore::new(100);
    let mut at = 0;
    for k in 0..(PENDING_CAP as u64 + 3) {
        at += 1_000;
        s.hold(1, parked(k, at, &v(&[2], 7)));
        let (len, capacity) = parked_capacity(&s, 1);
        assert_eq!(len, (k as usize + 1).min(PENDING_CAP));
        assert_eq!(capacity, len, "after parking {k}");
    }
    // A result unparks one; expiry drops all but the newest.
    s.settle(1, PENDING_CAP as u64 + 2, MfaMethod::Totp, false, at);
    assert_eq!(parked_capacity(&s, 1), (PENDING_CAP - 1, PENDING_CAP - 1));
    s.hold(1, parked(99, at + PENDING_MS * 2, &v(&[2], 7)));
    assert_eq!(parked_capacity(&s, 1), (1, 1));
    let before = s.accounted_bytes();
    s.settle(1, 99, MfaMethod::Totp, false, at + PENDING_MS * 2);
    assert_eq!(parked_capacity(&s, 1), (0, 0));
    assert!(s.accounted_bytes() < before);
}

#[test]
fn a_challenged_login_is_learned_only_when_its_own_step_up_passes() {
    let mut s = RiskStore::new(100);
    for i in 0..5 {
        s.learn(1, &v(&[1, 7, 70], 9), 1, i);
    }
    let attacker = v(&[1, 8, 80], 666);
    let before = s.score(1, &attacker);
    s.hold(1, parked(10, 10, &attacker));
    s.settle(1, 10, MfaMethod::Totp, false, 20);
    assert_eq!(s.score(1, &attacker), before, "failed");
    s.hold(1, parked(30, 30, &attacker));
    s.settle(1, 30, MfaMethod::Totp, true, 30 + PENDING_MS + 1);
    assert_eq!(s.score(1, &attacker), before, "too late to count");
    s.hold(1, parked(40, 40 + PENDING_MS * 2, &attacker));
    s.settle(1, 99, MfaMethod::Txsign, true, 41 + PENDING_MS * 2);
    assert_eq!(
        s.score(1, &attacker),
        before,
        "the holder passed something else"
    );
    s.settle(1, 40, MfaMethod::Sms, true, 42 + PENDING_MS * 2);
    assert_eq!(
        s.score(1, &attacker),
        before,
        "a method the challenge did not offer"
    );
    s.hold(1, parked(50, 50 + PENDING_MS * 4, &attacker));
    s.settle(1, 50, MfaMethod::Webauthn, true, 60 + PENDING_MS * 4);
    assert!(s.score(1, &attacker) < before);
}

#[test]
fn a_profile_keeps_its_cap_and_the_newest_value() {
    let mut s = RiskStore::new(100);
    for i in 0..500u64 {
        s.learn(1, &v(&[1, i, i * 10], i), 1, i as i64);
    }
    let p = s.profiles.get(&1).expect("profile 1");
    assert!(p.nodes.len() <= PROFILE_CAP);
    assert!(p.parents.len() <= PROFILE_CAP + 2, "{}", p.parents.len());
    assert!(
        s.score(1, &v(&[1, 499, 4990], 499)) < 0,
        "just used, still known"
    );
}

#[test]
fn accounting_follows_every_change_and_eviction_keeps_the_population_consistent() {
    let mut s = RiskStore::new(16);
    for k in 0..40u128 {
        let at = k as i64 * 1_000;
        s.learn(k, &v(&[1, k as u64 % 3, k as u64], 100 + k as u64), 1, at);
        s.hold(k % 5, parked(k as u64, at, &v(&[2], 7)));
        s.settle(
            k % 5,
            k as u64 - k as u64 % 2,
            MfaMethod::Totp,
            true,
            at + 1,
        );
    }
    let incremental = s.profile_bytes;
    s.recount();
    assert_eq!(incremental, s.profile_bytes);
    assert!(s.accounted_bytes() > 0);
    let before = s.accounted_bytes();
    let gone = s.evict_through(30_000, 30_000);
    assert!(gone.profiles > 0 && gone.values > 0, "{gone:?}");
    assert_eq!(s.accounted_bytes(), before - gone.bytes);
    assert!(s.profiles.values().all(|p| p.last_ms > 30_000));
    assert!(s.nodes.values().all(|n| n.last_ms > 30_000));
    // Every parent's tally still sums its remaining children.
    for (parent, tally) in s.parents.iter() {
        let children: Vec<&PopNode> = s.nodes.values().filter(|n| n.parent == *parent).collect();
        assert_eq!(tally.distinct, children.len() as u64);
        assert_eq!(tally.total, children.iter().map(|n| n.count).sum::<u64>());
    }
    let incremental = s.profile_bytes;
    s.recount();
    assert_eq!(incremental, s.profile_bytes);
}

#[test]
fn profiles_are_capped_oldest_first() {
    let mut s = RiskStore::new(16);
    for k in 0..40u128 {
        s.learn(k, &v(&[1], 1), 1, k as i64);
    }
    assert!(s.profiles.len() <= 16);
    assert!(s.profiles.contains_key(&39));
    assert!(!s.profiles.contains_key(&0));
    // Exactly the newest are kept (each eviction takes the oldest).
    let mut kept: Vec<u128> = s.profiles.iter().map(|(k, _)| *k).collect();
    kept.sort_unstable();
    let n = kept.len() as u128;
    assert!(n >= 14, "{n}");
    assert_eq!(kept, (40 - n..40).collect::<Vec<_>>());
}

#[test]
fn a_copy_keeps_its_state_through_later_writes_and_serializes_as_before() {
    let mut s = RiskStore::new(400);
    for k in 0..300u128 {
        let at = k as i64 * 1_000;
        s.learn(k, &v(&[1, k as u64 % 7, k as u64], 100 + k as u64), 1, at);
        s.hold(k % 9, parked(k as u64, at, &v(&[2], 7)));
    }
    let bytes = postcard::to_stdvec(&s).expect("serializes");
    // The old form: the same maps as plain BTreeMaps, byte for byte.
    let plain = |m: &CowMap<u128, Profile>| -> BTreeMap<u128, Profile> {
        m.iter().map(|(k, p)| (*k, p.clone())).collect()
    };
    assert_eq!(
        postcard::to_stdvec(&s.profiles).expect("serializes"),
        postcard::to_stdvec(&plain(&s.profiles)).expect("serializes")
    );
    let copy = s.clone();
    assert!(s.profiles.shared_shards() > 0 && s.nodes.shared_shards() > 0);
    // Later writes: learning, parking, settling, the cap, a budget eviction.
    for k in 250..700u128 {
        let at = 400_000 + k as i64 * 1_000;
        s.learn(k, &v(&[1, 3, k as u64], 5), 3, at);
        s.hold(k % 11, parked(k as u64, at, &v(&[2], 8)));
        s.settle(k % 11, k as u64, MfaMethod::Totp, true, at + 1);
    }
    s.evict_through(800_000, 700_000);
    assert_ne!(postcard::to_stdvec(&s).expect("serializes"), bytes);
    assert_eq!(postcard::to_stdvec(&copy).expect("serializes"), bytes);
    let mut restored: RiskStore = postcard::from_bytes(&bytes).expect("restores");
    restored.recount();
    assert_eq!(restored, copy);
    assert_eq!(restored.accounted_bytes(), copy.accounted_bytes());
    let mut recounted = copy.clone();
    recounted.recount();
    assert_eq!(recounted.accounted_bytes(), copy.accounted_bytes());
}

/// A profile as it was before its maps were boxed slices and its parked
/// events one word (reference for the snapshot layout).
#[derive(Serialize, Deserialize)]
struct OldProfile {
    last_ms: i64,
    nodes: BTreeMap<u64, Seen>,
    parents: BTreeMap<u64, Tally>,
    pending: Vec<Parked>,
}

#[test]
fn profiles_are_smaller_and_serialize_in_the_old_layout() {
    // 8 + two boxed slices + one word, where it was 8 + three vectors.
    assert_eq!(std::mem::size_of::<Profile>(), 48);
    let mut s = RiskStore::new(100);
    for k in 0..60u128 {
        let at = k as i64 * 1_000;
        s.learn(
            k % 13,
            &v(&[1, k as u64 % 3, k as u64], k as u64 % 4),
            1,
            at,
        );
        if k % 3 == 0 {
            s.hold(k % 13, parked(k as u64, at, &v(&[2, k as u64], 7)));
        }
        if k % 6 == 0 {
            s.settle(k % 13, k as u64, MfaMethod::Totp, true, at + 1);
        }
    }
    let mut parked_some = false;
    let mut emptied = false;
    for (_, p) in s.profiles.iter() {
        let old = OldProfile {
            last_ms: p.last_ms,
            nodes: p.nodes.iter().map(|(k, v)| (*k, v.clone())).collect(),
            parents: p.parents.iter().map(|(k, v)| (*k, v.clone())).collect(),
            pending: p.pending.list().to_vec(),
        };
        let bytes = postcard::to_stdvec(p).expect("serializes");
        assert_eq!(bytes, postcard::to_stdvec(&old).expect("serializes"));
        let back: Profile = postcard::from_bytes(&bytes).expect("restores");
        assert_eq!(&back, p);
        assert_eq!(back.accounted(), p.accounted());
        // An empty list holds no allocation, restored or emptied by a settle.
        assert_eq!(p.pending.0.is_none(), old.pending.is_empty());
        assert_eq!(back.pending.0.is_none(), old.pending.is_empty());
        parked_some |= !old.pending.is_empty();
        emptied |= old.pending.is_empty();
    }
    assert!(parked_some && emptied);
    let incremental = s.profile_bytes;
    s.recount();
    assert_eq!(incremental, s.profile_bytes);
}
