"""The client against a live server (see conftest.py)."""

from __future__ import annotations

import json
import base64
import hashlib
import hmac
import struct
import urllib.parse
import secrets
import time
from typing import Tuple

import pytest

from sekimori import (
    Client,
    FingerprintKeys,
    SekimoriError,
    Transaction,
    now_rfc3339,
    ocra_response,
    tx_question,
)
from .conftest import ANALYST_PASSWORD, ROOT

SERVICE = "pybank"


def _client(server: Tuple[str, str]) -> Client:
    url, key = server
    return Client(url, key, retries=2)


def _login(id_: str, account: str, fp: str) -> dict:
    return {
        "id": id_, "type": "login.attempt", "at": now_rfc3339(), "service": SERVICE,
        "actor": {"ip": "203.0.113.10", "device": "dev-py"},
        "account": account, "factor": "password", "secret_fp": fp, "result": "success",
    }


def test_login_decision_and_idempotent_retry(server: Tuple[str, str]) -> None:
    keys = FingerprintKeys({"k1": secrets.token_bytes(32)}, current="k1")
    event = _login(f"py-{secrets.token_hex(4)}", "acct-py-1", keys.fingerprint("hunter2"))
    with _client(server) as c:
        answer = c.send_event(event)
        # Past the time budget (a loaded machine) the answer comes before the
        # fsync, marked degraded; otherwise it is durable.
        assert answer["durable"] is True or answer.get("degraded") in ("not_yet_durable", "time_budget_exceeded")
        assert answer["duplicate"] is False
        assert answer["decision"]["action"] in ("allow", "challenge", "review", "deny", "freeze", "halt")
        again = c.send_event(event)  # a retry with the same id counts once
        assert again["duplicate"] is True
        read = None
        for _ in range(50):  # the logged decision, once durable
            try:
                read = c.decision(event["id"])
                break
            except SekimoriError as e:
                assert e.code == "decision_not_found"
                time.sleep(0.1)
        assert read is not None and read["decision"]["event_id"] == event["id"]
        assert again["decision"] == read["decision"]


def test_errors_carry_code_and_path(server: Tuple[str, str]) -> None:
    with _client(server) as c:
        bad = _login("py-bad", "acct", "k1:" + "0" * 64)
        bad["actor"]["ip"] = "not an ip"
        with pytest.raises(SekimoriError) as e:
            c.send_event(bad)
        assert e.value.code == "invalid_value" and e.value.path == "actor.ip" and e.value.status == 400
        with pytest.raises(SekimoriError) as e:
            c.send_event({**_login("py-pw", "acct", "k1:" + "0" * 64), "password": "x"})
        assert e.value.code == "secret_in_clear"
        with pytest.raises(SekimoriError) as e:
            c.decision("py-never-sent")
        assert e.value.code == "decision_not_found" and e.value.status == 404


def test_batch_has_per_item_results(server: Tuple[str, str]) -> None:
    good = _login(f"py-b-{secrets.token_hex(4)}", "acct-py-2", "k1:" + "1" * 64)
    bad = {**_login("py-b-bad", "acct-py-2", "k1:" + "1" * 64), "amount_minor": 5}
    with _client(server) as c:
        result = c.send_batch([good, bad])
    assert (result.accepted, result.rejected) == (1, 1)
    assert result.answers[0]["decision"]["event_id"] == good["id"]  # type: ignore[index]
    [(i, err)] = result.errors()
    assert i == 1 and err.code == "unknown_field" and err.path == "events[1].amount_minor"


def test_stream_answers_each_line_in_order(server: Tuple[str, str]) -> None:
    tag = secrets.token_hex(4)
    events = [_login(f"py-s-{tag}-{i}", "acct-py-3", "k1:" + "2" * 64) for i in range(5)]
    events[2] = {**events[2], "amount_minor": 5}
    with _client(server) as c:
        results = list(c.events_stream(events, window=2))
        again = list(c.events_stream([events[0]]))
    assert len(results) == 5
    for i, r in enumerate(results):
        if i == 2:
            assert isinstance(r, SekimoriError) and r.code == "unknown_field" and r.path == "amount_minor"
        else:
            assert r["decision"]["event_id"] == events[i]["id"] and r["durable"] is True  # type: ignore[index]
    assert again[0]["duplicate"] is True  # type: ignore[index]


