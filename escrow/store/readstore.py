"""The SQL of the read models (:mod:`escrow.store.readmodel`): what the service writes and asks.

Every function takes the connection to use: inside an act it is the store's write transaction
(:meth:`escrow.store.EventStore.transaction`), so the rows commit with their events or not at all.
Rows the acts only write (transfers, notices, refusals, held, deadlines) are collected in a
:class:`Pending` and written with one ``executemany`` per table when the transaction ends (or
before a query inside it); the rows the acts read (schedule, clock, banks, contracts,
suspensions) are written at once.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from escrow.domain.ledger import Transfer
from escrow.domain.state import ContractState
from escrow.projections import Deadline, Notice
from escrow.store import snapshots
from escrow.store.prepared import Prepared, insert_into
from escrow.store.readmodel import (
    ContractRow,
    DeadlineRow,
    EnterpriseRow,
    HeldRow,
    LedgerRow,
    NoticeRow,
    RefusalRow,
    ScheduleRow,
    StateRow,
    TransferRow,
    tables,
)

_contracts: sa.Table = ContractRow.__table__  # type: ignore[attr-defined]
_schedule: sa.Table = ScheduleRow.__table__  # type: ignore[attr-defined]
_transfers: sa.Table = TransferRow.__table__  # type: ignore[attr-defined]
_notices: sa.Table = NoticeRow.__table__  # type: ignore[attr-defined]
_refusals: sa.Table = RefusalRow.__table__  # type: ignore[attr-defined]
_held: sa.Table = HeldRow.__table__  # type: ignore[attr-defined]
_deadlines: sa.Table = DeadlineRow.__table__  # type: ignore[attr-defined]
_ledger: sa.Table = LedgerRow.__table__  # type: ignore[attr-defined]
_enterprises: sa.Table = EnterpriseRow.__table__  # type: ignore[attr-defined]
_states: sa.Table = StateRow.__table__  # type: ignore[attr-defined]

TODAY = "today"
CONTRACT_KEY = "contract:"
NOTICE_KEY = "notice:"
NOTICE_RANK, CONTRACT_RANK = 0, 1


@functools.lru_cache(maxsize=256)
def recorded_text(at: dt.datetime) -> str:
    """A recorded time as the tables keep it (UTC, microseconds: sorts as text); an append's
    rows share one, so the last few are kept."""
    return at.astimezone(dt.UTC).isoformat(timespec="microseconds")


def _upsert(
    table: sa.Table, keys: Sequence[str], columns: Sequence[str], where: str = ""
) -> Prepared:
    """``INSERT … ON CONFLICT (keys) DO UPDATE`` (SQLite 3.24+ and PostgreSQL say it alike)."""
    names = [*keys, *columns]
    sql = (
        f"INSERT INTO {table.name} ({', '.join(names)})"
        f" VALUES ({', '.join(':' + n for n in names)})"
        f" ON CONFLICT ({', '.join(keys)}) DO UPDATE SET"
        f" {', '.join(f'{c} = excluded.{c}' for c in columns)}{where}"
    )
    return Prepared(sa.text(sql))


_LEDGER_VALUE = Prepared(sa.select(_ledger.c.value).where(_ledger.c.key == sa.bindparam("key")))
_SET_LEDGER_VALUE = _upsert(_ledger, ["key"], ["value"])
_RAISE_TODAY = _upsert(_ledger, ["key"], ["value"], f" WHERE {_ledger.name}.value < excluded.value")
_SUSPENDED = Prepared(
    sa.select(_enterprises.c.suspended).where(
        _enterprises.c.enterprise == sa.bindparam("enterprise")
    )
)
_SET_SUSPENDED = _upsert(_enterprises, ["enterprise"], ["suspended"])
_ADD_CONTRACT = insert_into(_contracts)
_HAS_CONTRACT = Prepared(
    sa.select(_contracts.c.contract).where(_contracts.c.contract == sa.bindparam("contract"))
)
_BY_FILING = Prepared(
    sa.select(_contracts.c.contract).where(_contracts.c.filing_no == sa.bindparam("filing_no"))
)
_SET_DUE = _upsert(_schedule, ["key"], ["due", "rank", "seq", "recorded_at"])
_DROP_DUE = Prepared(_schedule.delete().where(_schedule.c.key == sa.bindparam("key")))
_FIRST_DUE = Prepared(
    sa.select(_schedule.c.key, _schedule.c.due, _schedule.c.account, _schedule.c.bank)
    .where(
        _schedule.c.due
        == sa.select(sa.func.min(_schedule.c.due))
        .where(_schedule.c.due <= sa.bindparam("until"))
        .scalar_subquery()
    )
    .order_by(_schedule.c.rank, _schedule.c.seq, _schedule.c.key)
)


# --- the ledger's own facts -------------------------------------------------------------------


def ledger_value(conn: Connection, key: str) -> str | None:
    value = _LEDGER_VALUE(conn, {"key": key}).scalar()
    return None if value is None else str(value)


def set_ledger_value(conn: Connection, key: str, value: str) -> None:
    _SET_LEDGER_VALUE(conn, {"key": key, "value": value})


def today(conn: Connection) -> dt.date | None:
    value = ledger_value(conn, TODAY)
    return None if value is None else dt.date.fromisoformat(value)


def raise_today(conn: Connection, day: dt.date) -> None:
    """The ledger's clock moves to ``day`` if it is later (ISO dates sort as text)."""
    _RAISE_TODAY(conn, {"key": TODAY, "value": day.isoformat()})


