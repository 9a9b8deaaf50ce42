//! The world: banks of differing strength, people with bank accounts, wallets
//! and exchange accounts, their secrets (real PIN and password frequencies,
//! reuse across services), devices and networks. Deterministic from the seed.

use crate::data;
use crate::ids;
use crate::net::{self, Addr};
use crate::rng::Rng;
use serde::Serialize;

/// How big a world: `small` for tests and CI, `medium` for scorecards, `large` for performance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Size {
    Small,
    Medium,
    Large,
}

impl Size {
    pub fn parse(s: &str) -> Option<Size> {
        match s {
            "small" => Some(Size::Small),
            "medium" => Some(Size::Medium),
            "large" => Some(Size::Large),
            _ => None,
        }
    }

    pub fn people(self) -> usize {
        match self {
            Size::Small => 2_000,
            Size::Medium => 100_000,
            Size::Large => 1_000_000,
        }
    }

    /// Days of honest-only history before `start_ms`, while sekimori runs in
    /// shadow (as a service deploys it): the engine learns people's devices
    /// and networks, nobody is challenged, nothing is scored.
    pub fn history_days(self) -> i64 {
        match self {
            Size::Small => 2,
            Size::Medium | Size::Large => 7,
        }
    }

    pub fn days(self) -> i64 {
        match self {
            Size::Small => 2,
            Size::Medium => 14,
            Size::Large => 30,
        }
    }
}

/// What a bank checked before letting a wallet link one of its accounts (2020).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkCheck {
    /// Account number, name and the 4-digit cash-card PIN only: 11 of 35 banks.
    PinOnly,
    PinAndPassword,
    PinAndOtp,
    PinAndSms,
}

#[derive(Debug)]
pub struct Bank {
    pub code: String,
    pub link_check: LinkCheck,
}

#[derive(Debug)]
pub struct BankAccount {
    pub owner: usize,
    pub bank: usize,
    pub branch: String,
    pub number: String,
    pub pin: String,
    pub balance_jpy: i64,
}

impl BankAccount {
    /// The login id the bank reports for this account.
    pub fn login_id(&self, banks: &[Bank]) -> String {
        format!("{}-{}-{}", banks[self.bank].code, self.branch, self.number)
    }
}

#[derive(Debug)]
pub struct Person {
    pub holder_kana: String,
    pub accounts: Vec<usize>,
    /// Wallet account id, if the person uses the e-wallet.
    pub wallet: Option<String>,
    pub wallet_balance_jpy: i64,
    /// Exchange account id and holdings, if any.
    pub exchange: Option<String>,
    pub btc_sat: i64,
    /// The person's own bitcoin address, where their withdrawals go.
    pub btc_address: String,
    /// Securities-broker account id and cash balance, if any.
    pub broker: Option<String>,
    pub broker_jpy: i64,
    /// The password the person uses at the exchange; reused elsewhere when `reuses`.
    pub password: String,
    pub reuses: bool,
    pub device: (String, String),
    pub mobile: Addr,
    pub home: Addr,
    /// The office NAT, for the fifth of people who bank from work.
    pub office: Option<Addr>,
    /// Probability a login attempt has a typo.
    pub typo_rate: f64,
    /// Travelling abroad for the whole run (roaming, hotel Wi-Fi).
    pub abroad: bool,
    /// `YYYY-MM-DD`; some PINs are made from it.
    pub birth: String,
    /// Account at the neobank (a dollar account whose integration sends no
    /// device id) and its balance in US cents, if any.
    pub neobank: Option<String>,
    pub usd_cents: i64,
    /// Born before 1960: fewer actions, more typos, one device for years.
    pub elderly: bool,
    /// Opens their wallet account on the first day (a launch-day rush).
    pub new_signup: bool,
}

