use anyhow::{anyhow, Context};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use sekimori_rules::compile;
use sekimori_sim::{
    chart, Baseline, Config, Defender, Scorecard, Size, Verdict, WorldKind, SCENARIOS,
};

/// Scenarios whose cumulative loss over time gets a chart.
const CUSTODY: &[&str] = &["coincheck-key", "coincheck-signer", "zaif"];
use serde_json::json;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

#[derive(clap::Args)]
pub struct Args {
    /// small (tests, CI), medium (scorecards) or large (performance).
    #[arg(long, default_value = "small")]
    size: String,
    /// dense (the seed incidents' services: device ids, ASNs, a week of
    /// history, yen) or sparse (no device ids, no ASN, one day of history,
    /// US dollars).
    #[arg(long, default_value = "dense")]
    world: String,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// `all`, or scenario names separated by commas.
    #[arg(long, default_value = "all")]
    scenario: String,
    /// Output directory.
    #[arg(long)]
    out: PathBuf,
    /// Rule pack for the sekimori baseline (default: the embedded default pack).
    #[arg(long)]
    rules: Option<PathBuf>,
    /// Send the sekimori baseline's events to a running server instead of an
    /// in-process engine (give it a fresh data directory).
    #[arg(long)]
    url: Option<String>,
    /// An API key for --url (or set SEKIMORI_API_KEY) with the scopes
    /// `ingest,custody,stepup`: the simulated services report their hot
    /// wallets' outflows and run their own MFA.
    #[arg(long, env = "SEKIMORI_API_KEY", hide_env_values = true)]
    key: Option<String>,
    /// With --url: an approver's own `approve`-scoped key, as NAME=KEY
    /// (repeat per approver). The custody desk's `withdrawal.approval`
    /// events by NAME go with it: the server accepts an approval only from
    /// the approver's own key.
    #[arg(long = "approver-key", value_name = "NAME=KEY")]
    approver_keys: Vec<String>,
    /// `all`, or baselines separated by commas (none, per-account-lockout,
    /// per-ip-bucket, sekimori).
    #[arg(long, default_value = "all")]
    baseline: String,
    /// Also write every event the first baseline's run sent, one JSON per line
    /// (with `ground_truth.jsonl`, the input of bench/crowdsec).
    #[arg(long)]
    events: Option<PathBuf>,
    /// Run the sekimori baseline through a ledger on this (new, empty) data
    /// directory, as `serve` would store it: every event with its decision
    /// and every label the services and analysts post, in time order. Read
    /// it back with `sekimori backtest --data DIR`.
    #[arg(long)]
    data: Option<PathBuf>,
}

/// How often an event shed with 429 is sent again before it counts as unanswered.
const BUSY_RETRIES: u32 = 100;

/// The sekimori baseline over HTTP: each event is `POST /v1/events`, exactly
/// as a service would send it. A request that fails is counted, never allowed.
struct HttpDefender {
    agent: ureq::Agent,
    endpoint: String,
    key: String,
    /// Approver name -> that approver's key, for `withdrawal.approval`.
    approvers: std::collections::HashMap<String, String>,
    errors: std::rc::Rc<std::cell::Cell<u64>>,
    label_errors: std::rc::Rc<std::cell::Cell<u64>>,
}

impl Defender for HttpDefender {
    fn decide(&mut self, event: &sekimori_event::Event) -> Verdict {
        let key = match &event.body {
            sekimori_event::Body::WithdrawalApproval(b) => self.approvers.get(&b.approver),
            _ => None,
        };
        let auth = format!("Bearer {}", key.unwrap_or(&self.key));
        // A server that sheds load answers 429 `engine_busy`: the event was
        // neither decided nor stored, so a real service backs off and sends
        // it again with the same id, as this does (a bounded number of times).
        let mut answer = None;
        for attempt in 0..BUSY_RETRIES {
            let reply = self
                .agent
                .post(&self.endpoint)
                .header("authorization", &auth)
                .send_json(event)
                .ok();
            let Some(mut reply) = reply else { break };
            let status = reply.status().as_u16();
            let body = reply.body_mut().read_json::<serde_json::Value>().ok();
            if status == 429 && attempt + 1 < BUSY_RETRIES {
                std::thread::sleep(std::time::Duration::from_millis(50));
                continue;
            }
            answer = body;
            break;
        }
        let parsed = answer.as_ref().map(|a| &a["decision"]).and_then(|d| {
            let action = serde_json::from_value(d["action"].clone()).ok()?;
            let methods =
                serde_json::from_value(d.get("methods").cloned().unwrap_or(json!([]))).ok()?;
            Some(Verdict { action, methods })
        });
        parsed.unwrap_or_else(|| {
            self.errors.set(self.errors.get() + 1);
            Verdict {
                action: sekimori_rules::Action::Deny,
                methods: Vec::new(),
            }
        })
    }

