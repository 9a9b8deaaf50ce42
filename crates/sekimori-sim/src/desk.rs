//! The exchange's custody desk: pays accepted customer withdrawals from the
//! hot wallet `hot-btc-x` the way custody works with sekimori in front of it.
//! Every five minutes it files a `withdrawal.request` for each new payout,
//! gathers two approvals for 1 BTC or more, asks the signer (`wallet.outflow`,
//! `stage: signing`) and reports what the chain watcher then sees (`stage:
//! on_chain`, with the request id the signer recorded for the transaction).
//! A held request or signature is retried until it goes through; the time it
//! waited beyond the desk's own cycle is reported as delayed honest money.
//! The desk starts with the measured period: during the history the
//! exchange paid customers itself.

use crate::rng::Rng;
use crate::score::sat_to_jpy;
use crate::sim::{Actor, Ctx, Origin};
use sekimori_rules::Action;
use serde_json::{json, Value as Json};

/// A customer withdrawal the exchange accepted, waiting to be paid.
#[derive(Debug, Clone)]
pub struct Payout {
    pub account: String,
    pub sat: i64,
    pub address: String,
    pub queued_ms: i64,
}

const WALLET: &str = "hot-btc-x";
const CYCLE_MS: i64 = 300_000;
const QUORUM_SAT: i64 = 100_000_000;
const APPROVERS: [&str; 3] = ["ops-aiko", "ops-kenji", "ops-mei"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Request,
    Approve,
    Sign,
}

#[derive(Debug)]
struct Pending {
    payout: Payout,
    request_id: String,
    stage: Stage,
    due_ms: i64,
    /// When sekimori first held it (a review), if it did.
    held: bool,
}

/// The desk, one actor for the whole exchange.
#[derive(Debug)]
pub struct Desk {
    rng: Rng,
    pending: Vec<Pending>,
    next_id: u64,
}

impl Desk {
    pub fn new(rng: Rng) -> Desk {
        Desk {
            rng,
            pending: Vec::new(),
            next_id: 0,
        }
    }

    fn back_office() -> Json {
        json!({"ip": "172.16.0.20"})
    }

    fn request(&mut self, ctx: &mut Ctx<'_>, p: &mut Pending) -> Action {
        let e = json!({"type": "withdrawal.request", "service": "exchange", "actor": Self::back_office(),
            "request_id": p.request_id, "account": p.payout.account, "amount_minor": p.payout.sat,
            "currency": "BTC", "destination": {"kind": "crypto", "address": p.payout.address}});
        ctx.send(Origin::Honest, 0, e).action
    }

    fn approve(&mut self, ctx: &mut Ctx<'_>, p: &Pending) {
        let skip = self.rng.range(0, 3) as usize;
        let mut offset = 0;
        for (i, approver) in APPROVERS.iter().enumerate().filter(|(i, _)| *i != skip) {
            offset += 60_000 * (1 + i as i64);
            let e = json!({"type": "withdrawal.approval", "service": "exchange", "actor": Self::back_office(),
                "request_id": p.request_id, "approver": approver, "vote": "approve"});
            ctx.send(Origin::Honest, offset, e);
        }
    }

    fn balances(ctx: &mut Ctx<'_>) -> (i64, i64) {
        let hot = ctx.world.hot_wallets.get(WALLET).copied().unwrap_or(0);
        let cold = ctx.world.cold_wallets.get(WALLET).copied().unwrap_or(0);
        (hot, cold)
    }

    /// Keeps the hot wallet between 3% and 5% of the total, from cold storage.
    fn top_up(ctx: &mut Ctx<'_>) {
        let (hot, cold) = Self::balances(ctx);
        let total = hot + cold;
        if hot * 100 < total * 3 {
            let moved = (total * 5 / 100 - hot).min(cold);
            ctx.world.hot_wallets.insert(WALLET, hot + moved);
            ctx.world.cold_wallets.insert(WALLET, cold - moved);
        }
    }

    fn sign(&mut self, ctx: &mut Ctx<'_>, p: &Pending) -> Action {
        Self::top_up(ctx);
        let (hot, cold) = Self::balances(ctx);
        let base = json!({"type": "wallet.outflow", "wallet": WALLET, "amount_minor": p.payout.sat,
            "currency": "BTC", "address": p.payout.address, "request_id": p.request_id,
            "account": p.payout.account,
            "hot_balance_minor": hot, "cold_balance_minor": cold});
        let mut signing = base.clone();
        signing["stage"] = json!("signing");
        signing["service"] = json!("exchange");
        signing["actor"] = Self::back_office();
        let action = ctx.send(Origin::Honest, 0, signing).action;
        if action != Action::Allow {
            return action;
        }
        ctx.world.hot_wallets.insert(WALLET, hot - p.payout.sat);
        let mut seen = base;
        seen["stage"] = json!("on_chain");
        seen["service"] = json!("exchange");
        seen["actor"] = crate::attack::CHAIN_WATCHER.clone();
        seen["tx_hash"] = json!(format!("{:064x}", u128::from(self.rng.u64())));
        ctx.send(Origin::Honest, 120_000, seen);
        action
    }

    /// Works one pending payout; true when it is finished (paid or refused).
    fn work(&mut self, ctx: &mut Ctx<'_>, p: &mut Pending) -> bool {
        loop {
            let action = match p.stage {
                Stage::Request => self.request(ctx, p),
                Stage::Approve => {
                    self.approve(ctx, p);
                    p.stage = Stage::Sign;
                    p.due_ms = ctx.now_ms + 10 * 60_000;
                    return false;
                }
                Stage::Sign => self.sign(ctx, p),
            };
            match (action, p.stage) {
                (Action::Allow, Stage::Request) => {
                    if p.payout.sat >= QUORUM_SAT {
                        p.stage = Stage::Approve;
                        p.due_ms = ctx.now_ms + 15 * 60_000;
                        return false;
                    }
                    p.stage = Stage::Sign;
                }
                (Action::Allow, _) => {
                    if p.held {
                        let waited = ctx.now_ms - p.payout.queued_ms;
                        ctx.score.custody_delay(sat_to_jpy(p.payout.sat), waited);
                    }
                    return true;
                }
                (Action::Review, _) => {
                    // Held (an allow-list entry not yet locked in, or a
                    // quorum not yet met): try again in an hour.
                    p.held = true;
                    p.due_ms = ctx.now_ms + 3_600_000;
                    return false;
                }
                _ => return true, // refused: the exchange returns the coins
            }
        }
    }
}

impl Actor for Desk {
    fn step(&mut self, ctx: &mut Ctx<'_>) -> Option<i64> {
        // Payouts queued before sekimori stood in front of custody the
        // exchange paid itself (a shadow-mode engine would have halted the
        // wallet on the first payout whose request it held, and the halt
        // would outlive the history).
        let start_ms = ctx.world.start_ms;
        ctx.world.payouts.retain(|p| p.queued_ms >= start_ms);
        if ctx.now_ms < start_ms {
            return Some(start_ms);
        }
        for payout in std::mem::take(&mut ctx.world.payouts) {
            self.next_id += 1;
            self.pending.push(Pending {
                payout,
                request_id: format!("wr-{:08}", self.next_id),
                stage: Stage::Request,
                due_ms: ctx.now_ms,
                held: false,
            });
        }
        let mut pending = std::mem::take(&mut self.pending);
        pending.retain_mut(|p| p.due_ms > ctx.now_ms || !self.work(ctx, p));
        self.pending = pending;
        Some(ctx.now_ms + CYCLE_MS)
    }
}
