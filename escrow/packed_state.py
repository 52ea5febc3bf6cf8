"""Contract states packed for the ledger's memory: tuples of plain values, marshalled.

A state the ledger evicts from its cache of live states is kept packed (:meth:`escrow.service.
Ledger._pack`): about a fifth of its size in memory. The states packed here were built by this
process from events it checked, so unpacking rebuilds the records without checking them once
more: the contract terms' validators alone cost more than all the rest of the work (a state
unpacks in about a third of the time the kept-state JSON of :mod:`escrow.store.snapshots` takes
to be read and checked). A state read from the database never comes through here: it is read
through :mod:`escrow.store.snapshots` and checked. ``marshal`` reads only bytes this module
wrote in this process.

Each record is a tuple of its fields in the order of :data:`_FIELDS` (checked against the
dataclasses when this module is imported, and by ``tests/unit/test_packed_state.py`` on every
state of a simulation): dates as ordinals, amounts as their exact text.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import marshal
from decimal import Decimal
from typing import Any, TypeVar

from escrow.domain import events as ev
from escrow.domain.state import ContractState, Lot, Payout, Workflow
from escrow.domain.terms import ContractTerms

_Record = TypeVar("_Record")

_FIELDS: dict[type, tuple[str, ...]] = {
    Lot: ("no", "arrived", "amount", "remaining", "next_release", "booked_on"),
    Payout: ("no", "fund", "kind", "to", "pieces", "instructed_on", "execute_on"),
    Workflow: (
        "fund",
        "returned_on",
        "held",
        "deadline",
        "stage",
        "opinion_on",
        "deductions",
        "answer_deadline",
        "second_deadline",
        "outcome",
    ),
    ContractState: (
        "terms",
        "rules",
        "custody_bank",
        "supervision_bank",
        "suspended",
        "deposit_lots",
        "rent_lots",
        "payouts",
        "next_payout",
        "returned_on",
        "deposit_workflow",
        "rent_workflow",
        "deposit_paid",
        "rent_paid",
        "last_date",
    ),
}
_TERMS = (
    "id",
    "filing_no",
    "tenant",
    "enterprise",
    "start",
    "end",
    "monthly_rent",
    "deposit",
    "affordable",
)


def _check_fields() -> None:
    """Packing knows every field of every record (a new field must be packed too)."""
    for cls, names in _FIELDS.items():
        actual = tuple(f.name for f in dataclasses.fields(cls))
        if actual != names:
            raise RuntimeError(f"escrow.packed_state does not pack {cls.__name__}{actual}")
    if tuple(ContractTerms.model_fields) != _TERMS:
        raise RuntimeError(f"escrow.packed_state does not pack ContractTerms{_TERMS}")


_check_fields()


def _ordinal(day: dt.date | None) -> int | None:
    return None if day is None else day.toordinal()


def _day(ordinal: int | None) -> dt.date | None:
    return None if ordinal is None else dt.date.fromordinal(ordinal)


def _record(cls: type[_Record], values: dict[str, Any]) -> _Record:
    """A frozen record from its fields, as ``escrow.domain.state._replace`` builds one."""
    record: _Record = object.__new__(cls)
    record.__dict__.update(values)
    return record


def pack(state: ContractState) -> bytes:
    """The state as bytes (:func:`unpack` gives it back, equal)."""
    t = state.terms
    terms = (
        t.id,
        t.filing_no,
        t.tenant,
        t.enterprise,
        t.start.toordinal(),
        t.end.toordinal(),
        str(t.monthly_rent),
        str(t.deposit),
        t.affordable,
    )
    return marshal.dumps(
        (
            terms,
            state.rules,
            state.custody_bank,
            state.supervision_bank,
            state.suspended,
            tuple(_pack_lot(lot) for lot in state.deposit_lots),
            tuple(_pack_lot(lot) for lot in state.rent_lots),
            tuple(_pack_payout(p) for p in state.payouts),
            state.next_payout,
            _ordinal(state.returned_on),
            _pack_workflow(state.deposit_workflow),
            _pack_workflow(state.rent_workflow),
            str(state.deposit_paid),
            str(state.rent_paid),
            _ordinal(state.last_date),
        )
    )


def unpack(data: bytes | bytearray) -> ContractState:
    """The state :func:`pack` packed."""
    (
        terms,
        rules,
        custody_bank,
        supervision_bank,
        suspended,
        deposit_lots,
        rent_lots,
        payouts,
        next_payout,
        returned_on,
        deposit_workflow,
        rent_workflow,
        deposit_paid,
        rent_paid,
        last_date,
    ) = marshal.loads(data)
    id_, filing_no, tenant, enterprise, start, end, monthly_rent, deposit, affordable = terms
    return _record(
        ContractState,
        {
            "terms": ContractTerms.model_construct(
                id=id_,
                filing_no=filing_no,
                tenant=tenant,
                enterprise=enterprise,
                start=dt.date.fromordinal(start),
                end=dt.date.fromordinal(end),
                monthly_rent=Decimal(monthly_rent),
                deposit=Decimal(deposit),
                affordable=affordable,
            ),
            "rules": rules,
            "custody_bank": custody_bank,
            "supervision_bank": supervision_bank,
            "suspended": suspended,
            "deposit_lots": tuple(_unpack_lot(lot) for lot in deposit_lots),
            "rent_lots": tuple(_unpack_lot(lot) for lot in rent_lots),
            "payouts": tuple(_unpack_payout(p) for p in payouts),
            "next_payout": next_payout,
            "returned_on": _day(returned_on),
            "deposit_workflow": _unpack_workflow(deposit_workflow),
            "rent_workflow": _unpack_workflow(rent_workflow),
            "deposit_paid": Decimal(deposit_paid),
            "rent_paid": Decimal(rent_paid),
            "last_date": _day(last_date),
        },
    )


def _pack_lot(lot: Lot) -> tuple[Any, ...]:
    return (
        lot.no,
        lot.arrived.toordinal(),
        str(lot.amount),
        str(lot.remaining),
        lot.next_release,
        _ordinal(lot.booked_on),
    )


def _unpack_lot(packed: tuple[Any, ...]) -> Lot:
    no, arrived, amount, remaining, next_release, booked_on = packed
    return _record(
        Lot,
        {
            "no": no,
            "arrived": dt.date.fromordinal(arrived),
            "amount": Decimal(amount),
            "remaining": Decimal(remaining),
            "next_release": next_release,
            "booked_on": _day(booked_on),
        },
    )


def _pack_payout(payout: Payout) -> tuple[Any, ...]:
    return (
        payout.no,
        payout.fund,
        payout.kind,
        payout.to,
        tuple((p.lot, p.arrived.toordinal(), str(p.principal)) for p in payout.pieces),
        payout.instructed_on.toordinal(),
        _ordinal(payout.execute_on),
    )


def _unpack_payout(packed: tuple[Any, ...]) -> Payout:
    no, fund, kind, to, pieces, instructed_on, execute_on = packed
    return _record(
        Payout,
        {
            "no": no,
            "fund": fund,
            "kind": kind,
            "to": to,
            "pieces": tuple(
                ev.Piece(lot=lot, arrived=dt.date.fromordinal(arrived), principal=Decimal(amount))
                for lot, arrived, amount in pieces
            ),
            "instructed_on": dt.date.fromordinal(instructed_on),
            "execute_on": _day(execute_on),
        },
    )


def _pack_workflow(wf: Workflow | None) -> tuple[Any, ...] | None:
    if wf is None:
        return None
    return (
        wf.fund,
        wf.returned_on.toordinal(),
        str(wf.held),
        wf.deadline.toordinal(),
        wf.stage,
        _ordinal(wf.opinion_on),
        tuple((d.item, str(d.amount)) for d in wf.deductions),
        _ordinal(wf.answer_deadline),
        _ordinal(wf.second_deadline),
        wf.outcome,
    )


def _unpack_workflow(packed: tuple[Any, ...] | None) -> Workflow | None:
    if packed is None:
        return None
    (
        fund,
        returned_on,
        held,
        deadline,
        stage,
        opinion_on,
        deductions,
        answer_deadline,
        second_deadline,
        outcome,
    ) = packed
    return _record(
        Workflow,
        {
            "fund": fund,
            "returned_on": dt.date.fromordinal(returned_on),
            "held": Decimal(held),
            "deadline": dt.date.fromordinal(deadline),
            "stage": stage,
            "opinion_on": _day(opinion_on),
            "deductions": tuple(
                ev.Deduction(item=item, amount=Decimal(amount)) for item, amount in deductions
            ),
            "answer_deadline": _day(answer_deadline),
            "second_deadline": _day(second_deadline),
            "outcome": outcome,
        },
    )
