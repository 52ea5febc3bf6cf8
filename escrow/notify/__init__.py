"""Notices reach people: the outbox, webhooks per party, and the deliverer (docs/notifications.md).

- :mod:`~escrow.notify.outbox`: messages written in the same transaction as their events;
- :mod:`~escrow.notify.parties`: party keys, and who receives each kind of message;
- :mod:`~escrow.notify.webhooks`: registering, listing and removing a party's webhooks;
- :mod:`~escrow.notify.deliverer`: sending them, signed, retried with backoff, at least once;
- :mod:`~escrow.notify.signing`: the ``Escrow-Signature`` header, and its check for receivers.

The functions the HTTP API and the command line call are exported here.
"""

from __future__ import annotations

import importlib
from typing import Any

_HOME = {
    "Round": "deliverer",
    "deliver_once": "deliverer",
    "deliver_round": "deliverer",
    "post": "deliverer",
    "retry_delay": "deliverer",
    "run_deliverer": "deliverer",
    "MESSAGE_KINDS": "outbox",
    "messages": "outbox",
    "check_party": "parties",
    "receives": "parties",
    "recipients": "parties",
    "sign": "signing",
    "verify_signature": "signing",
    "Webhook": "webhooks",
    "add_webhook": "webhooks",
    "list_webhooks": "webhooks",
    "remove_webhook": "webhooks",
}
"""Where each public name lives: loaded on first use (PEP 562), so that the ledger, which
writes the outbox, does not load the deliverer's HTTP client."""

__all__ = sorted(_HOME)


def __getattr__(name: str) -> Any:
    if name in _HOME:
        value = getattr(importlib.import_module(f"escrow.notify.{_HOME[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'escrow.notify' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
