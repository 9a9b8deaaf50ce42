"""The shared vectors (produced by the Rust implementations) against this
library's computations."""

from __future__ import annotations

import json

import pytest

from sekimori import (
    FingerprintKeys,
    Transaction,
    WebhookError,
    ocra_response,
    secret_fingerprint,
    sign_webhook,
    transaction_bytes,
    transaction_digest,
    tx_question,
    verify_webhook,
    webauthn_tx_challenge,
)

from .conftest import VECTORS

V = json.loads(VECTORS.read_text(encoding="utf-8"))


@pytest.mark.parametrize("case", V["secret_fingerprints"], ids=lambda c: f"{c['key_id']}:{c['secret']!r}")
def test_fingerprints(case: dict) -> None:
    key = bytes.fromhex(case["key_hex"])
    assert secret_fingerprint(key, case["key_id"], case["secret"]) == case["fingerprint"]


def test_rotation_k1_to_k2() -> None:
    cases = {c["key_id"]: c for c in V["secret_fingerprints"] if c["secret"] == "correct horse battery staple"}
    keys = FingerprintKeys({"k1": bytes.fromhex(cases["k1"]["key_hex"])}, current="k1")
    assert keys.fingerprint("correct horse battery staple") == cases["k1"]["fingerprint"]
    keys.rotate("k2", bytes.fromhex(cases["k2"]["key_hex"]))
    assert keys.fingerprint("correct horse battery staple") == cases["k2"]["fingerprint"]
    assert keys.fingerprint("correct horse battery staple", key_id="k1") == cases["k1"]["fingerprint"]
    with pytest.raises(ValueError):
        keys.rotate("k2", bytes(32))
    assert "k1" in repr(keys) and cases["k1"]["key_hex"] not in repr(keys)


@pytest.mark.parametrize("case", V["transactions"], ids=lambda c: c["account"])
def test_transactions(case: dict) -> None:
    tx = Transaction(case["account"], case["amount_minor"], case["currency"], case["payee"])
    assert transaction_bytes(tx).hex() == case["canonical_hex"]
    assert transaction_digest(tx).hex() == case["digest_hex"]
    q = tx_question(tx, case["challenge_id"])
    assert q == case["question"]
    assert ocra_response(case["device_key_hex"], q) == case["ocra_response"]
    assert webauthn_tx_challenge(tx, case["challenge_id"]).hex() == case["webauthn_challenge_hex"]


def test_a_changed_payee_changes_the_code() -> None:
    case = V["transactions"][0]
    tx = Transaction(case["account"], case["amount_minor"], case["currency"], case["payee"] + "1")
    assert ocra_response(case["device_key_hex"], tx_question(tx, case["challenge_id"])) != case["ocra_response"]


def test_webhook_signing() -> None:
    w = V["webhook"]
    assert sign_webhook(w["secret"].encode(), w["t"], w["body"].encode()) == w["header"]


@pytest.mark.parametrize("case", V["webhook"]["verify"], ids=lambda c: c["name"])
def test_webhook_verification(case: dict) -> None:
    secret = V["webhook"]["secret"].encode()
    args = (secret, case["header"], case["body"].encode())
    if case["result"] == "ok":
        verify_webhook(*args, tolerance_s=case["tolerance_s"], now=case["now"])
    else:
        with pytest.raises(WebhookError) as e:
            verify_webhook(*args, tolerance_s=case["tolerance_s"], now=case["now"])
        assert e.value.reason == case["result"]