def suspended(conn: Connection, enterprise: str) -> bool:
    return bool(_SUSPENDED(conn, {"enterprise": enterprise}).scalar())


def set_suspended(conn: Connection, enterprise: str, value: bool) -> None:
    _SET_SUSPENDED(conn, {"enterprise": enterprise, "suspended": value})


# --- contracts --------------------------------------------------------------------------------


def add_contract(conn: Connection, row: dict[str, Any]) -> None:
    _ADD_CONTRACT(conn, row)


def contract_ids(conn: Connection) -> list[str]:
    query = sa.select(_contracts.c.contract).order_by(_contracts.c.contract)
    return [str(c) for c in conn.execute(query).scalars()]


def has_contract(conn: Connection, contract: str) -> bool:
    return _HAS_CONTRACT(conn, {"contract": contract}).first() is not None


def contract_for_filing(conn: Connection, filing_no: str) -> str | None:
    found = _BY_FILING(conn, {"filing_no": filing_no}).scalar()
    return None if found is None else str(found)


def contracts_of(conn: Connection, enterprise: str) -> list[str]:
    query = (
        sa.select(_contracts.c.contract)
        .where(_contracts.c.enterprise == enterprise)
        .order_by(_contracts.c.contract)
    )
    return [str(c) for c in conn.execute(query).scalars()]


# --- the schedule -----------------------------------------------------------------------------


def add_notice(
    conn: Connection, position: int, due: dt.date, account: str, bank: str, recorded: str
) -> None:
    row = {
        "key": f"{NOTICE_KEY}{position}",
        "due": due.isoformat(),
        "rank": NOTICE_RANK,
        "seq": position,
        "recorded_at": recorded,
        "account": account,
        "bank": bank,
    }
    conn.execute(_schedule.insert(), row)


def drop_notices(conn: Connection, account: str, bank: str) -> None:
    """Rule 18: the authority was told of the account's move to ``bank``."""
    conn.execute(
        _schedule.delete().where(
            _schedule.c.rank == NOTICE_RANK,
            _schedule.c.account == account,
            _schedule.c.bank == bank,
        )
    )


def next_day(conn: Connection) -> dt.date | None:
    """The earliest day anything is due on."""
    value = conn.execute(sa.select(sa.func.min(_schedule.c.due))).scalar()
    return None if value is None else dt.date.fromisoformat(str(value))


@dataclasses.dataclass(frozen=True)
class Due:
    """A schedule row: a contract (``contract``) or an authority notice (``account``, ``bank``)."""

    day: dt.date
    contract: str | None
    account: str | None
    bank: str | None


def due_on_first_day(conn: Connection, until: dt.date) -> list[Due]:
    """Everything due on the earliest due day that is not after ``until``, in clock order."""
    out = []
    for row in _FIRST_DUE(conn, {"until": until.isoformat()}):
        key, due, account, bank = tuple(row)
        contract = key[len(CONTRACT_KEY) :] if key.startswith(CONTRACT_KEY) else None
        out.append(Due(dt.date.fromisoformat(due), contract, account, bank))
    return out


# --- rows the acts only write -----------------------------------------------------------------


