//! `sekimori bench cowrie`: the default pack on real attacker traffic no one
//! here wrote (the dev set's Cowrie SSH honeypot log, read from where it lies;
//! it is never copied into the repository), beside honest controls written
//! here, in one service and one engine, in event time.
//!
//! The attack stream is mapped by the example integration ([`crate::cowrie`]).
//! The controls share the same service and the same twelve days, and begin
//! two weeks earlier (an existing service's customers have a history; the
//! warm-up is not scored). An honest login that is challenged passes its
//! step-up (the holder has the factor): the service reports the `mfa.result`
//! that names it, as a real service would.
//! - a carrier-grade NAT address (100.64.0.1) shared by 1,000 customers, each
//!   logging in on most days with their own password, with typos;
//! - the real holders of `root` and `admin`, each from their own address and
//!   client, twice a day: the accounts every scanner sprays.
//!
//! Scored as the dev set's README asks: per source address with 20 or more
//! attempts, the attempt at which it was first challenged and first refused;
//! the same per password tried from 20 or more addresses; which rules fired;
//! and what the honest controls suffered.

use crate::cowrie::Adapter;
use anyhow::Context;
use sekimori_engine::Engine;
use sekimori_event::{format_rfc3339_ms, parse_rfc3339_ms};
use sekimori_rules::Action;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;

/// Options of `sekimori bench cowrie`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The Cowrie log: JSON lines, gzip-compressed if the name ends in `.gz`.
    #[arg(
        long,
        default_value = "../shared/data/dev/cowrie-2017/cowrie_events_2017-11.jsonl.gz"
    )]
    pub cowrie: PathBuf,
    /// Rule-pack directory (default: the embedded default pack).
    #[arg(long)]
    pub rules: Option<PathBuf>,
    /// Map logins as "secret unknown" (no fingerprint), as plain sshd logs would.
    #[arg(long)]
    pub secret_unknown: bool,
    /// The attack log alone, without the honest controls (no holder of
    /// `root` or `admin` has a history the attackers could be told from).
    #[arg(long)]
    pub no_controls: bool,
    /// Write `cowrie.json` (every number below) here.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Attempts from one address (or uses of one password) that the README asks to stop.
pub const STOP_BEFORE: usize = 20;
/// The CGNAT control's address and size.
const CGNAT_IP: &str = "100.64.0.1";
const CGNAT_CUSTOMERS: u64 = 1_000;
/// How long the honest controls run before the attack stream starts.
const WARM_UP_MS: i64 = 14 * 86_400_000;

/// Who sent an event of the merged stream.
#[derive(Clone, Debug)]
enum Origin {
    Attack { ip: String, password: String },
    Honest(&'static str),
}

/// The first attempt (1-based) at which a group was challenged or stopped.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Firsts {
    pub attempts: usize,
    pub first_challenge: Option<usize>,
    pub first_refusal: Option<usize>,
    /// First attempt answered anything but `allow`.
    pub first_stop: Option<usize>,
}

impl Firsts {
    fn record(&mut self, action: Action) {
        self.attempts += 1;
        let n = self.attempts;
        if action == Action::Challenge && self.first_challenge.is_none() {
            self.first_challenge = Some(n);
        }
        if action >= Action::Deny && self.first_refusal.is_none() {
            self.first_refusal = Some(n);
        }
        if action != Action::Allow && self.first_stop.is_none() {
            self.first_stop = Some(n);
        }
    }

    fn stopped_in_time(&self) -> bool {
        self.first_stop.is_some_and(|n| n < STOP_BEFORE)
    }
}

/// What the evaluation measured.
#[derive(Debug, Default, serde::Serialize)]
pub struct Report {
    pub attack_logins: usize,
    pub attack_actions: BTreeMap<String, u64>,
    /// Attack logins the honeypot accepted, and of those the ones allowed
    /// (a real service would have let them in).
    pub attack_successes: usize,
    pub attack_successes_allowed: usize,
    pub addresses: BTreeMap<String, Firsts>,
    pub passwords: BTreeMap<String, Firsts>,
    pub addresses_stopped: usize,
    pub passwords_stopped: usize,
    pub rules_on_attacks: BTreeMap<String, u64>,
    pub honest: BTreeMap<String, HonestTally>,
    pub rules_on_honest: BTreeMap<String, u64>,
}

/// An honest population's friction.
#[derive(Debug, Default, serde::Serialize)]
pub struct HonestTally {
    pub logins: u64,
    pub challenged: u64,
    pub refused: u64,
}

/// A small deterministic generator (splitmix64) for the controls.
struct Mix(u64);

