//! The sliding sketch against brute-force registers.

use proptest::prelude::*;

use super::*;

fn brute(entries: &[(i64, u64)], start: i64, end: i64) -> [u8; HLL_REGISTERS] {
    let mut regs = [0u8; HLL_REGISTERS];
    for &(b, h) in entries {
        if start <= b && b <= end {
            let (r, rho) = split(h);
            regs[r] = regs[r].max(rho);
        }
    }
    regs
}

#[test]
fn split_uses_top_bits_and_rho() {
    assert_eq!(split(0), (0, 55));
    assert_eq!(split(u64::MAX), (1023, 1));
    assert_eq!(split(1 << 54), (1, 55));
    assert_eq!(split(1 << 53), (0, 1));
    assert_eq!(split(1), (0, 54));
}

#[test]
fn estimate_of_empty_and_single() {
    assert_eq!(estimate(&[0u8; HLL_REGISTERS]), 0);
    let mut regs = [0u8; HLL_REGISTERS];
    regs[3] = 2;
    assert_eq!(estimate(&regs), 1);
}

proptest! {
    #[test]
    fn lfpm_registers_match_brute_force(
        steps in prop::collection::vec((0i64..3, 0i64..6, 0u64..64, any::<u64>()), 1..300),
        window in 1i64..20,
    ) {
        let mut hll = SlidingHll::new(0);
        let mut entries = Vec::new();
        let mut now = 100;
        for (adv, late, reg_bits, low) in steps {
            now += adv;
            let bucket = now - late;
            // Few registers so that lists get long and domination is exercised.
            let hash = (reg_bits << 54) | (low >> (10 + (low % 40)));
            hll.insert(bucket, hash, 0);
            entries.push((bucket, hash));
            prop_assert!(hll.is_valid());
            let start = now - window + 1;
            let (regs, live) = hll.registers(&Span::buckets(start, now, start - 6));
            prop_assert!(live);
            prop_assert_eq!(regs.to_vec(), brute(&entries, start, now).to_vec());
            // Pruning below the oldest window that can still be read changes nothing.
            let mut pruned = hll.clone();
            pruned.prune(start - 6);
            prop_assert!(pruned.is_valid());
            let (after, _) = pruned.registers(&Span::buckets(start, now, start - 6));
            prop_assert_eq!(after.to_vec(), regs.to_vec());
        }
    }
}
