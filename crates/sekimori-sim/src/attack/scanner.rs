//! `scanner-rotation`: a login scanner on three rented servers.
//!
//! **Playbook.** The attacker has a scraped list of the exchange's login ids
//! (a quarter of them stale or mistyped: no such account) and the 25 most
//! common passwords. Three hosting addresses take turns, one try every 1.5 s
//! in all, working down the password list and, for each password, through
//! the whole username list in a shuffled order: an account sees its next try
//! only when the whole list has gone by (10 minutes in the small world, most
//! of a day in the medium one), and the three addresses take turns. A
//! script keeps no cookies, so no device id reaches the service; the user
//! agent is a copied browser string. The scanner never reads an answer beyond
//! "logged in or not": a refused or banned try is simply lost, and it keeps
//! its pace. On a hit: the attacker's address as a payee, then a withdrawal
//! of all the BTC.
//!
//! **What a service sees.** Thousands of `login.attempt` failures
//! (`bad_secret`, and `unknown_account` for names it has no account for)
//! from three addresses of a hosting ASN, across thousands of accounts and a
//! couple of dozen passwords, and a right password now and then.

use super::drain_exchange;
use crate::honest::login_event;
use crate::net;
use crate::rng::Rng;
use crate::sim::{Actor, Ctx, Origin};
use crate::world::World;
use serde_json::{json, Value as Json};

const ORIGIN: Origin = Origin::Attack("scanner-rotation");
/// Addresses the scanner runs from.
pub const ADDRESSES: usize = 3;
/// Passwords it rotates through, most common first.
pub const PASSWORDS: usize = 25;

struct Scanner {
    rng: Rng,
    /// (exchange user, or `None` for a name with no account, the login id).
    users: Vec<(Option<usize>, String)>,
    passwords: Vec<String>,
    clients: Vec<Json>,
    next: usize,
}

impl Actor for Scanner {
    fn step(&mut self, ctx: &mut Ctx<'_>) -> Option<i64> {
        let n = self.users.len();
        if n == 0 {
            return None;
        }
        let password = self.passwords.get(self.next / n)?.clone();
        let (who, login) = self.users[self.next % n].clone();
        let client = self.clients[self.next % self.clients.len()].clone();
        self.next += 1;
        let right = who.is_some_and(|w| ctx.world.people[w].password == password);
        let mut e = login_event(
            "exchange",
            &login,
            "password",
            &ctx.fingerprint(&password),
            if right { "success" } else { "failure" },
            &client,
        );
        if who.is_none() {
            e["failure_reason"] = json!("unknown_account");
        }
        let v = ctx.send(ORIGIN, 0, e);
        if let (Some(w), true) = (who, right) {
            if ctx.goes_through(ORIGIN, &v, &login, "exchange", &mut self.rng, &|_| false) {
                drain_exchange(ctx, ORIGIN, &mut self.rng, w, &client);
            }
        }
        Some(ctx.now_ms + 1_000 + self.rng.range(0, 1_000) as i64)
    }
}

pub fn spawn(world: &World, mut rng: Rng, onset: i64) -> Vec<(i64, Box<dyn Actor>)> {
    let mut users: Vec<(Option<usize>, String)> = (0..world.people.len())
        .filter_map(|p| world.people[p].exchange.clone().map(|x| (Some(p), x)))
        .collect();
    for _ in 0..users.len() / 3 {
        users.push((None, crate::ids::account(&mut rng, "x")));
    }
    // Fisher-Yates, so the order is the seed's.
    for i in (1..users.len()).rev() {
        let j = rng.range(0, i as u64 + 1) as usize;
        users.swap(i, j);
    }
    let passwords = crate::data::passwords_cached().items[..PASSWORDS].to_vec();
    let clients = (0..ADDRESSES)
        .map(|_| {
            let a = net::hosting(&mut rng);
            let (_, ua) = crate::ids::device(&mut rng);
            json!({"ip": a.ip, "asn": a.asn, "user_agent": ua})
        })
        .collect();
    let s = Scanner {
        rng,
        users,
        passwords,
        clients,
        next: 0,
    };
    vec![(onset, Box::new(s) as Box<dyn Actor>)]
}
