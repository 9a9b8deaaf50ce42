//! 7pay, July 2019: on launch day, accounts were taken over (the login was the
//! 7iD of the group's e-commerce site, and a password reset could be sent to
//! another e-mail address), then many people bought e-cigarette cartridges
//! (about 500 yen a box, easy to resell) at many stores. 808 victims, about
//! 38.6 million yen.

use super::disguise;
use crate::honest::login_event;
use crate::rng::Rng;
use crate::sim::{Actor, Ctx, Origin};
use crate::world::World;
use sekimori_event::MfaMethod;
use serde_json::json;

const ORIGIN: Origin = Origin::Attack("7pay");
const CARTRIDGE_JPY: i64 = 520;
/// What the attacker tops each wallet up by, from the victim's linked card or bank.
const CHARGE_JPY: i64 = 50_000;

struct SevenPay {
    rng: Rng,
    victims: Vec<usize>,
    next: usize,
}

pub fn spawn(world: &World, mut rng: Rng, onset: i64) -> Vec<(i64, Box<dyn Actor>)> {
    let mut victims: Vec<usize> = (0..world.people.len())
        .filter(|&p| world.people[p].wallet.is_some() && world.people[p].reuses)
        .collect();
    for i in (1..victims.len()).rev() {
        let j = rng.range(0, i as u64 + 1) as usize;
        victims.swap(i, j);
    }
    victims.truncate(120);
    vec![(
        onset,
        Box::new(SevenPay {
            rng,
            victims,
            next: 0,
        }) as Box<dyn Actor>,
    )]
}

impl Actor for SevenPay {
    fn step(&mut self, ctx: &mut Ctx<'_>) -> Option<i64> {
        let who_idx = *self.victims.get(self.next)?;
        self.next += 1;
        let wallet = ctx.world.people[who_idx].wallet.clone()?;
        let who = disguise(&mut self.rng, false);
        // The reset link goes to the attacker's address: it controls that e-mail.
        let has = |m: MfaMethod| m == MfaMethod::Email;
        let reset = json!({"type": "credential.change", "service": "wallet", "actor": who, "account": wallet,
            "credential": "password", "channel": "email_link", "result": "success"});
        let v = ctx.send(ORIGIN, 0, reset);
        if !ctx.goes_through(ORIGIN, &v, &wallet, "wallet", &mut self.rng, &has) {
            return Some(ctx.now_ms + self.rng.exp_ms(120_000) as i64);
        }
        let fp = ctx.fingerprint(&format!("attacker-{}", self.rng.u64()));
        let v = ctx.send(
            ORIGIN,
            60_000,
            login_event("wallet", &wallet, "password", &fp, "success", &who),
        );
        if !ctx.goes_through(ORIGIN, &v, &wallet, "wallet", &mut self.rng, &has) {
            return Some(ctx.now_ms + self.rng.exp_ms(120_000) as i64);
        }
        let acct = &ctx.world.accounts[ctx.world.people[who_idx].accounts[0]];
        let source = json!({"kind": "bank", "bank_code": ctx.world.banks[acct.bank].code, "branch": acct.branch, "number": acct.number});
        let charge = json!({"type": "charge", "service": "wallet", "actor": who, "account": wallet,
            "amount_minor": CHARGE_JPY, "currency": "JPY", "source": source});
        let v = ctx.send(ORIGIN, 120_000, charge);
        let mut budget = if ctx.goes_through(ORIGIN, &v, &wallet, "wallet", &mut self.rng, &has) {
            CHARGE_JPY
        } else {
            0
        };
        budget += ctx.world.people[who_idx].wallet_balance_jpy.max(0);
        ctx.world.people[who_idx].wallet_balance_jpy = 0;
        ctx.score.targeted("7pay", budget);
        let mut offset = 300_000;
        while budget >= CARTRIDGE_JPY * 10 {
            let amount = CARTRIDGE_JPY * 10;
            let buy = json!({"type": "purchase", "service": "qr-pay", "actor": who, "account": wallet,
                "amount_minor": amount, "currency": "JPY", "merchant": "conv-seven",
                "store": format!("store-{:04}", self.rng.range(0, 400)), "sku": "ecig-cartridge-5p", "category": "tobacco"});
            let v = ctx.send(ORIGIN, offset, buy);
            if !ctx.goes_through(ORIGIN, &v, &wallet, "qr-pay", &mut self.rng, &has) {
                break;
            }
            budget -= amount;
            let at = ctx.now_ms + offset;
            ctx.score.stolen("7pay", &wallet, amount, at);
            offset += self.rng.exp_ms(600_000) as i64;
        }
        Some(ctx.now_ms + self.rng.exp_ms(300_000) as i64)
    }
}
