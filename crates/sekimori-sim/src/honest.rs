//! Honest people: wallet logins from carrier CGNAT addresses with typos,
//! purchases (some of them cigarette cartridges), charges from linked banks,
//! exchange logins and withdrawals to their own addresses, bank transfers.

use crate::rng::Rng;
use crate::sim::{Actor, Ctx, Origin};
use crate::world::{LinkCheck, Person, World};
use serde_json::{json, Value as Json};

/// One honest person's life during the run.
pub struct HonestPerson {
    who: usize,
    rng: Rng,
    linked: bool,
    payee_added: bool,
    pub(crate) life: crate::life::Life,
}

pub fn spawn(world: &World, rng: &mut Rng) -> Vec<(i64, HonestPerson)> {
    (0..world.people.len())
        .map(|who| {
            let mut rng = rng.fork(&format!("person-{who}"));
            let first = world.history_ms + rng.range(0, 86_400_000) as i64;
            let life = crate::life::Life::new(world, who, &mut rng);
            (
                first,
                HonestPerson {
                    who,
                    rng,
                    linked: false,
                    payee_added: false,
                    life,
                },
            )
        })
        .collect()
}

const HONEST: Origin = Origin::Honest;

pub(crate) fn actor(p: &Person, from_home: bool) -> Json {
    let addr = if from_home { &p.home } else { &p.mobile };
    let mut a = json!({"ip": addr.ip, "asn": addr.asn, "device": p.device.0, "user_agent": p.device.1, "country": "JP"});
    if p.abroad {
        // Roaming or hotel Wi-Fi: a foreign network and country.
        a["ip"] = json!(format!(
            "172.31.{}.{}",
            addr.asn % 256,
            p.typo_rate.to_bits() % 250 + 1
        ));
        a["asn"] = json!(38_040);
        a["country"] = json!("TH");
    }
    a
}

impl HonestPerson {
    /// Sends an action 20 s on and says whether it went through.
    fn act(&mut self, ctx: &mut Ctx<'_>, e: Json, account: &str, service: &str) -> bool {
        let v = ctx.send(HONEST, 20_000, e);
        ctx.goes_through(HONEST, &v, account, service, &mut self.rng, &|_| true)
    }

    /// A password login with a typo now and then (then the right password).
    fn login(&mut self, ctx: &mut Ctx<'_>, service: &str, account: &str, from_home: bool) -> bool {
        let who = actor(&ctx.world.people[self.who], from_home);
        self.login_as(ctx, service, account, &who)
    }

    /// The same, from a given client.
    fn login_as(&mut self, ctx: &mut Ctx<'_>, service: &str, account: &str, who: &Json) -> bool {
        let p = &ctx.world.people[self.who];
        let (password, typo_rate) = (p.password.clone(), p.typo_rate);
        let mut offset = 0;
        if self.rng.chance(typo_rate) {
            let typo = typo_of(&password, &mut self.rng);
            let e = login_event(
                service,
                account,
                "password",
                &ctx.fingerprint(&typo),
                "failure",
                who,
            );
            ctx.send(HONEST, offset, e);
            offset += 8_000;
        }
        let e = login_event(
            service,
            account,
            "password",
            &ctx.fingerprint(&password),
            "success",
            who,
        );
        let v = ctx.send(HONEST, offset, e);
        ctx.goes_through(HONEST, &v, account, service, &mut self.rng, &|_| true)
    }

