//! The small exact form against the indexed one: same readings, digests and
//! serialized bytes, and the form follows the size both ways.

use super::{EverDistinct, Indexed, SlidingDistinct, SMALL_SET};
use crate::digest::Digest;
use crate::window::Span;

fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn digest(d: &SlidingDistinct) -> u64 {
    let mut g = Digest::new();
    d.digest(&mut g);
    g.finish()
}

/// The indexed form of the same content (what the code before the small
/// form kept, and what a snapshot holds).
fn indexed(d: &SlidingDistinct) -> SlidingDistinct {
    match d {
        SlidingDistinct::Small(set) => {
            let mut ex = Indexed::default();
            for &(v, b) in set {
                ex.insert(b, v);
            }
            SlidingDistinct::Indexed(Box::new(ex))
        }
        other => other.clone(),
    }
}

#[test]
fn small_sets_read_digest_and_serialize_as_indexed_ones() {
    let mut d = SlidingDistinct::new();
    for i in 0..400u64 {
        let bucket = i as i64 / 3;
        // Values repeat (a small pool at first, a wider one later), so sets
        // grow past the small form and shrink back as buckets expire.
        let pool = if (i / 50) % 2 == 0 { 6 } else { 40 };
        let cutoff = bucket - 10;
        d.prune(cutoff);
        d.observe(bucket, mix(i % pool), 1_000, cutoff);
        let span = Span::buckets(bucket - 9, bucket, cutoff);
        let slow = indexed(&d);
        assert!(d.is_valid() && slow.is_valid(), "step {i}");
        assert_eq!(d.read(&span), slow.read(&span), "step {i}");
        assert_eq!(digest(&d), digest(&slow), "step {i}");
        let bytes = serde_json::to_vec(&d).expect("serializes");
        assert_eq!(
            bytes,
            serde_json::to_vec(&slow).expect("serializes"),
            "step {i}"
        );
        let mut back: SlidingDistinct = serde_json::from_slice(&bytes).expect("restores");
        back.settle();
        assert_eq!(back, d, "step {i}: a restore settles in the live form");
        let small = matches!(d, SlidingDistinct::Small(_));
        let n = match &d {
            SlidingDistinct::Small(s) => s.len(),
            SlidingDistinct::Indexed(ex) => ex.latest.len(),
            SlidingDistinct::Approx(_) => unreachable!("limit not reached"),
        };
        assert_eq!(small, n <= SMALL_SET, "step {i}: {n} values");
    }
}

#[test]
fn a_small_set_past_its_limit_becomes_the_same_sketch() {
    let mut small = SlidingDistinct::new();
    let mut slow = SlidingDistinct::Indexed(Box::default());
    for i in 0..12u64 {
        small.observe(i as i64, mix(i), 8, 0);
        slow.observe(i as i64, mix(i), 8, 0);
    }
    assert!(matches!(small, SlidingDistinct::Approx(_)));
    assert_eq!(small, slow);
}

#[test]
fn ever_sets_serialize_as_the_btree_set_they_were() {
    let mut d = EverDistinct::new();
    let mut set = std::collections::BTreeSet::new();
    for i in 0..40u64 {
        d.observe(mix(i % 30), 1_000);
        set.insert(mix(i % 30));
        assert_eq!(d.read(), (set.len() as i64, false));
        let bytes = serde_json::to_vec(&d).expect("serializes");
        let wire = format!(
            "{{\"Exact\":{}}}",
            serde_json::to_string(&set).expect("set")
        );
        assert_eq!(String::from_utf8(bytes.clone()).expect("utf-8"), wire);
        let back: EverDistinct = serde_json::from_slice(&bytes).expect("restores");
        assert_eq!(back, d);
    }
    for i in 0..2_000u64 {
        d.observe(mix(i), 1_000);
    }
    assert!(matches!(d, EverDistinct::Approx(_)));
    let back: EverDistinct =
        serde_json::from_slice(&serde_json::to_vec(&d).expect("serializes")).expect("restores");
    assert_eq!(back, d);
}

/// A sketch read after each observe and refresh (its view) reads as its
/// restored copy (no view: a walk of its pairs), through the promotion from
/// the exact forms, prunes and windows that slide a bucket every few events.
#[test]
fn refreshed_sketches_read_as_restored_ones() {
    let mut d = SlidingDistinct::new();
    let mut sketched = 0;
    for i in 0..3_000u64 {
        let bucket = i as i64 / 40;
        let cutoff = bucket - 10;
        let span = Span::buckets(bucket - 9, bucket, cutoff);
        d.prune(cutoff);
        d.observe(bucket - (i % 3) as i64, mix(i % 700), 100, cutoff);
        d.refresh(&span);
        let back: SlidingDistinct =
            serde_json::from_slice(&serde_json::to_vec(&d).expect("serializes")).expect("restores");
        assert_eq!(d.read(&span), back.read(&span), "step {i}");
        sketched += usize::from(matches!(d, SlidingDistinct::Approx(_)));
    }
    assert!(
        sketched > 2_000,
        "the key was a sketch for {sketched} steps"
    );
}
