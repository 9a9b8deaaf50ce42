"""A live ``sekimori serve`` for the tests: a temporary data directory, a
key of every scope, a random loopback port; stopped at the end.

The binary is ``$SEKIMORI_BIN``, else ``target/debug/sekimori`` of the
repository (build it with ``cargo build -p sekimori``).
"""

from __future__ import annotations

import os
import pathlib
import re
import subprocess
import tempfile
import threading
import time
from typing import Iterator, Tuple

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[3]
VECTORS = ROOT / "clients" / "vectors.json"


def _binary() -> str:
    b = os.environ.get("SEKIMORI_BIN") or str(ROOT / "target" / "debug" / "sekimori")
    if not os.path.exists(b):
        pytest.skip(f"no sekimori binary at {b}: cargo build -p sekimori, or set SEKIMORI_BIN")
    return b


# url -> (binary, data directory) of the running server (for the analyst fixture).
_SERVERS: dict = {}


@pytest.fixture(scope="session")
def analyst(server: Tuple[str, str]) -> Tuple[str, str]:
    """(login, otpauth URI) of an admin analyst created with `sekimori users
    create` in the running server's data directory (read at each sign-in);
    its password is ANALYST_PASSWORD."""
    binary, data = _SERVERS[server[0]]
    uri = subprocess.run(
        [binary, "users", "create", "--data", data, "--login", "py-admin", "--role", "admin"],
        input=ANALYST_PASSWORD + "\n", check=True, capture_output=True, text=True,
    ).stdout.strip()
    return "py-admin", uri


ANALYST_PASSWORD = "correct horse battery staple 17"


@pytest.fixture(scope="session")
def server() -> Iterator[Tuple[str, str]]:
    """(base URL, API key with ingest, read, admin, approve, custody, stepup)."""
    binary = _binary()
    with tempfile.TemporaryDirectory() as data:
        key = subprocess.run(
            [binary, "keys", "create", "--data", data, "--name", "py-client",
             "--scopes", "ingest,read,admin,approve,custody,stepup"],
            check=True, capture_output=True, text=True,
        ).stdout.strip()
        proc = subprocess.Popen(
            [binary, "serve", "--data", data, "--listen", "127.0.0.1:0"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env={**os.environ, "SEKIMORI_LOG": "info", "NO_COLOR": "1"},
        )
        url = None
        deadline = time.time() + 60
        assert proc.stdout is not None
        while time.time() < deadline:
            line = proc.stdout.readline()
            if not line:
                if proc.poll() is not None:
                    raise RuntimeError("sekimori serve exited before listening")
                continue
            m = re.search(r"listening on (http://127\.0\.0\.1:\d+)", line)
            if m:
                url = m.group(1)
                break
        if url is None:
            proc.kill()
            raise RuntimeError("sekimori serve did not say where it listens")
        # Keep draining the output so the server never blocks on a full pipe.
        threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()  # type: ignore[union-attr]
        try:
            _SERVERS[url] = (binary, data)
            yield url, key
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
