"""The workbench's case API, for a team with its own case tool: an
analyst's session (``Client.sign_in_analyst``) on the review queue, cases,
holds and lists from a case, bulk actions, search and analysts.

Every method is one operation of the document (``OPERATIONS`` in
:mod:`sekimori.client`); errors are :class:`SekimoriError` with the
workbench's codes (docs/errors.md, "The workbench's API").
"""

from __future__ import annotations

from typing import Any, Iterable, Optional
from urllib.parse import quote

from .client import Client, Json, _drop_none

__all__ = ["AnalystSession"]


class AnalystSession(Client):
    """An analyst's session: the ``ws_`` token is sent as the bearer. It
    ends after 30 idle minutes or 12 hours (``signed_in`` holds the
    sign-in's answer: login, role, timeouts)."""

    def __init__(self, base_url: str, token: str, *, signed_in: Optional[Json] = None, timeout: float = 10.0, retries: int = 0) -> None:
        super().__init__(base_url, token, timeout=timeout, retries=retries)
        self.signed_in = signed_in or {}

    def __repr__(self) -> str:  # never the token
        return f"AnalystSession({self.signed_in.get('login', '?')!r})"

    def end_all_sessions(self) -> Json:
        """Ends every session of this analyst, this one too."""
        return self.request("post", "/v1/workbench/sessions/end-all")

    # -- the queue and cases -------------------------------------------

    def cases(self, *, service: Optional[str] = None, rule: Optional[str] = None, action: Optional[str] = None,
              min_age_hours: Optional[int] = None, limit: Optional[int] = None) -> Json:
        """The review queue, highest priority first: ``{"cases", "open"}``."""
        params = _drop_none(service=service, rule=rule, action=action,
                            min_age_hours=None if min_age_hours is None else str(min_age_hours),
                            limit=None if limit is None else str(limit))
        return self.request("get", "/v1/cases", params=params or None)

    def next_case(self) -> Optional[int]:
        """Claims the next case of the queue; None when it is empty."""
        return self.request("post", "/v1/cases/next")["case"]

    def case(self, case_id: int) -> Json:
        """A case with its decisions, the account's timeline, labels, standing and links."""
        return self.request("get", f"/v1/cases/{int(case_id)}")

    def claim(self, case_id: int) -> Json:
        return self.request("post", f"/v1/cases/{int(case_id)}/claim")

    def release(self, case_id: int) -> Json:
        return self.request("post", f"/v1/cases/{int(case_id)}/release")

    def note(self, case_id: int, note: str) -> Json:
        return self.request("post", f"/v1/cases/{int(case_id)}/notes", {"note": note})

    def decide(self, case_id: int, event_id: str, outcome: str, reason: str) -> Json:
        """``outcome`` ``approve`` (a supervisor; released at the second
        one's approval) or ``decline``."""
        return self.request("post", f"/v1/cases/{int(case_id)}/decide", {"event_id": event_id, "outcome": outcome, "reason": reason})

    def close_case(self, case_id: int, disposition: str, note: str) -> Json:
        """``disposition``: ``confirmed_fraud``, ``false_positive``,
        ``legitimate`` or ``unable_to_verify`` (it labels the case's events)."""
        return self.request("post", f"/v1/cases/{int(case_id)}/close", {"disposition": disposition, "note": note})

    # -- holds and lists from a case, bulk, search ---------------------

    def case_holds(self, case_id: int) -> Json:
        return self.request("get", f"/v1/cases/{int(case_id)}/holds")

    def hold_from_case(self, case_id: int, scope: str, key: str, reason: str) -> Json:
        """A freeze of an account (any analyst) or a halt (a supervisor)."""
        return self.request("post", f"/v1/cases/{int(case_id)}/holds", {"scope": scope, "key": key, "reason": reason})

    def lift_from_case(self, case_id: int, scope: str, key: str, reason: str, *, service: Optional[str] = None) -> Json:
        """Four eyes: the first supervisor asks, a second one lifts."""
        return self.request("post", f"/v1/cases/{int(case_id)}/holds/lift", _drop_none(scope=scope, key=key, reason=reason, service=service))

    def list_from_case(self, case_id: int, list_name: str, item: str, expires_in_hours: int, reason: str) -> Json:
        return self.request("post", f"/v1/cases/{int(case_id)}/lists",
                            {"list": list_name, "item": item, "expires_in_hours": expires_in_hours, "reason": reason})

    def bulk(self, cases: Iterable[int], action: str, *, disposition: Optional[str] = None, note: Optional[str] = None) -> Json:
        """Claim, release or close up to 100 cases: per-case results."""
        return self.request("post", "/v1/cases/bulk", _drop_none(cases=[int(c) for c in cases], action=action, disposition=disposition, note=note))

    def search(self, q: str, *, kind: Optional[str] = None, limit: Optional[int] = None) -> Json:
        """Cases by account, device, IP, payee or event id (exact)."""
        return self.request("get", "/v1/search", params=_drop_none(q=q, kind=kind, limit=None if limit is None else str(limit)))

    # -- rule quality (supervisors) -------------------------------------

    def quality(self, from_: str, to: str, *, service: Optional[str] = None, candidate: Optional[str] = None) -> Json:
        """Rule quality over ``[from_, to)`` (RFC 3339 or YYYY-MM-DD) per
        pack version, rule and service, or for one ``service``; with
        ``candidate`` (a stored pack version) a backtest too."""
        return self.request("get", "/v1/quality", params=_drop_none(**{"from": from_, "to": to}, service=service, candidate=candidate))

    # -- passkeys --------------------------------------------------------

    def passkeys(self) -> Json:
        """This analyst's passkeys: ``{"passkeys": [{"id", "name", "created_at"}]}``."""
        return self.request("get", "/v1/workbench/passkeys")

    def passkey_register_analyst_start(self, name: str = "") -> Json:
        """Starts registering a passkey for this analyst: ``{"ceremony",
        "options"}`` for ``navigator.credentials.create()``."""
        return self.request("post", "/v1/workbench/passkeys/register/start", {"name": name})

    def passkey_register_analyst_finish(self, ceremony: str, credential: Json) -> Json:
        """Finishes the registration with the authenticator's answer: ``{"passkey"}``."""
        return self.request("post", "/v1/workbench/passkeys/register/finish", {"ceremony": ceremony, "credential": credential})

    def remove_passkeys(self, login: str, passkey_id: Optional[str] = None) -> Json:
        """(Admins) removes ``login``'s passkey ``passkey_id``, or all of them: ``{"removed"}``."""
        return self.request("post", "/v1/workbench/passkeys/remove", _drop_none(login=login, id=passkey_id))

    # -- analysts (admins) ---------------------------------------------

    def analysts(self) -> Json:
        return self.request("get", "/v1/analysts")

    def create_analyst(self, login: str, role: str, password: str) -> Json:
        """Answers the new analyst and the TOTP provisioning URI, once."""
        return self.request("post", "/v1/analysts", {"login": login, "role": role, "password": password})

    def disable_analyst(self, login: str) -> Json:
        return self.request("post", f"/v1/analysts/{quote(login, safe='')}/disable")

    def enable_analyst(self, login: str) -> Json:
        return self.request("post", f"/v1/analysts/{quote(login, safe='')}/enable")

    def reset_analyst(self, login: str, password: str) -> Any:
        """A new password and TOTP seed (provisioning URI once); sessions end."""
        return self.request("post", f"/v1/analysts/{quote(login, safe='')}/reset", {"password": password})
