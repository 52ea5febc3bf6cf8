"""Snapshots of contract states (the ``rm_states`` read model): one row per contract.

A contract whose state is in no cache is loaded from its snapshot and the events after it (at
most :data:`SNAPSHOT_EVERY` - 1 of them, plus those of the append that crossed the next
multiple), not from its whole stream: a cold act costs what a few events cost, not what a
long tenancy's history does.

Which state is kept follows from the events alone, so a rebuild makes the same rows: the state
after the contract's last event whose version is a multiple of :data:`SNAPSHOT_EVERY`. An
append that crosses such a version writes it with the append's read models (in the same
transaction); a rebuild writes it as it folds the events.

The state is JSON through pydantic (a ``TypeAdapter`` of the domain's frozen dataclasses), never
a pickle: a row a tamperer wrote must not be able to run code. A snapshot is trusted as the other
read models are (``escrow verify`` compares every row with a rebuild and reports drift); the
ledger also refuses one whose version its stream does not reach (then it folds the stream).
"""

from __future__ import annotations

from pydantic import TypeAdapter, ValidationError

from escrow.domain.state import ContractState
from escrow.errors import EscrowError, IntegrityError

SNAPSHOT_EVERY = 8
"""A contract's state is kept after every 8th event of its stream (a cold load then reads one
row and 0–7 events; a snapshot is written at one append in ~8)."""

_ADAPTER: TypeAdapter[ContractState] = TypeAdapter(ContractState)


def kept_version(first: int, last: int) -> int | None:
    """The version whose state an append of versions ``first..last`` keeps: the last multiple
    of :data:`SNAPSHOT_EVERY` among them, None when there is none."""
    version = last - last % SNAPSHOT_EVERY
    return version if version >= first and version > 0 else None


def dump(state: ContractState) -> str:
    """The state as the ``rm_states`` row keeps it."""
    return _ADAPTER.dump_json(state).decode()


def dump_bytes(state: ContractState) -> bytes:
    """:func:`dump` as UTF-8 bytes (how the ledger packs the states it evicts from memory)."""
    return _ADAPTER.dump_json(state)


def load(contract: str, text: str | bytes | bytearray) -> ContractState:
    """The state a row (or a packed buffer, :func:`dump_bytes`) keeps; IntegrityError when it
    is not one."""
    try:
        state = _ADAPTER.validate_json(text)
    except (ValidationError, ValueError, EscrowError):
        raise IntegrityError(
            f"the kept state of contract {contract!r} cannot be read: run `escrow verify`"
        ) from None
    if state.terms.id != contract:
        raise IntegrityError(
            f"the kept state of contract {contract!r} is another contract's: run `escrow verify`"
        )
    return state
