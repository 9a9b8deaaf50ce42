//! `cycle-ring`: laundering rings that cycle money through 3-5 wallets.
//!
//! **Playbook.** Each ring is 3-5 people who hold wallets in their own names
//! (recruited mules: they own the phones, the e-mail and the SIMs, so they
//! pass any step-up sent to them). Each opens a wallet (e-mail KYC) and links
//! a bank account of their own that holds proceeds of crime. Each charges
//! ¥99,000 from it at once and again a day later (under the default pack's
//! "more than ¥100,000 a day from a new link", which the ring has read). Every
//! five hours each member passes what it holds, less a few hundred yen, to
//! the next member (A→B→C→A): no single amount above ¥99,000, no member
//! receiving ¥500,000 in a day, and the same money back where it started
//! every 3-5 hops (each passes on what it held when the round began, at most
//! ¥99,000). After six rounds each member withdraws what it holds to a
//! second bank account in its own name, up to three withdrawals of at most
//! ¥99,000 an hour: that is
//! the money laundered. A refused transfer or withdrawal leaves the money
//! where it is (a member does not retry a refusal).
//!
//! **What a service sees.** New wallets with e-mail KYC, a PIN-and-SMS bank
//! link each, ¥99,000 charges, then wallet-to-wallet transfers of ¥90,000-
//! 99,000 among the same few accounts every few hours, then withdrawals to
//! bank accounts in the holders' own names. Addresses and devices are the
//! members' own phones on carrier CGNAT.

use crate::ids;
use crate::rng::Rng;
use crate::sim::{Actor, Ctx, Origin};
use crate::world::World;
use serde_json::{json, Value as Json};

const ORIGIN: Origin = Origin::Attack("cycle-ring");
pub const CHARGE_JPY: i64 = 99_000;
pub const HOP_MS: i64 = 5 * 3_600_000;
pub const ROUNDS: u32 = 6;

struct Member {
    wallet: String,
    client: Json,
    holder: String,
    bank: Json,
    cash_out: Json,
    held: i64,
}

enum Phase {
    Open,
    Layer { round: u32 },
    CashOut,
}

struct Ring {
    rng: Rng,
    members: Vec<Member>,
    phase: Phase,
    charged_twice: bool,
    started_ms: i64,
}

fn bank(rng: &mut Rng, world: &World, holder: &str) -> Json {
    let b = &world.banks[rng.range(0, world.banks.len() as u64) as usize];
    json!({"kind": "bank", "bank_code": b.code, "branch": format!("{:03}", rng.range(1, 400)),
        "number": format!("{:07}", rng.range(0, 10_000_000)), "holder_name": holder})
}

impl Ring {
    fn ok(
        &mut self,
        ctx: &mut Ctx<'_>,
        offset: i64,
        e: Json,
        account: &str,
        service: &str,
    ) -> bool {
        let v = ctx.send(ORIGIN, offset, e);
        ctx.goes_through(ORIGIN, &v, account, service, &mut self.rng, &|_| true)
    }

    fn charge(&mut self, ctx: &mut Ctx<'_>) {
        for i in 0..self.members.len() {
            let m = &self.members[i];
            let mut e = json!({"type": "charge", "service": "wallet", "actor": m.client, "account": m.wallet,
                "amount_minor": CHARGE_JPY, "currency": "JPY", "source": m.bank});
            crate::integration::balance(&mut e, m.held);
            let wallet = m.wallet.clone();
            ctx.score.targeted("cycle-ring", CHARGE_JPY);
            if self.ok(ctx, 10_000 * i as i64, e, &wallet, "wallet") {
                self.members[i].held += CHARGE_JPY;
            }
        }
    }
}