/// The whole world.
#[derive(Debug)]
pub struct World {
    pub size: Size,
    /// Dense (the seed incidents' services) or sparse (thin integrations).
    pub kind: crate::integration::WorldKind,
    /// Accounts a successful login was sent for so far. Simulator state only: it lets
    /// an attacker aim at accounts nobody has logged in to yet (fresh
    /// sign-ups from a leaked list), never goes to the engine.
    pub logged_in: std::collections::HashSet<String>,
    /// Honest people start here; the engine is in shadow until `start_ms`.
    pub history_ms: i64,
    /// The measured period (and every attack) starts here.
    pub start_ms: i64,
    pub end_ms: i64,
    pub banks: Vec<Bank>,
    pub accounts: Vec<BankAccount>,
    pub people: Vec<Person>,
    /// Hot-wallet balances in minor units, by wallet id (one wallet per
    /// custody scenario, so scenarios run side by side do not share one).
    pub hot_wallets: std::collections::BTreeMap<&'static str, i64>,
    /// Cold storage behind each hot wallet. Today's rule keeps at most 5% of
    /// customer assets hot; Coincheck's NEM in 2018 was 100% hot.
    pub cold_wallets: std::collections::BTreeMap<&'static str, i64>,
    /// Wallets of students who collect split bills from many friends.
    pub collectors: Vec<String>,
    /// Customer withdrawals the exchange accepted, waiting for its custody
    /// desk to pay them from the hot wallet `hot-btc-x`.
    pub payouts: Vec<crate::desk::Payout>,
}

pub(crate) const FAMILY: &[&str] = &[
    "ﾔﾏﾀﾞ",
    "ｽｽﾞｷ",
    "ﾀﾅｶ",
    "ｻﾄｳ",
    "ﾀｶﾊｼ",
    "ﾜﾀﾅﾍﾞ",
    "ｲﾄｳ",
    "ﾅｶﾑﾗ",
    "ｺﾊﾞﾔｼ",
    "ｶﾄｳ",
];
pub(crate) const GIVEN: &[&str] = &[
    "ﾀﾛｳ",
    "ﾊﾅｺ",
    "ｲﾁﾛｳ",
    "ﾕｳｷ",
    "ｹﾝﾀ",
    "ﾐｻｷ",
    "ｼｮｳﾀ",
    "ｱﾔ",
    "ﾀﾞｲｽｹ",
    "ﾒｸﾞﾐ",
];
/// 2026-06-24T00:00:00Z: worlds start here, so every size sees the 25th
/// payday, and medium and large also the 30 June summer bonus.
pub const START_MS: i64 = 1_782_259_200_000;

impl World {
    pub fn build(size: Size, rng: &mut Rng) -> World {
        World::build_kind(size, crate::integration::WorldKind::Dense, rng)
    }

