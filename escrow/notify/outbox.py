"""The outbox: messages for people, written in the same transaction as their events.

When an act (or the clock running inside it) appends an event that gives rise to a notice of
one of :data:`MESSAGE_KINDS`, the ledger collects a message (:class:`Outbox`) and writes it to
the ``outbox`` table with the act's read models, in the act's write transaction: a crash leaves
the events and their messages, or neither. :mod:`escrow.notify.deliverer` then delivers them.

Which notices become messages (the issue names reminders, missed deadlines, deemed agreements
and held releases):

- ``reminder``, ``enterprise_deadline_missed``, ``deemed_agreed`` and ``releases_held``: each is
  the clock acting on a contract when nobody did (rules 3 to 6, Art. 10 and 15; Art. 20), and
  the parties learn of it from nowhere else;
- ``authority_notice_due`` (rule 18, Art. 18) too: the clock's reminder to the fund centre that a
  moved account must be notified to the housing authority by that day;
- not the payment flags (``short_payment``, ``late_payment``, ``excess_payment``): they come out
  of the fund centre's own bank notice and are in that act's answer; as messages they would
  follow nearly every rent payment;
- not ``provisional_deadline``: a caveat on a deadline that the deadline's own message (or the
  act's answer) already carries.

Not read models: ``escrow rebuild``, ``replay`` and ``verify`` fold the events without writing
messages (a rebuild that sent every reminder again would be a delivery, not a read model), and
``verify``'s drift check leaves the table alone. Migrating an older ledger to schema version 4
does not write messages for its history either: the outbox starts empty, with the first act
after the migration.

The cost to an act: one type test per event appended; for an act with messages, one
``SELECT max(seq)`` and one ``executemany`` at the end of its transaction.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from escrow.domain import events as ev
from escrow.domain.terms import ContractTerms
from escrow.notify.parties import CONTRACT_KINDS, LEDGER_KINDS
from escrow.projections import notices_of
from escrow.store.prepared import Prepared, insert_into
from escrow.store.service_tables import OutboxRow

MESSAGE_KINDS = CONTRACT_KINDS | LEDGER_KINDS
"""The notice kinds that become messages (see the module's docstring)."""

MESSAGE_EVENTS = frozenset(
    {
        ev.ReminderIssued,
        ev.EnterpriseDeadlineMissed,
        ev.DeemedAgreed,
        ev.PayoutInstructed,
        ev.PayoutsHeld,
        ev.AuthorityNoticeDue,
    }
)
"""The events that can give rise to a message (by exact type: events are final classes)."""

CONTRACT_STREAM = "contract:"

_outbox: sa.Table = OutboxRow.__table__  # type: ignore[attr-defined]
_LAST_SEQ = Prepared(sa.select(sa.func.coalesce(sa.func.max(_outbox.c.seq), 0)))
_INSERT = insert_into(_outbox)


def message_id(position: int, n: int) -> str:
    """The id of the ``n``-th notice (0-based, as in the notices read model) of the event at
    ``position``: unique within a ledger, and the same however often it is delivered."""
    return f"msg-{position}-{n}"


def body_of(row: dict[str, Any]) -> str:
    """A message's JSON text: sorted keys, no spaces, UTF-8 characters as they are."""
    return json.dumps(row, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


class Outbox:
    """Messages collected during a transaction, written at its end (:meth:`write`)."""

    __slots__ = ("rows",)

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def __bool__(self) -> bool:
        return bool(self.rows)

    def add(
        self,
        stream: str,
        position: int,
        event: ev.Event,
        terms: ContractTerms | None,
        recorded: str,
    ) -> None:
        """The messages of ``event`` (stored at ``position`` on ``stream``, recorded at
        ``recorded``); ``terms``: its contract's terms (None off a contract's stream)."""
        contract = stream[len(CONTRACT_STREAM) :] if stream.startswith(CONTRACT_STREAM) else None
        for n, notice in enumerate(notices_of(contract, event)):
            if notice.kind not in MESSAGE_KINDS:
                continue
            enterprise = terms.enterprise if terms is not None else None
            tenant = terms.tenant if terms is not None else None
            identifier = message_id(position, n)
            body = {
                "id": identifier,
                "kind": notice.kind,
                "date": notice.date.isoformat(),
                "contract": notice.contract,
                "filing_no": terms.filing_no if terms is not None else None,
                "enterprise": enterprise,
                "tenant": tenant,
                "fund": notice.fund,
                "detail": notice.detail,
                "position": position,
                "recorded_at": recorded,
            }
            self.rows.append(
                {
                    "id": identifier,
                    "position": position,
                    "kind": notice.kind,
                    "contract": notice.contract,
                    "enterprise": enterprise,
                    "tenant": tenant,
                    "date": notice.date.isoformat(),
                    "body": body_of(body),
                    "recorded_at": recorded,
                }
            )

    def write(self, conn: Connection) -> None:
        """Write the collected messages in ``conn``'s transaction (numbered after the last one
        written: the store's write lock makes the numbers follow the commits) and forget them."""
        if not self.rows:
            return
        last = int(_LAST_SEQ(conn).scalar())
        for seq, row in enumerate(self.rows, start=last + 1):
            row["seq"] = seq
        _INSERT.many(conn, self.rows)
        self.rows = []

    def clear(self) -> None:
        self.rows = []


def messages(conn: Connection, after: int = 0, limit: int | None = None) -> Iterator[OutboxRow]:
    """The messages after ``seq`` ``after``, in order (for the deliverer, the API and tests)."""
    query = sa.select(*_outbox.columns).where(_outbox.c.seq > after).order_by(_outbox.c.seq)
    if limit is not None:
        query = query.limit(limit)
    for row in conn.execute(query).mappings():
        yield OutboxRow(**row)
