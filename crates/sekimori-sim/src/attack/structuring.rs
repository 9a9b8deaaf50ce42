//! `structuring`: money moved out in pieces just under the pack's limits.
//!
//! **Playbook.** The attacker has read the default pack (it is published):
//! a payment to a new payee needs a signature from ¥200,000 (USD 1,500), a
//! mule account is flagged from ¥500,000 received in a day, ATM cash from
//! ¥1,000,000 an hour. Banking malware sits in ten victims' browsers (balance
//! ¥1.5 M or more). When a victim logs in from their own device and home, the
//! malware adds a mule as a payee and sends it ¥199,000 (USD 1,499 where the
//! bank works in dollars), three times a session to three different mules,
//! and never more than two a day into one mule (¥398,000 < ¥500,000). It
//! passes any code that is not bound to the transaction (it relays it), not
//! transaction signing or a passkey. Twelve mules, bought accounts, each
//! take out what they got at ATMs, ¥199,000 at a time, one withdrawal an
//! hour; a refused withdrawal makes the mule walk away. The money is lost
//! when it leaves an ATM.
//!
//! **What a service sees.** The victim's own login, then payees added and
//! transfers of exactly one step under the threshold, to accounts that have
//! been receiving the same amount from other customers; then ATM
//! withdrawals of ¥199,000 from those accounts.

use super::fraud::{bank_dest, relayable, victims_and_mules};
use crate::honest::login_event;
use crate::integration::{cents_to_jpy, WorldKind};
use crate::rng::Rng;
use crate::sim::{Actor, Ctx, Origin};
use crate::world::World;
use serde_json::json;
use std::cell::RefCell;
use std::rc::Rc;

const ORIGIN: Origin = Origin::Attack("structuring");
pub const VICTIMS: usize = 10;
pub const MULES: usize = 12;
pub const PER_SESSION: usize = 3;
pub const PER_MULE_PER_DAY: u32 = 2;

/// One step under `large_payment_to_new_payee`, in yen: ¥199,000, or
/// USD 1,499 where the service works in dollars (as yen at the fixed rate).
pub fn piece_jpy(kind: WorldKind) -> i64 {
    match kind {
        WorldKind::Dense => 199_000,
        WorldKind::Sparse => cents_to_jpy(149_900),
    }
}

/// What each mule holds, shared by the malware and the cash-out crew.
type Held = Rc<RefCell<Vec<i64>>>;

struct Malware {
    rng: Rng,
    victims: Vec<usize>,
    mules: Vec<usize>,
    held: Held,
    /// Per mule: (day, transfers received that day).
    inbound: Vec<(i64, u32)>,
    next: usize,
}

