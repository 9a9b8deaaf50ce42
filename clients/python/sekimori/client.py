"""The HTTP client: events in, decisions out, step-up, secret checks.

Every operation here is one of the OpenAPI document's (``openapi.json`` at
the repository's root; a test checks the client names no other). Errors are
:class:`SekimoriError` with the server's stable ``code`` and the field's
``path``.
"""

from __future__ import annotations

import json
import random
import re
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Dict, Iterable, Iterator, List, Mapping, Optional, Tuple, Union

import httpx
from urllib.parse import quote

if TYPE_CHECKING:
    from .workbench import AnalystSession

__all__ = ["Client", "SekimoriError", "BatchResult", "Json", "OPERATIONS"]

Json = Dict[str, Any]

# Every operation of the document (openapi.json at the repository's root,
# generated from the server's code), as {client method: (method, path)}: the
# methods of :class:`Client` (an API key) and of
# :class:`sekimori.workbench.AnalystSession` (an analyst's session).
# tests/test_contract.py fails when the document has an operation no method
# calls, or a method names one the document no longer has.
OPERATIONS: Dict[str, Tuple[str, str]] = {
    # health, metrics, the document, a cluster node
    "alive": ("get", "/healthz"),
    "healthy": ("get", "/readyz"),
    "metrics": ("get", "/metrics"),
    "openapi": ("get", "/openapi.json"),
    "cluster_status": ("get", "/v1/cluster"),
    # events and decisions
    "send_event": ("post", "/v1/events"),
    "send_batch": ("post", "/v1/events/batch"),
    "events_stream": ("post", "/v1/events/stream"),
    "decision": ("get", "/v1/decisions/{event_id}"),
    # packs, lists, holds (admin and read keys)
    "validate_pack": ("post", "/v1/packs/validate"),
    "publish_pack": ("post", "/v1/packs"),
    "pack_history": ("get", "/v1/packs"),
    "current_pack": ("get", "/v1/packs/current"),
    "reload_pack": ("post", "/v1/packs/reload"),
    "lists": ("get", "/v1/lists"),
    "get_list": ("get", "/v1/lists/{name}"),
    "put_list": ("put", "/v1/lists/{name}"),
    "holds": ("get", "/v1/holds"),
    "place_hold": ("post", "/v1/holds"),
    "lift_hold": ("post", "/v1/holds/lift"),
    # step-up
    "enroll_totp": ("post", "/v1/stepup/totp/enroll"),
    "enroll_ocra": ("post", "/v1/stepup/ocra/enroll"),
    "tx_challenge": ("post", "/v1/stepup/tx/challenge"),
    "passkey_register_start": ("post", "/v1/stepup/webauthn/register/start"),
    "passkey_register_finish": ("post", "/v1/stepup/webauthn/register/finish"),
    "passkey_auth_start": ("post", "/v1/stepup/webauthn/auth/start"),
    "send_code": ("post", "/v1/stepup/otp/send"),
    "verify": ("post", "/v1/stepup/verify"),
    "remove_enrollment": ("post", "/v1/stepup/enrollments/remove"),
    "reset_enrollment": ("post", "/v1/stepup/enrollments/reset"),
    # secrets
    "check_secret": ("post", "/v1/secrets/check"),
    "secret_range": ("get", "/v1/secrets/range/{prefix}"),
    # the workbench: labels with a key, the rest with an analyst's session
    "label": ("post", "/v1/labels"),
    "sign_in_analyst": ("post", "/v1/workbench/sessions"),
    "end_all_sessions": ("post", "/v1/workbench/sessions/end-all"),
    "cases": ("get", "/v1/cases"),
    "next_case": ("post", "/v1/cases/next"),
    "case": ("get", "/v1/cases/{id}"),
    "claim": ("post", "/v1/cases/{id}/claim"),
    "release": ("post", "/v1/cases/{id}/release"),
    "note": ("post", "/v1/cases/{id}/notes"),
    "decide": ("post", "/v1/cases/{id}/decide"),
    "close_case": ("post", "/v1/cases/{id}/close"),
    "case_holds": ("get", "/v1/cases/{id}/holds"),
    "hold_from_case": ("post", "/v1/cases/{id}/holds"),
    "lift_from_case": ("post", "/v1/cases/{id}/holds/lift"),
    "list_from_case": ("post", "/v1/cases/{id}/lists"),
    "bulk": ("post", "/v1/cases/bulk"),
    "search": ("get", "/v1/search"),
    "quality": ("get", "/v1/quality"),
    "analysts": ("get", "/v1/analysts"),
    "create_analyst": ("post", "/v1/analysts"),
    "disable_analyst": ("post", "/v1/analysts/{login}/disable"),
    "enable_analyst": ("post", "/v1/analysts/{login}/enable"),
    "reset_analyst": ("post", "/v1/analysts/{login}/reset"),
    # analysts' passkeys: sign-in (no session yet), then with a session
    "passkey_sign_in_start": ("post", "/v1/workbench/passkeys/sign-in/start"),
    "passkey_sign_in_finish": ("post", "/v1/workbench/passkeys/sign-in/finish"),
    "passkeys": ("get", "/v1/workbench/passkeys"),
    "passkey_register_analyst_start": ("post", "/v1/workbench/passkeys/register/start"),
    "passkey_register_analyst_finish": ("post", "/v1/workbench/passkeys/register/finish"),
    "remove_passkeys": ("post", "/v1/workbench/passkeys/remove"),
}