    fn wallet_day(&mut self, ctx: &mut Ctx<'_>, wallet: &str) {
        if !self.login(ctx, "wallet", wallet, false) {
            return;
        }
        let p = &ctx.world.people[self.who];
        let who = actor(p, false);
        if !self.linked {
            if !self.bank_pin_check(ctx) {
                return;
            }
            let p = &ctx.world.people[self.who];
            let acct = &ctx.world.accounts[p.accounts[0]];
            let bank = &ctx.world.banks[acct.bank];
            let verified = match bank.link_check {
                LinkCheck::PinOnly => json!(["pin"]),
                LinkCheck::PinAndPassword => json!(["pin", "password"]),
                LinkCheck::PinAndOtp => json!(["pin", "otp"]),
                LinkCheck::PinAndSms => json!(["pin", "sms"]),
            };
            let e = json!({"type": "link.bank", "service": "wallet", "actor": who, "account": wallet,
                "bank": {"bank_code": bank.code, "branch": acct.branch, "number": acct.number, "holder_name": p.holder_kana},
                "holder_name": p.holder_kana, "verified": verified, "result": "success"});
            self.linked = self.act(ctx, e, wallet, "wallet");
            if !self.linked {
                return;
            }
        }
        crate::life::split_bill(ctx, &mut self.rng, wallet, &who);
        if ctx.world.people[self.who].wallet_balance_jpy < 5_000 || crate::life::payday(ctx.now_ms)
        {
            let amount = 10_000
                * self.rng.range(1, 4) as i64
                * if crate::life::payday(ctx.now_ms) {
                    2
                } else {
                    1
                };
            let acct = &ctx.world.accounts[ctx.world.people[self.who].accounts[0]];
            if acct.balance_jpy < amount {
                return; // the bank account cannot cover it
            }
            let e = json!({"type": "charge", "service": "wallet", "actor": who, "account": wallet,
                "amount_minor": amount, "currency": "JPY",
                "source": {"kind": "bank", "bank_code": ctx.world.banks[acct.bank].code, "branch": acct.branch, "number": acct.number}});
            if self.act(ctx, e, wallet, "wallet") {
                ctx.world.people[self.who].wallet_balance_jpy += amount;
                let bank = ctx.world.people[self.who].accounts[0];
                ctx.world.accounts[bank].balance_jpy -= amount;
            }
        }
        for _ in 0..self.rng.range(0, 3) {
            let cartridge = self.rng.chance(0.05);
            let (amount, sku, category) = match (cartridge, self.rng.range(0, 100)) {
                (true, 0..=19) => (5_200, "ecig-cartridge-5p", "tobacco"),
                (true, _) => (520, "ecig-cartridge-5p", "tobacco"),
                (false, 0..=1) => (
                    5_000 * self.rng.range(1, 6) as i64,
                    "gift-card-5k",
                    "gift_card",
                ),
                (false, _) => (300 + self.rng.range(0, 2_700) as i64, "misc", "food"),
            };
            if ctx.world.people[self.who].wallet_balance_jpy < amount {
                break;
            }
            let mut e = json!({"type": "purchase", "service": "qr-pay", "actor": who, "account": wallet,
                "amount_minor": amount, "currency": "JPY", "merchant": "conv-seven",
                "store": store(&mut self.rng), "sku": sku, "category": category});
            let before = ctx.world.people[self.who].wallet_balance_jpy;
            crate::integration::balance(&mut e, before);
            if self.act(ctx, e, wallet, "qr-pay") {
                ctx.world.people[self.who].wallet_balance_jpy -= amount;
            }
        }
    }

    /// Linking a bank account: the bank checks the cash-card PIN (and reports
    /// the check, as it does for attackers), with a typo now and then.
    fn bank_pin_check(&mut self, ctx: &mut Ctx<'_>) -> bool {
        let p = &ctx.world.people[self.who];
        let acct = &ctx.world.accounts[p.accounts[0]];
        let (pin, typo_rate) = (acct.pin.clone(), p.typo_rate);
        let (login_id, service) = (
            acct.login_id(&ctx.world.banks),
            format!("bank-{}", ctx.world.banks[acct.bank].code),
        );
        let who = actor(p, false);
        if self.rng.chance(typo_rate) {
            let wrong = format!(
                "{:04}",
                (pin.parse::<u32>().unwrap_or(0) + 1 + self.rng.range(0, 9) as u32) % 10_000
            );
            ctx.send(
                HONEST,
                0,
                login_event(
                    &service,
                    &login_id,
                    "pin",
                    &ctx.fingerprint(&wrong),
                    "failure",
                    &who,
                ),
            );
        }
        let v = ctx.send(
            HONEST,
            10_000,
            login_event(
                &service,
                &login_id,
                "pin",
                &ctx.fingerprint(&pin),
                "success",
                &who,
            ),
        );
        ctx.goes_through(HONEST, &v, &login_id, &service, &mut self.rng, &|_| true)
    }

