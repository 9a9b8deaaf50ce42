#!/usr/bin/env python3
"""Build data/asn/sekimori-test-asn.mmdb, a tiny GeoLite2-ASN-shaped database.

It maps the simulator's synthetic address plan (crates/sekimori-sim/src/net.rs
and the roaming case in crates/sekimori-sim/src/honest.rs) to the autonomous
systems the simulator attaches to those addresses, plus the RFC 5737 / RFC 3849
documentation ranges mapped to the RFC 5398 documentation ASNs.  Records have
GeoLite2-ASN's shape: {autonomous_system_number: uint32,
autonomous_system_organization: utf8_string}.  No third-party data: every
range and label is written below by hand.

Needs:  pip install mmdb-writer netaddr
Usage:  python3 scripts/build-test-asn-mmdb.py [OUTPUT]
"""

import os
import sys

from mmdb_writer import MMDBWriter, MmdbU32
from netaddr import IPRange, IPSet

# (networks, asn, organization label).  Order matters: a later, more specific
# network overrides the earlier supernet it falls in.
PLAN = [
    # net.rs cgnat(): three mobile carriers, 100.{64+c}.{0..3}.{1..8} (RFC 6598).
    (["100.64.0.0/16"], 9605, "NTT DOCOMO, INC."),
    (["100.65.0.0/16"], 2516, "KDDI CORPORATION"),
    (["100.66.0.0/16"], 17676, "SoftBank Corp."),
    # net.rs home(): three home ISPs, 10.{isp*80 + 0..79}.x.x (synthetic).
    ([("10.0.0.0", "10.79.255.255")], 4713, "NTT Communications Corporation (OCN)"),
    ([("10.80.0.0", "10.159.255.255")], 2527, "Sony Network Communications Inc. (So-net)"),
    ([("10.160.0.0", "10.239.255.255")], 17506, "ARTERIA Networks Corporation"),
    # net.rs office(): 40 office NATs 192.168.{0..39}.1 behind one transit AS.
    ([("192.168.0.0", "192.168.39.255")], 2914, "NTT America, Inc. (office NATs)"),
    # net.rs hosting(): 172.{16..31}.x.x, one cloud provider.
    (["172.16.0.0/12"], 16509, "Amazon.com, Inc."),
    # honest.rs actor(): a person abroad roams on 172.31.{asn % 256}.x, AS38040
    # (country TH).  Those six /24s overlap the hosting /12 above; the roaming
    # network wins there.  asn % 256 for the home and mobile ASNs above:
    # 4713->105, 2527->223, 17506->98, 9605->133, 2516->212, 17676->12.
    (
        [f"172.31.{n}.0/24" for n in (12, 98, 105, 133, 212, 223)],
        38040,
        "Roaming / hotel Wi-Fi, Thailand (simulator)",
    ),
    # Documentation ranges -> RFC 5398 documentation ASNs 64496-64511.
    (["192.0.2.0/24"], 64496, "Documentation TEST-NET-1 (RFC 5737)"),
    (["198.51.100.0/24"], 64497, "Documentation TEST-NET-2 (RFC 5737)"),
    (["203.0.113.0/24"], 64498, "Documentation TEST-NET-3 (RFC 5737)"),
    (["2001:db8::/32"], 64499, "Documentation IPv6 (RFC 3849)"),
]


# A fixed build time keeps the output byte-for-byte reproducible (mmdb-writer
# would stamp the current time); SOURCE_DATE_EPOCH overrides it.
BUILD_EPOCH = int(os.environ.get("SOURCE_DATE_EPOCH", "1767225600"))  # 2026-01-01T00:00:00Z


class ReproducibleWriter(MMDBWriter):
    def _build_meta(self):
        meta = super()._build_meta()
        meta["build_epoch"] = BUILD_EPOCH
        return meta


def to_ipset(nets) -> IPSet:
    s = IPSet()
    for n in nets:
        if isinstance(n, tuple):
            s.add(IPRange(*n))
        else:
            s.add(n)
    return s


def main() -> int:
    here = os.path.dirname(os.path.abspath(__file__))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "data", "asn", "sekimori-test-asn.mmdb")
    out = os.path.normpath(out)
    w = ReproducibleWriter(
        ip_version=6,
        ipv4_compatible=True,
        database_type="GeoLite2-ASN",
        languages=["en"],
        description={"en": "sekimori test ASN database (synthetic; simulator address plan)"},
    )
    for nets, asn, org in PLAN:
        w.insert_network(
            to_ipset(nets),
            {
                "autonomous_system_number": MmdbU32(asn),
                "autonomous_system_organization": org,
            },
        )
    w.to_db_file(out)
    print(f"wrote {out}: {len(PLAN)} ASN records")
    return 0


if __name__ == "__main__":
    sys.exit(main())
