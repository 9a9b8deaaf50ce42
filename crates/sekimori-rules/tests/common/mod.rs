//! What the pack-compiler tests share: a small valid pack and the check
//! that an edit of it is rejected with the part and the problem named.
// Each test binary uses some of these.
#![allow(dead_code)]

use sekimori_rules::{compile, PackSource};
use serde_json::{json, Value};

pub fn base() -> Value {
    json!({
        "pack": {"name": "t", "version": "1"},
        "features": [{"name": "fails_15m", "on": ["login.attempt"], "filter": "event.result == 'failure'",
                      "key": ["event.account"], "aggregate": "count", "window": "15m"}],
        "lists": [{"name": "vip", "items": ["a"]}],
        "rules": [{"name": "guess", "on": ["login.attempt"], "when": "features.fails_15m >= 10",
                   "action": "challenge", "methods": ["totp"], "reason": "r"}]
    })
}

pub fn check(edit: impl FnOnce(&mut Value), location: &str, problem: &str) {
    let mut v = base();
    edit(&mut v);
    let src: PackSource = serde_json::from_value(v).expect("shape");
    let Err(errs) = compile(src) else {
        panic!("must be rejected: {location} {problem}")
    };
    assert!(
        errs.iter()
            .any(|e| e.location == location && e.problem.contains(problem)),
        "wanted {location}: …{problem}…, got {errs:#?}"
    );
}

pub fn tempfile_dir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("sekimori-rules-test-{}", std::process::id()));
    std::fs::create_dir_all(&d).expect("mkdir");
    d
}
