#!/usr/bin/env python3
"""Build data/hibp/common.txt, a small Pwned-Passwords-format corpus.

Output: one line per secret, `SHA1HEX:COUNT` (40 uppercase hex digits, a
colon, a decimal count), sorted by hash, LF line endings: the same layout as
HIBP's downloadable pwned-passwords-sha1-ordered-by-hash file, so sekimori's
`Corpus::load` reads either one.

Inputs (both already in the repository):
  data/pins/pin4_hibp_pwned_counts.csv
      the real HIBP Pwned Passwords counts of all 10,000 four-digit strings
      (CC BY 4.0, Troy Hunt).  Every one of them goes in with its real count.
  data/passwords/zxcvbn_passwords_top30000_ranked.txt
      30,000 passwords ranked by frequency (MIT, zxcvbn), with no counts.
      Each gets a STAND-IN count from its rank r (1-based):
          count(r) = max(1, round(ANCHOR_COUNT * ANCHOR_RANK / r))
      i.e. a Zipf law with exponent 1 anchored on the one entry whose real
      count the repository knows best: '1234', rank 7 in the zxcvbn list,
      2,634,445 in HIBP (from the PIN file).  These counts are NOT HIBP's.
      A password that is a four-digit string keeps its real PIN count.

Usage:  python3 scripts/build-hibp-corpus.py [REPO_ROOT]
Python 3 standard library only; the output is byte-for-byte reproducible.
"""

import csv
import hashlib
import os
import sys

ANCHOR_PIN = "1234"


def main() -> int:
    root = os.path.normpath(
        sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    )
    pins_path = os.path.join(root, "data", "pins", "pin4_hibp_pwned_counts.csv")
    pw_path = os.path.join(root, "data", "passwords", "zxcvbn_passwords_top30000_ranked.txt")
    out_path = os.path.join(root, "data", "hibp", "common.txt")

    counts: dict[str, int] = {}

    with open(pins_path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            pin = row["pin"]
            if len(pin) != 4 or not pin.isdigit():
                raise SystemExit(f"{pins_path}: bad pin {pin!r}")
            counts[pin] = int(row["pwned_count"])
    if len(counts) != 10_000:
        raise SystemExit(f"{pins_path}: expected 10000 pins, got {len(counts)}")

    with open(pw_path, encoding="utf-8") as f:
        passwords = [line.rstrip("\r\n") for line in f]
    passwords = [p for p in passwords if p]
    if ANCHOR_PIN not in passwords:
        raise SystemExit(f"{pw_path}: anchor {ANCHOR_PIN!r} missing")
    anchor_rank = passwords.index(ANCHOR_PIN) + 1
    anchor_count = counts[ANCHOR_PIN]

    stand_ins = 0
    for rank, pw in enumerate(passwords, start=1):
        if pw in counts:
            continue  # a real PIN count, or a duplicate: keep the first
        counts[pw] = max(1, round(anchor_count * anchor_rank / rank))
        stand_ins += 1

    lines = sorted(
        f"{hashlib.sha1(secret.encode('utf-8')).hexdigest().upper()}:{count}"
        for secret, count in counts.items()
    )
    with open(out_path, "w", encoding="ascii", newline="\n") as f:
        f.write("\n".join(lines))
        f.write("\n")

    print(
        f"wrote {out_path}: {len(lines)} hashes "
        f"({len(counts) - stand_ins} real HIBP PIN counts, {stand_ins} zxcvbn stand-ins; "
        f"anchor {ANCHOR_PIN!r} rank {anchor_rank} count {anchor_count})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
