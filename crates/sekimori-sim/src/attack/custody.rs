//! Hot-wallet drains seen only on chain (the attacker holds the key, so no
//! signer is asked): `coincheck-key` (2018-01-26: 523 M XEM, about 58 billion
//! yen, in a burst after a small test) and `zaif` (2018-09-14, 17:00-19:00:
//! 5,966 BTC among 6.7 billion yen of assets, over two hours). Once the
//! defender halts the asset, the exchange sweeps what is left to cold storage,
//! so later transfers find nothing.

use crate::rng::Rng;
use crate::score::{sat_to_jpy, xem_micro_to_jpy};
use crate::sim::{Actor, Ctx, Origin};
use sekimori_rules::Action;
use serde_json::json;

struct Drain {
    origin: Origin,
    /// `on_chain` (the key is stolen: the money has left whatever the answer)
    /// or `signing` (the signer asks first, and signs only what is allowed).
    stage: &'static str,
    rng: Rng,
    currency: &'static str,
    wallet: &'static str,
    /// Transfers still to come: (amount in minor units, wait before it in ms).
    plan: Vec<(i64, i64)>,
    next: usize,
    swept: bool,
}

impl Drain {
    fn hot_balance(&self, ctx: &mut Ctx<'_>) -> i64 {
        ctx.world.hot_wallets.get(self.wallet).copied().unwrap_or(0)
    }

    fn to_jpy(&self, amount: i64) -> i64 {
        if self.currency == "XEM" {
            xem_micro_to_jpy(amount)
        } else {
            sat_to_jpy(amount)
        }
    }

    /// Incident response to a halt: what is left goes to cold storage.
    fn sweep(&mut self, ctx: &mut Ctx<'_>) {
        self.swept = true;
        let rest = ctx.world.hot_wallets.insert(self.wallet, 0).unwrap_or(0);
        *ctx.world.cold_wallets.entry(self.wallet).or_insert(0) += rest;
    }

    fn take(&self, ctx: &mut Ctx<'_>, amount: i64) {
        if let Some(balance) = ctx.world.hot_wallets.get_mut(self.wallet) {
            *balance -= amount;
        }
    }
}

impl Actor for Drain {
    fn step(&mut self, ctx: &mut Ctx<'_>) -> Option<i64> {
        let (planned, _) = *self.plan.get(self.next)?;
        self.next += 1;
        let Origin::Attack(scenario) = self.origin else {
            return None;
        };
        let balance = self.hot_balance(ctx);
        let amount = planned.min(balance);
        if self.swept || amount <= 0 {
            return None;
        }
        ctx.score.targeted(scenario, self.to_jpy(amount));
        let address = format!(
            "N{:039X}",
            u128::from(self.rng.u64()) << 64 | u128::from(self.rng.u64())
        );
        let e = json!({"type": "wallet.outflow", "service": "exchange", "actor": super::CHAIN_WATCHER.clone(),
            "wallet": self.wallet, "stage": self.stage, "amount_minor": amount, "currency": self.currency,
            "address": &address[..40], "hot_balance_minor": balance});
        let v = ctx.send(self.origin, 0, e);
        if self.stage == "signing" && v.action != Action::Allow {
            // The signer refuses. A halt also sends the rest to cold storage;
            // otherwise the attacker tries the next transfer.
            if v.action >= Action::Halt {
                self.sweep(ctx);
                return None;
            }
            return self.plan.get(self.next).map(|(_, wait)| ctx.now_ms + wait);
        }
        self.take(ctx, amount);
        let at = ctx.now_ms;
        ctx.score
            .stolen(scenario, self.wallet, self.to_jpy(amount), at);
        if v.action >= Action::Halt {
            self.sweep(ctx);
            return None;
        }
        self.plan.get(self.next).map(|(_, wait)| ctx.now_ms + wait)
    }
}

/// A 10 XEM test, then six transfers of about 87 M XEM three minutes apart.
pub fn coincheck_key(rng: Rng, onset: i64) -> Vec<(i64, Box<dyn Actor>)> {
    let xem = 1_000_000;
    let mut plan = vec![(10 * xem, 0)];
    plan.extend((0..6).map(|_| (87_200_000 * xem, 180_000)));
    let d = Drain {
        origin: Origin::Attack("coincheck-key"),
        stage: "on_chain",
        rng,
        currency: "XEM",
        wallet: "hot-xem-a",
        plan,
        next: 0,
        swept: false,
    };
    vec![(onset, Box::new(d) as Box<dyn Actor>)]
}

/// The attacker controls an internal host and asks the signing service: a
/// 10 XEM test, a burst of six 87.2 M XEM transfers, then smaller ones hours later.
pub fn coincheck_signer(rng: Rng, onset: i64) -> Vec<(i64, Box<dyn Actor>)> {
    let xem = 1_000_000;
    let mut plan = vec![(10 * xem, 0)];
    plan.extend((0..6).map(|_| (87_200_000 * xem, 180_000)));
    plan.extend((0..6).map(|_| (5_000_000 * xem, 3 * 3_600_000)));
    let d = Drain {
        origin: Origin::Attack("coincheck-signer"),
        stage: "signing",
        rng,
        currency: "XEM",
        wallet: "hot-xem-b",
        plan,
        next: 0,
        swept: false,
    };
    vec![(onset, Box::new(d) as Box<dyn Actor>)]
}

/// 24 transfers of about 249 BTC, five minutes apart: a two-hour drain by
/// intruders on the hot-wallet servers (Tech Bureau: the servers were
/// accessed from 17:00 to 19:00), who send through the wallet's own signer.
pub fn zaif(rng: Rng, onset: i64) -> Vec<(i64, Box<dyn Actor>)> {
    let plan = (0..24).map(|_| (24_858_333_333, 300_000)).collect();
    let d = Drain {
        origin: Origin::Attack("zaif"),
        stage: "signing",
        rng,
        currency: "BTC",
        wallet: "hot-btc-z",
        plan,
        next: 0,
        swept: false,
    };
    vec![(onset + 3_600_000, Box::new(d) as Box<dyn Actor>)]
}
