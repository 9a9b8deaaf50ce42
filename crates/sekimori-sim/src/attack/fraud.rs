//! Fraud on internet banking: `mitb` (malware in the browser alters a transfer
//! the victim authenticates; the e-mailed OTP is stolen), `phishing-ato`
//! (phished password, relayed OTP, new device, new payee, transfer) and
//! `mules` (proceeds fanned into accounts in other people's names, pulled out
//! at ATMs 500,000 yen at a time).

use super::disguise;
use crate::honest::login_event;
use crate::rng::Rng;
use crate::sim::{Actor, Ctx, Origin};
use crate::world::World;
use sekimori_event::MfaMethod;
use serde_json::{json, Value as Json};

/// Codes that are not bound to the transaction: malware or a phishing relay
/// passes them; a transaction-signing code for the real payee, or a passkey
/// bound to the site, it cannot.
pub(crate) fn relayable(m: MfaMethod) -> bool {
    !matches!(m, MfaMethod::Txsign | MfaMethod::Webauthn)
}

pub(crate) fn bank_dest(world: &World, account: usize) -> Json {
    let a = &world.accounts[account];
    json!({"kind": "bank", "bank_code": world.banks[a.bank].code, "branch": a.branch, "number": a.number})
}

/// Victims, chosen as accounts with enough money, and mule accounts (in other
/// people's names, bought or opened with their papers).
pub(crate) fn victims_and_mules(
    world: &World,
    rng: &mut Rng,
    victims: usize,
    mules: usize,
) -> (Vec<usize>, Vec<usize>) {
    let rich: Vec<usize> = (0..world.accounts.len())
        .filter(|&a| world.accounts[a].balance_jpy >= 1_500_000)
        .collect();
    let pick = |rng: &mut Rng, n: usize| (0..n).map(|_| *rng.pick(&rich)).collect::<Vec<_>>();
    let v = pick(rng, victims.min(rich.len()));
    let m = pick(rng, mules.min(rich.len()));
    (v, m)
}

/// Moves money out of a victim's account if the transfer goes through.
#[allow(clippy::too_many_arguments)]
fn transfer(
    ctx: &mut Ctx<'_>,
    origin: Origin,
    rng: &mut Rng,
    from: usize,
    to: usize,
    amount: i64,
    who: &Json,
    offset: i64,
) -> bool {
    if amount <= 0 {
        return false; // nothing left to take
    }
    let login_id = ctx.world.accounts[from].login_id(&ctx.world.banks);
    let mut e = json!({"type": "transfer", "service": "netbank", "actor": who, "account": login_id,
        "amount_minor": amount, "currency": "JPY", "destination": bank_dest(ctx.world, to)});
    crate::integration::balance(&mut e, ctx.world.accounts[from].balance_jpy);
    let v = ctx.send(origin, offset, e);
    let ok = ctx.goes_through(origin, &v, &login_id, "netbank", rng, &relayable);
    if ok {
        ctx.world.accounts[from].balance_jpy -= amount;
        ctx.world.accounts[to].balance_jpy += amount;
    }
    ok
}

/// A transfer the attacker makes from a victim's account, booked as targeted
/// and, when it goes through, as stolen from that account.
#[allow(clippy::too_many_arguments)]
fn steal(
    ctx: &mut Ctx<'_>,
    origin: Origin,
    rng: &mut Rng,
    from: usize,
    to: usize,
    amount: i64,
    who: &Json,
    offset: i64,
) {
    let Origin::Attack(scenario) = origin else {
        return;
    };
    ctx.score.targeted(scenario, amount);
    if transfer(ctx, origin, rng, from, to, amount, who, offset) {
        let victim = ctx.world.accounts[from].login_id(&ctx.world.banks);
        let at = ctx.now_ms;
        ctx.score.stolen(scenario, &victim, amount, at);
    }
}

/// MITB: in the victim's own browser session (their device, their address), a
/// transfer of about ¥1.2 M to a mule replaces the one they meant to make.
struct Mitb {
    rng: Rng,
    victims: Vec<usize>,
    mules: Vec<usize>,
    next: usize,
}

const MITB: Origin = Origin::Attack("mitb");

impl Actor for Mitb {
    fn step(&mut self, ctx: &mut Ctx<'_>) -> Option<i64> {
        let from = *self.victims.get(self.next)?;
        self.next += 1;
        let owner = &ctx.world.people[ctx.world.accounts[from].owner];
        let who = json!({"ip": owner.home.ip, "asn": owner.home.asn, "device": owner.device.0, "user_agent": owner.device.1, "country": "JP"});
        let login_id = ctx.world.accounts[from].login_id(&ctx.world.banks);
        let fp = ctx.fingerprint(&owner.password);
        let v = ctx.send(
            MITB,
            0,
            login_event("netbank", &login_id, "password", &fp, "success", &who),
        );
        // The victim signs in to their own session; the malware rides on it.
        if !ctx.goes_through(MITB, &v, &login_id, "netbank", &mut self.rng, &relayable) {
            return Some(ctx.now_ms + self.rng.exp_ms(3_600_000) as i64);
        }
        let amount = 1_200_000.min(ctx.world.accounts[from].balance_jpy);
        let mule = *self.rng.pick(&self.mules);
        steal(ctx, MITB, &mut self.rng, from, mule, amount, &who, 60_000);
        Some(ctx.now_ms + self.rng.exp_ms(3_600_000) as i64)
    }
}

