"""The read models: tables in the event database, written in the same transaction as the events.

Every row comes from events and carries the business date (``date``) and the time its events were
recorded (``recorded_at``, UTC text as in the ``events`` table), so that ``as_of`` and
``known_at`` are SQL filters. They are rebuilt from the events alone by ``escrow rebuild``, and
``escrow verify`` compares them with a rebuild.

The tables are SQLModel classes (typed rows on SQLAlchemy); they are written with precompiled
Core statements straight to the driver (one ``executemany`` per table per transaction), because
an ORM object per row would cost more than the event itself.

Rows are per contract (or per event), never a total that several streams update: a shared totals
row serialises every writer and loses updates under contention. Totals are queries.

Money is text: the exact decimal yuan (``"1234.56"``), as in the events.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

_COUNTER = sa.Integer().with_variant(sa.BigInteger(), "postgresql")
_ONE_BTREE = {"sqlite_with_rowid": False}
"""SQLite: the primary key is the table (one B-tree to write per row, not a table and its key
index): fewer pages per commit. PostgreSQL ignores it."""


class ContractRow(SQLModel, table=True):
    """One row per contract: who it is between and its filing number (Art. 19)."""

    __tablename__ = "rm_contracts"
    __table_args__ = _ONE_BTREE
    contract: str = Field(primary_key=True)
    enterprise: str = Field(index=True)
    tenant: str
    filing_no: str = Field(unique=True)
    opened_on: str
    recorded_at: str


class ScheduleRow(SQLModel, table=True):
    """What falls due next: one row per contract with something pending (its next due day), and
    one per account change whose notice to the authority is pending (rule 18).

    The clock takes rows in (``due``, ``rank``, ``seq``, ``key``) order: notices (rank 0, in the
    order their account changes were recorded) before contracts (rank 1, by id) on a day."""

    __tablename__ = "rm_schedule"
    __table_args__ = _ONE_BTREE
    key: str = Field(primary_key=True)
    """``contract:ID`` or ``notice:POSITION`` (the account change's position)."""
    due: str = Field(index=True)
    rank: int
    seq: int = Field(sa_type=_COUNTER)
    recorded_at: str
    """When the events that set the row were recorded."""
    account: str | None = None
    bank: str | None = None


class TransferRow(SQLModel, table=True):
    """One money movement (the report's transfers), in the order executed."""

    __tablename__ = "rm_transfers"
    __table_args__ = _ONE_BTREE
    position: int = Field(primary_key=True, sa_type=_COUNTER)
    seq: int = Field(primary_key=True)
    contract: str = Field(index=True)
    date: str
    recorded_at: str
    fund: str
    kind: str
    source: str
    target: str
    principal: str
    interest: str
    debit: str
    credit: str
    channel: str | None = None


class NoticeRow(SQLModel, table=True):
    """Something the clock noticed that moves no money (a reminder, a held release…)."""

    __tablename__ = "rm_notices"
    __table_args__ = _ONE_BTREE
    position: int = Field(primary_key=True, sa_type=_COUNTER)
    seq: int = Field(primary_key=True)
    contract: str | None = Field(default=None, index=True)
    date: str
    recorded_at: str
    kind: str
    fund: str | None = None
    detail: str = ""


class RefusalRow(SQLModel, table=True):
    """An act the rules refused (recorded for the run report; it changed nothing)."""

    __tablename__ = "rm_refusals"
    __table_args__ = _ONE_BTREE
    position: int = Field(primary_key=True, sa_type=_COUNTER)
    date: str
    recorded_at: str
    action: str
    contract: str | None = None
    enterprise: str | None = None
    reason: str


class HeldRow(SQLModel, table=True):
    """What a contract's funds hold in the escrow accounts now (principal)."""

    __tablename__ = "rm_held"
    __table_args__ = _ONE_BTREE
    contract: str = Field(primary_key=True)
    deposit: str
    rent: str
    date: str
    recorded_at: str


class DeadlineRow(SQLModel, table=True):
    """A contract's open deadlines and scheduled movements now."""

    __tablename__ = "rm_deadlines"
    __table_args__ = _ONE_BTREE
    contract: str = Field(primary_key=True)
    seq: int = Field(primary_key=True)
    date: str
    """The day the deadline falls, or the movement is scheduled."""
    recorded_at: str
    """When the contract's events that set it were recorded."""
    fund: str
    kind: str
    detail: str = ""


class LedgerRow(SQLModel, table=True):
    """Ledger-wide facts: ``today`` (the clock), ``bank:custody``, ``bank:supervision``."""

    __tablename__ = "rm_ledger"
    __table_args__ = _ONE_BTREE
    key: str = Field(primary_key=True)
    value: str


class EnterpriseRow(SQLModel, table=True):
    """Whether releases to an enterprise are suspended (Art. 20)."""

    __tablename__ = "rm_enterprises"
    __table_args__ = _ONE_BTREE
    enterprise: str = Field(primary_key=True)
    suspended: bool


class StateRow(SQLModel, table=True):
    """A contract's state after its last event whose version is a multiple of
    :data:`escrow.store.snapshots.SNAPSHOT_EVERY` (:mod:`escrow.store.snapshots`): a contract
    is loaded from this row and the few events after it, not from its whole stream.

    Unlike the other read models it has no business date or recording time: it is never
    queried, only read back by the ledger, and ``escrow verify`` compares it with a rebuild."""

    __tablename__ = "rm_states"
    __table_args__ = _ONE_BTREE
    contract: str = Field(primary_key=True)
    version: int = Field(sa_type=_COUNTER)
    state: str
    """The state as JSON (never a pickle: a row of the database is not code to run)."""


READ_MODELS: tuple[type[SQLModel], ...] = (
    ContractRow,
    ScheduleRow,
    TransferRow,
    NoticeRow,
    RefusalRow,
    HeldRow,
    DeadlineRow,
    LedgerRow,
    EnterpriseRow,
    StateRow,
)


def tables() -> list[sa.Table]:
    """The read-model tables, in creation order."""
    return [model.__table__ for model in READ_MODELS]  # type: ignore[attr-defined]
