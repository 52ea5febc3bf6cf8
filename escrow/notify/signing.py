"""Signing deliveries, and checking a signature on the receiving side.

Every delivery carries ``Escrow-Signature: t=<unix seconds>,v1=<hex>``, where ``<hex>`` is
HMAC-SHA256, keyed with the webhook's secret (its text, UTF-8), of ``<t>.`` followed by the
request's body, byte for byte. A receiver recomputes it (:func:`verify_signature`), compares in
constant time and refuses a time too far from its own clock (a replayed old delivery).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac

SIGNATURE_HEADER = "Escrow-Signature"
MESSAGE_ID_HEADER = "Escrow-Message-Id"
DEFAULT_TOLERANCE_S = 300.0
"""How far (seconds) a signature's time may be from the receiver's clock, by default."""


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of ``<timestamp>.<body>`` keyed with ``secret``."""
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode("ascii") + body, hashlib.sha256)
    return mac.hexdigest()


def sign(secret: str, body: bytes, *, now: dt.datetime) -> str:
    """The ``Escrow-Signature`` header's value for ``body`` sent at ``now``."""
    timestamp = int(now.timestamp())
    return f"t={timestamp},v1={signature(secret, timestamp, body)}"


def verify_signature(
    secret: str,
    header: str | None,
    body: bytes,
    *,
    now: dt.datetime,
    tolerance: float = DEFAULT_TOLERANCE_S,
) -> bool:
    """Whether ``header`` (the ``Escrow-Signature`` received) signs ``body`` (the raw bytes
    received) with ``secret``, at a time within ``tolerance`` seconds of ``now``.

    For receivers: check before parsing the body; a False means drop the request (answer
    400, say), whatever it claims. Several ``v1=`` values are accepted (any one may match)."""
    if not header:
        return False
    timestamp: int | None = None
    candidates: list[str] = []
    for item in header.split(","):
        name, _, value = item.strip().partition("=")
        if name == "t" and value.isascii() and value.isdigit():
            timestamp = int(value)
        elif name == "v1":
            candidates.append(value)
    if timestamp is None or not candidates:
        return False
    if abs(now.timestamp() - timestamp) > tolerance:
        return False
    expected = signature(secret, timestamp, body).encode("ascii")
    return any(hmac.compare_digest(expected, c.encode("utf-8")) for c in candidates)