def test_transaction_signing_step_up(server: Tuple[str, str]) -> None:
    account = f"acct-tx-{secrets.token_hex(4)}"
    tx = {"amount_minor": 250000, "currency": "JPY", "payee": "bank:0001-123-4567890"}
    with _client(server) as c:
        device = c.enroll_ocra(SERVICE, account)
        assert device["enrolled"] is True
        key = device["device_key_hex"]
        ch = c.tx_challenge(SERVICE, account, tx)
        # The device recomputes the question from what it shows; it never
        # signs the question it is handed.
        shown = Transaction(account, tx["amount_minor"], tx["currency"], tx["payee"])
        question = tx_question(shown, ch["challenge_id"])
        assert question == ch["question"]
        code = ocra_response(key, question)
        ok = c.verify(SERVICE, account, "txsign", challenge_id=ch["challenge_id"], code=code, transaction=tx)
        assert ok["result"] == "success", ok
        # Another payee: the code does not fit.
        ch2 = c.tx_challenge(SERVICE, account, tx)
        other = {**tx, "payee": "bank:0009-999-0000001"}
        code2 = ocra_response(key, tx_question(Transaction(account, 250000, "JPY", other["payee"]), ch2["challenge_id"]))
        bad = c.verify(SERVICE, account, "txsign", challenge_id=ch2["challenge_id"], code=code2, transaction=tx)
        assert bad["result"] == "failure" and bad["reason_code"] == "wrong_code"


def test_secret_check(server: Tuple[str, str]) -> None:
    with _client(server) as c:
        r = c.check_secret({"kind": "pin", "secret": "1234"})
        assert r["verdict"] == "reject" and "sequential" in r["codes"]
        with pytest.raises(SekimoriError) as e:
            c.check_secret({"kind": "pin", "secret": "12"})
        assert e.value.code == "invalid_pin" and e.value.path == "secret"


def _totp(uri: str) -> str:
    """RFC 6238 (SHA-1, 6 digits, 30 s) of an otpauth URI, as an
    authenticator app computes it."""
    secret = urllib.parse.parse_qs(urllib.parse.urlparse(uri).query)["secret"][0]
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    mac = hmac.new(key, struct.pack(">Q", int(time.time()) // 30), hashlib.sha1).digest()
    o = mac[-1] & 0x0F
    return str((struct.unpack(">I", mac[o:o + 4])[0] & 0x7FFFFFFF) % 1_000_000).zfill(6)


def test_workbench_session_and_labels(server: Tuple[str, str], analyst: Tuple[str, str]) -> None:
    login, uri = analyst
    with _client(server) as c:
        # A service's label with its key: an event it never sent is 404.
        with pytest.raises(SekimoriError) as e:
            c.label(SERVICE, "never-sent", "chargeback")
        assert (e.value.code, e.value.status) == ("not_found", 404)
        s = c.sign_in_analyst(login, ANALYST_PASSWORD, _totp(uri))
    with s:
        assert s.signed_in["role"] == "admin" and "ws_" not in repr(s)
        queue = s.cases(limit=5)
        assert isinstance(queue["cases"], list) and queue["open"] >= 0
        assert any(a["login"] == login for a in s.analysts()["analysts"])
        with pytest.raises(SekimoriError) as e:
            s.case(999_999_999)
        assert e.value.code == "not_found"
        with pytest.raises(SekimoriError) as e:
            s.note(1, "   ")  # blank: refused with the field's path
        assert e.value.code in ("invalid_value", "not_found")
        assert s.end_all_sessions()["ended"] >= 1
        with pytest.raises(SekimoriError) as e:
            s.cases()
        assert e.value.code == "no_session"
