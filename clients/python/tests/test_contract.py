"""The client follows the generated document (openapi.json at the
repository's root, generated from the server's code): every operation of
the document has a client method, and no method names an operation the
document no longer has. No server needed."""

from __future__ import annotations

import inspect
import json
import re
from typing import Set, Tuple

from sekimori.client import OPERATIONS
from sekimori.workbench import AnalystSession

from .conftest import ROOT


def _document_operations() -> Set[Tuple[str, str]]:
    doc = json.loads((ROOT / "openapi.json").read_text(encoding="utf-8"))
    return {(m, p) for p, item in doc["paths"].items() for m in item}


def test_every_operation_of_the_document_has_a_client_method() -> None:
    missing = _document_operations() - set(OPERATIONS.values())
    assert not missing, f"operations without a client method: {sorted(missing)}"


def test_no_client_method_names_an_operation_the_document_lacks() -> None:
    gone = set(OPERATIONS.values()) - _document_operations()
    assert not gone, f"client methods of operations no longer in openapi.json: {sorted(gone)}"
    assert len(set(OPERATIONS.values())) == len(OPERATIONS), "two methods for one operation"


def test_each_method_exists_and_sends_its_operation() -> None:
    for name, (method, path) in OPERATIONS.items():
        fn = getattr(AnalystSession, name, None)  # AnalystSession is a Client too
        assert callable(fn), f"OPERATIONS names {name}, which is no method"
        source = inspect.getsource(fn)
        assert f'"{method}"' in source, f"{name} does not send {method.upper()}"
        for part in re.split(r"\{[^}]+\}", path):
            assert part in source, f"{name} does not call {path}"
