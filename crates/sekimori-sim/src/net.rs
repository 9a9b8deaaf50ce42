//! Where traffic comes from: mobile carriers' CGNAT addresses shared by
//! thousands, home broadband, office NATs, hosting providers and residential
//! proxies. Attackers draw from these same pools.

use crate::rng::Rng;

/// An address and its autonomous system.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Addr {
    pub ip: String,
    pub asn: u32,
}

/// Three carriers, each a handful of CGNAT addresses (RFC 6598 space).
pub fn cgnat(rng: &mut Rng) -> Addr {
    let carrier = rng.range(0, 3);
    Addr {
        ip: format!(
            "100.{}.{}.{}",
            64 + carrier,
            rng.range(0, 4),
            rng.range(1, 9)
        ),
        asn: [9605, 2516, 17676][carrier as usize],
    }
}

/// A home broadband address: three ISPs over 10.0.0.0/8 (synthetic space).
pub fn home(rng: &mut Rng) -> Addr {
    let isp = rng.range(0, 3);
    let ip = format!(
        "10.{}.{}.{}",
        isp * 80 + rng.range(0, 80),
        rng.range(0, 256),
        rng.range(1, 255)
    );
    Addr {
        ip,
        asn: [4713, 2527, 17506][isp as usize],
    }
}

/// One of 40 office NATs, each shared by everyone who works there.
pub fn office(rng: &mut Rng) -> Addr {
    Addr {
        ip: format!("192.168.{}.1", rng.range(0, 40)),
        asn: 2914,
    }
}

/// A residential proxy exit is somebody's home connection: the same pool.
pub fn residential_proxy(rng: &mut Rng) -> Addr {
    home(rng)
}

/// A hosting provider's address.
pub fn hosting(rng: &mut Rng) -> Addr {
    Addr {
        ip: format!(
            "172.{}.{}.{}",
            16 + rng.range(0, 16),
            rng.range(0, 256),
            rng.range(1, 255)
        ),
        asn: 16509,
    }
}
