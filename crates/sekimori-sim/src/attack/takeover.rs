//! Account takeovers at the crypto exchange, then withdrawals:
//! `password-spray` (one common password across many accounts, low and slow,
//! many addresses) and `crypto-stuffing-2018` (credentials reused from another
//! service's breach: 102 of 158 victims in 2018 had reused a password).

use super::{disguise, drain_exchange};
use crate::honest::login_event;
use crate::rng::Rng;
use crate::sim::{Actor, Ctx, Origin};
use crate::world::World;

/// One attacker working through a list of (person, password) guesses.
struct Guesser {
    origin: Origin,
    rng: Rng,
    guesses: Vec<(usize, String)>,
    next: usize,
    pace_ms: u64,
    hosting_share: f64,
}

impl Actor for Guesser {
    fn step(&mut self, ctx: &mut Ctx<'_>) -> Option<i64> {
        let (who, password) = self.guesses.get(self.next)?.clone();
        self.next += 1;
        let account = ctx.world.people[who].exchange.clone()?;
        let hosting = self.rng.chance(self.hosting_share);
        let actor = disguise(&mut self.rng, hosting);
        let right = ctx.world.people[who].password == password;
        let result = if right { "success" } else { "failure" };
        let e = login_event(
            "exchange",
            &account,
            "password",
            &ctx.fingerprint(&password),
            result,
            &actor,
        );
        let v = ctx.send(self.origin, 0, e);
        if right
            && ctx.goes_through(
                self.origin,
                &v,
                &account,
                "exchange",
                &mut self.rng,
                &|_| false,
            )
        {
            drain_exchange(ctx, self.origin, &mut self.rng, who, &actor);
        }
        Some(ctx.now_ms + self.rng.exp_ms(self.pace_ms) as i64)
    }
}

fn exchange_users(world: &World) -> Vec<usize> {
    (0..world.people.len())
        .filter(|&p| world.people[p].exchange.is_some())
        .collect()
}

/// Three of the most common passwords, each tried once on every account, about
/// one try a minute from ever-changing addresses.
pub fn spray(world: &World, rng: Rng, onset: i64) -> Vec<(i64, Box<dyn Actor>)> {
    let users = exchange_users(world);
    let guesses = ["123456", "password", "12345678"]
        .iter()
        .flat_map(|pw| users.iter().map(move |&u| (u, pw.to_string())))
        .collect();
    let g = Guesser {
        origin: Origin::Attack("password-spray"),
        rng,
        guesses,
        next: 0,
        pace_ms: 60_000,
        hosting_share: 0.3,
    };
    vec![(onset, Box::new(g) as Box<dyn Actor>)]
}

/// A breach list of exchange users' credentials from another service: those
/// who reuse their password have it right, the others a different one. Every
/// try from a new residential address.
pub fn stuffing(world: &World, mut rng: Rng, onset: i64) -> Vec<(i64, Box<dyn Actor>)> {
    let users = exchange_users(world);
    let passwords = crate::data::passwords();
    let mut guesses = Vec::new();
    for &u in &users {
        if !rng.chance(0.6) {
            continue;
        }
        let p = &world.people[u];
        let pw = if p.reuses {
            p.password.clone()
        } else {
            passwords.draw(&mut rng).to_string()
        };
        guesses.push((u, pw));
    }
    // A breach list of a few hundred matching accounts: 2018 saw 158 takeovers.
    guesses.truncate(300);
    let g = Guesser {
        origin: Origin::Attack("crypto-stuffing-2018"),
        rng,
        guesses,
        next: 0,
        pace_ms: 20_000,
        hosting_share: 0.0,
    };
    vec![(onset, Box::new(g) as Box<dyn Actor>)]
}

/// SBI Securities, 2020: reused passwords opened broker accounts; bank accounts
/// had been opened days before in each victim's exact name (forged ID) and were
/// registered as payout destinations; 98.64 million yen went out.
struct Sbi {
    rng: Rng,
    victims: Vec<usize>,
    /// Bank accounts opened in the victims' names: (bank code, branch, number).
    drops: Vec<(String, String, String)>,
    /// Drop accounts opened so far.
    opened: usize,
    next: usize,
    onset: i64,
}

