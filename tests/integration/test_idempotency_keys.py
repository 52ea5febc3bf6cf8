"""An idempotency key means one act (issue 13): re-delivered, the act is recognised and its
receipt returned; reused with another act, it is refused and nothing is written.

On a real SQLite file, inside and outside a unit of work.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest

from escrow import IdempotencyKeyReused, Receipt
from escrow.domain.terms import ContractTerms
from escrow.service import Ledger, open_ledger

D = Decimal
d = dt.date


def terms(cid: str) -> ContractTerms:
    return ContractTerms(
        id=cid,
        filing_no=f"JZ-{cid}",
        tenant=f"T{cid}",
        enterprise="E1",
        start=d(2025, 6, 1),
        end=d(2026, 5, 31),
        monthly_rent=D("5000.00"),
        deposit=D("5000.00"),
    )


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    led = open_ledger(tmp_path / "ledger.db")
    led.open_contract(terms("C1"), on=d(2025, 6, 1))
    led.open_contract(terms("C2"), on=d(2025, 6, 1))
    return led


def test_a_key_reused_for_another_contracts_payment_is_refused_and_writes_nothing(
    ledger: Ledger,
) -> None:
    ledger.pay_deposit("C1", D("5000.00"), on=d(2025, 6, 3), idempotency_key="bank-42")
    before = ledger.store.last_position()

    with pytest.raises(IdempotencyKeyReused, match="bank-42"):
        ledger.pay_deposit("C2", D("5000.00"), on=d(2025, 6, 3), idempotency_key="bank-42")

    assert ledger.store.last_position() == before
    assert ledger.held()["C2"]["deposit"] == D("0.00")
    assert ledger.held()["C1"]["deposit"] == D("5000.00")


@pytest.mark.parametrize(
    "other",
    [
        {"amount": D("4999.99")},
        {"on": d(2025, 6, 4)},
        {"channel": "ecny"},
    ],
    ids=["amount", "date", "channel"],
)
def test_a_key_reused_with_other_parameters_is_refused(
    ledger: Ledger, other: dict[str, object]
) -> None:
    first: dict[str, object] = {"on": d(2025, 6, 3), "channel": "bank", "amount": D("5000.00")}
    ledger.pay_deposit("C1", idempotency_key="k", **first)  # type: ignore[arg-type]
    before = ledger.store.last_position()

    with pytest.raises(IdempotencyKeyReused):
        ledger.pay_deposit("C1", idempotency_key="k", **{**first, **other})  # type: ignore[arg-type]

    assert ledger.store.last_position() == before


def test_the_same_act_again_returns_the_first_receipt_marked_duplicate(ledger: Ledger) -> None:
    first = ledger.pay_deposit("C1", D("5000.00"), on=d(2025, 6, 3), idempotency_key="k")
    # "5000" and "5000.00" are one amount: the same act.
    again = ledger.pay_deposit("C1", D("5000"), on=d(2025, 6, 3), idempotency_key="k")

    assert isinstance(first, Receipt)
    assert first.duplicate is False
    assert first.first_position > 0 and first.last_position >= first.first_position
    assert first.last_position == ledger.store.last_position()
    assert again == Receipt(first.on, first.first_position, first.last_position, duplicate=True)
    assert ledger.held()["C1"]["deposit"] == D("5000.00")


def test_each_kind_of_act_refuses_its_key_for_another_act(ledger: Ledger) -> None:
    ledger.pay_deposit("C1", D("5000.00"), on=d(2025, 6, 3), idempotency_key="pay")
    ledger.suspend_releases("E1", on=d(2025, 6, 4), idempotency_key="suspend")
    ledger.return_home("C1", on=d(2025, 9, 30), idempotency_key="return")
    ledger.propose_refund(
        "C1", "deposit", [("cleaning", D("300.00"))], on=d(2025, 10, 9), idempotency_key="opinion"
    )
    ledger.tenant_disagree("C1", "deposit", on=d(2025, 10, 10), idempotency_key="answer")
    before = ledger.store.last_position()
    reused: list[Callable[[], object]] = [
        lambda: ledger.return_home("C2", on=d(2025, 10, 10), idempotency_key="return"),
        lambda: ledger.propose_refund(
            "C1", "deposit", [("cleaning", D("200.00"))], on=d(2025, 10, 10), idempotency_key="opinion"
        ),
        lambda: ledger.tenant_agree("C1", "deposit", on=d(2025, 10, 10), idempotency_key="answer"),
        lambda: ledger.resume_releases("E1", on=d(2025, 10, 10), idempotency_key="suspend"),
        lambda: ledger.change_account("custody", "ICBC", on=d(2025, 10, 10), idempotency_key="pay"),
        lambda: ledger.resolve(
            "C1",
            "deposit",
            via="mediation",
            to_tenant=D("300.00"),
            to_enterprise=D("0.00"),
            on=d(2025, 10, 10),
            idempotency_key="answer",
        ),
    ]
    for act in reused:
        with pytest.raises(IdempotencyKeyReused):
            act()
    assert ledger.store.last_position() == before


def test_a_key_reused_inside_a_unit_of_work_is_refused_too(ledger: Ledger) -> None:
    with pytest.raises(IdempotencyKeyReused), ledger.unit_of_work():
        ledger.pay_deposit("C1", D("5000.00"), on=d(2025, 6, 3), idempotency_key="k")
        ledger.pay_deposit("C2", D("5000.00"), on=d(2025, 6, 3), idempotency_key="k")
    # The unit raised: nothing of it was written.
    assert ledger.held()["C1"]["deposit"] == D("0.00")
    with ledger.unit_of_work():
        ledger.pay_deposit("C1", D("5000.00"), on=d(2025, 6, 3), idempotency_key="k")
        again = ledger.pay_deposit("C1", D("5000.00"), on=d(2025, 6, 3), idempotency_key="k")
    assert again.duplicate
    assert ledger.held()["C1"]["deposit"] == D("5000.00")


def test_another_process_reusing_a_key_for_another_act_is_refused(tmp_path: Path) -> None:
    path = str(tmp_path / "shared.db")
    ours = open_ledger(path)
    ours.open_contract(terms("C1"), on=d(2025, 6, 1))
    ours.open_contract(terms("C2"), on=d(2025, 6, 1))
    theirs = open_ledger(path)
    theirs.pay_deposit("C1", D("5000.00"), on=d(2025, 6, 3), idempotency_key="bank-7")

    with pytest.raises(IdempotencyKeyReused):
        ours.pay_deposit("C2", D("5000.00"), on=d(2025, 6, 3), idempotency_key="bank-7")
    assert ours.held()["C2"]["deposit"] == D("0.00")
