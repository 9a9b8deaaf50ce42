//! The replicated analysts' records, over a store with a host that writes
//! step-up records straight into it (as the ledger does ahead of an entry).

use super::*;
use crate::analysts::{Analysts, Role};
use crate::host::BoxFuture;
use sekimori_engine::{Entry, HoldKey};
use sekimori_rules::Action;
use sekimori_store::{Op, Store};

const PASSWORD: &str = "correct horse battery";
const KEY: [u8; 32] = [7; 32];

#[derive(Debug)]
struct StoreHost(Arc<Store>);

impl Host for StoreHost {
    fn append(&self, _: Entry) -> BoxFuture<'_, Result<(), WbError>> {
        Box::pin(async { Ok(()) })
    }
    fn notify(&self, _: sekimori_notify::Notice) -> bool {
        false
    }
    fn label_key(&self, _: &str, _: &str) -> Result<String, WbError> {
        Err(WbError::BadKey)
    }
    fn place_hold(
        &self,
        _: HoldKey,
        _: Action,
        _: String,
        _: String,
    ) -> BoxFuture<'_, Result<bool, WbError>> {
        Box::pin(async { Ok(false) })
    }
    fn lift_hold(&self, _: HoldKey, _: String, _: String) -> BoxFuture<'_, Result<bool, WbError>> {
        Box::pin(async { Ok(false) })
    }
    fn holds(&self, _: String) -> BoxFuture<'_, Vec<(HoldKey, Action, String)>> {
        Box::pin(async { Vec::new() })
    }
    fn edit_list(
        &self,
        _: String,
        _: Vec<String>,
        _: Vec<String>,
        _: String,
    ) -> BoxFuture<'_, Result<bool, WbError>> {
        Box::pin(async { Ok(false) })
    }
    fn lists(&self) -> BoxFuture<'_, Vec<String>> {
        Box::pin(async { Vec::new() })
    }
    fn append_stepup(
        &self,
        _: String,
        entries: Vec<(String, Option<Vec<u8>>)>,
    ) -> BoxFuture<'_, Result<(), WbError>> {
        let durable = self.0.submit(Op::StepUp { entries });
        Box::pin(async move {
            durable
                .await
                .map_err(|e| WbError::Storage(e.to_string()))?
                .map_err(|e| WbError::Storage(e.to_string()))
        })
    }
}

fn replicated(dir: &std::path::Path, store: &Arc<Store>, key: &[u8; 32]) -> Analysts {
    let host: Arc<dyn Host> = Arc::new(StoreHost(Arc::clone(store)));
    Analysts::replicated(dir, Arc::clone(store), host, key).expect("opens")
}

fn code(uri: &str, now: i64) -> String {
    crate::testing::totp_code(uri, now)
}

