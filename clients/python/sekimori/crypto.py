"""The computations every integrator needs and gets wrong by hand, byte for
byte as the server computes them (checked against ``clients/vectors.json``,
which the Rust implementations produce).

- :class:`FingerprintKeys`: secret fingerprints (``secret_fp``), HMAC-SHA256
  under the service's own key, ``<key_id>:<64 hex>``, with key rotation.
- :func:`transaction_bytes`, :func:`transaction_digest`, :func:`tx_question`,
  :func:`ocra_response`: the transaction-signing question and a soft token's
  OCRA response (``OCRA-1:HOTP-SHA256-8:QH64``).
- :func:`webauthn_tx_challenge`: the passkey transaction binding.
- :func:`verify_webhook`: the ``Sekimori-Signature`` header of notices and
  OTP deliveries.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import struct
import time
from dataclasses import dataclass
from typing import Mapping, Optional, Union

__all__ = [
    "FingerprintKeys",
    "secret_fingerprint",
    "Transaction",
    "transaction_bytes",
    "transaction_digest",
    "tx_question",
    "ocra_response",
    "webauthn_tx_challenge",
    "TX_OCRA_SUITE",
    "WebhookError",
    "verify_webhook",
    "sign_webhook",
]

TX_ENCODING_VERSION = b"sekimori-tx-v1"
TX_QUESTION_DOMAIN = b"sekimori-txq-v1"
WEBAUTHN_DOMAIN = b"sekimori-webauthn-tx-v1"
TX_OCRA_SUITE = "OCRA-1:HOTP-SHA256-8:QH64"
_KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


def secret_fingerprint(key: bytes, key_id: str, secret: str) -> str:
    """``<key_id>:<64 lower-case hex>``: HMAC-SHA256 under ``key`` of the
    exact secret typed, as UTF-8 (no trimming, case folding or
    normalisation; a PIN is its digit string)."""
    if not _KEY_ID.match(key_id):
        raise ValueError("a key id is 1 to 32 of A-Z a-z 0-9 _ -")
    if not isinstance(secret, str):
        raise TypeError("the secret is the text typed (a PIN as its digit string)")
    mac = hmac.new(key, secret.encode("utf-8"), hashlib.sha256).hexdigest()
    return f"{key_id}:{mac}"


class FingerprintKeys:
    """The service's fingerprint keys, by key id, and the current one.

    Rotation: add the new key (``k2``) and make it current; every new
    fingerprint is under it. Fingerprints under two keys never match, so
    per-secret counters start again from zero (docs/events.md, Key
    rotation); keep the old key only to recompute old fingerprints if you
    must. The keys never leave your service: sekimori only sees
    fingerprints.
    """

    def __init__(self, keys: Mapping[str, bytes], current: str) -> None:
        if current not in keys:
            raise ValueError("the current key id must be one of the keys")
        for key_id, key in keys.items():
            if not _KEY_ID.match(key_id):
                raise ValueError(f"bad key id {key_id!r}")
            if len(key) < 32:
                raise ValueError("a fingerprint key is at least 32 random bytes")
        self._keys = dict(keys)
        self.current = current

    def rotate(self, key_id: str, key: bytes) -> None:
        """Adds ``key`` under a new id and makes it current."""
        if key_id in self._keys:
            raise ValueError("a rotation needs a new key id")
        if not _KEY_ID.match(key_id) or len(key) < 32:
            raise ValueError("a key id is 1 to 32 of A-Z a-z 0-9 _ -; a key 32 bytes or more")
        self._keys[key_id] = key
        self.current = key_id

    def fingerprint(self, secret: str, key_id: Optional[str] = None) -> str:
        """The fingerprint under the current key (or ``key_id``)."""
        kid = key_id or self.current
        return secret_fingerprint(self._keys[kid], kid, secret)

    def __repr__(self) -> str:  # never the keys
        return f"FingerprintKeys(ids={sorted(self._keys)}, current={self.current!r})"


@dataclass(frozen=True)
class Transaction:
    """A payment: the payer's account, minor units, the canonical currency
    (upper case) and payee (``bank:0001-123-4567890``, ``crypto:<address>``)."""

    account: str
    amount_minor: int
    currency: str
    payee: str


def _len_prefixed(s: str) -> bytes:
    b = s.encode("utf-8")
    return struct.pack(">I", len(b)) + b


def transaction_bytes(tx: Transaction) -> bytes:
    """The canonical ``sekimori-tx-v1`` encoding: the tag, 0x00, then
    u32be-length-prefixed account, i64be amount, currency, payee."""
    if not isinstance(tx.amount_minor, int) or isinstance(tx.amount_minor, bool):
        raise TypeError("amount_minor is an integer number of minor units")
    return (
        TX_ENCODING_VERSION
        + b"\x00"
        + _len_prefixed(tx.account)
        + struct.pack(">q", tx.amount_minor)
        + _len_prefixed(tx.currency)
        + _len_prefixed(tx.payee)
    )


def transaction_digest(tx: Transaction) -> bytes:
    """SHA-256 of :func:`transaction_bytes`."""
    return hashlib.sha256(transaction_bytes(tx)).digest()


def _nonce(challenge_id: str) -> bytes:
    nonce = bytes.fromhex(challenge_id)
    if len(nonce) != 16:
        raise ValueError("a challenge id is 32 hex digits")
    return nonce


def tx_question(tx: Transaction, challenge_id: str) -> str:
    """The OCRA question (64 hex digits) a device recomputes from the
    transaction it shows and the challenge id: ``hex(SHA-256("sekimori-txq-v1"
    || 0x00 || digest || nonce))``. Sign only a question you recomputed:
    never the one you are handed."""
    h = hashlib.sha256()
    h.update(TX_QUESTION_DOMAIN + b"\x00")
    h.update(transaction_digest(tx))
    h.update(_nonce(challenge_id))
    return h.hexdigest()


def ocra_response(device_key: Union[bytes, str], question: str) -> str:
    """RFC 6287 OCRA ``OCRA-1:HOTP-SHA256-8:QH64``: HMAC-SHA256 under the
    device key of the suite, 0x00 and the question's bytes left-justified in
    a 128-byte field; dynamic truncation, 8 digits."""
    key = bytes.fromhex(device_key) if isinstance(device_key, str) else device_key
    if len(question) != 64:
        raise ValueError("a QH64 question is 64 hex digits")
    field = bytes.fromhex(question).ljust(128, b"\x00")
    mac = hmac.new(key, TX_OCRA_SUITE.encode("ascii") + b"\x00" + field, hashlib.sha256).digest()
    offset = mac[-1] & 0x0F
    value = struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 10**8:08d}"


def webauthn_tx_challenge(tx: Transaction, nonce_hex: str) -> bytes:
    """``SHA-256("sekimori-webauthn-tx-v1" || 0x00 || digest || nonce)``:
    a WebAuthn challenge that commits to a transaction. (The server binds the
    transaction's digest to the ceremony's random challenge; a device that
    shows the transaction can log this value with the assertion.)"""
    h = hashlib.sha256()
    h.update(WEBAUTHN_DOMAIN + b"\x00")
    h.update(transaction_digest(tx))
    h.update(_nonce(nonce_hex))
    return h.digest()


class WebhookError(Exception):
    """A notice whose signature does not verify. ``reason`` is
    ``malformed``, ``bad_signature`` or ``stale``."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def sign_webhook(secret: bytes, t: int, body: bytes) -> str:
    """``t=<t>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>`` (for tests and relays)."""
    mac = hmac.new(secret, str(t).encode("ascii") + b"." + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def verify_webhook(
    secret: bytes,
    header: str,
    body: bytes,
    *,
    tolerance_s: int = 300,
    now: Optional[int] = None,
) -> None:
    """Checks a ``Sekimori-Signature`` header against the raw body bytes
    (before any JSON parsing): every ``v1`` is tried in constant time (two
    while a secret rotates), other keys are ignored, then ``|now - t|`` must
    be within ``tolerance_s``. Raises :class:`WebhookError`; returns None
    when the notice is authentic and fresh. De-duplicate on the notice id."""
    t: Optional[int] = None
    sigs = []
    for item in header.split(","):
        key, sep, value = item.strip().partition("=")
        if not sep:
            raise WebhookError("malformed", "an entry is not key=value")
        if key == "t":
            if t is not None:
                raise WebhookError("malformed", "more than one t")
            digits = value[1:] if value.startswith("-") else value
            if not digits or not digits.isascii() or not digits.isdigit():
                raise WebhookError("malformed", "t is not an integer")
            t = int(value)
        elif key == "v1":
            try:
                sig = bytes.fromhex(value)
            except ValueError:
                raise WebhookError("malformed", "v1 is not hex") from None
            if len(sig) != 32:
                raise WebhookError("malformed", "v1 is not 32 bytes")
            sigs.append(sig)
    if t is None:
        raise WebhookError("malformed", "no t")
    if not sigs:
        raise WebhookError("malformed", "no v1 signature")
    expected = hmac.new(secret, str(t).encode("ascii") + b"." + body, hashlib.sha256).digest()
    authentic = False
    for sig in sigs:
        # compare every one: no early exit on the first match either
        authentic |= hmac.compare_digest(expected, sig)
    if not authentic:
        raise WebhookError("bad_signature", "the signature does not match the body")
    now_s = int(time.time()) if now is None else now
    if abs(now_s - t) > tolerance_s:
        raise WebhookError("stale", f"the signature is {now_s - t} s old (tolerance {tolerance_s} s)")
