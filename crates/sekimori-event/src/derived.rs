//! Fields derived from an event's own fields, which rules read beside them
//! (`event.actor.ip_net`, `event.actor.ip_host`; the counterparty id is
//! [`crate::Destination::id`]).

use std::net::{IpAddr, Ipv6Addr};

/// One client host: an IPv4 address itself, or the /64 of an IPv6 address
/// (one subscriber's prefix: a client rotating addresses within its /64 is
/// one host), as text.
pub fn ip_host(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{}/64", Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
        }
    }
}

/// The /24 of an IPv4 address or the /48 of an IPv6 address, as CIDR text.
pub fn ip_net(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            format!("{}.{}.{}.0/24", o[0], o[1], o[2])
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{}/48", Ipv6Addr::new(s[0], s[1], s[2], 0, 0, 0, 0, 0))
        }
    }
}