    /// Internet banking: a login and, often, a transfer to someone else's account.
    fn bank_day(&mut self, ctx: &mut Ctx<'_>) {
        let p = &ctx.world.people[self.who];
        let from = p.accounts[0];
        let login_id = ctx.world.accounts[from].login_id(&ctx.world.banks);
        // Office hours (09:00-18:00 JST): from the office NAT, if there is one.
        let hour_utc = (ctx.now_ms / 3_600_000) % 24;
        let p = &ctx.world.people[self.who];
        let mut who = actor(p, true);
        if let (Some(office), true) = (&p.office, hour_utc < 9) {
            who["ip"] = json!(office.ip);
            who["asn"] = json!(office.asn);
        }
        if self.rng.chance(0.2) {
            self.atm(ctx, from, &login_id);
            return;
        }
        if !self.login_as(ctx, "netbank", &login_id, &who) || !self.rng.chance(0.4) {
            return;
        }
        let to = self.rng.range(0, ctx.world.accounts.len() as u64) as usize;
        let a = &ctx.world.accounts[to];
        let dest = json!({"kind": "bank", "bank_code": ctx.world.banks[a.bank].code, "branch": a.branch, "number": a.number});
        let amount = 5_000 * self.rng.range(1, 21) as i64;
        if ctx.world.accounts[from].balance_jpy < amount {
            return;
        }
        // Someone new gets paid: registered as a payee first.
        if self.rng.chance(0.3) {
            let payee = json!({"type": "payee.add", "service": "netbank", "actor": who, "account": login_id, "destination": dest});
            if !self.act(ctx, payee, &login_id, "netbank") {
                return;
            }
        }
        let mut e = json!({"type": "transfer", "service": "netbank", "actor": who, "account": login_id,
            "amount_minor": amount, "currency": "JPY", "destination": dest});
        crate::integration::balance(&mut e, ctx.world.accounts[from].balance_jpy);
        if self.act(ctx, e, &login_id, "netbank") {
            ctx.world.accounts[from].balance_jpy -= amount;
            ctx.world.accounts[to].balance_jpy += amount;
        }
    }

    /// Cash from an ATM: ¥10,000-50,000 with the cash card.
    fn atm(&mut self, ctx: &mut Ctx<'_>, from: usize, login_id: &str) {
        let amount = 10_000 * self.rng.range(1, 6) as i64;
        if ctx.world.accounts[from].balance_jpy < amount {
            return;
        }
        let mut e = json!({"type": "withdrawal", "service": "bank-atm", "actor": {"account": login_id},
            "account": login_id, "amount_minor": amount, "currency": "JPY",
            "destination": {"kind": "atm", "atm_id": format!("atm-{:04}", self.rng.range(0, 900))}});
        crate::integration::balance(&mut e, ctx.world.accounts[from].balance_jpy);
        if ctx.send(HONEST, 0, e).action == sekimori_rules::Action::Allow {
            ctx.world.accounts[from].balance_jpy -= amount;
        }
    }

    /// The broker: a login and now and then a payout to the person's own bank account.
    fn broker_day(&mut self, ctx: &mut Ctx<'_>, account: &str) {
        if !self.login(ctx, "broker", account, true) || !self.rng.chance(0.1) {
            return;
        }
        let p = &ctx.world.people[self.who];
        let own = &ctx.world.accounts[p.accounts[0]];
        let dest = json!({"kind": "bank", "bank_code": ctx.world.banks[own.bank].code, "branch": own.branch,
            "number": own.number, "holder_name": p.holder_kana});
        let amount = (50_000 * self.rng.range(1, 11) as i64).min(p.broker_jpy);
        if amount <= 0 {
            return;
        }
        let mut e = json!({"type": "withdrawal", "service": "broker", "actor": actor(p, true), "account": account,
            "amount_minor": amount, "currency": "JPY", "destination": dest});
        crate::integration::balance(&mut e, p.broker_jpy);
        if self.act(ctx, e, account, "broker") {
            ctx.world.people[self.who].broker_jpy -= amount;
        }
    }