@dataclasses.dataclass
class Pending:
    """Rows collected during a transaction, written at its end (or before a query inside it).

    Each row is a tuple of its table's columns in the table's order, handed to the driver as
    it is (no dict per row: a rebuild writes about a million rows)."""

    transfers: list[tuple[Any, ...]] = dataclasses.field(default_factory=list)
    notices: list[tuple[Any, ...]] = dataclasses.field(default_factory=list)
    refusals: list[tuple[Any, ...]] = dataclasses.field(default_factory=list)
    held: dict[str, tuple[Any, ...]] = dataclasses.field(default_factory=dict)
    deadlines: dict[str, list[tuple[Any, ...]]] = dataclasses.field(default_factory=dict)
    states: dict[str, tuple[int, ContractState]] = dataclasses.field(default_factory=dict)
    """Each contract's kept state: made into its row only when written (a later one of the same
    contract, in the same transaction or rebuild chunk, replaces it unmade)."""
    dues: dict[str, tuple[Any, ...] | None] = dataclasses.field(default_factory=dict)
    """Each contract's schedule row (None: the row goes), the last of the transaction winning;
    written by :meth:`write_schedule` before the schedule is asked, and with the rest."""
    clear_until: dt.date | None = None
    """A day by which nothing is due, as the open transaction knows it (None: not known): set
    when the schedule answered so, moved back by a due day written since (:meth:`due_from`).
    The transaction's write lock keeps every other writer from the schedule meanwhile."""

    def __bool__(self) -> bool:
        return bool(
            self.transfers
            or self.notices
            or self.refusals
            or self.held
            or self.deadlines
            or self.states
            or self.dues
        )

    def set_due(self, contract: str, due: dt.date | None, recorded: str) -> None:
        """The contract's next due day (None: nothing pending, its row goes)."""
        key = CONTRACT_KEY + contract
        if due is None:
            self.dues[key] = None
            return
        self.dues[key] = (key, due.isoformat(), CONTRACT_RANK, 0, recorded)
        self.due_from(due)

    def due_from(self, due: dt.date) -> None:
        """Something falls due on ``due``: nothing is known to be clear from that day on."""
        if self.clear_until is not None and due <= self.clear_until:
            self.clear_until = due - dt.timedelta(days=1)

    def write_schedule(self, conn: Connection) -> None:
        """Write the collected schedule rows (before the schedule is asked) and forget them."""
        if not self.dues:
            return
        _DROP_DUE.many(conn, [{"key": key} for key, row in self.dues.items() if row is None])
        _SET_DUE.many_in_order(conn, [row for row in self.dues.values() if row is not None])
        self.dues = {}

    def add_transfers(self, position: int, recorded: str, transfers: Iterable[Transfer]) -> None:
        for seq, t in enumerate(transfers):
            self.transfers.append(
                (
                    position,
                    seq,
                    t.contract,
                    t.date.isoformat(),
                    recorded,
                    t.fund,
                    t.kind,
                    t.source,
                    t.target,
                    str(t.principal),
                    str(t.interest),
                    t.debit,
                    t.credit,
                    t.channel,
                )
            )

    def add_notices(self, position: int, recorded: str, notices: Iterable[Notice]) -> None:
        for seq, n in enumerate(notices):
            self.notices.append(
                (position, seq, n.contract, n.date.isoformat(), recorded, n.kind, n.fund, n.detail)
            )

    def add_refusal(
        self,
        position: int,
        recorded: str,
        day: dt.date,
        action: str,
        contract: str | None,
        enterprise: str | None,
        reason: str,
    ) -> None:
        self.refusals.append(
            (position, day.isoformat(), recorded, action, contract, enterprise, reason)
        )

    def set_held(
        self, contract: str, deposit: Decimal, rent: Decimal, day: dt.date, recorded: str
    ) -> None:
        self.held[contract] = (contract, str(deposit), str(rent), day.isoformat(), recorded)

    def set_deadlines(self, contract: str, deadlines: Iterable[Deadline], recorded: str) -> None:
        self.deadlines[contract] = [
            (contract, seq, d.date.isoformat(), recorded, d.fund, d.kind, d.detail)
            for seq, d in enumerate(deadlines)
        ]

    def set_state(self, contract: str, version: int, state: ContractState) -> None:
        """The contract's kept state (:mod:`escrow.store.snapshots`)."""
        self.states[contract] = (version, state)

    def write(self, conn: Connection) -> None:
        """Write what was collected (one ``executemany`` per table) and forget it."""
        _INSERT_TRANSFER.many_in_order(conn, self.transfers)
        _INSERT_NOTICE.many_in_order(conn, self.notices)
        _INSERT_REFUSAL.many_in_order(conn, self.refusals)
        _SET_HELD.many_in_order(conn, list(self.held.values()))
        _DROP_DEADLINES.many(conn, [{"contract": c} for c in self.deadlines])
        _INSERT_DEADLINE.many_in_order(
            conn, [row for rows in self.deadlines.values() for row in rows]
        )
        _SET_STATE.many_in_order(
            conn, [(c, v, snapshots.dump(s)) for c, (v, s) in self.states.items()]
        )
        self.write_schedule(conn)
        self.transfers, self.notices, self.refusals = [], [], []
        self.held, self.deadlines, self.states = {}, {}, {}


