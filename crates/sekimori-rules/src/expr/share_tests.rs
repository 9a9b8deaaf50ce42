//! Shared subexpressions ([`fast::Bool::Shared`]): the default pack
//! shares some, and a cache filled by one pack's expressions never answers
//! another pack's.

use super::program_tests::{default_pack, interpreted_bool};
use super::*;
use serde_json::json;

/// Shared subexpressions: the default pack shares some, and a cache filled
/// by one pack's expressions never answers another pack's (its slots mean
/// other subtrees).
#[test]
fn shared_subexpressions_are_kept_per_pack() {
    let pack = default_pack();
    let shared = pack
        .rules
        .iter()
        .map(|r| &r.when)
        .filter(|e| format!("{:?}", e.fast).contains("Shared"))
        .count();
    assert!(shared > 10, "only {shared} rules share a subexpression");
    let mut slots = BTreeSet::new();
    for r in &pack.rules {
        let debug = format!("{:?}", r.when.fast);
        for at in debug.split("slot: ").skip(1) {
            slots.insert(at.split(' ').next().unwrap_or("").to_string());
        }
    }
    eprintln!("{shared} rules share {} subexpressions", slots.len());

    let event = sekimori_event::decode_value(json!({
        "id": "e1", "type": "login.attempt", "at": "2026-01-01T00:00:00Z",
        "service": "s", "account": "a", "factor": "password", "result": "success",
    }))
    .expect("a valid login");
    let compile = |sources: [&str; 2]| {
        let mut exprs: Vec<Expr> = sources
            .iter()
            .map(|s| Expr::compile(s).expect("compiles").0)
            .collect();
        let mut refs: Vec<&mut Expr> = exprs.iter_mut().collect();
        assert_eq!(Expr::share_conditions(&mut refs), 3);
        exprs
    };
    // The same three slots hold `... 'success' ...` in one, `... 'failure' ...` in the other.
    let a = compile([
        "event.result == 'success' && event.account == 'a'",
        "event.result == 'success' && event.account == 'a' || event.service == 'x'",
    ]);
    let b = compile([
        "event.result == 'failure' && event.account == 'a'",
        "event.result == 'failure' && event.account == 'a' || event.service == 'y'",
    ]);
    let r = EventRef::new(&event);
    let lists = ListValues::new(std::iter::empty());
    let vars = Vars::typed(&r, &[], &[], &lists);
    for e in a.iter().chain(&b).chain(&a) {
        assert_eq!(
            e.eval_bool(&vars).ok(),
            interpreted_bool(&e.eval_interpreted(&vars)),
            "`{}`",
            e.source()
        );
    }
    assert_eq!(a[1].eval_bool(&vars), Ok(true));
    assert_eq!(b[1].eval_bool(&vars), Ok(false));
}
