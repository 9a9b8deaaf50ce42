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
