//! docomo koza, 2020: a reverse brute force. The attacker knows account numbers
//! and holder names at banks whose wallet-link check is the 4-digit PIN alone,
//! tries one popular PIN on each (the bank reports each PIN check), opens
//! throwaway e-mail-only wallets, links every account the PIN opened, charges
//! up to the 300,000 yen cap, and spends it. 143 cases, 26.76 million yen.
//!
//! `docomo-koza-slow` is the adaptive variant: PINs in order of popularity,
//! one try every ten minutes, from carrier CGNAT addresses that honest phones
//! share, so that no address and no short window stands out.

use super::disguise;
use crate::honest::login_event;
use crate::net;
use crate::rng::Rng;
use crate::sim::{Actor, Ctx, Origin};
use crate::world::{LinkCheck, World};
use serde_json::json;

/// The e-wallet's charge cap in 2020.
const CHARGE_CAP_JPY: i64 = 300_000;
/// Most accounts tried, whatever the size of the world.
const MAX_TARGETS: usize = 1_600;

struct KozaAttacker {
    name: &'static str,
    rng: Rng,
    /// (bank account, PIN) in the order the attacker tries them.
    tries: Vec<(usize, String)>,
    next: usize,
    pace_ms: u64,
    from_cgnat: bool,
}

/// Accounts at PIN-only banks, in the attacker's (shuffled) list order.
fn targets(world: &World, rng: &mut Rng) -> Vec<usize> {
    let mut t: Vec<usize> = (0..world.accounts.len())
        .filter(|&a| world.banks[world.accounts[a].bank].link_check == LinkCheck::PinOnly)
        .collect();
    for i in (1..t.len()).rev() {
        let j = rng.range(0, i as u64 + 1) as usize;
        t.swap(i, j);
    }
    t.truncate(MAX_TARGETS);
    t
}

pub fn spawn(world: &World, mut rng: Rng, onset: i64) -> Vec<(i64, Box<dyn Actor>)> {
    let pin = crate::data::pins()
        .most_common(1)
        .first()
        .map_or("1234".into(), |p| p.to_string());
    let tries = targets(world, &mut rng)
        .into_iter()
        .map(|a| (a, pin.clone()))
        .collect();
    let a = KozaAttacker {
        name: "docomo-koza",
        rng,
        tries,
        next: 0,
        pace_ms: 30_000,
        from_cgnat: false,
    };
    vec![(onset, Box::new(a) as Box<dyn Actor>)]
}

/// The adaptive variant: the three most common PINs in turn, each across the list.
pub fn spawn_slow(world: &World, mut rng: Rng, onset: i64) -> Vec<(i64, Box<dyn Actor>)> {
    let list = targets(world, &mut rng);
    let tries = crate::data::pins()
        .most_common(3)
        .into_iter()
        .flat_map(|pin| list.iter().map(move |&a| (a, pin.to_string())))
        .collect();
    let a = KozaAttacker {
        name: "docomo-koza-slow",
        rng,
        tries,
        next: 0,
        pace_ms: 600_000,
        from_cgnat: true,
    };
    vec![(onset, Box::new(a) as Box<dyn Actor>)]
}

impl Actor for KozaAttacker {
    fn step(&mut self, ctx: &mut Ctx<'_>) -> Option<i64> {
        let (target, pin) = self.tries.get(self.next)?.clone();
        self.next += 1;
        let origin = Origin::Attack(self.name);
        let acct = &ctx.world.accounts[target];
        let code = ctx.world.banks[acct.bank].code.clone();
        let (login_id, branch, number) = (
            acct.login_id(&ctx.world.banks),
            acct.branch.clone(),
            acct.number.clone(),
        );
        // A PIN that already opened this account is not tried again.
        let right = acct.pin == pin;
        let mut who = disguise(&mut self.rng, false);
        if self.from_cgnat {
            let addr = net::cgnat(&mut self.rng);
            who["ip"] = json!(addr.ip);
            who["asn"] = json!(addr.asn);
        }
        let service = format!("bank-{code}");
        let result = if right { "success" } else { "failure" };
        let e = login_event(
            &service,
            &login_id,
            "pin",
            &ctx.fingerprint(&pin),
            result,
            &who,
        );
        let v = ctx.send(origin, 0, e);
        if right && ctx.goes_through(origin, &v, &login_id, &service, &mut self.rng, &|_| false) {
            self.cash_out(ctx, target, &code, &branch, &number);
        }
        Some(ctx.now_ms + self.rng.exp_ms(self.pace_ms) as i64)
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
        let origin = Origin::Attack(self.name);
        let wallet = crate::ids::account(&mut self.rng, "w");
        let who = disguise(&mut self.rng, false);
        let owner = ctx.world.accounts[target].owner;
        let holder = ctx.world.people[owner].holder_kana.clone();
        let open = json!({"type": "account.open", "service": "wallet", "actor": who, "account": wallet,
            "kyc": "email", "holder_name": holder, "email_domain": "mail.example"});
        ctx.send(origin, 5_000, open);
        let link = json!({"type": "link.bank", "service": "wallet", "actor": who, "account": wallet,
            "bank": {"bank_code": code, "branch": branch, "number": number, "holder_name": holder},
            "holder_name": holder, "verified": ["pin"], "result": "success"});
        let v = ctx.send(origin, 60_000, link);
        if !ctx.goes_through(origin, &v, &wallet, "wallet", &mut self.rng, &|_| false) {
            return;
        }
        let amount = ctx.world.accounts[target].balance_jpy.min(CHARGE_CAP_JPY);
        if amount <= 0 {
            return; // emptied already (by another scenario)
        }
        ctx.score.targeted(self.name, amount);
        let charge = json!({"type": "charge", "service": "wallet", "actor": who, "account": wallet,
            "amount_minor": amount, "currency": "JPY",
            "source": {"kind": "bank", "bank_code": code, "branch": branch, "number": number}});
        let v = ctx.send(origin, 120_000, charge);
        if ctx.goes_through(origin, &v, &wallet, "wallet", &mut self.rng, &|_| false) {
            ctx.world.accounts[target].balance_jpy -= amount;
            let at = ctx.now_ms;
            let victim = ctx.world.accounts[target].login_id(&ctx.world.banks);
            ctx.score.stolen(self.name, &victim, amount, at);
            let spend = json!({"type": "purchase", "service": "qr-pay", "actor": who, "account": wallet,
                "amount_minor": amount, "currency": "JPY", "merchant": "electronics-mart",
                "store": format!("store-{:04}", self.rng.range(0, 400)), "sku": "gift-card-50k", "category": "gift_card"});
            ctx.send(origin, 180_000, spend);
        }
    }
}
