"""``Idempotency-Key``, as payment APIs do it.

Every write takes the header. The first response to a key (its status and body) is kept per
party; the same key with the same request (method, path and body) gets that response again, with
``Idempotent-Replayed: true``; the same key with another request is ``422``
(:class:`~escrow.errors.IdempotencyKeyReused`). Only answers of acts that reached the ledger are
kept (done, or refused by a rule and recorded as refused): a request refused before it reached
the ledger (malformed, unauthorised, another party's contract) may be sent again with the same
key once it is corrected.

The ledger keeps the act with the key too (``http:<party>:<key>``), in the act's own transaction,
so an act is never done twice: should the process die after the act committed and before its
response was kept, the retry finds the act done and answers with its positions, marked
``duplicate``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib

import sqlalchemy as sa

from escrow.api.parties import Party
from escrow.api.problems import Problem
from escrow.errors import IdempotencyKeyReused
from escrow.identifiers import id_problem
from escrow.store.prepared import Prepared
from escrow.store.protocol import EventStoreLike
from escrow.store.service_tables import ResponseRow

HEADER = "Idempotency-Key"
_TABLE: sa.Table = ResponseRow.__table__  # type: ignore[attr-defined]
_KEPT = Prepared(
    sa.select(_TABLE.c.request, _TABLE.c.status, _TABLE.c.body).where(
        _TABLE.c.party == sa.bindparam("party"), _TABLE.c.key == sa.bindparam("key")
    )
)
_KEEP = Prepared(_TABLE.insert())
"""Compiled once (:mod:`escrow.store.prepared`): every write runs one or both."""


@dataclasses.dataclass(frozen=True, slots=True)
class Kept:
    status: int
    body: bytes


def check_key(key: str | None) -> str:
    """The header's value; ``400`` when it is missing or not a one-line id."""
    if key is None:
        raise Problem(400, "MissingIdempotencyKey", f"a write needs an {HEADER} header")
    problem = id_problem(key)
    if problem is not None:
        raise Problem(400, "MalformedRequest", f"{HEADER}: {problem}")
    return key


def fingerprint(method: str, path: str, body: bytes) -> str:
    """What a key stands for: the method, the path and the body's bytes."""
    return hashlib.sha256(b"\0".join([method.encode(), path.encode(), body])).hexdigest()


def ledger_key(party: Party, key: str) -> str:
    """The key the ledger records the act under: the party's own namespace."""
    return f"http:{party.key}:{key}"


def kept(store: EventStoreLike, party: Party, key: str, request: str) -> Kept | None:
    """The response kept for ``key``; IdempotencyKeyReused when it was sent with another
    request; None when it is new."""
    with store.connection() as conn:
        row = _KEPT(conn, {"party": party.key, "key": key}).first()
    if row is None:
        return None
    kept_request, status, body = row
    if kept_request != request:
        raise IdempotencyKeyReused(
            f"{HEADER} {key!r} was sent before with another request: a key stands for one request"
        )
    return Kept(int(status), str(body).encode())


def keep(
    store: EventStoreLike,
    party: Party,
    key: str,
    request: str,
    response: Kept,
    now: dt.datetime,
) -> Kept:
    """Keep ``response`` for ``key`` unless one was kept first (by a concurrent request with
    the same key); the response that is kept."""
    with store.transaction() as conn:
        found = _KEPT(conn, {"party": party.key, "key": key}).first()
        if found is not None:
            return Kept(int(found[1]), str(found[2]).encode())
        _KEEP(
            conn,
            {
                "party": party.key,
                "key": key,
                "request": request,
                "status": response.status,
                "body": response.body.decode(),
                "recorded_at": now.isoformat(),
            },
        )
    return response
