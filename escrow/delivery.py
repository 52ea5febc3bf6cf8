"""Delivering acts: what an idempotency key stands for, and the receipt an act returns.

An act (a payment, a return, an opinion…) may be delivered more than once: a bank re-sends a
notice, a platform retries after a time-out, a scenario is run again. The caller gives each act
an idempotency key; the ledger stores, with the key, the act's *request*: its name and
arguments in one canonical text. A second delivery with the same key and the same request is
answered with the first delivery's receipt and writes nothing; the same key with another
request is refused (:class:`~escrow.errors.IdempotencyKeyReused`), as payment APIs refuse a
key reused with other parameters: a key means one act, never "whatever came first".
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Mapping
from decimal import Decimal

from pydantic import BaseModel

from escrow.errors import IdempotencyKeyReused

_CENT = Decimal("0.01")


@dataclasses.dataclass(frozen=True)
class Receipt:
    """What an act wrote: the positions of its events, and whether it was a re-delivery.

    ``first_position``/``last_position`` are those of the act's own append (the clock's work
    before it, dated earlier, is appended separately); both are 0 when the act wrote nothing.
    For a duplicate they are the first delivery's.
    """

    on: dt.date
    """The business date the act was done on (for a duplicate: the date asked for, or today)."""
    first_position: int
    last_position: int
    duplicate: bool


_SCALARS = frozenset({str, int, bool, type(None)})


def _plain(value: object) -> object:
    kind = type(value)
    if kind in _SCALARS:  # the usual arguments first, by exact type (a str subclass goes on)
        return value
    if kind is dt.date:
        return value.isoformat()  # type: ignore[attr-defined]
    if isinstance(value, Decimal):
        return str(value.quantize(_CENT)) if value.is_finite() else str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, BaseModel):
        return _plain(value.model_dump())
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if value is None or isinstance(value, str | int | bool):
        return value
    return str(value)


def act_request(act: str, arguments: Mapping[str, object]) -> str:
    """The canonical text of ``act`` with ``arguments``: equal for equal acts, whatever the
    spelling of an amount (``1E+2`` and ``100.00`` are one amount)."""
    body = {"act": act, **{name: _plain(v) for name, v in arguments.items()}}
    return _CANONICAL.encode(body)


_CANONICAL = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"))
"""The encoder of request texts, made once (``json.dumps`` with options makes one per call)."""


def check_same_act(key: str, recorded: str | None, request: str) -> None:
    """Refuse a key that was first delivered with another act (nothing is written)."""
    if recorded is not None and recorded != request:
        raise IdempotencyKeyReused(
            f"idempotency key {key!r} was first used for {recorded}, not for {request}"
        )
