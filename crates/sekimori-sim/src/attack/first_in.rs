//! `first-in-bot`: a bot that gets in first and keeps logging in.
//!
//! **Playbook.** The attacker holds a list of exchange logins with the
//! passwords their holders reuse elsewhere, and picks the accounts nobody has
//! logged in to yet (fresh sign-ups from a leaked list: no history at the
//! service). For each, a bot with its own sticky residential proxy exit and
//! its own device id logs in with the right password, then again about every
//! hour (58-62 minutes, a scheduler's regularity), for a day: the account's
//! only history is the bot's, so it looks like the account's usual client.
//! After 24 logins it adds its own address as a payee and withdraws all the
//! BTC. A bot that is challenged (it has no factor) or refused drops that
//! account.
//!
//! **What a service sees.** Successful password logins to accounts with no
//! history, each from one client that never changes, at a steady hourly
//! beat; meanwhile the holder may log in from their own phone. A day later,
//! a new payee and the whole balance out.

use super::drain_exchange;
use crate::honest::login_event;
use crate::rng::Rng;
use crate::sim::{Actor, Ctx, Origin};
use crate::world::World;
use serde_json::Value as Json;

const ORIGIN: Origin = Origin::Attack("first-in-bot");
/// At most this many accounts.
pub const VICTIMS: usize = 40;
/// Logins before the drain.
pub const LOGINS_BEFORE_DRAIN: u32 = 24;

struct Bot {
    who: usize,
    account: String,
    /// The password from the breach list.
    password: String,
    client: Json,
    logins: u32,
    next_ms: i64,
}

struct FirstIn {
    rng: Rng,
    bots: Vec<Bot>,
    chosen: bool,
}

impl FirstIn {
    /// Exchange users who reuse their password and have not logged in yet.
    fn choose(&mut self, ctx: &Ctx<'_>) {
        self.chosen = true;
        let world = &*ctx.world;
        for (who, p) in world.people.iter().enumerate() {
            if self.bots.len() >= VICTIMS {
                break;
            }
            let Some(account) = p.exchange.clone() else {
                continue;
            };
            if !p.reuses || world.logged_in.contains(&account) {
                continue;
            }
            let client = super::disguise(&mut self.rng, false);
            let next_ms = ctx.now_ms + 120_000 * self.bots.len() as i64;
            self.bots.push(Bot {
                who,
                account,
                password: p.password.clone(),
                client,
                logins: 0,
                next_ms,
            });
        }
    }
}

impl Actor for FirstIn {
    fn step(&mut self, ctx: &mut Ctx<'_>) -> Option<i64> {
        if !self.chosen {
            self.choose(ctx);
        }
        let i = (0..self.bots.len()).min_by_key(|&i| self.bots[i].next_ms)?;
        if self.bots[i].next_ms > ctx.now_ms {
            return Some(self.bots[i].next_ms);
        }
        let (who, account, client, password) = {
            let b = &self.bots[i];
            (
                b.who,
                b.account.clone(),
                b.client.clone(),
                b.password.clone(),
            )
        };
        let fp = ctx.fingerprint(&password);
        // The holder may have changed it since the breach.
        let right = ctx.world.people[who].password == password;
        let result = if right { "success" } else { "failure" };
        let e = login_event("exchange", &account, "password", &fp, result, &client);
        let v = ctx.send(ORIGIN, 0, e);
        if !right || !ctx.goes_through(ORIGIN, &v, &account, "exchange", &mut self.rng, &|_| false)
        {
            self.bots.swap_remove(i);
        } else {
            self.bots[i].logins += 1;
            if self.bots[i].logins >= LOGINS_BEFORE_DRAIN {
                drain_exchange(ctx, ORIGIN, &mut self.rng, who, &client);
                self.bots.swap_remove(i);
            } else {
                self.bots[i].next_ms = ctx.now_ms + 3_480_000 + self.rng.range(0, 240_000) as i64;
            }
        }
        self.bots.iter().map(|b| b.next_ms).min()
    }
}

pub fn spawn(_world: &World, rng: Rng, onset: i64) -> Vec<(i64, Box<dyn Actor>)> {
    let a = FirstIn {
        rng,
        bots: Vec::new(),
        chosen: false,
    };
    vec![(onset, Box::new(a) as Box<dyn Actor>)]
}
