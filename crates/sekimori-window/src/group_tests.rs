use super::*;

fn ks(t: i64) -> KeyState {
    KeyState {
        last_at: t,
        state: State::EverCount(1),
    }
}

#[test]
fn a_state_is_charged_at_least_its_share_of_any_record() {
    let mut largest = 0;
    for n in 1..=MAX_MEMBERS {
        let real = alloc_bytes(n * size_of::<KeyState>());
        assert!(n as u64 * state_in_record() >= real, "{n} states: {real}");
        largest = largest.max(real.div_ceil(n as u64));
    }
    // No more than needed either: the largest share, exactly.
    assert_eq!(state_in_record(), largest);
}

#[test]
fn a_record_keeps_its_members_in_order() {
    let mut r = Record::default();
    r.get_or_insert(5, || ks(5));
    r.get_or_insert(1, || ks(1));
    r.get_or_insert(31, || ks(31));
    r.get_or_insert(5, || ks(99));
    let seen: Vec<(usize, i64)> = r.members().map(|(m, s)| (m, s.last_at)).collect();
    assert_eq!(seen, vec![(1, 1), (5, 5), (31, 31)]);
    assert_eq!(r.remove(5).map(|s| s.last_at), Some(5));
    assert_eq!(r.remove(5), None);
    assert!(r.get(5).is_none());
    assert_eq!(r.get(31).map(|s| s.last_at), Some(31));
    r.remove(1);
    r.remove(31);
    assert!(r.is_empty());
}
