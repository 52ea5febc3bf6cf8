"""Projecting events into the read models: the one place where an event becomes rows.

:func:`project_event` writes what one event adds (transfers, notices, refusals, the contract's
row, the clock's facts, suspensions, pending notices to the authority); :func:`project_contract`
what a contract's state is now (held, open deadlines, next due day). The service calls both in
the transaction that appends the events; :func:`rebuild` calls them for every stored event.
"""

from __future__ import annotations

import datetime as dt
import itertools
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from escrow.collector import collector_paused
from escrow.domain import events as ev
from escrow.domain.decide import next_due
from escrow.domain.ledger import Transfer, transfers_of
from escrow.domain.state import ContractState, evolve, open_state
from escrow.errors import IntegrityError
from escrow.projections import deadlines_of, notices_of
from escrow.store import READ_MODELS_KEY, EventStoreLike, StoredEvent, readstore, snapshots
from escrow.store.readmodel import tables

LEDGER = "ledger"
CONTRACT = "contract:"
ENTERPRISE = "enterprise:"
BANK = "bank:"
INITIAL_BANK = "initial"
REBUILD_CHUNK = 20_000
"""Events read from the store at a time by a rebuild (bounds its memory on a long history)."""

OFF_THE_CLOCK = frozenset({ev.LedgerConfigured, ev.ActionRefused})
"""Events whose date does not move the ledger's clock (by exact type: events are final)."""


def project_event(
    conn: Connection,
    pending: readstore.Pending,
    stream: str,
    position: int,
    event: ev.Event,
    before: ContractState | None,
    recorded: str,
    transfers: list[Transfer] | None = None,
) -> None:
    """The rows ``event`` (stored at ``position`` on ``stream``) adds; ``before`` is its
    contract's state just before it (None for other streams and for the opening), and
    ``transfers`` its transfers when the decision computed them already."""
    kind = type(event)
    if stream.startswith(CONTRACT):
        contract = stream[len(CONTRACT) :]
        if before is not None:
            if transfers is None:
                transfers = transfers_of(before, event)
            pending.add_transfers(position, recorded, transfers)
        pending.add_notices(position, recorded, notices_of(contract, event))
        if kind is ev.ContractOpened:
            assert isinstance(event, ev.ContractOpened)
            readstore.add_contract(
                conn,
                {
                    "contract": contract,
                    "enterprise": event.terms.enterprise,
                    "tenant": event.terms.tenant,
                    "filing_no": event.terms.filing_no,
                    "opened_on": event.on.isoformat(),
                    "recorded_at": recorded,
                },
            )
        return
    pending.add_notices(position, recorded, notices_of(None, event))
    if stream.startswith(ENTERPRISE):
        if kind is ev.ReleasesSuspended or kind is ev.ReleasesResumed:
            enterprise = stream[len(ENTERPRISE) :]
            readstore.set_suspended(conn, enterprise, kind is ev.ReleasesSuspended)
        return
    match event:
        case ev.AccountChanged(account=account, bank=bank, notice_due=due):
            readstore.set_ledger_value(conn, BANK + account, bank)
            readstore.add_notice(conn, position, due, account, bank, recorded)
            pending.due_from(due)
        case ev.AuthorityNoticeDue(account=account, bank=bank):
            readstore.drop_notices(conn, account, bank)
        case ev.ActionRefused():
            pending.add_refusal(
                position,
                recorded,
                event.on,
                event.action,
                event.contract,
                event.enterprise,
                event.reason,
            )
        case _:
            pass


def project_contract(
    pending: readstore.Pending,
    contract: str,
    state: ContractState,
    day: dt.date,
    recorded: str,
) -> None:
    """The contract's current rows: what it holds, its open deadlines, its next due day."""
    pending.set_held(contract, state.held("deposit"), state.held("rent"), day, recorded)
    pending.set_deadlines(contract, deadlines_of(state), recorded)
    pending.set_due(contract, next_due(state), recorded)


def folded(state: ContractState | None, stored: StoredEvent) -> ContractState:
    """``state`` with the contract event ``stored`` folded in (IntegrityError if it cannot be)."""
    try:
        if type(stored.event) is ev.ContractOpened:
            return open_state(stored.event)
        if state is None:
            raise KeyError(stored.stream)
        return evolve(state, stored.event)
    except (KeyError, ValueError, TypeError, AttributeError, AssertionError):
        raise unfoldable(stored) from None


def unfoldable(stored: StoredEvent) -> IntegrityError:
    """A stored event the ledger cannot fold: the store was changed (``escrow verify`` says how)."""
    return IntegrityError(
        f"cannot read the ledger: the event at position {stored.position}"
        f" ({stored.event.type} on stream {stored.stream!r}) does not follow from the ones"
        " before it; run `escrow verify`"
    )


Replayed = tuple[StoredEvent, ContractState | None, ContractState | None]


