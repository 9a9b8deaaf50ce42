//! Real secret distributions: four-digit PINs by their Have I Been Pwned
//! counts, passwords by rank in the zxcvbn list (Zipf weights, s = 1).
//! Data and licences in `data/` at the repository root.

use crate::rng::Rng;

const PINS_CSV: &str = include_str!("../../../data/pins/pin4_hibp_pwned_counts.csv");
const PASSWORDS: &str =
    include_str!("../../../data/passwords/zxcvbn_passwords_top30000_ranked.txt");

/// A distribution over strings with cumulative integer weights.
#[derive(Debug)]
pub struct Dist {
    pub items: Vec<String>,
    cumulative: Vec<u64>,
}

impl Dist {
    fn new(weighted: Vec<(String, u64)>) -> Dist {
        let mut total = 0;
        let mut items = Vec::with_capacity(weighted.len());
        let mut cumulative = Vec::with_capacity(weighted.len());
        for (item, w) in weighted {
            total += w.max(1);
            items.push(item);
            cumulative.push(total);
        }
        Dist { items, cumulative }
    }

    pub fn draw(&self, rng: &mut Rng) -> &str {
        &self.items[rng.weighted(&self.cumulative)]
    }

    /// The `n` most likely items, most likely first.
    pub fn most_common(&self, n: usize) -> Vec<&str> {
        let mut idx: Vec<usize> = (0..self.items.len()).collect();
        idx.sort_by_key(|&i| std::cmp::Reverse(self.weight(i)));
        idx.into_iter()
            .take(n)
            .map(|i| self.items[i].as_str())
            .collect()
    }

    fn weight(&self, i: usize) -> u64 {
        self.cumulative[i] - if i == 0 { 0 } else { self.cumulative[i - 1] }
    }
}

/// The password distribution, parsed once.
pub fn passwords_cached() -> &'static Dist {
    static PASSWORDS_DIST: std::sync::OnceLock<Dist> = std::sync::OnceLock::new();
    PASSWORDS_DIST.get_or_init(passwords)
}

/// PINs weighted by how often each appears in breached passwords.
pub fn pins() -> Dist {
    let rows = PINS_CSV.lines().skip(1).filter_map(|l| {
        let mut f = l.split(',');
        Some((f.next()?.to_string(), f.next()?.parse().ok()?))
    });
    Dist::new(rows.collect())
}

/// Passwords by rank with Zipf weights (rank r gets 1e9 / r).
pub fn passwords() -> Dist {
    let rows = PASSWORDS
        .lines()
        .enumerate()
        .map(|(r, p)| (p.to_string(), 1_000_000_000 / (r as u64 + 1)));
    Dist::new(rows.collect())
}

#[cfg(test)]
mod tests {
    #[test]
    fn distributions_follow_the_data() {
        let pins = super::pins();
        assert_eq!(pins.items.len(), 10_000);
        assert_eq!(pins.most_common(3), ["1234", "1111", "0000"]);
        let mut rng = crate::rng::Rng::new(1);
        let draws = (0..20_000)
            .filter(|_| pins.draw(&mut rng) == "1234")
            .count();
        assert!(
            (1_400..2_200).contains(&draws),
            "1234 is ~9% of PINs: {draws}"
        );
        let pw = super::passwords();
        assert_eq!(pw.most_common(2), ["123456", "password"]);
    }
}
