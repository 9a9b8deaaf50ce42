//! Issue 12.1: load never turns a refusal into an allow. A batch flood at
//! three times the engine's capacity beside a reverse brute force of single
//! events; every single answer is compared with the decision the log holds.
//! Nothing here is timed: the latencies are reported by `sekimori bench
//! overload`, not asserted.

use sekimori_bench::overload::{scenario, Args};

#[test]
fn a_batch_flood_never_turns_a_logged_refusal_into_an_allow() {
    let args = Args {
        factor: 3,
        seconds: 3.0,
        probe_rate: 40,
        batch: 200,
        capacity_seconds: 1.5,
        time_budget_ms: None,
        out: None,
    };
    let r = scenario(&args).expect("the scenario runs");
    eprintln!("{r:#?}");
    assert!(r.singles_answered > 20, "the probe was answered: {r:?}");
    assert!(
        r.logged_refusals > 0,
        "the brute force is refused in the log (else this test proves nothing): {r:?}"
    );
    assert_eq!(
        r.allowed_but_refused, 0,
        "answers of allow for events the engine refused: {r:?}"
    );
    assert!(
        r.flood_events_decided > 0,
        "the flood reached the engine: {r:?}"
    );
}