impl Mix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// The honest controls between `from_ms` and `to_ms`, as (time, event, who).
fn controls(adapter: &Adapter, from_ms: i64, to_ms: i64) -> Vec<(i64, Value, Origin)> {
    const DAY: i64 = 86_400_000;
    let mut rng = Mix(2017);
    let mut out = Vec::new();
    let mut n = 0u64;
    let mut login = |out: &mut Vec<(i64, Value, Origin)>,
                     at: i64,
                     who: &'static str,
                     account: &str,
                     ip: &str,
                     client: &str,
                     secret: &str,
                     ok: bool| {
        n += 1;
        let mut e = json!({
            "id": format!("honest-{n}"), "type": "login.attempt", "at": format_rfc3339_ms(at),
            "service": adapter.service, "account": account, "factor": "password",
            "result": if ok { "success" } else { "failure" },
            "actor": {"ip": ip, "user_agent": client, "session": format!("h{n}")},
        });
        if !ok {
            e["failure_reason"] = json!("bad_secret");
        }
        if adapter.fingerprint_secrets {
            e["secret_fp"] = json!(adapter.fingerprint(secret));
        }
        out.push((at, e, Origin::Honest(who)));
    };
    let clients = [
        "SSH-2.0-OpenSSH_7.4",
        "SSH-2.0-PuTTY_Release_0.70",
        "SSH-2.0-OpenSSH_7.6p1 Ubuntu-4",
    ];
    let mut day = from_ms - from_ms.rem_euclid(DAY);
    while day < to_ms {
        for c in 0..CGNAT_CUSTOMERS {
            if rng.below(10) >= 6 {
                continue;
            }
            let at = day + rng.below(DAY as u64) as i64;
            let account = format!("cgnat-{c}");
            let client = clients[(c % 3) as usize];
            if rng.below(50) == 0 {
                login(
                    &mut out, at, "cgnat", &account, CGNAT_IP, client, "typo", false,
                );
            }
            let secret = format!("own-{c}");
            login(
                &mut out,
                at + 20_000,
                "cgnat",
                &account,
                CGNAT_IP,
                client,
                &secret,
                true,
            );
        }
        for (who, ip) in [("root", "192.0.2.10"), ("admin", "192.0.2.11")] {
            for half in 0..2 {
                let at = day + half * DAY / 2 + rng.below(DAY as u64 / 2) as i64;
                let secret = format!("{who}-holder-secret");
                login(&mut out, at, who, who, ip, clients[0], &secret, true);
            }
        }
        day += DAY;
    }
    out.retain(|(at, _, _)| (from_ms..to_ms).contains(at));
    out
}

fn open(path: &PathBuf) -> anyhow::Result<Box<dyn BufRead>> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    Ok(if path.extension().is_some_and(|e| e == "gz") {
        Box::new(BufReader::new(flate2::read::GzDecoder::new(file)))
    } else {
        Box::new(BufReader::new(file))
    })
}

/// Maps, merges, decides and scores.
pub fn evaluate(args: &Args) -> anyhow::Result<Report> {
    let pack = crate::replay::pack(args.rules.as_deref())?;
    let mut adapter = Adapter::new("ssh", "k2017", b"sekimori-eval-cowrie-2017");
    adapter.fingerprint_secrets = !args.secret_unknown;
    let mut stream: Vec<(i64, Value, Origin)> = Vec::new();
    for (i, line) in open(&args.cowrie)?.lines().enumerate() {
        let line = line.with_context(|| format!("reading line {}", i + 1))?;
        if let Some(login) = adapter
            .map_line(&line)
            .with_context(|| format!("line {}", i + 1))?
        {
            let at = login.event["at"].as_str().and_then(parse_rfc3339_ms);
            let at = at.with_context(|| format!("line {}: bad timestamp", i + 1))?;
            let origin = Origin::Attack {
                ip: login.src_ip,
                password: login.password,
            };
            stream.push((at, login.event, origin));
        }
    }
    let from = stream.iter().map(|s| s.0).min().unwrap_or(0);
    let to = stream.iter().map(|s| s.0).max().unwrap_or(0);
    if !args.no_controls {
        stream.extend(controls(&adapter, from - WARM_UP_MS, to + 1));
    }
    // Stable: the log's own order within one millisecond.
    stream.sort_by_key(|s| s.0);

    let mut engine = Engine::new(pack);
    let mut report = Report::default();
    let mut per_ip: HashMap<String, Firsts> = HashMap::new();
    let mut per_pw: HashMap<String, Firsts> = HashMap::new();
    let mut pw_ips: HashMap<String, HashSet<String>> = HashMap::new();
    for (i, (_, value, origin)) in stream.iter().enumerate() {
        let event = sekimori_event::decode(value.to_string().as_bytes())
            .map_err(|e| anyhow::anyhow!("event {} of the merged stream: {e}", i + 1))?;
        let d = engine.decide(&event);
        let fired = d
            .reasons
            .iter()
            .filter(|r| !r.shadow)
            .map(|r| r.rule.clone());
        match origin {
            Origin::Attack { ip, password } => {
                report.attack_logins += 1;
                *report
                    .attack_actions
                    .entry(format!("{:?}", d.action).to_lowercase())
                    .or_default() += 1;
                if matches!(&event.body, sekimori_event::Body::LoginAttempt(b) if b.result == sekimori_event::Outcome::Success)
                {
                    report.attack_successes += 1;
                    report.attack_successes_allowed += usize::from(d.action == Action::Allow);
                }
                per_ip.entry(ip.clone()).or_default().record(d.action);
                per_pw.entry(password.clone()).or_default().record(d.action);
                pw_ips
                    .entry(password.clone())
                    .or_default()
                    .insert(ip.clone());
                for r in fired {
                    *report.rules_on_attacks.entry(r).or_default() += 1;
                }
            }
            Origin::Honest(who) => {
                if d.action == Action::Challenge {
                    engine.decide(&passed_step_up(&event, &d.methods)?);
                }
                if event.at_ms < from {
                    continue;
                }
                let t = report.honest.entry((*who).to_string()).or_default();
                t.logins += 1;
                t.challenged += u64::from(d.action == Action::Challenge);
                t.refused += u64::from(d.action >= Action::Review);
                for r in fired {
                    *report.rules_on_honest.entry(r).or_default() += 1;
                }
            }
        }
    }
    report.addresses = per_ip
        .into_iter()
        .filter(|(_, f)| f.attempts >= STOP_BEFORE)
        .collect();
    report.passwords = per_pw
        .into_iter()
        .filter(|(pw, _)| pw_ips.get(pw).is_some_and(|s| s.len() >= STOP_BEFORE))
        .map(|(pw, f)| (printable(&pw), f))
        .collect();
    report.addresses_stopped = report
        .addresses
        .values()
        .filter(|f| f.stopped_in_time())
        .count();
    report.passwords_stopped = report
        .passwords
        .values()
        .filter(|f| f.stopped_in_time())
        .count();
    Ok(report)
}

