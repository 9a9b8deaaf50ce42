//! Lookups against the shipped test database, which maps the simulator's
//! address plan (crates/sekimori-sim/src/net.rs).

use std::net::IpAddr;
use std::path::PathBuf;

use sekimori_geo::{Asn, AsnDb, GeoError};

fn db_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/asn/sekimori-test-asn.mmdb")
}

fn db() -> AsnDb {
    AsnDb::open(db_path()).expect("the shipped test database opens")
}

fn ip(s: &str) -> IpAddr {
    s.parse().expect("a valid address")
}

fn number(db: &AsnDb, s: &str) -> Option<u32> {
    db.lookup(ip(s)).map(|a| a.number)
}

#[test]
fn metadata_is_geolite2_asn_shaped() {
    let db = db();
    assert_eq!(db.database_type(), "GeoLite2-ASN");
    assert!(db.build_epoch() > 0);
    assert!(format!("{db:?}").contains("GeoLite2-ASN"));
}

#[test]
fn carriers_cgnat() {
    let db = db();
    assert_eq!(
        db.lookup(ip("100.64.0.1")),
        Some(Asn {
            number: 9605,
            org: Some("NTT DOCOMO, INC.".to_owned())
        })
    );
    assert_eq!(number(&db, "100.65.3.8"), Some(2516));
    assert_eq!(number(&db, "100.66.2.5"), Some(17676));
}

#[test]
fn home_isps() {
    let db = db();
    assert_eq!(number(&db, "10.0.0.1"), Some(4713));
    assert_eq!(number(&db, "10.79.255.254"), Some(4713));
    assert_eq!(number(&db, "10.80.0.1"), Some(2527));
    assert_eq!(number(&db, "10.159.1.1"), Some(2527));
    assert_eq!(number(&db, "10.160.0.1"), Some(17506));
    assert_eq!(number(&db, "10.239.255.254"), Some(17506));
    // The simulator never draws 10.240.0.0 and above.
    assert_eq!(number(&db, "10.240.0.1"), None);
}

#[test]
fn office_nats() {
    let db = db();
    assert_eq!(number(&db, "192.168.0.1"), Some(2914));
    assert_eq!(number(&db, "192.168.39.1"), Some(2914));
    assert_eq!(number(&db, "192.168.40.1"), None);
}

#[test]
fn hosting_and_roaming() {
    let db = db();
    assert_eq!(number(&db, "172.16.0.10"), Some(16509));
    assert_eq!(number(&db, "172.31.0.1"), Some(16509));
    // Roaming: 172.31.{asn % 256}.x for a NTT DOCOMO (9605 % 256 = 133) user.
    let roaming = db.lookup(ip("172.31.133.7")).expect("roaming range");
    assert_eq!(roaming.number, 38_040);
    assert_eq!(number(&db, "172.31.12.1"), Some(38_040));
    assert_eq!(number(&db, "172.31.13.1"), Some(16509));
}

#[test]
fn documentation_ranges_use_rfc5398_asns() {
    let db = db();
    assert_eq!(number(&db, "192.0.2.1"), Some(64496));
    assert_eq!(number(&db, "198.51.100.200"), Some(64497));
    assert_eq!(number(&db, "203.0.113.9"), Some(64498));
    let v6 = db
        .lookup(ip("2001:db8::1"))
        .expect("IPv6 documentation range");
    assert_eq!(v6.number, 64499);
    assert!(v6.org.is_some());
}

#[test]
fn misses() {
    let db = db();
    assert_eq!(db.lookup(ip("8.8.8.8")), None);
    assert_eq!(db.lookup(ip("127.0.0.1")), None);
    assert_eq!(db.lookup(ip("2001:db9::1")), None);
    assert_eq!(db.lookup(ip("::1")), None);
}

#[test]
fn ipv4_mapped_ipv6_is_looked_up_as_ipv4() {
    let db = db();
    assert_eq!(number(&db, "::ffff:100.64.1.2"), Some(9605));
    assert_eq!(number(&db, "::ffff:8.8.8.8"), None);
}

#[test]
fn from_bytes_matches_open() {
    let bytes = std::fs::read(db_path()).expect("read the test database");
    let db = AsnDb::from_bytes(bytes).expect("valid database");
    assert_eq!(number(&db, "100.66.0.1"), Some(17676));
}

#[test]
fn errors() {
    let missing = AsnDb::open("/nonexistent/sekimori.mmdb");
    assert!(matches!(missing, Err(GeoError::Io { .. })));
    let garbage = AsnDb::from_bytes(b"not a maxmind database".to_vec());
    match garbage {
        Err(e @ GeoError::Invalid { .. }) => assert!(e.to_string().contains("invalid")),
        other => panic!("expected Invalid, got {other:?}"),
    }
}