const SBI: Origin = Origin::Attack("sbi");

impl Actor for Sbi {
    fn step(&mut self, ctx: &mut Ctx<'_>) -> Option<i64> {
        // First the drop accounts, one opening every 15 minutes.
        if self.opened < self.victims.len() {
            let (i, v) = (self.opened, self.victims[self.opened]);
            self.opened += 1;
            let who = disguise(&mut self.rng, false);
            let (code, branch, number) = &self.drops[i];
            let open = serde_json::json!({"type": "account.open", "service": format!("bank-{code}"), "actor": who,
                "account": format!("{code}-{branch}-{number}"), "kyc": "ekyc", "holder_name": ctx.world.people[v].holder_kana});
            ctx.send(SBI, 0, open);
            let next = ctx.now_ms + 900_000;
            let all_open = self.opened == self.victims.len();
            return Some(if all_open { next.max(self.onset) } else { next });
        }
        let who_idx = *self.victims.get(self.next)?;
        let (code, branch, number) = self.drops[self.next].clone();
        self.next += 1;
        let account = ctx.world.people[who_idx].broker.clone()?;
        let who = disguise(&mut self.rng, false);
        let password = ctx.world.people[who_idx].password.clone();
        let e = login_event(
            "broker",
            &account,
            "password",
            &ctx.fingerprint(&password),
            "success",
            &who,
        );
        let v = ctx.send(SBI, 0, e);
        if !ctx.goes_through(SBI, &v, &account, "broker", &mut self.rng, &|_| false) {
            return Some(ctx.now_ms + self.rng.exp_ms(1_800_000) as i64);
        }
        let holder = ctx.world.people[who_idx].holder_kana.clone();
        let dest = serde_json::json!({"kind": "bank", "bank_code": code, "branch": branch, "number": number, "holder_name": holder});
        let payee = serde_json::json!({"type": "payee.add", "service": "broker", "actor": who, "account": account, "destination": dest});
        let v = ctx.send(SBI, 60_000, payee);
        if ctx.goes_through(SBI, &v, &account, "broker", &mut self.rng, &|_| false) {
            let amount = ctx.world.people[who_idx].broker_jpy;
            ctx.score.targeted("sbi", amount);
            let mut w = serde_json::json!({"type": "withdrawal", "service": "broker", "actor": who, "account": account,
                "amount_minor": amount, "currency": "JPY", "destination": dest});
            crate::integration::balance(&mut w, amount);
            let v = ctx.send(SBI, 180_000, w);
            if ctx.goes_through(SBI, &v, &account, "broker", &mut self.rng, &|_| false) {
                ctx.world.people[who_idx].broker_jpy = 0;
                let at = ctx.now_ms;
                ctx.score.stolen("sbi", &account, amount, at);
            }
        }
        Some(ctx.now_ms + self.rng.exp_ms(1_800_000) as i64)
    }
}

/// Broker users who reuse their password, up to 20, each with a drop account.
pub fn sbi(world: &World, mut rng: Rng, onset: i64) -> Vec<(i64, Box<dyn Actor>)> {
    let victims: Vec<usize> = (0..world.people.len())
        .filter(|&p| world.people[p].broker.is_some() && world.people[p].reuses)
        .take(20)
        .collect();
    let drops = victims
        .iter()
        .map(|_| {
            let bank = &world.banks[rng.range(0, world.banks.len() as u64) as usize];
            (
                bank.code.clone(),
                format!("{:03}", rng.range(1, 400)),
                format!("{:07}", rng.range(0, 10_000_000)),
            )
        })
        .collect();
    let a = Sbi {
        rng,
        victims,
        drops,
        opened: 0,
        next: 0,
        onset,
    };
    vec![(world.start_ms + 3_600_000, Box::new(a) as Box<dyn Actor>)]
}
