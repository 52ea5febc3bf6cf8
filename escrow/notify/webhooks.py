"""Webhooks: where each party wants its messages (``escrow webhooks``, the HTTP API).

A webhook is a URL registered for one party key (:mod:`escrow.notify.parties`) with a secret
that signs every delivery (:mod:`escrow.notify.signing`). It gets the messages written after
its registration whose recipients include its party, not the history before; a removed webhook
gets nothing more (its pending deliveries stop). The secret is kept in the database, as it
must be to sign; it is shown once, when the webhook is added, and never listed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import secrets as random_secrets
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa

from escrow.errors import InputError, UnknownWebhook
from escrow.notify.parties import check_party
from escrow.store import EventStoreLike
from escrow.store.readstore import recorded_text
from escrow.store.service_tables import DeliveryRow, OutboxRow, WebhookRow

_webhooks: sa.Table = WebhookRow.__table__  # type: ignore[attr-defined]
_deliveries: sa.Table = DeliveryRow.__table__  # type: ignore[attr-defined]
_outbox: sa.Table = OutboxRow.__table__  # type: ignore[attr-defined]

SECRET_BYTES = 32
"""A generated secret: 32 random bytes, as 64 hex characters."""
MIN_SECRET_LENGTH = 16
MAX_SECRET_LENGTH = 256
MAX_URL_LENGTH = 2048


@dataclasses.dataclass(frozen=True)
class Webhook:
    """A registered webhook, without its secret."""

    id: str
    party: str
    url: str
    created_at: dt.datetime
    removed_at: dt.datetime | None = None


def check_url(value: object, where: str = "url") -> str:
    """``value`` if it is an absolute http or https URL with a host, on one line; a one-line
    :class:`~escrow.errors.InputError` naming ``where`` if not."""
    if not isinstance(value, str):
        raise InputError(f"{where}: must be a string, got {type(value).__name__}")
    shown = repr(value) if len(value) <= 60 else repr(value[:57]) + "…"
    if not value.isprintable() or any(ch.isspace() for ch in value):
        raise InputError(f"{where}: {shown} has spaces, line breaks or control characters")
    if len(value) > MAX_URL_LENGTH:
        raise InputError(f"{where}: longer than {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(value)
        host = parts.hostname
        parts.port  # noqa: B018  # raises ValueError for a port out of range
    except ValueError as exc:
        raise InputError(f"{where}: {shown} is not a URL: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise InputError(f"{where}: {shown}: only http:// and https:// URLs are accepted")
    if not host:
        raise InputError(f"{where}: {shown} has no host")
    if parts.fragment:
        raise InputError(f"{where}: {shown} has a #fragment, which is never sent")
    return value


def check_secret(value: object, where: str = "secret") -> str:
    """A secret given by the party: printable ASCII without spaces, 16 to 256 characters."""
    if not isinstance(value, str):
        raise InputError(f"{where}: must be a string, got {type(value).__name__}")
    if not value.isascii() or not value.isprintable() or any(ch.isspace() for ch in value):
        raise InputError(f"{where}: must be printable ASCII without spaces")
    if not MIN_SECRET_LENGTH <= len(value) <= MAX_SECRET_LENGTH:
        raise InputError(
            f"{where}: must be {MIN_SECRET_LENGTH} to {MAX_SECRET_LENGTH} characters long"
        )
    return value


def _time(value: object, where: str) -> dt.datetime:
    if not isinstance(value, dt.datetime) or value.tzinfo is None:
        raise InputError(f"{where}: must be a timezone-aware datetime")
    return value


def add_webhook(
    store: EventStoreLike, party: str, url: str, *, secret: str | None = None, now: dt.datetime
) -> tuple[Webhook, str]:
    """Register ``url`` for ``party``; returns the webhook and its secret (generated when
    ``secret`` is None: 32 random bytes as hex). It gets the messages written from now on."""
    party, url = check_party(party), check_url(url)
    secret = check_secret(secret) if secret is not None else random_secrets.token_hex(SECRET_BYTES)
    now = _time(now, "now")
    webhook = Webhook(f"wh_{random_secrets.token_hex(8)}", party, url, now)
    with store.transaction() as conn:
        newest = conn.execute(sa.select(sa.func.coalesce(sa.func.max(_outbox.c.seq), 0))).scalar()
        conn.execute(
            _webhooks.insert().values(
                id=webhook.id,
                party=party,
                url=url,
                secret=secret,
                created_at=recorded_text(now),
                seen_seq=int(newest or 0),
            )
        )
    return webhook, secret


def _webhook(row: Sequence[Any]) -> Webhook:
    ident, party, url, created, removed = row
    removed_at = None if removed is None else dt.datetime.fromisoformat(removed)
    return Webhook(ident, party, url, dt.datetime.fromisoformat(created), removed_at)


_COLUMNS = (_webhooks.c.id, _webhooks.c.party, _webhooks.c.url, _webhooks.c.created_at)


def list_webhooks(
    store: EventStoreLike, party: str | None = None, *, removed: bool = False
) -> list[Webhook]:
    """The webhooks (of ``party`` only, when given) in order of registration; ``removed``:
    the removed ones too."""
    query = sa.select(*_COLUMNS, _webhooks.c.removed_at)
    if party is not None:
        query = query.where(_webhooks.c.party == check_party(party))
    if not removed:
        query = query.where(_webhooks.c.removed_at.is_(None))
    with store.connection() as conn:
        rows = conn.execute(query.order_by(_webhooks.c.created_at, _webhooks.c.id)).all()
    return [_webhook(tuple(row)) for row in rows]


def remove_webhook(
    store: EventStoreLike, webhook_id: str, *, party: str | None = None, now: dt.datetime
) -> Webhook:
    """Remove a webhook (of ``party``, when given): it gets nothing more, and its pending
    deliveries stop. An unknown id, one removed already or another party's is
    :class:`~escrow.errors.UnknownWebhook` (a party never learns of another's webhooks)."""
    if party is not None:
        party = check_party(party)
    now = _time(now, "now")
    if not isinstance(webhook_id, str):
        raise UnknownWebhook(f"unknown webhook {webhook_id!r}")
    with store.transaction() as conn:
        query = sa.select(*_COLUMNS).where(
            _webhooks.c.id == webhook_id, _webhooks.c.removed_at.is_(None)
        )
        if party is not None:
            query = query.where(_webhooks.c.party == party)
        row = conn.execute(query).first()
        if row is None:
            shown = repr(webhook_id) if len(webhook_id) <= 60 else repr(webhook_id[:57]) + "…"
            raise UnknownWebhook(f"unknown webhook {shown}")
        removed_at = recorded_text(now)
        conn.execute(
            _webhooks.update().where(_webhooks.c.id == webhook_id).values(removed_at=removed_at)
        )
        conn.execute(
            _deliveries.update()
            .where(_deliveries.c.webhook == webhook_id, _deliveries.c.delivered_at.is_(None))
            .values(next_attempt_at=None)
        )
    return _webhook((*tuple(row), removed_at))
