"""sekimori: the Python client of the sekimori fraud and account-takeover
defense engine (HTTP API and the integrator's helpers)."""

from .client import BatchResult, Client, SekimoriError, now_rfc3339
from .workbench import AnalystSession
from .crypto import (
    TX_OCRA_SUITE,
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

__all__ = [
    "AnalystSession",
    "BatchResult",
    "Client",
    "SekimoriError",
    "now_rfc3339",
    "TX_OCRA_SUITE",
    "FingerprintKeys",
    "Transaction",
    "WebhookError",
    "ocra_response",
    "secret_fingerprint",
    "sign_webhook",
    "transaction_bytes",
    "transaction_digest",
    "tx_question",
    "verify_webhook",
    "webauthn_tx_challenge",
]
__version__ = "0.1.0"
