"""The tables of the supervision service (``escrow serve``), in the event database.

They are not read models: nothing in them follows from the events, so ``escrow rebuild`` leaves
them alone and ``escrow verify`` does not compare them.

- ``api_tokens``: the bearer tokens issued to parties, as SHA-256 digests only (Art. 7: the
  supervision system's users each see what concerns them);
- ``api_responses``: the first response to each ``Idempotency-Key`` a party sent, answered again
  when the same request comes with the same key;
- ``outbox``: the messages for people (reminders, missed deadlines, deemed agreements, held
  releases), written in the same transaction as the events they come from;
- ``webhooks`` and ``outbox_deliveries``: where each party wants its messages, and how far
  delivery has come for each (at least once, retried with backoff);
- ``service_leases``: which process runs a background job (the live clock) now.

Times are UTC text (``YYYY-MM-DDTHH:MM:SS.ffffff+00:00``), as in the ``events`` table.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

_COUNTER = sa.Integer().with_variant(sa.BigInteger(), "postgresql")


class TokenRow(SQLModel, table=True):
    """A bearer token issued to one party; the secret itself is never stored."""

    __tablename__ = "api_tokens"
    id: str = Field(primary_key=True)
    """The token's public id (``tok_`` and hex), shown by ``escrow tokens list``."""
    digest: str = Field(unique=True)
    """SHA-256 of the secret, hex."""
    role: str
    """``fund_centre``, ``enterprise``, ``tenant``, ``association``, ``district`` or ``auditor``."""
    subject: str | None = None
    """Whom the party is within its role: the enterprise's id, the tenant's id (the ``tenant``
    of their contracts), a district's name (optional); None for the fund centre, the
    association and the auditor."""
    label: str = ""
    created_at: str
    revoked_at: str | None = None


class ResponseRow(SQLModel, table=True):
    """The first response to an ``Idempotency-Key`` of a party."""

    __tablename__ = "api_responses"
    party: str = Field(primary_key=True)
    key: str = Field(primary_key=True)
    request: str
    """SHA-256 of the method, the path and the body the key was first sent with."""
    status: int
    body: str
    recorded_at: str


class OutboxRow(SQLModel, table=True):
    """A message for people, written in the transaction of the event it comes from
    (:mod:`escrow.notify.outbox`). Not a read model: ``escrow rebuild`` neither writes nor
    deletes these rows, and ``escrow verify`` does not compare them."""

    __tablename__ = "outbox"
    seq: int = Field(sa_type=_COUNTER, primary_key=True, sa_column_kwargs={"autoincrement": False})
    """Order of writing (1, 2, …), given under the store's write lock: commits follow it."""
    id: str = Field(unique=True)
    """The message's id, for the receiver's de-duplication: ``msg-<position>-<n>``, the event's
    position and the notice's place among that event's notices."""
    position: int = Field(sa_type=_COUNTER)
    """The position of the event it comes from."""
    kind: str
    contract: str | None = Field(default=None, index=True)
    enterprise: str | None = Field(default=None, index=True)
    tenant: str | None = None
    """The contract's tenant (``tenant`` of its terms), None for a ledger-wide message."""
    date: str
    """The business date of the notice."""
    body: str
    """The message as JSON: exactly the bytes (UTF-8) every delivery sends and signs."""
    recorded_at: str


class WebhookRow(SQLModel, table=True):
    """Where a party wants its messages delivered (:mod:`escrow.notify.webhooks`)."""

    __tablename__ = "webhooks"
    id: str = Field(primary_key=True)
    party: str = Field(index=True)
    """``role`` or ``role:subject`` (:mod:`escrow.notify.parties`)."""
    url: str
    secret: str
    """The HMAC-SHA256 key the deliveries are signed with (the receiver holds it too)."""
    created_at: str
    removed_at: str | None = None
    seen_seq: int = Field(default=0, sa_type=_COUNTER)
    """The last outbox ``seq`` this webhook's deliveries were made for: at registration, the
    newest message then (a webhook gets what comes after it, not the history before)."""


class DeliveryRow(SQLModel, table=True):
    """How far the delivery of one message to one webhook has come."""

    __tablename__ = "outbox_deliveries"
    webhook: str = Field(primary_key=True)
    message: int = Field(
        sa_type=_COUNTER, primary_key=True, sa_column_kwargs={"autoincrement": False}
    )
    """The message's ``seq``."""
    attempts: int = 0
    """Sends tried so far (answered or not)."""
    next_attempt_at: str | None = Field(default=None, index=True)
    """When it is due (again); a deliverer that claims it moves it past its sends (a lease).
    None once delivered, or when its webhook is removed."""
    delivered_at: str | None = None
    last_error: str | None = None
    """Why the last attempt failed (the HTTP status, or the connection's error), one line."""


class LeaseRow(SQLModel, table=True):
    """A background job held by one process until ``expires_at`` (renewed while it runs)."""

    __tablename__ = "service_leases"
    name: str = Field(primary_key=True)
    holder: str
    expires_at: str


SERVICE_TABLES = (TokenRow, ResponseRow, OutboxRow, WebhookRow, DeliveryRow, LeaseRow)


def tables() -> list[sa.Table]:
    """The service tables, in creation order."""
    return [model.__table__ for model in SERVICE_TABLES]  # type: ignore[union-attr]