/// Phishing: the password from a fake login page, the OTP relayed live, then a
/// new payee and a transfer, from a new device on a proxy.
struct Phisher {
    rng: Rng,
    victims: Vec<usize>,
    mules: Vec<usize>,
    next: usize,
}

const PHISH: Origin = Origin::Attack("phishing-ato");

impl Actor for Phisher {
    fn step(&mut self, ctx: &mut Ctx<'_>) -> Option<i64> {
        let from = *self.victims.get(self.next)?;
        self.next += 1;
        let who = disguise(&mut self.rng, false);
        let login_id = ctx.world.accounts[from].login_id(&ctx.world.banks);
        let fp = ctx.fingerprint(
            &ctx.world.people[ctx.world.accounts[from].owner]
                .password
                .clone(),
        );
        let v = ctx.send(
            PHISH,
            0,
            login_event("netbank", &login_id, "password", &fp, "success", &who),
        );
        if !ctx.goes_through(PHISH, &v, &login_id, "netbank", &mut self.rng, &relayable) {
            return Some(ctx.now_ms + self.rng.exp_ms(1_800_000) as i64);
        }
        let mule = *self.rng.pick(&self.mules);
        let payee = json!({"type": "payee.add", "service": "netbank", "actor": who, "account": login_id,
            "destination": bank_dest(ctx.world, mule)});
        let v = ctx.send(PHISH, 30_000, payee);
        if ctx.goes_through(PHISH, &v, &login_id, "netbank", &mut self.rng, &relayable) {
            let amount = 2_000_000.min(ctx.world.accounts[from].balance_jpy);
            steal(ctx, PHISH, &mut self.rng, from, mule, amount, &who, 90_000);
        }
        Some(ctx.now_ms + self.rng.exp_ms(1_800_000) as i64)
    }
}

/// Mules: transfers from unrelated victims land in 7 mule accounts, then each
/// mule pulls the money out at ATMs, 500,000 yen at a time.
struct Mules {
    rng: Rng,
    victims: Vec<usize>,
    mules: Vec<usize>,
    /// What each mule has received from victims (and will try to cash out).
    received: Vec<i64>,
    next: usize,
}

const MULES: Origin = Origin::Attack("mules");
const ATM_LIMIT_JPY: i64 = 500_000;

impl Actor for Mules {
    fn step(&mut self, ctx: &mut Ctx<'_>) -> Option<i64> {
        if let Some(&from) = self.victims.get(self.next) {
            self.next += 1;
            let who = disguise(&mut self.rng, false);
            let m = self.rng.range(0, self.mules.len() as u64) as usize;
            let amount = 1_150_000.min(ctx.world.accounts[from].balance_jpy);
            if transfer(
                ctx,
                MULES,
                &mut self.rng,
                from,
                self.mules[m],
                amount,
                &who,
                0,
            ) {
                self.received[m] += amount;
            }
            return Some(ctx.now_ms + self.rng.exp_ms(1_200_000) as i64);
        }
        // Cash-out: one ATM withdrawal a step, mule after mule; a refusal
        // makes that mule walk away with what is left.
        let i = self.received.iter().position(|&r| r >= ATM_LIMIT_JPY)?;
        let mule = self.mules[i];
        let login_id = ctx.world.accounts[mule].login_id(&ctx.world.banks);
        ctx.score.targeted("mules", ATM_LIMIT_JPY);
        let mut e = json!({"type": "withdrawal", "service": "bank-atm", "actor": {"account": login_id},
            "account": login_id, "amount_minor": ATM_LIMIT_JPY, "currency": "JPY",
            "destination": {"kind": "atm", "atm_id": format!("atm-{:04}", self.rng.range(0, 900))}});
        crate::integration::balance(&mut e, ctx.world.accounts[mule].balance_jpy);
        let v = ctx.send(MULES, 0, e);
        if v.action == sekimori_rules::Action::Allow {
            ctx.world.accounts[mule].balance_jpy -= ATM_LIMIT_JPY;
            self.received[i] -= ATM_LIMIT_JPY;
            let at = ctx.now_ms;
            ctx.score.stolen("mules", &login_id, ATM_LIMIT_JPY, at);
        } else {
            self.received[i] = 0;
        }
        Some(ctx.now_ms + 90_000 + self.rng.exp_ms(120_000) as i64)
    }
}

pub fn mitb(world: &World, mut rng: Rng, onset: i64) -> Vec<(i64, Box<dyn Actor>)> {
    let (victims, mules) = victims_and_mules(world, &mut rng, 12, 4);
    vec![(
        onset,
        Box::new(Mitb {
            rng,
            victims,
            mules,
            next: 0,
        }) as Box<dyn Actor>,
    )]
}

pub fn phishing_ato(world: &World, mut rng: Rng, onset: i64) -> Vec<(i64, Box<dyn Actor>)> {
    let (victims, mules) = victims_and_mules(world, &mut rng, 10, 3);
    vec![(
        onset,
        Box::new(Phisher {
            rng,
            victims,
            mules,
            next: 0,
        }) as Box<dyn Actor>,
    )]
}

pub fn mules(world: &World, mut rng: Rng, onset: i64) -> Vec<(i64, Box<dyn Actor>)> {
    let (victims, mules) = victims_and_mules(world, &mut rng, 7, 7);
    let received = vec![0; mules.len()];
    vec![(
        onset,
        Box::new(Mules {
            rng,
            victims,
            mules,
            received,
            next: 0,
        }) as Box<dyn Actor>,
    )]
}
