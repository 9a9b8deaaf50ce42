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

/// One crew: takes over its victims one at a time and shops each wallet
/// empty, one ten-box purchase per step.
struct SevenPay {
    rng: Rng,
    victims: Vec<usize>,
    next: usize,
    /// The wallet being emptied: (victim, wallet, client, budget left).
    spree: Option<(usize, String, serde_json::Value, i64)>,
}

/// Six crews share up to 120 wallet users who reuse their password.
pub fn spawn(world: &World, mut rng: Rng, onset: i64) -> Vec<(i64, Box<dyn Actor>)> {
    let mut victims: Vec<usize> = (0..world.people.len())
        .filter(|&p| world.people[p].wallet.is_some() && world.people[p].reuses)
        .collect();
    for i in (1..victims.len()).rev() {
        let j = rng.range(0, i as u64 + 1) as usize;
        victims.swap(i, j);
    }
    victims.truncate(120);
    (0..6)
        .map(|c| {
            let mine = victims.iter().copied().skip(c).step_by(6).collect();
            let crew = SevenPay {
                rng: rng.fork(&format!("crew-{c}")),
                victims: mine,
                next: 0,
                spree: None,
            };
            (onset + c as i64 * 60_000, Box::new(crew) as Box<dyn Actor>)
        })
        .collect()
}

/// The reset link goes to the attacker's mailbox: it passes e-mail challenges.
fn has(m: MfaMethod) -> bool {
    m == MfaMethod::Email
}

impl Actor for SevenPay {
    fn step(&mut self, ctx: &mut Ctx<'_>) -> Option<i64> {
        match self.spree.take() {
            Some(spree) => self.buy(ctx, spree),
            None => self.take_over(ctx)?,
        }
        Some(ctx.now_ms + self.rng.exp_ms(180_000) as i64)
    }
}

impl SevenPay {
    /// Reset, login, charge; then the spree starts at the next step.
    fn take_over(&mut self, ctx: &mut Ctx<'_>) -> Option<()> {
        let who_idx = *self.victims.get(self.next)?;
        self.next += 1;
        let Some(wallet) = ctx.world.people[who_idx].wallet.clone() else {
            return Some(());
        };
        let who = disguise(&mut self.rng, false);
        let reset = json!({"type": "credential.change", "service": "wallet", "actor": who, "account": wallet,
            "credential": "password", "channel": "email_link", "result": "success"});
        let v = ctx.send(ORIGIN, 0, reset);
        if !ctx.goes_through(ORIGIN, &v, &wallet, "wallet", &mut self.rng, &has) {
            return Some(());
        }
        // The reset gave the attacker the password: the holder's no longer works.
        let taken = format!("attacker-{}", self.rng.u64());
        ctx.world.people[who_idx].password = taken.clone();
        let fp = ctx.fingerprint(&taken);
        let v = ctx.send(
            ORIGIN,
            40_000,
            login_event("wallet", &wallet, "password", &fp, "success", &who),
        );
        if !ctx.goes_through(ORIGIN, &v, &wallet, "wallet", &mut self.rng, &has) {
            return Some(());
        }
        let bank = ctx.world.people[who_idx].accounts[0];
        let can_charge = ctx.world.accounts[bank].balance_jpy >= CHARGE_JPY;
        let acct = &ctx.world.accounts[ctx.world.people[who_idx].accounts[0]];
        let source = json!({"kind": "bank", "bank_code": ctx.world.banks[acct.bank].code, "branch": acct.branch, "number": acct.number});
        let charge = json!({"type": "charge", "service": "wallet", "actor": who, "account": wallet,
            "amount_minor": CHARGE_JPY, "currency": "JPY", "source": source});
        let v = ctx.send(ORIGIN, 80_000, charge);
        let charged =
            can_charge && ctx.goes_through(ORIGIN, &v, &wallet, "wallet", &mut self.rng, &has);
        if charged {
            ctx.world.accounts[bank].balance_jpy -= CHARGE_JPY;
        }
        let budget = if charged { CHARGE_JPY } else { 0 }
            + ctx.world.people[who_idx].wallet_balance_jpy.max(0);
        ctx.world.people[who_idx].wallet_balance_jpy = 0;
        ctx.score.targeted("7pay", budget);
        self.spree = Some((who_idx, wallet, who, budget));
        Some(())
    }

    /// One ten-box purchase at a random store; the spree goes on while money is left.
    fn buy(
        &mut self,
        ctx: &mut Ctx<'_>,
        (victim, wallet, who, budget): (usize, String, serde_json::Value, i64),
    ) {
        let amount = CARTRIDGE_JPY * 10;
        if budget < amount {
            // What the spree could not spend stays in the victim's wallet.
            ctx.world.people[victim].wallet_balance_jpy += budget;
            return;
        }
        let buy = json!({"type": "purchase", "service": "qr-pay", "actor": who, "account": wallet,
            "amount_minor": amount, "currency": "JPY", "merchant": "conv-seven",
            "store": format!("store-{:04}", self.rng.range(0, 400)), "sku": "ecig-cartridge-5p", "category": "tobacco"});
        let v = ctx.send(ORIGIN, 0, buy);
        if ctx.goes_through(ORIGIN, &v, &wallet, "qr-pay", &mut self.rng, &has) {
            let at = ctx.now_ms;
            ctx.score.stolen("7pay", &wallet, amount, at);
            self.spree = Some((victim, wallet, who, budget - amount));
        } else {
            ctx.world.people[victim].wallet_balance_jpy += budget;
        }
    }
}