_INSERT_TRANSFER = insert_into(_transfers)
_INSERT_NOTICE = insert_into(_notices)
_INSERT_REFUSAL = insert_into(_refusals)
_SET_HELD = _upsert(_held, ["contract"], ["deposit", "rent", "date", "recorded_at"])
_SET_STATE = _upsert(_states, ["contract"], ["version", "state"])
_STATE_OF = Prepared(
    sa.select(_states.c.version, _states.c.state).where(
        _states.c.contract == sa.bindparam("contract")
    )
)


def kept_state(conn: Connection, contract: str) -> tuple[int, str] | None:
    """The contract's kept state (its version, its JSON), None when it has none yet."""
    row = _STATE_OF(conn, {"contract": contract}).first()
    return None if row is None else (int(row[0]), str(row[1]))


_INSERT_DEADLINE = insert_into(_deadlines)
_DROP_DEADLINES = Prepared(
    _deadlines.delete().where(_deadlines.c.contract == sa.bindparam("contract"))
)


# --- queries ----------------------------------------------------------------------------------


def _filtered(
    table: sa.Table,
    query: sa.Select[Any],
    contract: str | None,
    as_of: dt.date | None,
    known_at: dt.datetime | None,
) -> sa.Select[Any]:
    if contract is not None:
        query = query.where(table.c.contract == contract)
    if as_of is not None:
        query = query.where(table.c.date <= as_of.isoformat())
    if known_at is not None:
        query = query.where(table.c.recorded_at <= recorded_text(known_at))
    return query


_TRANSFER_COLUMNS = (
    "date",
    "contract",
    "fund",
    "kind",
    "source",
    "target",
    "principal",
    "interest",
    "debit",
    "credit",
    "channel",
)


def transfers(
    conn: Connection,
    contract: str | None,
    as_of: dt.date | None,
    known_at: dt.datetime | None,
) -> Iterator[Transfer]:
    """Transfers in the order executed (position, then order within the event)."""
    columns = [_transfers.c[name] for name in _TRANSFER_COLUMNS]
    query = _filtered(_transfers, sa.select(*columns), contract, as_of, known_at)
    query = query.order_by(_transfers.c.position, _transfers.c.seq)
    for row in conn.execute(query):
        yield Transfer(
            dt.date.fromisoformat(row[0]),
            row[1],
            row[2],
            row[3],
            row[4],
            row[5],
            Decimal(row[6]),
            Decimal(row[7]),
            row[8],
            row[9],
            row[10],
        )


def notices(
    conn: Connection,
    contract: str | None,
    as_of: dt.date | None,
    known_at: dt.datetime | None,
) -> Iterator[Notice]:
    c = _notices.c
    query = _filtered(
        _notices, sa.select(c.date, c.kind, c.contract, c.fund, c.detail), contract, as_of, known_at
    )
    for date, kind, contract_id, fund, detail in conn.execute(query.order_by(c.position, c.seq)):
        yield Notice(dt.date.fromisoformat(date), kind, contract_id, fund, detail)


def refusals(conn: Connection) -> Iterator[tuple[dt.date, str, str | None, str, str | None]]:
    c = _refusals.c
    query = sa.select(c.date, c.action, c.contract, c.reason, c.enterprise).order_by(c.position)
    for date, action, contract, reason, enterprise in conn.execute(query):
        yield dt.date.fromisoformat(date), action, contract, reason, enterprise


def held(conn: Connection) -> Iterator[tuple[str, Decimal, Decimal]]:
    c = _held.c
    for contract, deposit, rent in conn.execute(
        sa.select(c.contract, c.deposit, c.rent).order_by(c.contract)
    ):
        yield contract, Decimal(deposit), Decimal(rent)


def deadlines(conn: Connection, contract: str | None) -> list[Deadline]:
    c = _deadlines.c
    query = sa.select(c.date, c.contract, c.fund, c.kind, c.detail)
    if contract is not None:
        query = query.where(c.contract == contract)
    return [
        Deadline(dt.date.fromisoformat(date), cid, fund, kind, detail)
        for date, cid, fund, kind, detail in conn.execute(query.order_by(c.contract, c.seq))
    ]


def clear(conn: Connection) -> None:
    """Delete every read-model row (before a rebuild)."""
    for table in tables():
        conn.execute(table.delete())
