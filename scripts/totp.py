#!/usr/bin/env python3
"""The current TOTP code (RFC 6238) of an otpauth:// URI, with the standard
library only: scripts/schemathesis.sh signs an analyst in with it.

    python3 scripts/totp.py 'otpauth://totp/...?secret=...&digits=6&period=30'

Prints the 6-digit code for now (or for `--at UNIX_SECONDS`). SHA-1, 6
digits and 30 s unless the URI says otherwise.
"""

import base64
import hashlib
import hmac
import struct
import sys
import time
import urllib.parse


def code(uri: str, at: float) -> str:
    parts = urllib.parse.urlparse(uri)
    if parts.scheme != "otpauth" or parts.netloc != "totp":
        raise ValueError("not an otpauth://totp URI")
    query = urllib.parse.parse_qs(parts.query)
    secret = query["secret"][0].upper()
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    digits = int(query.get("digits", ["6"])[0])
    period = int(query.get("period", ["30"])[0])
    algorithm = query.get("algorithm", ["SHA1"])[0].lower().replace("-", "")
    counter = int(at) // period
    mac = hmac.new(key, struct.pack(">Q", counter), getattr(hashlib, algorithm)).digest()
    offset = mac[-1] & 0x0F
    value = struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(value % 10**digits).zfill(digits)


def main(argv: list[str]) -> int:
    if not argv or argv[0].startswith("-"):
        print(__doc__, file=sys.stderr)
        return 2
    at = time.time()
    if len(argv) == 3 and argv[1] == "--at":
        at = float(argv[2])
    print(code(argv[0], at))
    return 0


if __name__ == "__main__":
    # RFC 6238 appendix B: the SHA-1 seed "12345678901234567890" at 59 s
    # gives 94287082 (8 digits): checked at every run.
    rfc = "otpauth://totp/x?secret=" + base64.b32encode(b"12345678901234567890").decode() + "&digits=8"
    assert code(rfc, 59) == "94287082", "TOTP self-check failed"
    sys.exit(main(sys.argv[1:]))