    /// A world of the given kind. The sparse world has one day of history
    /// whatever its size (a service that has just switched sekimori on).
    pub fn build_kind(size: Size, kind: crate::integration::WorldKind, rng: &mut Rng) -> World {
        let mut rng = rng.fork("world");
        let banks = (0..35)
            .map(|i| Bank {
                code: format!("{:04}", 5 + i * 7),
                link_check: match i % 35 {
                    0..=10 => LinkCheck::PinOnly,
                    11..=17 => LinkCheck::PinAndPassword,
                    18..=26 => LinkCheck::PinAndOtp,
                    _ => LinkCheck::PinAndSms,
                },
            })
            .collect();
        let (pins, passwords) = (data::pins(), data::passwords());
        let mut accounts = Vec::new();
        let mut people = Vec::with_capacity(size.people());
        for p in 0..size.people() {
            let birth_year = 1940 + rng.range(0, 66);
            let birth = format!(
                "{birth_year}-{:02}-{:02}",
                rng.range(1, 13),
                rng.range(1, 29)
            );
            let n_accounts = 1 + usize::from(rng.chance(0.4));
            let mut mine = Vec::new();
            for _ in 0..n_accounts {
                mine.push(accounts.len());
                accounts.push(BankAccount {
                    owner: p,
                    bank: rng.range(0, 35) as usize,
                    branch: format!("{:03}", rng.range(1, 400)),
                    number: format!("{:07}", rng.range(0, 10_000_000)),
                    pin: match rng.range(0, 100) {
                        // Birthday PINs: MMDD or the birth year.
                        0..=7 => format!("{}{}", &birth[5..7], &birth[8..10]),
                        8..=10 => birth[..4].to_string(),
                        _ => pins.draw(&mut rng).to_string(),
                    },
                    balance_jpy: 50_000 + rng.range(0, 3_000_000) as i64,
                });
            }
            people.push(Person {
                holder_kana: format!("{} {}", rng.pick(FAMILY), rng.pick(GIVEN)),
                accounts: mine,
                wallet: rng.chance(0.6).then(|| ids::account(&mut rng, "w")),
                wallet_balance_jpy: 0,
                exchange: rng.chance(0.15).then(|| ids::account(&mut rng, "x")),
                btc_address: ids::btc_address(&mut rng),
                // One in fifty holds 1-20 BTC: their payouts need a quorum.
                btc_sat: if rng.chance(0.02) {
                    rng.range(100_000_000, 2_000_000_000) as i64
                } else {
                    rng.range(1_000_000, 50_000_000) as i64
                },
                broker: rng.chance(0.1).then(|| ids::account(&mut rng, "s")),
                broker_jpy: 100_000 + rng.range(0, 5_000_000) as i64,
                password: passwords.draw(&mut rng).to_string(),
                reuses: rng.chance(0.5),
                device: ids::device(&mut rng),
                mobile: net::cgnat(&mut rng),
                home: net::home(&mut rng),
                office: rng.chance(0.2).then(|| net::office(&mut rng)),
                typo_rate: 0.02
                    + (rng.range(0, 40) as f64) / 1000.0
                    + if birth_year < 1960 { 0.03 } else { 0.0 },
                abroad: rng.chance(0.02),
                elderly: birth_year < 1960,
                birth,
                new_signup: rng.chance(0.05),
                neobank: None,
                usd_cents: 0,
            });
        }
        let collectors = people
            .iter()
            .filter_map(|p| p.wallet.clone())
            .filter(|_| rng.chance(0.03))
            .collect();
        // One in eight keeps a dollar account at the neobank: $300-15,000.
        // Drawn last, so the rest of the world is the same as without it.
        let mut nb = rng.fork("neobank");
        for p in &mut people {
            if nb.chance(0.125) {
                p.neobank = Some(ids::account(&mut nb, "n"));
                p.usd_cents = 30_000 + nb.range(0, 1_470_000) as i64;
            }
        }
        let history_days = match kind {
            crate::integration::WorldKind::Dense => size.history_days(),
            crate::integration::WorldKind::Sparse => 1,
        };
        World {
            cold_wallets: [
                ("hot-xem-a", 0),
                ("hot-xem-b", 0),
                ("hot-btc-z", 5_966 * 100_000_000 * 19),
                ("hot-btc-x", 5_700 * 100_000_000),
            ]
            .into_iter()
            .collect(),
            collectors,
            size,
            kind,
            logged_in: std::collections::HashSet::new(),
            history_ms: START_MS - history_days * 86_400_000,
            start_ms: START_MS,
            end_ms: START_MS + size.days() * 86_400_000,
            banks,
            accounts,
            people,
            hot_wallets: [
                ("hot-xem-a", 523_000_000 * 1_000_000),
                ("hot-xem-b", 523_000_000 * 1_000_000),
                ("hot-btc-z", 5_966 * 100_000_000),
                ("hot-btc-x", 300 * 100_000_000),
            ]
            .into_iter()
            .collect(),
            payouts: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custody_follows_the_rules_of_each_era() {
        let world = World::build(Size::Small, &mut Rng::new(1));
        let share = |w: &str| {
            let (hot, cold) = (world.hot_wallets[w], world.cold_wallets[w]);
            hot as f64 / (hot + cold) as f64
        };
        assert!(share("hot-btc-z") <= 0.05, "today's rule: at most 5% hot");
        assert!(share("hot-btc-x") <= 0.05);
        assert_eq!(
            share("hot-xem-a"),
            1.0,
            "Coincheck's NEM was all hot in 2018"
        );
        let checks: std::collections::BTreeSet<_> = world
            .banks
            .iter()
            .map(|b| format!("{:?}", b.link_check))
            .collect();
        assert_eq!(checks.len(), 4, "PIN only, PIN and password, OTP, SMS");
        assert_eq!(
            world
                .banks
                .iter()
                .filter(|b| b.link_check == LinkCheck::PinOnly)
                .count(),
            11
        );
    }
}
