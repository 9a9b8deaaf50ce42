//! The neobank: a dollar account (one person in eight) at a service whose
//! integration sends no device id, only the address and the user agent, and
//! the balance before each movement when the vocabulary has it. Honest use:
//! a phone login with a typo now and then, payments of $20-800 to a few
//! regular payees (a new one now and then), and, now and then, the whole
//! balance moved to the holder's own bank account (an honest look-alike of a
//! drain). Paychecks arrive on paydays.

use crate::honest::{login_event, typo_of};
use crate::rng::Rng;
use crate::sim::{Ctx, Origin};
use crate::world::Person;
use serde_json::{json, Value as Json};

pub const SERVICE: &str = "neobank";

/// The client the neobank reports: address (and its ASN) and user agent.
pub fn actor(p: &Person) -> Json {
    json!({"ip": p.mobile.ip, "asn": p.mobile.asn, "user_agent": p.device.1})
}

/// One of the person's three regular payees (landlord, two friends).
fn regular_payee(who: usize, k: u64) -> String {
    let h = (who as u64 ^ 0x9e37_79b9_7f4a_7c15).wrapping_mul(0x100_0000_01b3 + k);
    format!("n-{:08x}", h >> 32)
}

/// A transfer out of a neobank account, with the balance before it.
pub fn transfer_event(actor: &Json, account: &str, cents: i64, before: i64, dest: Json) -> Json {
    let mut e = json!({"type": "transfer", "service": SERVICE, "actor": actor, "account": account,
        "amount_minor": cents, "currency": "USD", "destination": dest});
    crate::integration::balance(&mut e, before);
    e
}

/// One neobank session of an honest holder.
pub fn day(ctx: &mut Ctx<'_>, rng: &mut Rng, who: usize) {
    let p = &ctx.world.people[who];
    let Some(account) = p.neobank.clone() else {
        return;
    };
    if crate::life::payday(ctx.now_ms) && rng.chance(0.5) {
        ctx.world.people[who].usd_cents += 150_000 + rng.range(0, 200_000) as i64;
    }
    let p = &ctx.world.people[who];
    let (a, password, typo_rate) = (actor(p), p.password.clone(), p.typo_rate);
    let mut offset = 0;
    if rng.chance(typo_rate) {
        let typo = typo_of(&password, rng);
        let fp = ctx.fingerprint(&typo);
        let e = login_event(SERVICE, &account, "password", &fp, "failure", &a);
        ctx.send(Origin::Honest, 0, e);
        offset = 8_000;
    }
    let fp = ctx.fingerprint(&password);
    let e = login_event(SERVICE, &account, "password", &fp, "success", &a);
    let v = ctx.send(Origin::Honest, offset, e);
    if !ctx.goes_through(Origin::Honest, &v, &account, SERVICE, rng, &|_| true) {
        return;
    }
    if !rng.chance(0.4) {
        return;
    }
    let balance = ctx.world.people[who].usd_cents;
    let (cents, dest) = if rng.chance(0.03) {
        // Everything to the holder's own bank account.
        let p = &ctx.world.people[who];
        let own = &ctx.world.accounts[p.accounts[0]];
        let dest = json!({"kind": "bank", "bank_code": ctx.world.banks[own.bank].code,
            "branch": own.branch, "number": own.number, "holder_name": p.holder_kana});
        (balance, dest)
    } else {
        let new = rng.chance(0.2);
        let to = if new {
            crate::ids::account(rng, "n")
        } else {
            regular_payee(who, rng.range(0, 3))
        };
        let dest = json!({"kind": "account", "account": to});
        if new {
            let add = json!({"type": "payee.add", "service": SERVICE, "actor": a, "account": account,
                "destination": dest});
            let v = ctx.send(Origin::Honest, 20_000, add);
            if !ctx.goes_through(Origin::Honest, &v, &account, SERVICE, rng, &|_| true) {
                return;
            }
        }
        (2_000 + 100 * rng.range(0, 7_800) as i64, dest)
    };
    if cents <= 0 || cents > balance {
        return;
    }
    let e = transfer_event(&a, &account, cents, balance, dest);
    let v = ctx.send(Origin::Honest, 40_000, e);
    if ctx.goes_through(Origin::Honest, &v, &account, SERVICE, rng, &|_| true) {
        ctx.world.people[who].usd_cents -= cents;
    }
}
