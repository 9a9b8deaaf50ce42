//! Every accessor reads what a walk of the event's JSON view reads, for
//! every path any event's view has (and paths none has), on events of every
//! type with their optional fields present and left out.

use super::access::{event_view, Acc, EventRef, Got};
use super::lookup;
use sekimori_event::Event;
use serde_json::{json, Value as Json};
use std::collections::BTreeSet;

fn examples() -> Vec<Json> {
    let files = [
        include_str!("../../../../examples/events/accounts.jsonl"),
        include_str!("../../../../examples/events/custody.jsonl"),
        include_str!("../../../../examples/events/money.jsonl"),
    ];
    files
        .iter()
        .flat_map(|f| f.lines())
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("example is JSON"))
        .collect()
}

/// The examples, each also with one field at a time left out (where it
/// still decodes), with an IPv6 address, and with no actor at all.
fn events() -> Vec<Event> {
    let mut out = Vec::new();
    for doc in examples() {
        let obj = doc.as_object().expect("object").clone();
        let mut variants = vec![doc.clone()];
        for key in obj.keys() {
            let mut v = obj.clone();
            v.remove(key);
            variants.push(Json::Object(v));
            if let Some(Json::Object(inner)) = obj.get(key) {
                for k in inner.keys() {
                    let mut v = obj.clone();
                    if let Some(Json::Object(m)) = v.get_mut(key) {
                        m.remove(k);
                    }
                    variants.push(Json::Object(v));
                }
            }
        }
        let mut v6 = obj.clone();
        v6.insert(
            "actor".into(),
            json!({"ip": "2001:db8:abcd:12::1", "asn": 64500}),
        );
        v6.insert("customer".into(), json!("c-1"));
        v6.insert(
            "attrs".into(),
            json!({"a": {"b": [1, 2]}, "n": 3, "z": null}),
        );
        variants.push(Json::Object(v6));
        for v in variants {
            if let Ok(e) = sekimori_event::decode_value(v) {
                out.push(e);
            }
        }
    }
    out
}

fn paths_of(v: &Json, prefix: &mut Vec<String>, out: &mut BTreeSet<Vec<String>>) {
    if let Json::Object(m) = v {
        for (k, child) in m {
            prefix.push(k.clone());
            out.insert(prefix.clone());
            if prefix.len() < 3 {
                paths_of(child, prefix, out);
            }
            prefix.pop();
        }
    }
}

#[test]
fn accessors_read_what_the_view_holds() {
    let events = events();
    assert!(events.len() > 100, "{} events", events.len());
    let kinds: BTreeSet<_> = events.iter().map(|e| e.kind).collect();
    assert_eq!(kinds.len(), sekimori_event::EventKind::ALL.len());
    let mut paths = BTreeSet::new();
    for e in &events {
        paths_of(&event_view(e), &mut Vec::new(), &mut paths);
    }
    for extra in [
        "nope",
        "account.x",
        "actor.nope",
        "actor.ip.x",
        "attrs.a.b.c",
        "attrs.missing",
        "destination.nope",
        "destination.id.x",
        "bank.holder_name.x",
        "source.kind",
        "verified",
    ] {
        paths.insert(extra.split('.').map(str::to_string).collect());
    }
    paths.insert(Vec::new());
    let mut checked = 0;
    for e in &events {
        let view = event_view(e);
        let r = EventRef::new(e);
        for path in &paths {
            let acc = Acc::compile(path);
            let got = acc.get(&r);
            let want = if path.is_empty() {
                Some(&view)
            } else {
                lookup(&view, path)
            };
            let same = match (got, want) {
                (Got::Missing, None) => true,
                (Got::Object, Some(Json::Object(_))) => true,
                (Got::Array(items), Some(w)) => super::access::array_json(items) == *w,
                (Got::Null, Some(Json::Null)) => true,
                (Got::Bool(b), Some(Json::Bool(w))) => b == *w,
                (Got::Int(i), Some(w)) => w.as_i64() == Some(i) && w.is_i64(),
                (Got::Str(s), Some(Json::String(w))) => s == w,
                (Got::Json(j), Some(w)) => j == w,
                _ => false,
            };
            assert!(
                same,
                "event.{} of {}: {got:?} vs {want:?}",
                path.join("."),
                e.id
            );
            if matches!(acc, Acc::View(_)) {
                assert!(
                    !path.is_empty() && path[0] == "nope",
                    "{path:?} is not compiled"
                );
            }
            checked += 1;
        }
        assert!(
            r.view_built(),
            "the View accessor of `event.nope` builds the view"
        );
        let fresh = EventRef::new(e);
        for path in paths
            .iter()
            .filter(|p| p.first().is_some_and(|f| f != "nope"))
        {
            Acc::compile(path).get(&fresh);
        }
        assert!(!fresh.view_built(), "a known path built the view");
    }
    assert!(checked > 10_000, "{checked}");
}

/// The IPv4 texts written without `fmt` are the texts `fmt` and the event
/// crate write, for every octet value in every position (IPv6 is theirs).
#[test]
fn ipv4_texts_are_the_formatted_ones() {
    use super::access::read::{ip_text, net_text, Text};
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
    let inline = |t: &Text| matches!(t, Text::Inline { .. });
    for n in 0..=255u8 {
        for pos in 0..4 {
            let mut o = [1u8, 23, 199, 7];
            o[pos] = n;
            let ip = IpAddr::V4(Ipv4Addr::from(o));
            assert_eq!(ip_text(ip).as_str(), ip.to_string());
            assert_eq!(ip_text(ip).as_str(), sekimori_event::ip_host(ip));
            assert_eq!(net_text(ip).as_str(), sekimori_event::ip_net(ip));
            assert!(
                inline(&ip_text(ip)) && inline(&net_text(ip)),
                "{ip}: no allocation"
            );
        }
    }
    let v6 = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 1, 2, 3, 4, 5, 6));
    assert_eq!(ip_text(v6).as_str(), v6.to_string());
    assert_eq!(net_text(v6).as_str(), sekimori_event::ip_net(v6));
}
