"""Bearer tokens: issued to one party each, stored only as SHA-256 digests, revocable.

A token reads ``esc_<id>_<secret>``: the id (public, shown by ``escrow tokens list``) finds the
row, and the secret's SHA-256 is compared with the stored digest in constant time
(:func:`hmac.compare_digest`). The secret is shown once, when the token is created; a lost token
is revoked and another created.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
import re
import secrets
from typing import Any

import sqlalchemy as sa

from escrow.api.parties import Party, Role, party
from escrow.errors import InputError
from escrow.identifiers import check_line
from escrow.store.prepared import Prepared
from escrow.store.protocol import EventStoreLike
from escrow.store.service_tables import TokenRow

PREFIX = "esc_"
_TOKEN = re.compile(r"esc_([0-9a-f]{12})_([A-Za-z0-9_-]{43})")
_TABLE: sa.Table = TokenRow.__table__  # type: ignore[attr-defined]
_DUMMY_DIGEST = hashlib.sha256(b"no such token").hexdigest()
_TOKEN_BY_ID = Prepared(
    sa.select(_TABLE.c.digest, _TABLE.c.role, _TABLE.c.subject, _TABLE.c.revoked_at).where(
        _TABLE.c.id == sa.bindparam("id")
    )
)


class UnknownToken(InputError):
    """No token with this id."""


@dataclasses.dataclass(frozen=True, slots=True)
class IssuedToken:
    """A token as stored: who it was issued to and when (never its secret)."""

    id: str
    party: Party
    label: str
    created_at: str
    revoked_at: str | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _issued(row: Any) -> IssuedToken:
    return IssuedToken(
        row.id, Party(Role(row.role), row.subject), row.label, row.created_at, row.revoked_at
    )


_COLUMNS = (
    _TABLE.c.id,
    _TABLE.c.role,
    _TABLE.c.subject,
    _TABLE.c.label,
    _TABLE.c.created_at,
    _TABLE.c.revoked_at,
)


def create_token(
    store: EventStoreLike, role: str, subject: str | None, *, label: str = "", now: dt.datetime
) -> tuple[IssuedToken, str]:
    """Issue a token to the party ``role``/``subject``: the stored token and the token itself
    (shown once)."""
    who = party(role, subject)
    label = check_line(label, "label") if label else ""
    token_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    created = now.isoformat()
    with store.transaction() as conn:
        conn.execute(
            _TABLE.insert().values(
                id=token_id,
                digest=_digest(secret),
                role=who.role.value,
                subject=who.subject,
                label=label,
                created_at=created,
                revoked_at=None,
            )
        )
    return IssuedToken(token_id, who, label, created, None), f"{PREFIX}{token_id}_{secret}"


def list_tokens(store: EventStoreLike) -> list[IssuedToken]:
    """Every token issued, revoked ones included, in the order they were created."""
    with store.connection() as conn:
        rows = conn.execute(sa.select(*_COLUMNS).order_by(_TABLE.c.created_at, _TABLE.c.id))
        return [_issued(row) for row in rows]


def revoke_token(store: EventStoreLike, token_id: str, *, now: dt.datetime) -> IssuedToken:
    """Revoke the token ``token_id`` (its next request is refused); revoking twice keeps the
    first time. UnknownToken when there is none."""
    with store.transaction() as conn:
        row = conn.execute(sa.select(*_COLUMNS).where(_TABLE.c.id == token_id)).first()
        if row is None:
            raise UnknownToken(f"token: no token with id {token_id!r}")
        if row.revoked_at is None:
            conn.execute(
                _TABLE.update().where(_TABLE.c.id == token_id).values(revoked_at=now.isoformat())
            )
        return dataclasses.replace(_issued(row), revoked_at=row.revoked_at or now.isoformat())


def authenticate(store: EventStoreLike, token: str) -> Party | None:
    """The party ``token`` was issued to; None for a malformed, unknown or revoked token.

    The digest is compared in constant time, and an unknown id costs the same comparison."""
    match = _TOKEN.fullmatch(token)
    if match is None:
        return None
    token_id, secret = match.groups()
    with store.connection() as conn:  # every request: compiled once, run on the driver
        row = _TOKEN_BY_ID(conn, {"id": token_id}).first()
    stored = str(row[0]) if row is not None else _DUMMY_DIGEST
    matches = hmac.compare_digest(_digest(secret), stored)
    if row is None or not matches or row[3] is not None:
        return None
    return Party(Role(row[1]), row[2])
