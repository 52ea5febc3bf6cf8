"""Contract states packed for the ledger's memory (``escrow.packed_state``) come back equal.

Every state every contract of a simulation passes through (folded event by event from its
stream: lots, tranches, payouts with their pieces, refund workflows with deductions, disputes,
suspensions) is packed and unpacked: the state comes back equal, field for field, and its kept
state's JSON (what ``rm_states`` would hold) is the same text.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

import escrow
from escrow import packed_state
from escrow.domain.state import ContractState, Lot
from escrow.projector import CONTRACT, folded
from escrow.simulate import simulate
from escrow.store import snapshots


@pytest.fixture(scope="module")
def states(tmp_path_factory: pytest.TempPathFactory) -> list[ContractState]:
    path: Path = tmp_path_factory.mktemp("packed") / "ledger.db"
    out: list[ContractState] = []
    with escrow.open_ledger(path) as ledger:
        simulate(ledger, contracts=300, months=24, seed=2)  # a seed with a held payout
        for contract in ledger.contract_ids():
            state = None
            for stored in ledger.store.load(CONTRACT + contract):
                state = folded(state, stored)
                out.append(state)
    return out


def test_every_state_of_a_simulation_comes_back_equal(states: list[ContractState]) -> None:
    for state in states:
        back = packed_state.unpack(bytearray(packed_state.pack(state)))  # the ledger's buffer
        assert back == state
        assert type(back.terms) is type(state.terms)
        assert snapshots.dump(back) == snapshots.dump(state)


def test_the_simulation_reached_every_kind_of_record(states: list[ContractState]) -> None:
    """The round trip above saw each kind of value a state holds (else it proves less)."""
    assert any(s.deposit_lots and s.rent_lots for s in states)
    assert any(lot.next_release > 0 for s in states for lot in s.rent_lots)
    assert any(p.pieces for s in states for p in s.payouts)
    assert any(p.execute_on is None for s in states for p in s.payouts)  # held in a suspension
    assert any(s.deposit_workflow and s.deposit_workflow.deductions for s in states)
    assert any(s.rent_workflow and s.rent_workflow.outcome for s in states)
    assert any(s.suspended for s in states)
    assert any(s.returned_on for s in states)


def test_a_lot_booked_after_it_arrived_comes_back_equal(states: list[ContractState]) -> None:
    """A backdated bank notice (``booked_on``), which simulations do not make."""
    state = next(s for s in states if s.deposit_lots)
    lot = dataclasses.replace(state.deposit_lots[0], booked_on=state.deposit_lots[0].arrived)
    late = dataclasses.replace(state, deposit_lots=(lot, *state.deposit_lots[1:]))
    assert packed_state.unpack(packed_state.pack(late)) == late


def test_a_packed_state_is_a_fraction_of_its_kept_json(states: list[ContractState]) -> None:
    last = states[-1]
    assert len(packed_state.pack(last)) < len(snapshots.dump_bytes(last)) / 2


def test_a_record_with_a_field_packing_does_not_know_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    names = tuple(f.name for f in dataclasses.fields(Lot))
    monkeypatch.setitem(packed_state._FIELDS, Lot, names[:-1])  # as if booked_on were new
    with pytest.raises(RuntimeError, match="does not pack Lot"):
        packed_state._check_fields()