# Codes after which the same request may be sent again (same event id):
# nothing was decided or stored (docs/errors.md).
RETRYABLE = frozenset({"engine_busy", "overloaded", "stepup_busy", "internal", "store_failed"})


class SekimoriError(Exception):
    """An error answer: ``code`` (docs/errors.md), ``type``, ``message``,
    ``path`` (the offending field, e.g. ``events[3].amount_minor``), HTTP
    ``status``, ``details`` and ``retry_after`` (seconds) when given."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        status: int = 0,
        type: str = "",
        path: Optional[str] = None,
        details: Any = None,
        retry_after: Optional[float] = None,
    ) -> None:
        super().__init__(f"{code}{' at ' + path if path else ''}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.type = type
        self.path = path
        self.details = details
        self.retry_after = retry_after

    @classmethod
    def from_body(cls, body: Mapping[str, Any], status: int = 0, retry_after: Optional[float] = None) -> "SekimoriError":
        e = body.get("error", {}) if isinstance(body, Mapping) else {}
        return cls(
            str(e.get("code", "unknown")),
            str(e.get("message", "")),
            status=status,
            type=str(e.get("type", "")),
            path=e.get("path"),
            details=e.get("details"),
            retry_after=retry_after,
        )

    @property
    def retryable(self) -> bool:
        return self.code in RETRYABLE


@dataclass
class BatchResult:
    """A batch's answer: ``answers[i]`` is the i-th event's answer, or the
    :class:`SekimoriError` refusing it (its ``path`` starts ``events[i]``)."""

    accepted: int
    rejected: int
    answers: List[Union[Json, SekimoriError]] = field(default_factory=list)

    def errors(self) -> List[Tuple[int, SekimoriError]]:
        return [(i, a) for i, a in enumerate(self.answers) if isinstance(a, SekimoriError)]


class Client:
    """A sekimori client.

    ``retries``: how many times a request that was not decided (a transport
    failure, ``engine_busy``, ``overloaded``, ``stepup_busy``, ``internal``)
    is sent again, after ``Retry-After`` or a capped exponential backoff.
    Events are idempotent on (service, id): a retry never counts twice, and
    an event answered before is answered again with ``duplicate: true``.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = 10.0,
        retries: int = 3,
        backoff_s: float = 0.2,
        max_backoff_s: float = 5.0,
        transport: Optional[httpx.BaseTransport] = None,
    ) -> None:
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"authorization": f"Bearer {api_key}", "user-agent": "sekimori-python/0.1"},
            timeout=timeout,
            transport=transport,
        )
        self.retries = retries
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:  # never the key
        return f"Client({str(self._http.base_url)!r})"

    # -- transport -----------------------------------------------------

    def request(self, method: str, path: str, body: Optional[Json] = None, params: Optional[Mapping[str, str]] = None) -> Any:
        """Sends one request with retries; answers the decoded JSON (or text)."""
        attempt = 0
        while True:
            try:
                r = self._http.request(method.upper(), path, json=body, params=params)
            except httpx.TransportError as e:
                if attempt >= self.retries:
                    raise SekimoriError("unavailable", f"no answer from the server: {e}") from e
                self._sleep(attempt, None)
                attempt += 1
                continue
            if r.status_code < 400:
                if r.headers.get("content-type", "").startswith("application/json"):
                    return r.json()
                return r.text
            retry_after = _retry_after(r)
            try:
                err = SekimoriError.from_body(r.json(), r.status_code, retry_after)
            except ValueError:
                err = SekimoriError("unknown", r.text[:200], status=r.status_code)
            if err.retryable and attempt < self.retries:
                self._sleep(attempt, retry_after)
                attempt += 1
                continue
            raise err

    def _sleep(self, attempt: int, retry_after: Optional[float]) -> None:
        if retry_after is not None:
            delay = min(retry_after, self.max_backoff_s)
        else:
            delay = min(self.backoff_s * (2**attempt), self.max_backoff_s)
            delay *= 0.5 + random.random() / 2
        time.sleep(delay)

    # -- events --------------------------------------------------------

    def send_event(self, event: Json) -> Json:
        """``POST /v1/events``: the answer ``{"decision", "duplicate",
        "durable", "degraded"?}``. Retried with the same id."""
        _refuse_secrets(event)
        return self.request("post", "/v1/events", event)

    def send_batch(self, events: Iterable[Json]) -> BatchResult:
        """``POST /v1/events/batch`` (at most 1,000): one result per event,
        in order; good events are accepted even when others are refused."""
        events = list(events)
        if len(events) > 1000:
            raise ValueError("at most 1000 events a batch: split it")
        for e in events:
            _refuse_secrets(e)
        answer = self.request("post", "/v1/events/batch", {"events": events})
        results: List[Union[Json, SekimoriError]] = []
        for item in answer["results"]:
            if "error" in item:
                results.append(SekimoriError.from_body(item))
            else:
                results.append(item)
        return BatchResult(answer["accepted"], answer["rejected"], results)

    def events_stream(self, events: Iterable[Json], *, window: int = 1000) -> Iterator[Union[Json, SekimoriError]]:
        """``POST /v1/events/stream``, the high-rate path: the events as
        newline-delimited JSON, at most ``window`` (1 to 1,024, the server's
        in-flight bound) a request, and one result per event, in order, as
        they come: its answer (durable before it is sent), or a
        :class:`SekimoriError` with the code and path a single event would
        get. Nothing is retried here: send the events of retryable errors
        (``engine_busy``) again, with the same ids. A stream cut short
        raises ``unavailable`` after the answers it gave: send the rest
        again (same ids: those decided meanwhile come back duplicates)."""
        if not 1 <= window <= 1024:
            raise ValueError("window is 1 to 1024 events")
        chunk: List[Json] = []
        for e in events:
            _refuse_secrets(e)
            chunk.append(e)
            if len(chunk) == window:
                yield from self._stream_window("post", "/v1/events/stream", chunk)
                chunk = []
        if chunk:
            yield from self._stream_window("post", "/v1/events/stream", chunk)

    def _stream_window(self, method: str, path: str, events: List[Json]) -> Iterator[Union[Json, SekimoriError]]:
        body = "".join(json.dumps(e, separators=(",", ":"), ensure_ascii=False) + "\n" for e in events).encode()
        answered = 0
        try:
            with self._http.stream(method, path, content=body, headers={"content-type": "application/x-ndjson"}) as r:
                if r.status_code >= 400:
                    r.read()
                    raise SekimoriError.from_body(r.json(), r.status_code, _retry_after(r))
                for line in r.iter_lines():
                    if not line.strip():
                        continue
                    item = json.loads(line)
                    answered += 1
                    yield SekimoriError.from_body(item) if "error" in item else item
        except httpx.TransportError as e:
            raise SekimoriError("unavailable", f"the stream broke off after {answered} of {len(events)} answers: {e}") from e
        if answered != len(events):
            raise SekimoriError("unavailable", f"the stream ended after {answered} of {len(events)} answers")

    def decision(self, event_id: str, service: Optional[str] = None) -> Json:
        """``GET /v1/decisions/{event_id}``: a durable decision of the key's services."""
        params = {"service": service} if service else None
        return self.request("get", f"/v1/decisions/{quote(event_id, safe='')}", params=params)

    # -- step-up -------------------------------------------------------

    def enroll_totp(self, service: str, account: str, *, at: Optional[str] = None, proof_event: Optional[str] = None) -> Json:
        return self.request("post", "/v1/stepup/totp/enroll", _drop_none(service=service, account=account, at=at or now_rfc3339(), proof_event=proof_event))

    def enroll_ocra(self, service: str, account: str, *, at: Optional[str] = None, proof_event: Optional[str] = None) -> Json:
        """Provisions a transaction-signing device: ``device_key_hex`` once."""
        return self.request("post", "/v1/stepup/ocra/enroll", _drop_none(service=service, account=account, at=at or now_rfc3339(), proof_event=proof_event))

    def tx_challenge(self, service: str, account: str, transaction: Mapping[str, Any], *, for_event: Optional[str] = None, at: Optional[str] = None) -> Json:
        """A transaction-signing challenge: ``challenge_id`` and ``question``."""
        return self.request(
            "post",
            "/v1/stepup/tx/challenge",
            _drop_none(service=service, account=account, at=at or now_rfc3339(), transaction=dict(transaction), for_event=for_event),
        )

    def passkey_register_start(self, service: str, account: str, user_name: str, *, at: Optional[str] = None, proof_event: Optional[str] = None) -> Json:
        return self.request("post", "/v1/stepup/webauthn/register/start", _drop_none(service=service, account=account, user_name=user_name, at=at or now_rfc3339(), proof_event=proof_event))

    def passkey_register_finish(self, service: str, account: str, ceremony_id: str, credential: Json, *, at: Optional[str] = None) -> Json:
        return self.request("post", "/v1/stepup/webauthn/register/finish", _drop_none(service=service, account=account, ceremony_id=ceremony_id, credential=credential, at=at or now_rfc3339()))

    def passkey_auth_start(self, service: str, account: str, *, transaction: Optional[Mapping[str, Any]] = None, at: Optional[str] = None) -> Json:
        """A passkey assertion; with ``transaction``, bound to it."""
        return self.request("post", "/v1/stepup/webauthn/auth/start", _drop_none(service=service, account=account, at=at or now_rfc3339(), transaction=dict(transaction) if transaction else None))

    def send_code(self, service: str, account: str, channel: str, *, actor: Optional[Json] = None, at: Optional[str] = None) -> Json:
        return self.request("post", "/v1/stepup/otp/send", _drop_none(service=service, account=account, channel=channel, actor=actor, at=at or now_rfc3339()))

    def verify(self, service: str, account: str, method: str, *, at: Optional[str] = None, **fields: Any) -> Json:
        """``POST /v1/stepup/verify``: ``result`` ``success`` or ``failure``
        (with ``reason_code``); a failure is an answer, not an error."""
        return self.request("post", "/v1/stepup/verify", _drop_none(service=service, account=account, method=method, at=at or now_rfc3339(), **fields))

    def remove_enrollment(self, service: str, account: str, method: str, proof_event: str, *, at: Optional[str] = None) -> Json:
        return self.request("post", "/v1/stepup/enrollments/remove", _drop_none(service=service, account=account, method=method, proof_event=proof_event, at=at or now_rfc3339()))

    def reset_enrollment(self, service: str, account: str, reason: str, *, remove: Optional[Iterable[str]] = None, at: Optional[str] = None) -> Json:
        """``POST /v1/stepup/enrollments/reset`` (admin key): an operator
        resets the account's TOTP throttle and removes the enrollments named
        in ``remove`` (``totp``, ``ocra``, ``webauthn``)."""
        return self.request(
            "post",
            "/v1/stepup/enrollments/reset",
            _drop_none(service=service, account=account, reason=reason, remove=list(remove) if remove is not None else None, at=at or now_rfc3339()),
        )

    # -- packs, lists, holds --------------------------------------------

    def validate_pack(self, source: Json) -> Json:
        """``POST /v1/packs/validate``: compiles a pack source and runs its tests; publishes nothing."""
        return self.request("post", "/v1/packs/validate", source)

    def publish_pack(self, source: Json) -> Json:
        """``POST /v1/packs``: compiles, tests and publishes a pack (admin key)."""
        return self.request("post", "/v1/packs", source)

    def pack_history(self) -> Json:
        return self.request("get", "/v1/packs")

    def current_pack(self) -> Json:
        return self.request("get", "/v1/packs/current")

    def reload_pack(self) -> Json:
        """``POST /v1/packs/reload``: publishes the server's ``--rules`` directory."""
        return self.request("post", "/v1/packs/reload")

    def lists(self) -> Json:
        return self.request("get", "/v1/lists")

    def get_list(self, name: str) -> Json:
        return self.request("get", f"/v1/lists/{quote(name, safe='')}")

    def put_list(self, name: str, items: Iterable[str]) -> Json:
        """``PUT /v1/lists/{name}``: replaces the list's API items."""
        return self.request("put", f"/v1/lists/{quote(name, safe='')}", {"items": list(items)})

    def holds(self) -> Json:
        return self.request("get", "/v1/holds")

    def place_hold(self, scope: str, key: str, action: str, reason: str, *, service: Optional[str] = None) -> Json:
        """``POST /v1/holds``: a freeze (account) or halt (service, asset, wallet, bank)."""
        return self.request("post", "/v1/holds", {"hold": _drop_none(scope=scope, key=key, service=service), "action": action, "reason": reason})

    def lift_hold(self, scope: str, key: str, reason: str, *, service: Optional[str] = None) -> Json:
        return self.request("post", "/v1/holds/lift", {"hold": _drop_none(scope=scope, key=key, service=service), "reason": reason})

    # -- secrets, labels, health ----------------------------------------

    def check_secret(self, body: Json) -> Json:
        """``POST /v1/secrets/check``: the body is sent as given (a password or
        PIN in the clear is checked and dropped by the server, never stored)."""
        return self.request("post", "/v1/secrets/check", body)

    def secret_range(self, prefix: str) -> str:
        """``GET /v1/secrets/range/{prefix}``: HIBP ``SUFFIX:COUNT`` lines (k-anonymity)."""
        return self.request("get", f"/v1/secrets/range/{quote(prefix, safe='')}")

    def label(self, service: str, event_id: str, label: str, note: str = "") -> Json:
        """``POST /v1/labels``: what the service learnt of its event
        (``chargeback``, ``dispute``, ``customer_confirmed``, ``customer_denied``)."""
        return self.request("post", "/v1/labels", {"service": service, "event_id": event_id, "label": label, "note": note})

    def sign_in_analyst(self, login: str, password: str, code: str) -> "AnalystSession":
        """``POST /v1/workbench/sessions``: an analyst's session (password and
        the current TOTP code), for the workbench's case API."""
        from .workbench import AnalystSession

        answer = self.request("post", "/v1/workbench/sessions", {"login": login, "password": password, "code": code})
        return AnalystSession(str(self._http.base_url), answer["token"], signed_in=answer, timeout=self._http.timeout.read or 10.0)

    def passkey_sign_in_start(self, login: Optional[str] = None) -> Json:
        """``POST /v1/workbench/passkeys/sign-in/start``: ``{"ceremony",
        "options"}``; pass ``options`` to ``navigator.credentials.get()``
        (or an authenticator) and the result to
        :meth:`passkey_sign_in_finish` within five minutes. Without
        ``login`` the authenticator offers its discoverable passkeys."""
        return self.request("post", "/v1/workbench/passkeys/sign-in/start", _drop_none(login=login))

    def passkey_sign_in_finish(self, ceremony: str, credential: Json) -> "AnalystSession":
        """``POST /v1/workbench/passkeys/sign-in/finish``: an analyst's
        session from a passkey assertion (the ceremony is used once)."""
        from .workbench import AnalystSession

        answer = self.request("post", "/v1/workbench/passkeys/sign-in/finish", {"ceremony": ceremony, "credential": credential})
        return AnalystSession(str(self._http.base_url), answer["token"], signed_in=answer, timeout=self._http.timeout.read or 10.0)

    def alive(self) -> bool:
        """``GET /healthz``: the process answers."""
        try:
            return self.request("get", "/healthz").get("status") == "ok"
        except SekimoriError:
            return False

    def healthy(self) -> bool:
        """``GET /readyz``: the server accepts events."""
        try:
            return self.request("get", "/readyz").get("status") == "ready"
        except SekimoriError:
            return False

    def metrics(self) -> str:
        """``GET /metrics``: Prometheus text (read key)."""
        return self.request("get", "/metrics")

    def openapi(self) -> Json:
        """``GET /openapi.json``: the document this client follows."""
        return self.request("get", "/openapi.json")

    def cluster_status(self) -> Json:
        """``GET /v1/cluster``: a cluster node's shard, role and state
        (404 ``not_found`` from a server that is not one)."""
        return self.request("get", "/v1/cluster")


