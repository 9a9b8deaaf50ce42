//! Memory of the case index's per-account timelines and links, measured
//! as the process's resident set (`VmRSS` of /proc/self/status, Linux):
//! per account, and under a flood of minted accounts past the index's
//! account bound (it must stay flat). Printed once per run, before the
//! page benches (`cargo bench -p sekimori-workbench --bench case_page`).
//! The bench runs on the system allocator (glibc), the server on mimalloc.
//! The workspace forbids `unsafe`, so no counting allocator: the resident
//! set includes the allocator's free lists, so a per-account figure is an
//! upper bound, and "flat" means freed entries are reused, not returned.
//! Beside each resident figure, the index's own accounted bytes
//! (`Index::index_bytes`, what its byte budget counts), and a flood of
//! busy accounts against a byte budget.

use sekimori_engine::{Decision, Entry, PackRef};
use sekimori_rules::Action;
use sekimori_workbench::cases::Index;
use serde_json::json;
use std::time::Instant;

/// The resident set in bytes (0 where /proc is not there).
#[allow(clippy::disallowed_methods)] // a bench reads /proc, never a decision
fn live() -> isize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<isize>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// A login of `account` from its own device and address, allowed (so it
/// opens no case: only the timeline and the links grow).
fn login(index: &mut Index, seq: u64, account: &str, device: &str) {
    let id = format!("m-{seq}");
    let at = "2026-12-05T10:00:00Z";
    let event = json!({"id": id, "type": "login.attempt", "service": "netbank", "at": at,
        "account": account, "factor": "password", "result": "success",
        "actor": {"device": device,
                  "ip": format!("10.{}.{}.{}", seq >> 16 & 255, seq >> 8 & 255, seq & 255)}});
    let decision = Decision {
        event_id: id,
        event_type: "login.attempt".into(),
        at: at.into(),
        action: Action::Allow,
        methods: Vec::new(),
        score: 0,
        reasons: Vec::new(),
        features: Default::default(),
        pack: PackRef {
            name: "default".into(),
            version: "bench".into(),
        },
        late: false,
        errors: Vec::new(),
    };
    index.apply(seq, &Entry::Event { event, decision });
}

/// Measures and prints: bytes per minted account (one login, one device,
/// one address), bytes per busy account (its full timeline and 32 links),
/// and the index under 10× its account bound of minted accounts.
pub fn report() {
    const BOUND: usize = 100_000;
    let base = live();
    let mut index = Index::default().with_max_accounts(BOUND);
    let empty = live() - base;
    let mut seq = 0u64;
    for i in 0..BOUND as u64 {
        seq += 1;
        login(&mut index, seq, &format!("mint-{i}"), &format!("dev-{i}"));
    }
    let full = live() - base;
    let per_account = (full - empty) / BOUND as isize;
    let accounted_minted = index.index_bytes().accounts / BOUND;
    let t = Instant::now();
    for i in BOUND as u64..10 * BOUND as u64 {
        seq += 1;
        login(&mut index, seq, &format!("mint-{i}"), &format!("dev-{i}"));
    }
    let flood = t.elapsed();
    let after = live() - base;
    let (accounts, _, evicted) = index.account_stats();
    // Minted accounts with the longest ids a claimed login may have: 128
    // characters of 4 bytes (`MAX_CLAIM_CHARS` of sekimori-event's
    // decode.rs, not exported), and a device id as long.
    const MAX_CLAIM_CHARS: usize = 128;
    const LONG: usize = 20_000;
    let wide = "\u{20000}".repeat(MAX_CLAIM_CHARS - 6);
    let before_long = live();
    let mut long = Index::default();
    for i in 0..LONG as u64 {
        login(
            &mut long,
            i + 1,
            &format!("{wide}{i:06}"),
            &format!("{wide}d{i:05}"),
        );
    }
    let long_bytes = (live() - before_long) / LONG as isize;
    let accounted_long = long.index_bytes().accounts / LONG;
    // Busy accounts: 1,000 accounts of 250 logins each, every login from a
    // fresh device and address (each keeps its latest 200 seqs, 32 links).
    const BUSY: u64 = 1_000;
    let before_busy = live();
    let mut busy = Index::default();
    let mut s = 0u64;
    for round in 0..250u64 {
        for a in 0..BUSY {
            s += 1;
            login(
                &mut busy,
                s,
                &format!("busy-{a}"),
                &format!("d-{a}-{round}"),
            );
        }
    }
    let busy_bytes = (live() - before_busy) / BUSY as isize;
    let accounted_busy = busy.index_bytes().accounts / BUSY as usize;
    drop(busy);
    // The same busy accounts, 4,000 of them, against a 16 MiB budget.
    const BUDGET: usize = 16 << 20;
    let before_budget = live();
    let mut budgeted = Index::default().with_max_bytes(BUDGET);
    let mut s = 0u64;
    let mut most = 0;
    for a in 0..4 * BUSY {
        for round in 0..250u64 {
            s += 1;
            let account = format!("busy-{a}");
            login(&mut budgeted, s, &account, &format!("d-{a}-{round}"));
        }
        most = most.max(budgeted.index_bytes().accounts);
    }
    let budget_resident = live() - before_budget;
    let (kept, _, gone) = budgeted.account_stats();
    eprintln!(
        "accounts memory: {per_account} B per minted account ({BOUND} accounts: {:.1} MB); \
         after {} more minted accounts past the bound of {BOUND}: {:.1} MB, {accounts} accounts kept, \
         {evicted} evicted, {:.2} µs per logged login of the flood; per busy account \
         (timeline of its latest 200 events, 32 links): {busy_bytes} B",
        full as f64 / 1e6,
        9 * BOUND,
        after as f64 / 1e6,
        flood.as_secs_f64() * 1e6 / (9 * BOUND) as f64,
    );
    eprintln!(
        "accounts with {}-byte ids: {long_bytes} B resident per minted account, {accounted_long} B \
         accounted (resident / accounted {:.2})",
        wide.len() + 6,
        long_bytes as f64 / accounted_long.max(1) as f64,
    );
    eprintln!(
        "accounts accounted bytes: {accounted_minted} B per minted account (resident / accounted \
         {:.2}), {accounted_busy} B per busy account (resident / accounted {:.2}); \
         {} busy accounts against a byte budget of {BUDGET} B: at most {most} B accounted, \
         {kept} accounts kept, {gone} evicted, resident growth {:.1} MB",
        per_account as f64 / accounted_minted.max(1) as f64,
        busy_bytes as f64 / accounted_busy.max(1) as f64,
        4 * BUSY,
        budget_resident as f64 / 1e6,
    );
    drop(index);
    drop(long);
    drop(budgeted);
}
