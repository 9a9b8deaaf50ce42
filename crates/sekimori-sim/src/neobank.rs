//! The neobank: a dollar account (one person in eight) at a service whose
//! integration sends no device id, only the address and the user agent, and
//! the balance before each movement when the vocabulary has it. Honest use:
//! a phone login with a typo now and then, payments to a few regular payees
//! (a new one now and then) of $20-800, mostly small, with a long but thin
//! tail up to $3,000 ([`payment_cents`]), and, now and then, the whole
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

/// An honest payment, in cents: whole dollars, mostly small, with a long but
/// thin tail. 70% are $20-199 (groceries, a share of a bill), 27% $200-799
/// (a utility, a larger bill), 3% $800-2,999 (rent, a deposit): the median is
/// near $150, and about 2% pass $1,500 (the pack's new-payee threshold).
pub fn payment_cents(rng: &mut Rng) -> i64 {
    let dollars = match rng.range(0, 100) {
        0..=69 => rng.range(20, 200),
        70..=96 => rng.range(200, 800),
        _ => rng.range(800, 3_000),
    };
    100 * dollars as i64
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
        (payment_cents(rng), dest)
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The documented shape of honest neobank payments: $20-3,000 in whole
    /// dollars, at least 95% at most $800, a median between $50 and $250, a
    /// tail that exists but stays thin past the new-payee threshold. A
    /// range drifting (as $20-7,820 once did) fails here.
    #[test]
    fn honest_payments_are_mostly_small_with_a_thin_tail() {
        for seed in [1, 7, 42] {
            let mut rng = Rng::new(seed);
            let mut draws: Vec<i64> = (0..20_000).map(|_| payment_cents(&mut rng)).collect();
            draws.sort_unstable();
            let n = draws.len();
            assert!(draws[0] >= 2_000, "under $20: {}", draws[0]);
            assert!(draws[n - 1] < 300_000, "$3,000 or more: {}", draws[n - 1]);
            assert!(draws.iter().all(|c| c % 100 == 0), "whole dollars");
            let share =
                |pred: &dyn Fn(i64) -> bool| draws.iter().filter(|c| pred(**c)).count() * 1000 / n;
            let upto_800 = share(&|c| c <= 80_000);
            assert!(upto_800 >= 950, "{upto_800}/1000 at most $800");
            let under_200 = share(&|c| c < 20_000);
            assert!(
                (600..=800).contains(&under_200),
                "{under_200}/1000 under $200"
            );
            let past_1500 = share(&|c| c >= 150_000);
            assert!(
                (5..=30).contains(&past_1500),
                "{past_1500}/1000 at $1,500 or more"
            );
            let median = draws[n / 2];
            assert!((5_000..=25_000).contains(&median), "median {median}");
        }
    }
}
