//! `usd-drain`: takeovers that empty dollar accounts at the neobank, a
//! service that sends no device ids.
//!
//! **Playbook.** A breach list from another site gives the attacker the
//! neobank logins of holders who reuse their password. It picks those with
//! $500 or more, up to 30, and works through them about one every ten
//! minutes, each from a fresh residential proxy exit and a copied browser
//! user agent (the service would not see a device id anyway). After the
//! login: a new payee (a mule's account at the same service, instant
//! transfers), then 60% of the balance, and two and a half minutes later the rest but a
//! few dollars, so the account is not left at exactly zero. It has no second
//! factor: a challenge stops that account.
//!
//! **What a service sees.** A password login with the right password from an
//! address the account never used, no device id; a payee added a minute
//! later; two transfers that together take all but up to $5 of the balance before
//! them (`balance_before_minor`, when the vocabulary has it), in USD.

use crate::honest::login_event;
use crate::integration::cents_to_jpy;
use crate::neobank::{transfer_event, SERVICE};
use crate::rng::Rng;
use crate::sim::{Actor, Ctx, Origin};
use crate::world::World;
use serde_json::json;

const ORIGIN: Origin = Origin::Attack("usd-drain");
pub const VICTIMS: usize = 30;
/// Holders with less than this are not worth the attempt.
pub const MIN_CENTS: i64 = 50_000;

struct Drainer {
    rng: Rng,
    victims: Vec<usize>,
    next: usize,
}

impl Drainer {
    /// One transfer out; books what left.
    fn take(
        &mut self,
        ctx: &mut Ctx<'_>,
        who: usize,
        cents: i64,
        offset: i64,
        client: &serde_json::Value,
        dest: &serde_json::Value,
    ) -> bool {
        let account = ctx.world.people[who].neobank.clone().unwrap_or_default();
        let before = ctx.world.people[who].usd_cents;
        if cents <= 0 || cents > before {
            return false;
        }
        ctx.score.targeted("usd-drain", cents_to_jpy(cents));
        let e = transfer_event(client, &account, cents, before, dest.clone());
        let v = ctx.send(ORIGIN, offset, e);
        if !ctx.goes_through(ORIGIN, &v, &account, SERVICE, &mut self.rng, &|_| false) {
            return false;
        }
        ctx.world.people[who].usd_cents -= cents;
        let at = ctx.now_ms + offset;
        ctx.score
            .stolen("usd-drain", &account, cents_to_jpy(cents), at);
        true
    }
}

impl Actor for Drainer {
    fn step(&mut self, ctx: &mut Ctx<'_>) -> Option<i64> {
        let who = *self.victims.get(self.next)?;
        self.next += 1;
        let next = Some(ctx.now_ms + 300_000 + self.rng.exp_ms(300_000) as i64);
        let Some(account) = ctx.world.people[who].neobank.clone() else {
            return next;
        };
        let (_, ua) = crate::ids::device(&mut self.rng);
        let addr = crate::net::residential_proxy(&mut self.rng);
        let client = json!({"ip": addr.ip, "asn": addr.asn, "user_agent": ua});
        let fp = ctx.fingerprint(&ctx.world.people[who].password.clone());
        let e = login_event(SERVICE, &account, "password", &fp, "success", &client);
        let v = ctx.send(ORIGIN, 0, e);
        if !ctx.goes_through(ORIGIN, &v, &account, SERVICE, &mut self.rng, &|_| false) {
            return next;
        }
        let dest = json!({"kind": "account", "account": crate::ids::account(&mut self.rng, "n")});
        let add = json!({"type": "payee.add", "service": SERVICE, "actor": client, "account": account,
            "destination": dest});
        let v = ctx.send(ORIGIN, 60_000, add);
        if !ctx.goes_through(ORIGIN, &v, &account, SERVICE, &mut self.rng, &|_| false) {
            return next;
        }
        let balance = ctx.world.people[who].usd_cents;
        let first = balance * 6 / 10;
        if self.take(ctx, who, first, 90_000, &client, &dest) {
            let rest = ctx.world.people[who].usd_cents - self.rng.range(0, 500) as i64;
            self.take(ctx, who, rest, 240_000, &client, &dest);
        }
        next
    }
}

pub fn spawn(world: &World, rng: Rng, onset: i64) -> Vec<(i64, Box<dyn Actor>)> {
    let victims = (0..world.people.len())
        .filter(|&p| {
            let p = &world.people[p];
            p.neobank.is_some() && p.reuses && p.usd_cents >= MIN_CENTS
        })
        .take(VICTIMS)
        .collect();
    let a = Drainer {
        rng,
        victims,
        next: 0,
    };
    vec![(onset, Box::new(a) as Box<dyn Actor>)]
}