    /// A service's label goes to `POST /v1/labels` with the service's key;
    /// an analyst's disposition is given by closing a case in the
    /// workbench, which a key cannot do, so it is not sent.
    fn label(&mut self, label: &sekimori_sim::Label) {
        if !label.by.starts_with("key:") {
            return;
        }
        let endpoint = self.endpoint.replace("/v1/events", "/v1/labels");
        let sent = self
            .agent
            .post(&endpoint)
            .header("authorization", &format!("Bearer {}", self.key))
            .send_json(
                json!({"service": label.service, "event_id": label.event_id, "label": label.label}),
            )
            .ok()
            .is_some_and(|r| r.status().is_success());
        if !sent {
            // A label is feedback, not a decision: counted and reported,
            // never a reason to fail the run.
            self.label_errors.set(self.label_errors.get() + 1);
        }
    }
}

/// `--approver-key NAME=KEY` values, by name.
fn approver_keys(args: &[String]) -> anyhow::Result<std::collections::HashMap<String, String>> {
    args.iter()
        .map(|a| {
            a.split_once('=')
                .filter(|(name, key)| !name.is_empty() && !key.is_empty())
                .map(|(name, key)| (name.to_string(), key.to_string()))
                .ok_or_else(|| anyhow!("--approver-key takes NAME=KEY"))
        })
        .collect()
}

pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    if a.data.is_some() && a.url.is_some() {
        return Err(anyhow!(
            "--data writes the in-process engine's log; with --url the server keeps its own"
        ));
    }
    let size = Size::parse(&a.size).ok_or_else(|| anyhow!("--size is small, medium or large"))?;
    let world = WorldKind::parse(&a.world).ok_or_else(|| anyhow!("--world is dense or sparse"))?;
    let scenarios: Vec<String> = if a.scenario == "all" {
        SCENARIOS.iter().map(|s| s.to_string()).collect()
    } else {
        a.scenario
            .split(',')
            .map(|s| s.trim().to_string())
            .collect()
    };
    let baselines: Vec<Baseline> = if a.baseline == "all" {
        Baseline::ALL.to_vec()
    } else {
        a.baseline
            .split(',')
            .map(|s| {
                let s = s.trim();
                Baseline::ALL
                    .into_iter()
                    .find(|b| b.name() == s)
                    .ok_or_else(|| anyhow!("unknown baseline `{s}`; known: none, per-account-lockout, per-ip-bucket, sekimori"))
            })
            .collect::<anyhow::Result<_>>()?
    };
    let pack = compile(super::pack_source(a.rules.as_deref())?)
        .map_err(|e| anyhow!("rule pack does not compile:\n{}", super::replay::list(&e)))?;
    let config = Config {
        size,
        seed: a.seed,
        scenarios,
        pack: Arc::new(pack),
    };
    std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    let bars = MultiProgress::new();
    let style = ProgressStyle::with_template("{prefix:>20} {bar:40} {percent:>3}% {elapsed}")
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    let mut card = Scorecard::new(
        config.seed,
        size,
        format!("{} {}", config.pack.name(), config.pack.version()),
    );
    card.world = world;
    let mut timing = Vec::new();
    let mut truth =
        std::io::BufWriter::new(std::fs::File::create(a.out.join("ground_truth.jsonl"))?);
    let mut attacks = Vec::new();
    for (nth, baseline) in baselines.into_iter().enumerate() {
        let record = nth == 0 && a.events.is_some();
        let bar = bars.add(
            ProgressBar::new(1000)
                .with_style(style.clone())
                .with_prefix(baseline.name()),
        );
        let started = Instant::now();
        let errors = std::rc::Rc::new(std::cell::Cell::new(0));
        let label_errors = std::rc::Rc::new(std::cell::Cell::new(0));
        let defender: Box<dyn Defender> = match (&a.url, baseline) {
            (Some(url), Baseline::Sekimori) => Box::new(HttpDefender {
                agent: ureq::Agent::config_builder()
                    .http_status_as_error(false)
                    .build()
                    .into(),
                endpoint: format!("{}/v1/events", url.trim_end_matches('/')),
                key: a
                    .key
                    .clone()
                    .ok_or_else(|| anyhow!("--url needs --key (an ingest key)"))?,
                approvers: approver_keys(&a.approver_keys)?,
                errors: std::rc::Rc::clone(&errors),
                label_errors: std::rc::Rc::clone(&label_errors),
            }),
            (None, Baseline::Sekimori) if a.data.is_some() => {
                let dir = a.data.as_deref().unwrap_or(std::path::Path::new("."));
                Box::new(data::LedgerDefender::open(
                    dir,
                    &config.pack,
                    std::rc::Rc::clone(&errors),
                )?)
            }
            _ => baseline.defender(&config.pack),
        };
        let mut events_out = match (&a.events, record) {
            (Some(path), true) => Some(std::io::BufWriter::new(
                std::fs::File::create(path)
                    .with_context(|| format!("creating {}", path.display()))?,
            )),
            _ => None,
        };
        let mut write_error: Option<std::io::Error> = None;
        let mut sink = |e: &serde_json::Value| {
            if let (Some(w), None) = (events_out.as_mut(), &write_error) {
                if let Err(err) = writeln!(w, "{e}") {
                    write_error = Some(err);
                }
            }
        };
        let r = sekimori_sim::run_streaming_in(
            &config,
            world,
            baseline,
            defender,
            record.then_some(&mut sink as &mut dyn FnMut(&serde_json::Value)),
            &mut |f| bar.set_position((f * 1000.0) as u64),
        )?;
        if let Some(err) = write_error {
            return Err(anyhow!("writing the events: {err}"));
        }
        if let Some(mut w) = events_out {
            w.flush()?;
        }
        if errors.get() > 0 {
            return Err(anyhow!(
                "{} events got no decision from {}",
                errors.get(),
                a.url.as_deref().unwrap_or("")
            ));
        }
        if label_errors.get() > 0 {
            eprintln!(
                "warning: {} labels were not accepted by {}",
                label_errors.get(),
                a.url.as_deref().unwrap_or("")
            );
        }
        let secs = started.elapsed().as_secs_f64();
        bar.finish();
        if !r.score.invalid_events.is_empty() {
            return Err(anyhow!(
                "the simulator built invalid events: {:?}",
                &r.score.invalid_events[..1]
            ));
        }
        let events = r.score.honest.events + r.score.truth.len() as u64;
        timing.push(
            json!({"baseline": baseline.name(), "events": events, "seconds": secs,
                           "events_per_second": (events as f64 / secs.max(1e-9)).round()}),
        );
        for t in &r.score.truth {
            writeln!(
                truth,
                "{}",
                json!({"baseline": baseline.name(), "scenario": t.scenario, "event_id": t.event_id, "action": t.action})
            )?;
        }
        card.add(baseline, &config.scenarios, &r.score);
        attacks.push((baseline.name(), r.score.attacks));
    }
    truth.flush()?;
    std::fs::write(
        a.out.join("scorecard.json"),
        serde_json::to_string_pretty(&card)? + "\n",
    )?;
    std::fs::write(a.out.join("scorecard.md"), card.markdown())?;
    std::fs::write(
        a.out.join("timing.json"),
        serde_json::to_string_pretty(&timing)? + "\n",
    )?;
    chart::stolen_by_baseline(&card, &a.out.join("stolen.png"))?;
    for scenario in config
        .scenarios
        .iter()
        .filter(|s| CUSTODY.contains(&s.as_str()))
    {
        let series: Vec<chart::LossSeries<'_>> = attacks
            .iter()
            .filter_map(|(b, by)| {
                by.get(scenario.as_str())
                    .map(|at| (*b, at.onset_ms, at.losses.as_slice()))
            })
            .collect();
        chart::cumulative_loss(
            scenario,
            &series,
            &a.out.join(format!("loss-{scenario}.png")),
        )?;
    }
    eprintln!("scorecard -> {}", a.out.display());
    Ok(ExitCode::SUCCESS)
}