def now_rfc3339() -> str:
    """The current time, UTC, with milliseconds."""
    t = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t * 1000) % 1000:03d}Z"


def _drop_none(**kw: Any) -> Json:
    return {k: v for k, v in kw.items() if v is not None}


def _retry_after(r: httpx.Response) -> Optional[float]:
    v = r.headers.get("retry-after")
    try:
        return float(v) if v is not None else None
    except ValueError:
        return None


_SECRET_WORDS = frozenset({"password", "passwd", "pwd", "pin", "otp", "passcode", "secret", "seed", "cvv", "cvc", "mnemonic"})


def _words(name: str) -> List[str]:
    return [w.lower() for w in re.split(r"[_\-\s.]+|(?<=[a-z])(?=[A-Z])", name) if w]


def _refuse_secrets(event: Mapping[str, Any], path: str = "") -> None:
    """A secret never goes into an event: send its fingerprint
    (``secret_fp``). The server refuses such events too (``secret_in_clear``);
    this refuses them before they leave the process."""
    for k, v in event.items():
        name = str(k).lower()
        here = f"{path}.{k}" if path else k
        if name not in ("secret_fp", "secret_common") and _SECRET_WORDS.intersection(_words(k)):
            raise SekimoriError("secret_in_clear", "send only the keyed fingerprint secret_fp", path=here)
        if isinstance(v, Mapping):
            _refuse_secrets(v, here)