impl Actor for Ring {
    fn step(&mut self, ctx: &mut Ctx<'_>) -> Option<i64> {
        let n = self.members.len();
        match self.phase {
            Phase::Open => {
                self.started_ms = ctx.now_ms;
                let mut open = Vec::new();
                for (i, m) in self.members.iter().enumerate() {
                    let o = json!({"type": "account.open", "service": "wallet", "actor": m.client, "account": m.wallet,
                        "kyc": "email", "holder_name": m.holder, "email_domain": "mail.example"});
                    let mut bank = m.bank.clone();
                    bank.as_object_mut().map(|b| b.remove("kind"));
                    let l = json!({"type": "link.bank", "service": "wallet", "actor": m.client, "account": m.wallet,
                        "bank": bank, "holder_name": m.holder, "verified": ["pin", "sms"], "result": "success"});
                    open.push((i, o, l));
                }
                let mut linked = vec![false; n];
                for (i, o, l) in open {
                    let wallet = self.members[i].wallet.clone();
                    ctx.send(ORIGIN, 20_000 * i as i64, o);
                    linked[i] = self.ok(ctx, 20_000 * i as i64 + 5_000, l, &wallet, "wallet");
                }
                if linked.iter().any(|l| !l) {
                    return None; // a member could not link: the ring is broken up
                }
                self.charge(ctx);
                self.phase = Phase::Layer { round: 0 };
            }
            Phase::Layer { round } => {
                if !self.charged_twice && ctx.now_ms - self.started_ms >= 86_400_000 {
                    self.charged_twice = true;
                    self.charge(ctx);
                }
                // Each passes on what it held when the round began, at most
                // ¥99,000 less a few hundred yen.
                let start: Vec<i64> = self.members.iter().map(|m| m.held).collect();
                for (i, &held) in start.iter().enumerate() {
                    let j = (i + 1) % n;
                    let amount = held.min(CHARGE_JPY) - self.rng.range(100, 900) as i64;
                    if amount <= 0 {
                        continue;
                    }
                    let (from, to) = (&self.members[i], &self.members[j]);
                    let mut e = json!({"type": "transfer", "service": "wallet", "actor": from.client, "account": from.wallet,
                        "amount_minor": amount, "currency": "JPY", "destination": {"kind": "account", "account": to.wallet}});
                    crate::integration::balance(&mut e, from.held);
                    let wallet = from.wallet.clone();
                    if self.ok(ctx, 30_000 * i as i64 + 40_000, e, &wallet, "wallet") {
                        self.members[i].held -= amount;
                        self.members[j].held += amount;
                    }
                }
                self.phase = if round + 1 >= ROUNDS {
                    Phase::CashOut
                } else {
                    Phase::Layer { round: round + 1 }
                };
            }
            Phase::CashOut => {
                // Up to three withdrawals of at most ¥99,000 a member an hour.
                for k in 0..3 * n {
                    let i = k % n;
                    let m = &self.members[i];
                    let amount = m.held.min(CHARGE_JPY);
                    if amount <= 0 {
                        continue;
                    }
                    let mut e = json!({"type": "withdrawal", "service": "wallet", "actor": m.client, "account": m.wallet,
                        "amount_minor": amount, "currency": "JPY", "destination": m.cash_out});
                    crate::integration::balance(&mut e, m.held);
                    let wallet = m.wallet.clone();
                    if self.ok(ctx, 10_000 * k as i64, e, &wallet, "wallet") {
                        self.members[i].held -= amount;
                        let at = ctx.now_ms;
                        ctx.score.stolen("cycle-ring", &wallet, amount, at);
                    } else {
                        self.members[i].held = 0; // left behind, frozen
                    }
                }
                if self.members.iter().all(|m| m.held <= 0) {
                    return None;
                }
                return Some(ctx.now_ms + 3_600_000 + self.rng.range(0, 600_000) as i64);
            }
        }
        Some(ctx.now_ms + HOP_MS + self.rng.range(0, 1_200_000) as i64)
    }
}

pub fn spawn(world: &World, mut rng: Rng, onset: i64) -> Vec<(i64, Box<dyn Actor>)> {
    let rings = (world.people.len() / 700).clamp(3, 20);
    // Rings start over the first part of the run, each with time to finish.
    let room = (world.end_ms - onset - 40 * 3_600_000).max(rings as i64 * 1_200_000);
    (0..rings)
        .map(|r| {
            let mut rng = rng.fork(&format!("ring-{r}"));
            let size = rng.range(3, 6) as usize;
            let members = (0..size)
                .map(|_| {
                    let holder = format!(
                        "{} {}",
                        rng.pick(crate::world::FAMILY),
                        rng.pick(crate::world::GIVEN)
                    );
                    let (device, ua) = ids::device(&mut rng);
                    let addr = crate::net::cgnat(&mut rng);
                    Member {
                        wallet: ids::account(&mut rng, "w"),
                        client: json!({"ip": addr.ip, "asn": addr.asn, "device": device, "user_agent": ua, "country": "JP"}),
                        bank: bank(&mut rng, world, &holder),
                        cash_out: bank(&mut rng, world, &holder),
                        holder,
                        held: 0,
                    }
                })
                .collect();
            let ring = Ring {
                rng,
                members,
                phase: Phase::Open,
                charged_twice: false,
                started_ms: 0,
            };
            let at = onset + room * r as i64 / rings as i64;
            (at, Box::new(ring) as Box<dyn Actor>)
        })
        .collect()
}