/// `--data DIR`: the sekimori baseline through a ledger on a data directory.
mod data {
    use anyhow::{anyhow, bail};
    use sekimori_engine::{Entry, Prepared};
    use sekimori_ledger::{Durable, Ledger};
    use sekimori_rules::{Action, Pack};
    use sekimori_sim::{Defender, Label, Verdict};
    use sekimori_store::Store;
    use std::cell::Cell;
    use std::rc::Rc;
    use std::sync::Arc;

    /// Appends between waits for durability: well under the store's queue.
    const WAIT_EVERY: u64 = 4_096;

    /// The engine bound to its log, as `serve` runs it: each event decided
    /// and appended with its decision, each label appended as
    /// `POST /v1/labels` (or an analyst's case close) appends it.
    pub struct LedgerDefender {
        ledger: Ledger,
        last: Option<Durable>,
        since_wait: u64,
        rules: Vec<String>,
        errors: Rc<Cell<u64>>,
    }

    impl LedgerDefender {
        pub fn open(
            dir: &std::path::Path,
            pack: &Arc<Pack>,
            errors: Rc<Cell<u64>>,
        ) -> anyhow::Result<LedgerDefender> {
            let store =
                Arc::new(Store::open(dir).map_err(|e| anyhow!("opening {}: {e}", dir.display()))?);
            if store.last_seq()? > 0 {
                bail!(
                    "{} already holds a log: give --data a new directory",
                    dir.display()
                );
            }
            let ledger = Ledger::open(store, Arc::clone(pack), 100_000)?;
            Ok(LedgerDefender {
                ledger,
                last: None,
                since_wait: 0,
                rules: Vec::new(),
                errors,
            })
        }

        fn appended(&mut self, durable: Durable) {
            self.since_wait += 1;
            if self.since_wait < WAIT_EVERY {
                self.last = Some(durable);
                return;
            }
            // Appends resolve in order: the last one durable means all are.
            self.since_wait = 0;
            self.last = None;
            if !matches!(durable.blocking_recv(), Ok(Ok(()))) {
                self.errors.set(self.errors.get() + 1);
            }
        }
    }

    impl Drop for LedgerDefender {
        fn drop(&mut self) {
            if let Some(durable) = self.last.take() {
                if !matches!(durable.blocking_recv(), Ok(Ok(()))) {
                    eprintln!("error: the last entries of the simulated log were not written");
                }
            }
        }
    }

    impl Defender for LedgerDefender {
        fn decide(&mut self, event: &sekimori_event::Event) -> Verdict {
            let (d, durable) = self.ledger.decide(&Prepared::new(event.clone()));
            self.appended(durable);
            self.rules.clear();
            if d.action != Action::Allow {
                self.rules.extend(
                    d.reasons
                        .iter()
                        .filter(|r| {
                            !r.shadow && r.action.verdict().is_some_and(|a| a != Action::Allow)
                        })
                        .map(|r| r.rule.clone()),
                );
            }
            Verdict {
                action: d.action,
                methods: d.methods,
            }
        }

        fn rules(&self) -> Vec<String> {
            self.rules.clone()
        }

        fn label(&mut self, label: &Label) {
            let entry = Entry::Label {
                service: label.service.clone(),
                event_id: label.event_id.clone(),
                label: label.label.to_string(),
                by: label.by.clone(),
                at: sekimori_event::format_rfc3339_ms(label.at_ms),
                note: String::new(),
            };
            match self.ledger.append_audit(&entry) {
                Ok(durable) => self.appended(durable),
                Err(_) => self.errors.set(self.errors.get() + 1),
            }
        }
    }
}
