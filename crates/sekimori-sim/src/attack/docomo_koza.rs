//! docomo koza, 2020: a reverse brute force. The attacker knows account numbers
//! and holder names at banks whose wallet-link check is the 4-digit PIN alone,
//! tries one popular PIN on each (the bank reports each PIN check), opens
//! throwaway e-mail-only wallets, links every account the PIN opened, charges
//! up to the 300,000 yen cap, and spends it. 143 cases, 26.76 million yen.

use super::disguise;
use crate::honest::login_event;
use crate::rng::Rng;
use crate::sim::{Actor, Ctx, Origin};
use crate::world::{LinkCheck, World};
use serde_json::json;

const ORIGIN: Origin = Origin::Attack("docomo-koza");
/// The e-wallet's charge cap in 2020.
const CHARGE_CAP_JPY: i64 = 300_000;
/// Most accounts tried, whatever the size of the world.
const MAX_TARGETS: usize = 1_600;

struct KozaAttacker {
    rng: Rng,
    pin: String,
    targets: Vec<usize>,
    next: usize,
    wallets: u64,
}

pub fn spawn(world: &World, mut rng: Rng, onset: i64) -> Vec<(i64, Box<dyn Actor>)> {
    let mut targets: Vec<usize> = (0..world.accounts.len())
        .filter(|&a| world.banks[world.accounts[a].bank].link_check == LinkCheck::PinOnly)
        .collect();
    // A fixed shuffle: the attacker's list order.
    for i in (1..targets.len()).rev() {
        let j = rng.range(0, i as u64 + 1) as usize;
        targets.swap(i, j);
    }
    targets.truncate(MAX_TARGETS);
    let pin = crate::data::pins()
        .most_common(1)
        .first()
        .map_or("1234".into(), |p| p.to_string());
    vec![(
        onset,
        Box::new(KozaAttacker {
            rng,
            pin,
            targets,
            next: 0,
            wallets: 0,
        }) as Box<dyn Actor>,
    )]
}

impl Actor for KozaAttacker {
    fn step(&mut self, ctx: &mut Ctx<'_>) -> Option<i64> {
        let target = *self.targets.get(self.next)?;
        self.next += 1;
        let acct = &ctx.world.accounts[target];
        let bank = &ctx.world.banks[acct.bank];
        let (login_id, code, branch, number) = (
            acct.login_id(&ctx.world.banks),
            bank.code.clone(),
            acct.branch.clone(),
            acct.number.clone(),
        );
        let right = acct.pin == self.pin;
        let who = disguise(&mut self.rng, false);
        let service = format!("bank-{code}");
        let e = login_event(
            &service,
            &login_id,
            "pin",
            &ctx.fingerprint(&self.pin),
            if right { "success" } else { "failure" },
            &who,
        );
        let v = ctx.send(ORIGIN, 0, e);
        if right && ctx.goes_through(ORIGIN, &v, &login_id, &service, &mut self.rng, &|_| false) {
            self.cash_out(ctx, target, &code, &branch, &number);
        }
        Some(ctx.now_ms + self.rng.exp_ms(30_000) as i64)
    }
}

impl KozaAttacker {
    /// A new throwaway wallet, the link, the charge to the cap, the spending.
    fn cash_out(
        &mut self,
        ctx: &mut Ctx<'_>,
        target: usize,
        code: &str,
        branch: &str,
        number: &str,
    ) {
        self.wallets += 1;
        let wallet = format!("w-9{:06}", self.rng.range(0, 1_000_000));
        let who = disguise(&mut self.rng, false);
        let owner = ctx.world.accounts[target].owner;
        let holder = ctx.world.people[owner].holder_kana.clone();
        let open = json!({"type": "account.open", "service": "wallet", "actor": who, "account": wallet,
            "kyc": "email", "holder_name": holder, "email_domain": "mail.example"});
        ctx.send(ORIGIN, 5_000, open);
        let link = json!({"type": "link.bank", "service": "wallet", "actor": who, "account": wallet,
            "bank": {"bank_code": code, "branch": branch, "number": number, "holder_name": holder},
            "verified": ["pin"], "result": "success"});
        let v = ctx.send(ORIGIN, 60_000, link);
        if !ctx.goes_through(ORIGIN, &v, &wallet, "wallet", &mut self.rng, &|_| false) {
            return;
        }
        let amount = ctx.world.accounts[target].balance_jpy.min(CHARGE_CAP_JPY);
        ctx.score.targeted("docomo-koza", amount);
        let charge = json!({"type": "charge", "service": "wallet", "actor": who, "account": wallet,
            "amount_minor": amount, "currency": "JPY",
            "source": {"kind": "bank", "bank_code": code, "branch": branch, "number": number}});
        let v = ctx.send(ORIGIN, 120_000, charge);
        if ctx.goes_through(ORIGIN, &v, &wallet, "wallet", &mut self.rng, &|_| false) {
            ctx.world.accounts[target].balance_jpy -= amount;
            let at = ctx.now_ms;
            let victim = ctx.world.accounts[target].login_id(&ctx.world.banks);
            ctx.score.stolen("docomo-koza", &victim, amount, at);
            let spend = json!({"type": "purchase", "service": "qr-pay", "actor": who, "account": wallet,
                "amount_minor": amount, "currency": "JPY", "merchant": "electronics-mart",
                "store": format!("store-{:04}", self.rng.range(0, 400)), "sku": "gift-card-50k", "category": "gift_card"});
            ctx.send(ORIGIN, 600_000, spend);
        }
    }
}
