"""The ledger's cache of contract states: live states, and evicted ones kept packed.

On a real SQLite file, with the cache made small (one live state) so that every other act on
another contract evicts and packs: a packed state comes back equal to the contract's stream
folded again, the packed states stay within their byte cap, and a contract packed again is
rewritten into the buffer it already holds (not a fresh one per eviction: the churn of fresh
buffers fragmented the C heap of a 100,000-contract simulation by some 150 MiB).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

import escrow
from escrow import service
from escrow.domain.state import ContractState
from escrow.projector import CONTRACT, folded

START = dt.date(2025, 3, 3)


def _terms(n: int) -> escrow.ContractTerms:
    return escrow.ContractTerms(
        id=f"C{n}",
        filing_no=f"JZ-2025-{n:06d}",
        tenant=f"T{n}",
        enterprise="E1",
        start=START,
        end=dt.date(2026, 3, 2),
        monthly_rent=Decimal("3000.00"),
        deposit=Decimal("3000.00"),
    )


def _folded_again(ledger: service.Ledger, contract: str) -> ContractState:
    """The contract's state folded from its own stream, with no cache."""
    state = None
    for stored in ledger.store.load(CONTRACT + contract):
        state = folded(state, stored)
    assert state is not None
    return state


@pytest.fixture
def small_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(service, "CACHE_SIZE", 1)


@pytest.mark.usefixtures("small_cache")
def test_a_packed_state_comes_back_equal_to_its_stream_folded_again(tmp_path: Path) -> None:
    with escrow.open_ledger(tmp_path / "l.db") as ledger:
        for n in (1, 2, 3):
            ledger.open_contract(_terms(n), on=START)
        for n in (1, 2, 3):  # each act evicts the one before: C1 and C2 end packed, C3 live
            ledger.pay_deposit(f"C{n}", "3000.00", on=START)
            ledger.pay_rent(f"C{n}", "18000.00", on=START)
        assert list(ledger._cache) == ["C3"]
        for contract in ("C1", "C2"):
            unpacked = ledger._unpacked(contract)
            assert unpacked is not None
            version, state = unpacked
            # open, deposit paid, rent paid, the first 3 months released: 4 events at least.
            assert version == ledger.store.stream_version(CONTRACT + contract) >= 4
            assert state == _folded_again(ledger, contract)
            assert state.deposit_paid == Decimal("3000.00")


@pytest.mark.usefixtures("small_cache")
def test_a_contract_packed_again_reuses_its_buffer(tmp_path: Path) -> None:
    with escrow.open_ledger(tmp_path / "l.db") as ledger:
        ledger.open_contract(_terms(1), on=START)
        ledger.open_contract(_terms(2), on=START)  # C1 evicted: packed
        buffer = ledger._packed["C1"].data
        ledger.pay_deposit("C1", "3000.00", on=START)  # C1 unpacked and live, C2 packed
        ledger.pay_rent("C2", "9000.00", on=START)  # C1 evicted again: packed again
        slot = ledger._packed["C1"]
        assert slot.data is buffer
        assert slot.version == ledger.store.stream_version(CONTRACT + "C1")
        assert ledger._unpacked("C1") == (slot.version, _folded_again(ledger, "C1"))
        assert ledger._packed_bytes == sum(len(s.data) for s in ledger._packed.values())


@pytest.mark.usefixtures("small_cache")
def test_packed_states_stay_within_their_byte_cap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cap that holds about two packed states: the least recently packed are dropped (and
    loaded again from their streams when needed), and the ledger still decides as usual."""
    with escrow.open_ledger(tmp_path / "l.db") as ledger:
        ledger.open_contract(_terms(1), on=START)
        ledger.open_contract(_terms(2), on=START)
        one = len(ledger._packed["C1"].data)  # an opened contract, packed
        monkeypatch.setattr(service, "PACKED_BYTES", 2 * one + one // 2)
        for n in range(3, 8):
            ledger.open_contract(_terms(n), on=START)
            assert ledger._packed_bytes <= service.PACKED_BYTES
            assert ledger._packed_bytes == sum(len(s.data) for s in ledger._packed.values())
        assert list(ledger._packed) == ["C5", "C6"]  # C7 live; C1–C4 dropped, oldest first
        ledger.pay_deposit("C1", "3000.00", on=START)  # loaded again from its stream
        assert ledger.balances("C1").deposit.principal == Decimal("3000.00")
        assert ledger._state("C1") == _folded_again(ledger, "C1")