    fn exchange_day(&mut self, ctx: &mut Ctx<'_>, account: &str) {
        if !self.login(ctx, "exchange", account, true) || !self.rng.chance(0.1) {
            return;
        }
        let p = &ctx.world.people[self.who];
        let (who, btc_sat) = (actor(p, true), p.btc_sat);
        let address = ctx.world.people[self.who].btc_address.clone();
        if !self.payee_added {
            let e = json!({"type": "payee.add", "service": "exchange", "actor": who, "account": account,
                "destination": {"kind": "crypto", "address": address, "network": "bitcoin"}});
            self.payee_added = self.act(ctx, e, account, "exchange");
            if !self.payee_added {
                return;
            }
        }
        // Most take a tenth; on a volatile day some take everything.
        let sat = if self.rng.chance(0.1) {
            btc_sat
        } else {
            btc_sat / 10
        };
        if sat < 100_000 {
            return; // nothing worth withdrawing (or taken over and drained)
        }
        let mut e = json!({"type": "withdrawal", "service": "exchange", "actor": who, "account": account,
            "amount_minor": sat, "currency": "BTC", "destination": {"kind": "crypto", "address": address}});
        crate::integration::balance(&mut e, btc_sat);
        if self.act(ctx, e, account, "exchange") {
            ctx.world.people[self.who].btc_sat -= sat;
            // The exchange's custody desk pays it from the hot wallet.
            let queued_ms = ctx.now_ms;
            ctx.world.payouts.push(crate::desk::Payout {
                account: account.to_string(),
                sat,
                address,
                queued_ms,
            });
        }
    }
}

/// Where a purchase happens: a chain store, or one of 20 small shops that
/// receive many payments from many customers (honest fan-in).
fn store(rng: &mut Rng) -> String {
    if rng.chance(0.3) {
        format!("shop-{:02}", rng.range(0, 20))
    } else {
        format!("store-{:04}", rng.range(0, 400))
    }
}

/// A plausible typo: a dropped last character, a doubled one, or a wrong one.
pub(crate) fn typo_of(password: &str, rng: &mut Rng) -> String {
    let mut chars: Vec<char> = password.chars().collect();
    if chars.is_empty() {
        return "x".into();
    }
    let i = rng.range(0, chars.len() as u64) as usize;
    match rng.range(0, 3) {
        0 if chars.len() > 1 => {
            chars.remove(i);
        }
        1 => chars.insert(i, chars[i]),
        _ => chars[i] = *rng.pick(&['1', 'q', 'a', 'z', '0', 'e', 'o', '!']),
    }
    chars.into_iter().collect()
}

pub fn login_event(
    service: &str,
    account: &str,
    factor: &str,
    fp: &str,
    result: &str,
    actor: &Json,
) -> Json {
    let mut e = json!({"type": "login.attempt", "service": service, "actor": actor, "account": account,
        "factor": factor, "secret_fp": fp, "result": result});
    if result == "failure" {
        e["failure_reason"] = json!("bad_secret");
    }
    e
}

impl Actor for HonestPerson {
    fn step(&mut self, ctx: &mut Ctx<'_>) -> Option<i64> {
        crate::life::happen(self.who, &mut self.rng, &mut self.life, ctx);
        let p = &ctx.world.people[self.who];
        let (wallet, exchange) = (p.wallet.clone(), p.exchange.clone());
        let (broker, elderly) = (p.broker.clone(), p.elderly);
        match self.rng.range(0, 100) {
            0..=54 if wallet.is_some() => {
                self.wallet_day(ctx, wallet.as_deref().unwrap_or_default())
            }
            55..=69 if exchange.is_some() => {
                self.exchange_day(ctx, exchange.as_deref().unwrap_or_default())
            }
            70..=89 => self.bank_day(ctx),
            90..=99 if broker.is_some() => {
                self.broker_day(ctx, broker.as_deref().unwrap_or_default())
            }
            _ => {}
        }
        if ctx.world.people[self.who].neobank.is_some() && self.rng.chance(0.25) {
            crate::neobank::day(ctx, &mut self.rng, self.who);
        }
        let mean_h = if elderly { 24 } else { 10 };
        Some(ctx.now_ms + self.rng.exp_ms(mean_h * 3_600_000) as i64)
    }
}