/// The `mfa.result` of an honest holder who passed the step-up a challenge
/// asked for, with the first method it offered.
fn passed_step_up(
    login: &sekimori_event::Event,
    methods: &[sekimori_event::MfaMethod],
) -> anyhow::Result<sekimori_event::Event> {
    let method = methods.first().map_or(json!("totp"), |m| json!(m));
    let v = json!({
        "id": format!("{}-stepup", login.id), "type": "mfa.result",
        "at": format_rfc3339_ms(login.at_ms), "service": login.service,
        "actor": login.actor, "account": login.body.account(),
        "method": method, "challenge_id": format!("c-{}", login.id),
        "for_event": login.id, "result": "success",
    });
    sekimori_event::decode(v.to_string().as_bytes()).map_err(|e| anyhow::anyhow!("step-up: {e}"))
}

/// A password as a table cell (the honeypot's own data; empty shown as `""`).
fn printable(pw: &str) -> String {
    if pw.is_empty() {
        "\"\"".into()
    } else {
        pw.escape_debug().to_string()
    }
}

fn cell(n: Option<usize>) -> String {
    n.map_or("never".into(), |n| n.to_string())
}

/// Runs the evaluation, prints the scorecard, writes `cowrie.json` with `--out`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let r = evaluate(&args)?;
    println!("# Cowrie 2017 dev set through the default pack\n");
    println!(
        "attack logins: {}  actions: {:?}",
        r.attack_logins, r.attack_actions
    );
    println!(
        "accepted by the honeypot: {}, of which allowed: {}",
        r.attack_successes, r.attack_successes_allowed
    );
    println!(
        "addresses with >= {STOP_BEFORE} attempts stopped before their {STOP_BEFORE}th: {} of {}",
        r.addresses_stopped,
        r.addresses.len()
    );
    println!(
        "passwords from >= {STOP_BEFORE} addresses stopped before their {STOP_BEFORE}th use: {} of {}\n",
        r.passwords_stopped,
        r.passwords.len()
    );
    println!("| address | attempts | first challenge | first refusal |\n|---|---|---|---|");
    let mut rows: Vec<_> = r.addresses.iter().collect();
    rows.sort_by_key(|(ip, f)| (std::cmp::Reverse(f.attempts), (*ip).clone()));
    for (ip, f) in rows {
        println!(
            "| {ip} | {} | {} | {} |",
            f.attempts,
            cell(f.first_challenge),
            cell(f.first_refusal)
        );
    }
    println!("\n| password | uses | first challenge | first refusal |\n|---|---|---|---|");
    for (pw, f) in &r.passwords {
        println!(
            "| `{pw}` | {} | {} | {} |",
            f.attempts,
            cell(f.first_challenge),
            cell(f.first_refusal)
        );
    }
    println!("\nrules fired on attack logins: {:?}", r.rules_on_attacks);
    println!("\n| honest control | logins | challenged | review or refused |\n|---|---|---|---|");
    for (who, t) in &r.honest {
        println!(
            "| {who} | {} | {} | {} |",
            t.logins, t.challenged, t.refused
        );
    }
    println!("\nrules fired on honest logins: {:?}", r.rules_on_honest);
    if let Some(dir) = &args.out {
        std::fs::create_dir_all(dir)?;
        std::fs::write(dir.join("cowrie.json"), serde_json::to_vec_pretty(&r)?)?;
    }
    Ok(())
}
