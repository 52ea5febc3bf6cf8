"""The deliverer: every outbox message to every webhook of its recipients, at least once.

One round (:func:`deliver_round`):

1. **Claim**, in one write transaction of the store: make a delivery row for each message
   written since each webhook last looked (message × webhooks of its recipients,
   :mod:`escrow.notify.parties`), then take up to ``batch`` deliveries that are due
   (``next_attempt_at`` not after now) and move their ``next_attempt_at`` past the time their
   sends can take (:func:`claim_lease`). Another deliverer running at the same time does not
   see them as due: two deliverers do not send the same delivery in one round.
2. **Send** each, outside any transaction: ``POST`` of the message's JSON body with
   ``Escrow-Message-Id`` (the same on every attempt: receivers de-duplicate on it) and
   ``Escrow-Signature`` (:mod:`escrow.notify.signing`), with a short timeout.
3. **Record** each outcome at once, in its own short transaction: a ``2xx`` answer marks it
   delivered; anything else (another status, a refused connection, a time-out) counts an
   attempt, keeps the reason in ``last_error`` and makes it due again after
   :func:`retry_delay` (2, 4, 8… seconds, at most an hour). It is tried until it is delivered
   or its webhook is removed.

**At least once.** A deliverer killed between a receiver's answer and the record of it sends
that message again (same id) once its claim lapses; a deliverer killed after claiming leaves
the claimed deliveries due again when the claim lapses. Nothing is lost; a receiver may see a
message twice, and in another order than written (each body carries its event's position).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import http.client
import logging
import threading
import urllib.error
import urllib.request
from collections import defaultdict
from collections.abc import Callable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from escrow import __version__
from escrow.clock import Clock
from escrow.errors import InputError, StoreError
from escrow.notify.parties import recipients
from escrow.notify.signing import MESSAGE_ID_HEADER, SIGNATURE_HEADER, sign
from escrow.store import EventStoreLike
from escrow.store.readstore import recorded_text
from escrow.store.service_tables import DeliveryRow, OutboxRow, WebhookRow

log = logging.getLogger(__name__)
"""``escrow.notify.deliverer``: one line per round that sent something (INFO: how many were
delivered, failed, and the last failure's reason), each failed attempt (DEBUG), a round that
could not reach the database (WARNING)."""

DEFAULT_TIMEOUT_S = 10.0
"""How long one send may take (connecting and answering), by default."""
DEFAULT_BATCH = 10
"""Deliveries claimed per round, by default."""
FAN_OUT = 1000
"""Messages turned into delivery rows per round, at most."""
RETRY_CAP_S = 3600
"""The longest wait before a retry: an hour."""
MAX_ERROR = 200
"""Characters of ``last_error`` kept."""

Send = Callable[[str, bytes, Mapping[str, str], float], int]
"""How a delivery is sent: ``(url, body, headers, timeout) -> HTTP status``; raises
``OSError`` (or ``http.client.HTTPException``) when no answer came."""

_outbox: sa.Table = OutboxRow.__table__  # type: ignore[attr-defined]
_webhooks: sa.Table = WebhookRow.__table__  # type: ignore[attr-defined]
_deliveries: sa.Table = DeliveryRow.__table__  # type: ignore[attr-defined]


def retry_delay(attempts: int) -> int:
    """Seconds before the next try after ``attempts`` failed ones: ``2 ** attempts``, at most
    :data:`RETRY_CAP_S` (2, 4, 8, … 2048, then 3600 from the 12th failure on). No jitter:
    deliveries to one receiver are spread by their messages' own times already."""
    return RETRY_CAP_S if attempts >= 12 else min(RETRY_CAP_S, 2**attempts)


def claim_lease(timeout: float, batch: int) -> float:
    """How long a round's claim holds (seconds): every send of the batch timing out, and a
    second each to record them. A deliverer killed mid-round leaves its claimed deliveries
    due again after it."""
    return batch * (timeout + 1.0)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer like any other non-2xx: never followed with the body."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


def post(url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> int:
    """:data:`Send` with the standard library: ``POST`` and the answer's status."""
    request = urllib.request.Request(url, data=body, headers=dict(headers), method="POST")
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            response.read(65536)
            return int(response.status)
    except urllib.error.HTTPError as exc:  # an answer, not a 2xx one
        with exc:
            return int(exc.code)


@dataclasses.dataclass(frozen=True)
class Claimed:
    """A delivery this round took: to whom, what, and how many attempts came before."""

    webhook: str
    message: int
    attempts: int
    url: str
    secret: str
    message_id: str
    body: str


@dataclasses.dataclass(frozen=True)
class Round:
    """What one round did."""

    fanned_out: int
    """Messages turned into delivery rows."""
    claimed: int
    delivered: int
    failed: int


def deliver_round(
    store: EventStoreLike,
    *,
    clock: Clock,
    send: Send = post,
    timeout: float = DEFAULT_TIMEOUT_S,
    batch: int = DEFAULT_BATCH,
    stop: threading.Event | None = None,
) -> Round:
    """One round: claim, send, record (see the module's docstring). When ``stop`` is set
    during the round, the deliveries not sent yet are given back (due at once) and it ends."""
    if not timeout > 0 or not batch > 0:
        raise InputError("the deliverer's timeout and batch must be positive")
    fanned, claimed = claim(store, now=clock.now(), batch=batch, lease=claim_lease(timeout, batch))
    delivered = failed = 0
    last_error = ""
    for done, item in enumerate(claimed):
        if stop is not None and stop.is_set():
            release(store, claimed[done:], now=clock.now())
            break
        error = attempt(item, clock=clock, send=send, timeout=timeout)
        record(store, item, error, now=clock.now())
        if error is None:
            delivered += 1
            continue
        failed += 1
        last_error = f"; the last: {item.message_id} to {item.webhook}: {error}"
        log.debug(
            "delivery of %s to %s failed (attempt %d): %s",
            item.message_id,
            item.webhook,
            item.attempts + 1,
            error,
        )
    if claimed:
        log.info(
            "delivered %d of %d due (%d failed, to be retried%s)",
            delivered,
            len(claimed),
            failed,
            last_error,
        )
    return Round(fanned, len(claimed), delivered, failed)


def deliver_once(
    store: EventStoreLike,
    *,
    clock: Clock,
    send: Send = post,
    timeout: float = DEFAULT_TIMEOUT_S,
    batch: int = DEFAULT_BATCH,
) -> int:
    """One round (:func:`deliver_round`); how many deliveries it completed (2xx answers)."""
    return deliver_round(store, clock=clock, send=send, timeout=timeout, batch=batch).delivered


def run_deliverer(
    store: EventStoreLike,
    *,
    clock: Clock,
    stop: threading.Event,
    interval: float = 1.0,
    once: bool = False,
    send: Send = post,
    timeout: float = DEFAULT_TIMEOUT_S,
    batch: int = DEFAULT_BATCH,
) -> int:
    """Rounds until ``stop`` is set, waiting ``interval`` seconds when nothing was left to do
    (``once``: until nothing is due now, then return). A round that cannot reach the database
    is logged and tried again after ``interval`` (``once``: raised). Returns the deliveries
    completed."""
    total = 0
    while not stop.is_set():
        try:
            done = deliver_round(
                store, clock=clock, send=send, timeout=timeout, batch=batch, stop=stop
            )
        except StoreError as exc:
            if once:
                raise
            log.warning("delivery round failed, trying again in %s s: %s", interval, exc)
            stop.wait(interval)
            continue
        total += done.delivered
        busy = done.claimed >= batch or done.fanned_out >= FAN_OUT
        if busy:
            continue
        if once:
            break
        stop.wait(interval)
    return total


# --- the database side ------------------------------------------------------------------------


def claim(
    store: EventStoreLike, *, now: dt.datetime, batch: int, lease: float
) -> tuple[int, list[Claimed]]:
    """In one write transaction: the new messages' delivery rows, then up to ``batch`` due
    deliveries, claimed until ``now + lease``. Returns the messages fanned out and the claims."""
    now_text = recorded_text(now)
    until = recorded_text(now + dt.timedelta(seconds=lease))
    d, w, o = _deliveries.c, _webhooks.c, _outbox.c
    due = (
        sa.select(d.webhook, d.message, d.attempts, w.url, w.secret, o.id, o.body)
        .join(_webhooks, w.id == d.webhook)
        .join(_outbox, o.seq == d.message)
        .where(d.next_attempt_at <= now_text, w.removed_at.is_(None))
        .order_by(d.next_attempt_at, d.message, d.webhook)
        .limit(batch)
    )
    with store.transaction() as conn:
        fanned = _fan_out(conn, now_text)
        claimed = [Claimed(*row) for row in conn.execute(due).all()]
        if claimed:
            conn.execute(
                _deliveries.update()
                .where(d.webhook == sa.bindparam("w"), d.message == sa.bindparam("m"))
                .values(next_attempt_at=until),
                [{"w": c.webhook, "m": c.message} for c in claimed],
            )
    return fanned, claimed


def _fan_out(conn: Connection, now_text: str) -> int:
    """Delivery rows for the messages each live webhook has not seen yet (at most
    :data:`FAN_OUT` messages); each webhook's ``seen_seq`` moves past them. Reads the webhooks
    only when there are such messages; each message costs its recipients' webhooks only."""
    w, o = _webhooks.c, _outbox.c
    live = w.removed_at.is_(None)
    low = conn.execute(sa.select(sa.func.min(w.seen_seq)).where(live)).scalar()
    newest = conn.execute(sa.select(sa.func.max(o.seq))).scalar()
    if low is None or newest is None or newest <= low:
        return 0
    found = conn.execute(
        sa.select(o.seq, o.kind, o.enterprise, o.tenant)
        .where(o.seq > low)
        .order_by(o.seq)
        .limit(FAN_OUT)
    ).all()
    # Who receives a recipient's messages (as :func:`receives` says): its own key, and for a
    # role-wide recipient (``district``) every party of that role (``district:NAME``).
    own: dict[str, list[tuple[str, int]]] = defaultdict(list)
    of_role: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for hook, party, seen in conn.execute(sa.select(w.id, w.party, w.seen_seq).where(live)):
        own[party].append((hook, int(seen)))
        if ":" in party:
            of_role[party.partition(":")[0]].append((hook, int(seen)))
    rows: list[dict[str, Any]] = []
    for seq, kind, enterprise, tenant in found:
        for recipient in recipients(kind, enterprise, tenant):
            hooks = own.get(recipient, [])
            if ":" not in recipient:
                hooks = hooks + of_role.get(recipient, [])
            for hook, seen in hooks:
                if seen < seq:
                    rows.append(
                        {
                            "webhook": hook,
                            "message": seq,
                            "attempts": 0,
                            "next_attempt_at": now_text,
                        }
                    )
    if rows:
        conn.execute(_deliveries.insert(), rows)
    last = int(found[-1][0])
    conn.execute(_webhooks.update().where(live, w.seen_seq < last).values(seen_seq=last))
    return len(found)


def release(store: EventStoreLike, items: list[Claimed], *, now: dt.datetime) -> None:
    """Give claimed deliveries back unsent: due at once, for this deliverer or another."""
    d = _deliveries.c
    with store.transaction() as conn:
        conn.execute(
            _deliveries.update()
            .where(
                d.webhook == sa.bindparam("w"),
                d.message == sa.bindparam("m"),
                d.delivered_at.is_(None),
                d.next_attempt_at.is_not(None),
            )
            .values(next_attempt_at=recorded_text(now)),
            [{"w": c.webhook, "m": c.message} for c in items],
        )


def attempt(item: Claimed, *, clock: Clock, send: Send, timeout: float) -> str | None:
    """Send one claimed delivery; None when answered 2xx, else why not (one line)."""
    body = item.body.encode("utf-8")
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": f"escrow/{__version__}",
        MESSAGE_ID_HEADER: item.message_id,
        SIGNATURE_HEADER: sign(item.secret, body, now=clock.now()),
        "Escrow-Attempt": str(item.attempts + 1),
    }
    try:
        status = send(item.url, body, headers, timeout)
    except (OSError, http.client.HTTPException, ValueError) as exc:
        return _one_line(f"{type(exc).__name__}: {exc}")
    if 200 <= status < 300:
        return None
    return f"HTTP {status}"


def record(store: EventStoreLike, item: Claimed, error: str | None, *, now: dt.datetime) -> None:
    """The outcome of one attempt: delivered, or due again after :func:`retry_delay`."""
    d = _deliveries.c
    where = (d.webhook == item.webhook, d.message == item.message)
    with store.transaction() as conn:
        if error is None:
            conn.execute(
                _deliveries.update()
                .where(*where)
                .values(
                    attempts=d.attempts + 1,
                    delivered_at=recorded_text(now),
                    next_attempt_at=None,
                    last_error=None,
                )
            )
            return
        retry_at = now + dt.timedelta(seconds=retry_delay(item.attempts + 1))
        conn.execute(
            _deliveries.update()
            .where(*where, d.delivered_at.is_(None), d.next_attempt_at.is_not(None))
            .values(
                attempts=d.attempts + 1,
                last_error=error,
                next_attempt_at=recorded_text(retry_at),
            )
        )


def _one_line(text: str) -> str:
    line = " ".join(text.split())
    line = "".join(ch if ch.isprintable() else "?" for ch in line)
    return line if len(line) <= MAX_ERROR else line[: MAX_ERROR - 1] + "…"