def replayed(store: EventStoreLike) -> Iterator[Replayed]:
    """Every stored event in position order, with its contract's state just before it (None
    for other streams and the opening) and just after it (None for other streams). Keeps every
    contract's state: a rebuild's memory."""
    states: dict[str, ContractState] = {}
    position = 0
    while True:
        chunk = store.read_all(after_position=position, limit=REBUILD_CHUNK)
        for stored in chunk:
            before = after = None
            if stored.stream.startswith(CONTRACT):
                contract = stored.stream[len(CONTRACT) :]
                before = states.get(contract)
                after = states[contract] = folded(before, stored)
            yield stored, before, after
            position = stored.position
        if len(chunk) < REBUILD_CHUNK:
            return


def rebuild_into(store: EventStoreLike, conn: Connection) -> dict[str, int]:
    """Fill the read-model tables seen by ``conn`` from ``store``'s events alone (deleting
    what they held first). ``conn`` is the store's own transaction (``escrow rebuild``) or a
    private database's (:func:`private_read_models`, for ``replay`` and ``verify``).
    Returns how many events and contracts it went through."""
    with collector_paused():
        return _rebuild_into(store, conn)


def _rebuild_into(store: EventStoreLike, conn: Connection) -> dict[str, int]:
    pending = readstore.Pending()
    states: dict[str, tuple[ContractState, dt.date, str]] = {}
    latest: dt.date | None = None
    events = 0
    readstore.clear(conn)
    at: dt.datetime | None = None
    recorded = ""
    for stored, before, after in replayed(store):
        if stored.recorded_at is not at:  # an append's rows share one recorded time
            at = stored.recorded_at
            recorded = readstore.recorded_text(at)
        project_event(conn, pending, stored.stream, stored.position, stored.event, before, recorded)
        if after is not None:
            contract = stored.stream[len(CONTRACT) :]
            states[contract] = (after, stored.event.on, recorded)
            if stored.version % snapshots.SNAPSHOT_EVERY == 0:
                pending.set_state(contract, stored.version, after)
        if type(stored.event) not in OFF_THE_CLOCK and (latest is None or stored.event.on > latest):
            latest = stored.event.on
        events += 1
        if len(pending.transfers) + len(pending.notices) > REBUILD_CHUNK:
            pending.write(conn)
    for contract, (state, day, recorded) in states.items():
        project_contract(pending, contract, state, day, recorded)
        if len(pending.held) > REBUILD_CHUNK:
            pending.write(conn)
    if latest is not None:
        readstore.set_ledger_value(conn, readstore.TODAY, latest.isoformat())
    pending.write(conn)
    return {"events": events, "contracts": len(states)}


def rebuild(store: EventStoreLike) -> dict[str, int]:
    """Every read model of the ledger made again from its events alone, in one transaction
    (all or none); clears the ``read_models`` mark a migration set."""
    with store.transaction() as conn:
        counts = rebuild_into(store, conn)
        store.set_meta(conn, READ_MODELS_KEY, None)
    return counts


@contextmanager
def private_read_models() -> Iterator[Connection]:
    """An empty set of read-model tables in a private temporary SQLite database, inside one
    transaction; the database is deleted at the end."""
    with tempfile.TemporaryDirectory(prefix="escrow-rebuild-") as tmp:
        engine = sa.create_engine(f"sqlite:///{Path(tmp) / 'read-models.db'}")
        try:
            with engine.begin() as conn:
                for table in tables():
                    table.create(conn)
                yield conn
        finally:
            engine.dispose()


def drift(store: EventStoreLike) -> list[str]:
    """Where the ledger's read models differ from a rebuild from its events: one line per table
    that differs (its first differing row and the number of rows each side), [] when none.

    The rebuild goes to a private temporary database; both sides are read in key order and
    compared row by row, so memory stays bounded whatever the size of the tables."""
    found: list[str] = []
    with private_read_models() as rebuilt:
        rebuild_into(store, rebuilt)
        with store.connection() as ledger:
            for table in tables():
                keys = list(table.primary_key.columns)
                query = sa.select(*table.columns).order_by(*keys)
                line = _table_drift(table.name, ledger.execute(query), rebuilt.execute(query))
                if line is not None:
                    found.append(line)
    return found


def _table_drift(name: str, stored: Iterable[Any], rebuilt: Iterable[Any]) -> str | None:
    first: str | None = None
    counts = [0, 0]
    for mine, theirs in itertools.zip_longest(stored, rebuilt):
        counts[0] += mine is not None
        counts[1] += theirs is not None
        if first is None and (mine is None or theirs is None or tuple(mine) != tuple(theirs)):
            shown = tuple(mine) if mine is not None else "nothing"
            expected = tuple(theirs) if theirs is not None else "nothing"
            first = f"holds {shown} where the events give {expected}"
    if first is None:
        return None
    return f"read model {name}: {first} ({counts[0]} rows stored, {counts[1]} from the events)"
