//! The attackers, one module per seed incident. Each follows the facts in
//! docs/scenarios.md, draws ids, devices and addresses from the same
//! generators as honest people, and acts on the engine's answers.

mod custody;
mod cycle_ring;
mod docomo_koza;
mod first_in;
mod fraud;
mod scanner;
mod sevenpay;
mod structuring;
mod takeover;
mod usd_drain;

use crate::ids;
use crate::net;
use crate::rng::Rng;
use crate::sim::{Actor, Ctx, Origin};
use crate::world::World;
use serde_json::{json, Value as Json};

/// The exchanges' chain watcher, which reports every outflow it sees on chain.
pub static CHAIN_WATCHER: std::sync::LazyLock<Json> =
    std::sync::LazyLock::new(|| json!({"ip": "172.16.0.10"}));

/// Every scenario this simulator can run, in report order.
pub const SCENARIOS: &[&str] = &[
    "docomo-koza",
    "7pay",
    "coincheck-signer",
    "coincheck-key",
    "zaif",
    "crypto-stuffing-2018",
    "sbi",
    "mitb",
    "mules",
    "password-spray",
    "phishing-ato",
    "docomo-koza-slow",
    "scanner-rotation",
    "first-in-bot",
    "usd-drain",
    "cycle-ring",
    "structuring",
];

/// The attackers of one scenario, each with its first action time.
pub fn spawn(name: &str, world: &World, seed: u64) -> Option<Vec<(i64, Box<dyn Actor>)>> {
    let mut rng = Rng::keyed(seed, name);
    let onset = world.start_ms + 6 * 3_600_000 + rng.range(0, 3_600_000) as i64;
    Some(match name {
        "docomo-koza" => docomo_koza::spawn(world, rng, onset),
        "docomo-koza-slow" => docomo_koza::spawn_slow(world, rng, onset),
        "password-spray" => takeover::spray(world, rng, onset),
        "crypto-stuffing-2018" => takeover::stuffing(world, rng, onset),
        "7pay" => sevenpay::spawn(world, rng, onset),
        "coincheck-signer" => custody::coincheck_signer(rng, onset),
        "coincheck-key" => custody::coincheck_key(rng, onset),
        "sbi" => takeover::sbi(world, rng, onset),
        "mitb" => fraud::mitb(world, rng, onset),
        "mules" => fraud::mules(world, rng, onset),
        "phishing-ato" => fraud::phishing_ato(world, rng, onset),
        "zaif" => custody::zaif(rng, onset),
        "scanner-rotation" => scanner::spawn(world, rng, onset),
        "first-in-bot" => first_in::spawn(world, rng, onset),
        "usd-drain" => usd_drain::spawn(world, rng, onset),
        "cycle-ring" => cycle_ring::spawn(world, rng, onset),
        "structuring" => structuring::spawn(world, rng, onset),
        _ => return None,
    })
}

/// A client as an attacker presents it: a fresh device and a proxied address
/// from the same pools honest people use.
pub(crate) fn disguise(rng: &mut Rng, hosting: bool) -> Json {
    let (device, ua) = ids::device(rng);
    let addr = if hosting {
        net::hosting(rng)
    } else {
        net::residential_proxy(rng)
    };
    json!({"ip": addr.ip, "asn": addr.asn, "device": device, "user_agent": ua, "country": "JP"})
}

/// After a takeover: register the attacker's address and withdraw everything.
pub(crate) fn drain_exchange(
    ctx: &mut Ctx<'_>,
    origin: Origin,
    rng: &mut Rng,
    who: usize,
    who_actor: &Json,
) {
    let Origin::Attack(scenario) = origin else {
        return;
    };
    let Some(account) = ctx.world.people[who].exchange.clone() else {
        return;
    };
    let address = ids::btc_address(rng);
    let payee = json!({"type": "payee.add", "service": "exchange", "actor": who_actor, "account": account,
        "destination": {"kind": "crypto", "address": address, "network": "bitcoin"}});
    let v = ctx.send(origin, 60_000, payee);
    if !ctx.goes_through(origin, &v, &account, "exchange", rng, &|_| false) {
        return;
    }
    let sat = ctx.world.people[who].btc_sat;
    let jpy = crate::score::sat_to_jpy(sat);
    ctx.score.targeted(scenario, jpy);
    let mut w = json!({"type": "withdrawal", "service": "exchange", "actor": who_actor, "account": account,
        "amount_minor": sat, "currency": "BTC", "destination": {"kind": "crypto", "address": address}});
    crate::integration::balance(&mut w, sat);
    let v = ctx.send(origin, 120_000, w);
    if ctx.goes_through(origin, &v, &account, "exchange", rng, &|_| false) {
        ctx.world.people[who].btc_sat = 0;
        let at = ctx.now_ms;
        ctx.score.stolen(scenario, &account, jpy, at);
    }
}