#[test]
fn analysts_are_signed_records_and_a_forged_one_is_nobody() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(Store::open(&dir.path().join("store")).expect("store"));
    let a = replicated(dir.path(), &store, &KEY);
    let now = 1_800_000_000_000;
    let (_, aiko) = a
        .create("aiko", Role::Analyst, PASSWORD, "root", now)
        .expect("creates");
    a.create("bo", Role::Admin, PASSWORD, "root", now)
        .expect("creates");
    // Stored signed, in the step-up table, never a seed in the clear.
    let raw = store
        .stepup("analyst/aiko")
        .expect("reads")
        .expect("stored");
    let text = String::from_utf8(raw.clone()).expect("utf8");
    let seed = sekimori_stepup::totp_uri::seed_from_otpauth_uri(aiko.expose()).expect("seed");
    assert!(!text.contains(&hex::encode(seed.expose())));
    assert_eq!(crate::analysts::REPLICATED_MARK, "analysts.replicated");
    assert!(dir.path().join("analysts.replicated").exists());
    // Another node with the same key reads the same analysts and signs in.
    let b = replicated(dir.path(), &store, &KEY);
    assert_eq!(b.list().expect("lists").len(), 2);
    b.verify("aiko", PASSWORD, &code(aiko.expose(), now), now)
        .expect("signs in on another node");

    // A record promoted to admin by someone without the key: refused on
    // read (aiko is nobody until an admin makes her again), never an admin.
    let mut forged: serde_json::Value = serde_json::from_slice(&raw).expect("json");
    let body = forged["body"]
        .as_str()
        .expect("body")
        .replace("\"analyst\"", "\"admin\"");
    forged["body"] = body.into();
    forged["rev"] = (forged["rev"].as_u64().expect("rev") + 2).into();
    let forged = serde_json::to_vec(&forged).expect("json");
    store
        .submit_blocking(Op::StepUp {
            entries: vec![
                ("analyst/aiko".into(), Some(forged)),
                // And a list of logins that does not verify: nobody hides.
                (
                    "analyst/".into(),
                    Some(br#"{"rev":9,"body":"[]","mac":"00"}"#.to_vec()),
                ),
            ],
        })
        .expect("written");
    let logins: Vec<String> = b
        .list()
        .expect("lists")
        .into_iter()
        .map(|i| i.login)
        .collect();
    assert_eq!(
        logins,
        ["bo"],
        "aiko's forged record is refused, bo is found"
    );
    let later = now + 60_000;
    assert!(b
        .verify("aiko", PASSWORD, &code(aiko.expose(), later), later)
        .is_err());
    // Another shard (another stepup.key) opens nobody.
    let other = replicated(dir.path(), &store, &[8; 32]);
    assert!(other.list().expect("lists").is_empty());
    // An admin makes aiko again: a rev above the forged one, signed.
    b.create("aiko", Role::Analyst, PASSWORD, "bo", later)
        .expect("made again");
    let again = store
        .stepup("analyst/aiko")
        .expect("reads")
        .expect("stored");
    let rev = |v: &[u8]| {
        serde_json::from_slice::<serde_json::Value>(v).expect("json")["rev"]
            .as_u64()
            .expect("rev")
    };
    // The forged record's rev is never read: the next write is rev 1,
    // whatever rev the forger claimed (u64::MAX pins nothing).
    assert_eq!(rev(&again), 1);
    assert_eq!(
        b.get("aiko").expect("reads").expect("aiko").role,
        Role::Analyst
    );
}

#[test]
fn a_pending_analyst_of_the_cli_is_adopted_with_its_seed_sealed_again() {
    let dir = tempfile::tempdir().expect("tempdir");
    let now = 1_800_000_000_000;
    let (_, uri) = Analysts::open(dir.path())
        .expect("opens")
        .create("root", Role::Admin, PASSWORD, "cli", now)
        .expect("the CLI creates");
    let store = Arc::new(Store::open(&dir.path().join("store")).expect("store"));
    let a = replicated(dir.path(), &store, &KEY);
    assert!(
        a.list().expect("lists").is_empty(),
        "pending, not yet adopted"
    );
    assert_eq!(
        a.adopt_pending().expect("adopts"),
        [("root".to_string(), Role::Admin)]
    );
    assert!(!dir.path().join("analysts.json").exists());
    assert!(dir.path().join("analysts.json.adopted").exists());
    // Another node (the shard's key, no analysts.key) opens the seed.
    let b = replicated(dir.path(), &store, &KEY);
    let info = b
        .verify("root", PASSWORD, &code(uri.expose(), now), now)
        .expect("signs in");
    assert_eq!(info.created_by, "cli");
    assert!(a.adopt_pending().expect("nothing pending").is_empty());
}

/// A record forged at u64::MAX (no key) neither pins its login nor makes
/// the next write overflow: the admin writes it again at rev 1, and the
/// followers' verifier (the same key) takes that write and refuses the
/// forged one.
#[test]
fn a_forged_rev_is_never_read_and_the_verifier_refuses_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(Store::open(&dir.path().join("store")).expect("store"));
    let a = replicated(dir.path(), &store, &KEY);
    let now = 1_800_000_000_000;
    a.create("bo", Role::Admin, PASSWORD, "root", now)
        .expect("creates");
    let forged = br#"{"rev":18446744073709551615,"body":"{}","mac":"00"}"#.to_vec();
    let verify = verifier(&KEY);
    assert_eq!(verify("analyst/aiko", &forged), None, "forged: refused");
    store
        .submit_blocking(Op::StepUp {
            entries: vec![("analyst/aiko".into(), Some(forged))],
        })
        .expect("written");
    a.create("aiko", Role::Analyst, PASSWORD, "bo", now)
        .expect("made again, no overflow");
    let again = store
        .stepup("analyst/aiko")
        .expect("reads")
        .expect("stored");
    assert_eq!(verify("analyst/aiko", &again), Some(1));
    // Bound to its login's key: the same bytes under another key do not verify.
    assert_eq!(verify("analyst/bo", &again), None);
}

