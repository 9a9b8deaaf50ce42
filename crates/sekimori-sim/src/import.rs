//! The services' history import: before the simulated history starts, each
//! service sends sekimori the successful logins its own authentication
//! admitted over the last four weeks, from its records, marked observed
//! (`attrs.sekimori_observed`, docs/rules.md "Observation and history
//! import"), as a service switching sekimori on would.
//!
//! What a service has and sends: per account that existed and was used in
//! those weeks, a few of its admitted logins (at most [`PER_ACCOUNT`]: the
//! import is bounded per account), from the client the holder uses there
//! (the phone for the wallet and the neobank, home for the exchange, the
//! broker and the internet bank), with the fingerprint of the right
//! password. Not every account has a past: about one in ten is fresh (opened
//! in the last days), and a wallet opened on the launch day has none. No
//! failure is imported (a service's record of who got in, not of who tried),
//! and no attacker's login (the simulated incidents start after the history).
//!
//! Its randomness comes from its own stream (seeded from the run's seed, not
//! drawn from the world's), so the world, the people and the attacks are the
//! same with or without it.

use crate::honest::{actor, login_event};
use crate::rng::Rng;
use crate::sim::{Actor, Ctx, Origin};
use crate::world::World;
use serde_json::Value as Json;

/// How far back the import reaches.
pub const WEEKS: i64 = 4;
/// Admitted logins imported per account, at most.
pub const PER_ACCOUNT: u64 = 4;
/// Share of accounts with no past at the service (fresh sign-ups), in percent.
const FRESH_PERCENT: u64 = 10;

/// One imported login: when, which person, which service and account, and
/// whether from home.
#[derive(Debug)]
struct Login {
    at_ms: i64,
    who: usize,
    service: &'static str,
    account: String,
    from_home: bool,
}

/// The import, sent in time order before the history.
#[derive(Debug)]
pub struct Import {
    /// Latest first: the next one is popped from the end.
    logins: Vec<Login>,
}

impl Import {
    /// The import of every service of `world`, from the run's `seed`.
    pub fn new(world: &World, seed: u64) -> Import {
        let mut rng = Rng::new(seed).fork("history-import");
        let from_ms = world.history_ms - WEEKS * 7 * 86_400_000;
        let span = (world.history_ms - 3_600_000 - from_ms).max(1) as u64;
        let mut logins = Vec::new();
        for (who, p) in world.people.iter().enumerate() {
            let bank = p
                .accounts
                .first()
                .map(|&a| world.accounts[a].login_id(&world.banks));
            let wallet = p.wallet.clone().filter(|_| !p.new_signup);
            let accounts = [
                ("wallet", wallet, false),
                ("exchange", p.exchange.clone(), true),
                ("broker", p.broker.clone(), true),
                ("netbank", bank, true),
                ("neobank", p.neobank.clone(), false),
            ];
            for (service, account, from_home) in accounts {
                let Some(account) = account else { continue };
                if rng.range(0, 100) < FRESH_PERCENT {
                    continue;
                }
                for _ in 0..rng.range(1, PER_ACCOUNT + 1) {
                    logins.push(Login {
                        at_ms: from_ms + rng.range(0, span) as i64,
                        who,
                        service,
                        account: account.clone(),
                        from_home,
                    });
                }
            }
        }
        logins.sort_by_key(|l| std::cmp::Reverse((l.at_ms, l.who)));
        Import { logins }
    }

    /// When the first imported login is sent, if any.
    pub fn first_ms(&self) -> Option<i64> {
        self.logins.last().map(|l| l.at_ms)
    }

    /// The number of logins to import.
    pub fn len(&self) -> usize {
        self.logins.len()
    }

    pub fn is_empty(&self) -> bool {
        self.logins.is_empty()
    }
}

/// The client a login of `service` comes from.
fn client(world: &World, l: &Login) -> Json {
    let p = &world.people[l.who];
    if l.service == "neobank" {
        crate::neobank::actor(p)
    } else {
        actor(p, l.from_home)
    }
}

impl Actor for Import {
    fn step(&mut self, ctx: &mut Ctx<'_>) -> Option<i64> {
        while self.logins.last().is_some_and(|l| l.at_ms <= ctx.now_ms) {
            let Some(l) = self.logins.pop() else { break };
            let who = client(ctx.world, &l);
            let fp = ctx.fingerprint(&ctx.world.people[l.who].password);
            let e = login_event(l.service, &l.account, "password", &fp, "success", &who);
            ctx.send(Origin::Honest, 0, e);
        }
        self.first_ms()
    }
}
