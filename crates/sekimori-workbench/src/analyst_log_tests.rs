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

    // The whole body is sealed: no password hash, role or login in the
    // clear for anyone who reads the stream or a snapshot object.
    assert!(
        !text.contains("argon2") && !text.contains("\"analyst\""),
        "{text}"
    );
    assert!(!text.contains("aiko"), "{text}");
    // A record tampered with by someone without the key (its ciphertext
    // changed, its rev raised): refused on read (aiko is nobody until an
    // admin makes her again), never an admin.
    let mut forged: serde_json::Value = serde_json::from_slice(&raw).expect("json");
    let text = forged["sealed"]["ciphertext"]
        .as_str()
        .expect("sealed")
        .to_string();
    let flipped = if text.starts_with('0') { "1" } else { "0" };
    forged["sealed"]["ciphertext"] = format!("{flipped}{}", &text[1..]).into();
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
    let verify = verifier(&KEY).0;
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
    assert_eq!(verifier(&shard_a).0("analyst/mallory", &raw), Some(1));
    assert_eq!(verifier(&shard_b).0("analyst/mallory", &raw), None);
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

/// Records of the release before sealing (body in the clear, MAC under the
/// old key) still read, so a shard upgraded in place keeps its analysts;
/// the leader rewrites them sealed when it opens its workbench, and any
/// write of a login seals it. A clear body whose MAC fails is nobody.
#[test]
fn records_in_the_clear_still_read_and_are_sealed_by_the_leader() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(Store::open(&dir.path().join("store")).expect("store"));
    let a = replicated(dir.path(), &store, &KEY);
    let now = 1_800_000_000_000;
    let (_, aiko) = a
        .create("aiko", Role::Admin, PASSWORD, "root", now)
        .expect("creates");
    a.create("ken", Role::Analyst, PASSWORD, "aiko", now)
        .expect("creates");
    // As the previous release stored them: each body in the clear, signed
    // under the old MAC key, at the revs they hold.
    let keys = record::RecordKeys::new(&KEY);
    let mut old = Vec::new();
    for key in ["analyst/", "analyst/aiko", "analyst/ken"] {
        let raw = store.stepup(key).expect("reads").expect("stored");
        let checked = keys.check(key, &raw).expect("verifies");
        let body = keys.open(key, &checked).expect("opens");
        old.push((
            key.to_string(),
            Some(keys.sign_legacy(key, checked.rev, &body)),
        ));
    }
    // And a clear record nobody signed: refused.
    old.push((
        "analyst/ken".into(),
        Some(br#"{"rev":2,"body":"{}","mac":"00"}"#.to_vec()),
    ));
    old.swap(2, 3);
    store
        .submit_blocking(Op::StepUp { entries: old })
        .expect("written");
    let text = |k: &str| {
        String::from_utf8(store.stepup(k).expect("reads").expect("stored")).expect("utf8")
    };
    assert!(text("analyst/aiko").contains("argon2id"), "the old form");
    let b = replicated(dir.path(), &store, &KEY);
    let logins: Vec<String> = b
        .list()
        .expect("lists")
        .into_iter()
        .map(|i| i.login)
        .collect();
    assert_eq!(logins, ["aiko", "ken"], "the old form reads");
    b.verify("aiko", PASSWORD, &code(aiko.expose(), now), now)
        .expect("signs in from a record in the clear");
    // The sign-in moved aiko's TOTP step: the write seals every record
    // in the clear it passes, ken's and the list too.
    let sealed = |k: &str| {
        let raw = text(k);
        !raw.contains("argon2id") && !keys.check(k, raw.as_bytes()).expect("verifies").legacy()
    };
    assert!(["analyst/", "analyst/aiko", "analyst/ken"]
        .iter()
        .all(|k| sealed(k)));
    // Back in the clear (the old release wrote again): the leader, opening
    // its workbench, seals them (once per process).
    let mut old = Vec::new();
    for key in ["analyst/", "analyst/aiko", "analyst/ken"] {
        let checked = keys.check(key, text(key).as_bytes()).expect("verifies");
        let body = keys.open(key, &checked).expect("opens");
        old.push((
            key.to_string(),
            Some(keys.sign_legacy(key, checked.rev + 1, &body)),
        ));
    }
    store
        .submit_blocking(Op::StepUp { entries: old })
        .expect("written");
    let c = replicated(dir.path(), &store, &KEY);
    assert!(!sealed("analyst/ken"));
    assert!(c.seal_legacy().expect("seals"));
    assert!(["analyst/", "analyst/aiko", "analyst/ken"]
        .iter()
        .all(|k| sealed(k)));
    assert!(!c.seal_legacy().expect("once"));
    assert!(!replicated(dir.path(), &store, &KEY)
        .seal_legacy()
        .expect("nothing in the clear"));
    assert_eq!(c.list().expect("lists").len(), 2);
    // Each rewrite raised its record's rev by one: followers take it.
    let rev = |k: &str| keys.check(k, text(k).as_bytes()).expect("verifies").rev;
    assert_eq!(
        verifier(&KEY).0("analyst/ken", text("analyst/ken").as_bytes()),
        Some(rev("analyst/ken"))
    );
}