/// Records are bound to their shard (F5): two shards sharing one
/// `stepup.key` derive different keys from their stream names, so a
/// record of one neither verifies nor reads in the other.
#[test]
fn a_record_of_one_shard_is_nobody_in_another_with_the_same_stepup_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(Store::open(&dir.path().join("store")).expect("store"));
    let shard_a = shard_key(&KEY, "SEKIMORI_a");
    let shard_b = shard_key(&KEY, "SEKIMORI_b");
    assert_ne!(*shard_a, *shard_b);
    let a = replicated(dir.path(), &store, &shard_a);
    a.create("mallory", Role::Admin, PASSWORD, "root", 1_800_000_000_000)
        .expect("creates");
    let raw = store
        .stepup("analyst/mallory")
        .expect("reads")
        .expect("stored");
    assert_eq!(verifier(&shard_a)("analyst/mallory", &raw), Some(1));
    assert_eq!(verifier(&shard_b)("analyst/mallory", &raw), None);
    let b = replicated(dir.path(), &store, &shard_b);
    assert!(b.list().expect("lists").is_empty());
}

/// A pending CLI analyst is adopted only when the shard holds no record
/// under its login, verified or not (F3): a forged record of a disabled
/// admin does not make room for this node's stale copy.
#[test]
fn a_pending_analyst_is_not_adopted_over_a_record_that_does_not_verify() {
    let dir = tempfile::tempdir().expect("tempdir");
    let now = 1_800_000_000_000;
    Analysts::open(dir.path())
        .expect("opens")
        .create("ops", Role::Admin, PASSWORD, "cli", now)
        .expect("the CLI creates");
    let store = Arc::new(Store::open(&dir.path().join("store")).expect("store"));
    store
        .submit_blocking(Op::StepUp {
            entries: vec![(
                "analyst/ops".into(),
                Some(br#"{"rev":7,"body":"{}","mac":"00"}"#.to_vec()),
            )],
        })
        .expect("written");
    let a = replicated(dir.path(), &store, &KEY);
    assert!(a.adopt_pending().expect("adopts").is_empty());
    assert!(a.list().expect("lists").is_empty(), "ops is not revived");
}

/// The forged-list fallback lists the `analyst/` keys alone, by a key-only
/// range scan (no customer's step-up record is read).
#[test]
fn the_analyst_keys_are_a_range_of_the_step_up_table() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("store")).expect("store");
    store
        .submit_blocking(Op::StepUp {
            entries: vec![
                ("account/x".into(), Some(b"{}".to_vec())),
                ("analyst/".into(), Some(b"{}".to_vec())),
                ("analyst/aiko".into(), Some(b"{}".to_vec())),
                ("analyst0".into(), Some(b"{}".to_vec())),
                ("tenant/b/a".into(), Some(b"{}".to_vec())),
            ],
        })
        .expect("written");
    assert_eq!(
        store.stepup_keys(PREFIX).expect("scans"),
        ["analyst/", "analyst/aiko"]
    );
}

/// A data directory that was a cluster node's, served single-node again:
/// the mark goes (its analysts are `analysts.json` again), so `sekimori
/// users` changes them as on any single node.
#[test]
fn the_replicated_mark_goes_when_the_directory_is_served_single_node() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(Store::open(&dir.path().join("store")).expect("store"));
    drop(replicated(dir.path(), &store, &KEY));
    assert!(crate::analyst_cli::is_replicated_dir(dir.path()));
    let host: Arc<dyn Host> = Arc::new(StoreHost(Arc::clone(&store)));
    let wb = crate::Workbench::open(store, host, dir.path(), crate::Config::new(false))
        .expect("opens single-node");
    assert!(!wb.analysts.is_replicated());
    assert!(!crate::analyst_cli::is_replicated_dir(dir.path()));
}
