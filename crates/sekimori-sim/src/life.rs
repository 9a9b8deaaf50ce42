//! Honest life events that trouble fraud systems: paydays, launch-day
//! sign-ups, new phones, password resets, and students collecting split bills
//! from many friends (honest fan-in).

use crate::ids;
use crate::rng::Rng;
use crate::sim::{Ctx, Origin};
use crate::world::World;
use serde_json::{json, Value as Json};

/// One person's pending life events.
#[derive(Debug)]
pub struct Life {
    /// When this person gets a new phone, if they do during the run.
    new_phone_at: Option<i64>,
    /// Still to open the wallet account (launch-day sign-up).
    to_open: bool,
}

impl Life {
    pub fn new(world: &World, who: usize, rng: &mut Rng) -> Life {
        let span = (world.end_ms - world.start_ms).max(1) as u64;
        let new_phone_at = rng
            .chance(0.03)
            .then(|| world.start_ms + rng.range(0, span) as i64);
        let p = &world.people[who];
        Life {
            new_phone_at,
            to_open: p.new_signup && p.wallet.is_some(),
        }
    }
}

/// Paydays: the 25th, and 30 June (the summer bonus), by the UTC calendar.
pub fn payday(now_ms: i64) -> bool {
    let day = sekimori_event::format_rfc3339_ms(now_ms);
    day.get(8..10) == Some("25") || day.get(5..10) == Some("06-30")
}

/// Life events due now: the launch-day sign-up, a new phone, a password reset.
pub fn happen(who: usize, rng: &mut Rng, life: &mut Life, ctx: &mut Ctx<'_>) {
    let honest = Origin::Honest;
    let p = &ctx.world.people[who];
    let Some(wallet) = p.wallet.clone() else {
        return;
    };
    let actor = crate::honest::actor(p, false);
    if life.to_open {
        life.to_open = false;
        let open = json!({"type": "account.open", "service": "wallet", "actor": actor, "account": wallet,
            "kyc": "email", "holder_name": p.holder_kana, "email_domain": "mail.example"});
        ctx.send(honest, 0, open);
    }
    if life.new_phone_at.is_some_and(|t| t <= ctx.now_ms) {
        life.new_phone_at = None;
        let (device, ua) = ids::device(rng);
        let mut a = actor.clone();
        a["device"] = json!(device);
        a["user_agent"] = json!(ua);
        let bind = json!({"type": "device.bind", "service": "wallet", "actor": a, "account": wallet,
            "device": device, "verified_by": "sms"});
        let v = ctx.send(honest, 5_000, bind);
        if ctx.goes_through(honest, &v, &wallet, "wallet", rng, &|_| true) {
            ctx.world.people[who].device = (device, ua);
        }
    }
    if rng.chance(0.002) {
        // A new bank account, opened online with eKYC.
        let bank = &ctx.world.banks[rng.range(0, ctx.world.banks.len() as u64) as usize];
        let login_id = format!(
            "{}-{:03}-{:07}",
            bank.code,
            rng.range(1, 400),
            rng.range(0, 10_000_000)
        );
        let open = json!({"type": "account.open", "service": format!("bank-{}", bank.code), "actor": actor,
            "account": login_id, "kyc": "ekyc", "holder_name": ctx.world.people[who].holder_kana});
        ctx.send(honest, 20_000, open);
    }
    if rng.chance(0.003) {
        let reset = json!({"type": "credential.change", "service": "wallet", "actor": actor, "account": wallet,
            "credential": "password", "channel": "email_link", "result": "success"});
        let v = ctx.send(honest, 10_000, reset);
        if ctx.goes_through(honest, &v, &wallet, "wallet", rng, &|_| true) {
            ctx.world.people[who].password = crate::data::passwords_cached().draw(rng).to_string();
        }
    }
}

/// Now and then a friend pays a student back their share of a dinner.
pub fn split_bill(ctx: &mut Ctx<'_>, rng: &mut Rng, wallet: &str, actor: &Json) {
    if ctx.world.collectors.is_empty() || !rng.chance(0.05) {
        return;
    }
    let to = rng.pick(&ctx.world.collectors).clone();
    if to == wallet {
        return;
    }
    let amount = 1_000 + 500 * rng.range(0, 8) as i64;
    let e = json!({"type": "transfer", "service": "wallet", "actor": actor, "account": wallet,
        "amount_minor": amount, "currency": "JPY", "destination": {"kind": "account", "account": to}});
    let v = ctx.send(Origin::Honest, 15_000, e);
    if ctx.now_ms >= ctx.world.start_ms {
        ctx.score.honest.fan_in_transfers += 1;
        ctx.score.honest.fan_in_flagged += u64::from(v.action != sekimori_rules::Action::Allow);
    }
}