/// The snapshot objects' MAC (the ledger signs and checks objects with
/// it): keyed by the shard's key under its own label, over every part with
/// its length, and a short or another key's MAC never checks.
#[test]
fn the_object_mac_is_keyed_and_binds_every_part() {
    let (_, sign, check) = verifier(&KEY);
    let mac = sign(&[b"SEKIMORI_bank", b"object"]);
    assert!(check(&[b"SEKIMORI_bank", b"object"], &mac));
    assert!(
        !check(&[b"SEKIMORI_ban", b"kobject"], &mac),
        "parts are length-prefixed"
    );
    assert!(!check(&[b"SEKIMORI_bank", b"objecT"], &mac));
    assert!(!check(&[b"SEKIMORI_other", b"object"], &mac));
    assert!(!check(&[b"SEKIMORI_bank", b"object"], &mac[..16]));
    assert!(!verifier(&[8; 32]).2(&[b"SEKIMORI_bank", b"object"], &mac));
    // Not the record MAC key: the object key has a label of its own.
    let record_mac = record::object_mac(
        &derive(&KEY, record::MAC_V2_LABEL),
        &[b"SEKIMORI_bank", b"object"],
    );
    assert_ne!(<[u8; 32]>::from(record_mac.finalize().into_bytes()), mac);
}

/// Once the shard's records are sealed (the list of logins is), a genuine
/// record in the clear put back into the table (a path without the
/// followers' rev rule; attacker's review F4) is nobody; the list in the
/// clear again (a downgrade) reads the old form again.
#[test]
fn once_sealed_a_record_in_the_clear_is_nobody() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(Store::open(&dir.path().join("store")).expect("store"));
    let a = replicated(dir.path(), &store, &KEY);
    let now = 1_800_000_000_000;
    a.create("aiko", Role::Admin, PASSWORD, "root", now)
        .expect("creates");
    a.create("ken", Role::Analyst, PASSWORD, "aiko", now)
        .expect("creates");
    let keys = record::RecordKeys::new(&KEY);
    let raw = |k: &str| store.stepup(k).expect("reads").expect("stored");
    let checked = keys
        .check("analyst/ken", &raw("analyst/ken"))
        .expect("verifies");
    let rev = checked.rev;
    let body = keys.open("analyst/ken", &checked).expect("opens");
    // Ken's genuine record, in the form before sealing, one rev up (so
    // only the rev rule would have stopped it): its MAC holds.
    let clear = keys.sign_legacy("analyst/ken", rev + 1, &body);
    assert!(keys
        .check("analyst/ken", &clear)
        .expect("verifies")
        .legacy());
    store
        .submit_blocking(Op::StepUp {
            entries: vec![("analyst/ken".into(), Some(clear))],
        })
        .expect("written");
    let b = replicated(dir.path(), &store, &KEY);
    let logins: Vec<String> = b
        .list()
        .expect("lists")
        .into_iter()
        .map(|i| i.login)
        .collect();
    assert_eq!(logins, ["aiko"], "the old form is refused once sealed");
    // The list itself in the clear again (a release before sealing wrote
    // it): the old form reads again, as the migration test has it.
    let index = keys.check("analyst/", &raw("analyst/")).expect("verifies");
    let list = keys.open("analyst/", &index).expect("opens");
    let old_list = keys.sign_legacy("analyst/", index.rev + 1, &list);
    store
        .submit_blocking(Op::StepUp {
            entries: vec![("analyst/".into(), Some(old_list))],
        })
        .expect("written");
    assert_eq!(
        replicated(dir.path(), &store, &KEY)
            .list()
            .expect("lists")
            .len(),
        2
    );
}