impl Actor for Malware {
    fn step(&mut self, ctx: &mut Ctx<'_>) -> Option<i64> {
        let from = *self.victims.get(self.next)?;
        self.next += 1;
        let next = Some(ctx.now_ms + 3_600_000 + self.rng.exp_ms(1_800_000) as i64);
        let owner = &ctx.world.people[ctx.world.accounts[from].owner];
        let who = json!({"ip": owner.home.ip, "asn": owner.home.asn, "device": owner.device.0,
            "user_agent": owner.device.1, "country": "JP"});
        let login_id = ctx.world.accounts[from].login_id(&ctx.world.banks);
        let fp = ctx.fingerprint(&owner.password.clone());
        let v = ctx.send(
            ORIGIN,
            0,
            login_event("netbank", &login_id, "password", &fp, "success", &who),
        );
        if !ctx.goes_through(ORIGIN, &v, &login_id, "netbank", &mut self.rng, &relayable) {
            return next;
        }
        let piece = piece_jpy(ctx.world.kind);
        let day = ctx.now_ms / 86_400_000;
        let mut sent = 0;
        for m in 0..self.mules.len() {
            if sent == PER_SESSION {
                break;
            }
            let (d, n) = self.inbound[m];
            if d == day && n >= PER_MULE_PER_DAY {
                continue;
            }
            if ctx.world.accounts[from].balance_jpy < piece {
                break;
            }
            let mule = self.mules[m];
            let offset = 30_000 + 60_000 * sent as i64;
            let dest = bank_dest(ctx.world, mule);
            let add = json!({"type": "payee.add", "service": "netbank", "actor": who, "account": login_id,
                "destination": dest});
            let v = ctx.send(ORIGIN, offset, add);
            if !ctx.goes_through(ORIGIN, &v, &login_id, "netbank", &mut self.rng, &relayable) {
                continue;
            }
            sent += 1;
            ctx.score.targeted("structuring", piece);
            let mut e = json!({"type": "transfer", "service": "netbank", "actor": who, "account": login_id,
                "amount_minor": piece, "currency": "JPY", "destination": dest});
            crate::integration::balance(&mut e, ctx.world.accounts[from].balance_jpy);
            let v = ctx.send(ORIGIN, offset + 20_000, e);
            if ctx.goes_through(ORIGIN, &v, &login_id, "netbank", &mut self.rng, &relayable) {
                ctx.world.accounts[from].balance_jpy -= piece;
                ctx.world.accounts[mule].balance_jpy += piece;
                self.held.borrow_mut()[m] += piece;
                self.inbound[m] = if d == day { (d, n + 1) } else { (day, 1) };
            }
        }
        next
    }
}

/// The mules at the ATMs.
struct CashOut {
    rng: Rng,
    mules: Vec<usize>,
    held: Held,
    end_ms: i64,
}

impl Actor for CashOut {
    fn step(&mut self, ctx: &mut Ctx<'_>) -> Option<i64> {
        let piece = piece_jpy(ctx.world.kind);
        for (m, &mule) in self.mules.iter().enumerate() {
            let held = self.held.borrow()[m];
            if held <= 0 {
                continue;
            }
            let amount = held.min(piece);
            let login_id = ctx.world.accounts[mule].login_id(&ctx.world.banks);
            let mut e = json!({"type": "withdrawal", "service": "bank-atm", "actor": {"account": login_id},
                "account": login_id, "amount_minor": amount, "currency": "JPY",
                "destination": {"kind": "atm", "atm_id": format!("atm-{:04}", self.rng.range(0, 900))}});
            crate::integration::balance(&mut e, ctx.world.accounts[mule].balance_jpy);
            let offset = 10_000 * m as i64;
            if ctx.send(ORIGIN, offset, e).action == sekimori_rules::Action::Allow {
                ctx.world.accounts[mule].balance_jpy -= amount;
                self.held.borrow_mut()[m] -= amount;
                let at = ctx.now_ms + offset;
                ctx.score.stolen("structuring", &login_id, amount, at);
            } else {
                self.held.borrow_mut()[m] = 0;
            }
        }
        (ctx.now_ms < self.end_ms)
            .then(|| ctx.now_ms + 3_600_000 + self.rng.range(0, 300_000) as i64)
    }
}

pub fn spawn(world: &World, mut rng: Rng, onset: i64) -> Vec<(i64, Box<dyn Actor>)> {
    let (victims, mules) = victims_and_mules(world, &mut rng, VICTIMS, MULES);
    let held: Held = Rc::new(RefCell::new(vec![0; mules.len()]));
    let malware = Malware {
        rng: rng.fork("malware"),
        victims,
        inbound: vec![(0, 0); mules.len()],
        mules: mules.clone(),
        held: Rc::clone(&held),
        next: 0,
    };
    let cash = CashOut {
        rng: rng.fork("atm"),
        mules,
        held,
        end_ms: world.end_ms,
    };
    vec![
        (onset, Box::new(malware) as Box<dyn Actor>),
        (onset + 1_800_000, Box::new(cash) as Box<dyn Actor>),
    ]
}
