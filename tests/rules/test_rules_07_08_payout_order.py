"""docs/rules.md rule 7 (interest follows principal; oldest lots first, tenant before enterprise) and
rule 8 (nothing held at the return → no refund workflow).

Two-lot contract used below: deposit 3,000.00 paid as lot 1 = 1,000.00 on Sun 2025-06-01 and
lot 2 = 2,000.00 on Tue 2025-07-15; home returned Mon 2025-09-01 → opinion deadline Thu 09-04;
opinion on Wed 09-03 → tenant's window 09-04, 09-05, Mon 09-08.

Days: lot 1 (06-01) to 09-03 = 94, to 09-04 = 95, to 09-15 = 106;
      lot 2 (07-15) to 09-03 = 50, to 09-04 = 51, to 09-15 = 62.
Rate 0.35 %: per 1,000.00 that is 3.50 a year.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

import pytest

from escrow.config import LedgerConfig
from escrow.domain.terms import ContractTerms
from escrow.errors import NoRefundWorkflow
from escrow.service import Ledger

D = Decimal
d = dt.date


def two_lots_returned(ledger: Ledger, make_terms: Callable[..., ContractTerms]) -> None:
    ledger.open_contract(make_terms("C1", deposit="3000.00"), on=d(2025, 6, 1))
    ledger.pay_deposit("C1", D("1000.00"), on=d(2025, 6, 1))
    ledger.pay_deposit("C1", D("2000.00"), on=d(2025, 7, 15))
    ledger.return_home("C1", on=d(2025, 9, 1))


def pieces(ledger: Ledger) -> list[tuple[str, int, Decimal, int, Decimal]]:
    """(kind, lot, principal, days, interest) of every executed payout piece, in order."""
    from escrow.domain import events as ev

    out: list[tuple[str, int, Decimal, int, Decimal]] = []
    for entry in ledger.entries():
        if isinstance(entry.event, ev.PayoutExecuted):
            kind = entry.transfers[0].kind
            for p in entry.event.pieces:
                out.append((kind, p.lot, p.principal, p.days, p.interest))
    return out


def test_rule_07_the_undisputed_refund_takes_the_oldest_lots_first(
    ledger: Ledger, make_terms: Callable[..., ContractTerms], rows: Callable[..., list[tuple[str, ...]]]
) -> None:
    two_lots_returned(ledger, make_terms)
    # Opinion deducts 1,000.00 → 2,000.00 undisputed, taken oldest first: all of lot 1 (1,000.00)
    # then 1,000.00 of lot 2.
    #   lot 1 1,000.00 × 94 days: 3.50 × 94 = 329.00 / 360 = 0.913888… → 0.91
    #   lot 2 1,000.00 × 50 days: 3.50 × 50 = 175.00 / 360 = 0.486111… → 0.49   → 1.40
    ledger.propose_refund("C1", "deposit", [("repainting", D("1000.00"))], on=d(2025, 9, 3))
    # Tenant agrees Thu 09-04: the deduction is what is left, 1,000.00 of lot 2.
    #   lot 2 1,000.00 × 51 days: 3.50 × 51 = 178.50 / 360 = 0.495833… → 0.50
    ledger.tenant_agree("C1", "deposit", on=d(2025, 9, 4))
    assert rows(ledger.transfers("C1"))[2:] == [
        ("2025-09-03", "refund", "custody", "tenant:T1", "2000.00", "1.40"),
        ("2025-09-04", "deduction", "custody", "enterprise:E1", "1000.00", "0.50"),
    ]
    assert pieces(ledger) == [
        ("refund", 1, D("1000.00"), 94, D("0.91")),
        ("refund", 2, D("1000.00"), 50, D("0.49")),
        ("deduction", 2, D("1000.00"), 51, D("0.50")),
    ]


def test_rule_07_a_resolution_takes_the_tenants_part_from_the_oldest_lots(
    ledger: Ledger, make_terms: Callable[..., ContractTerms], rows: Callable[..., list[tuple[str, ...]]]
) -> None:
    two_lots_returned(ledger, make_terms)
    # Opinion deducts 2,500.00 → 500.00 undisputed, from lot 1:
    #   500.00 × 94 days: 1.75 × 94 = 164.50 / 360 = 0.456944… → 0.46
    ledger.propose_refund("C1", "deposit", [("damage", D("2500.00"))], on=d(2025, 9, 3))
    ledger.tenant_disagree("C1", "deposit", on=d(2025, 9, 4))
    # Held in dispute: lot 1 500.00 (06-01) + lot 2 2,000.00 (07-15).
    # Arbitration on Mon 09-15: 1,000.00 to the tenant, 1,500.00 to the enterprise.
    # The tenant's part first, oldest lots first: lot 1 500.00 + lot 2 500.00;
    # the enterprise's part: lot 2 1,500.00.
    #   tenant  lot 1 500.00 × 106 days: 1.75 × 106 = 185.50 / 360 = 0.515277… → 0.52
    #           lot 2 500.00 ×  62 days: 1.75 ×  62 = 108.50 / 360 = 0.301388… → 0.30  → 0.82
    #   enterpr lot 2 1,500.00 × 62 days: 5.25 × 62 = 325.50 / 360 = 0.904166… → 0.90
    # (Lot 2 is split over two payouts and rounded once in each: 0.30 + 0.90 = 1.20, whereas
    #  2,000.00 × 62 days in one payout would be 434.00 / 360 = 1.205555… → 1.21.)
    ledger.resolve(
        "C1",
        "deposit",
        via="arbitration",
        to_tenant=D("1000.00"),
        to_enterprise=D("1500.00"),
        on=d(2025, 9, 15),
    )
    assert rows(ledger.transfers("C1"))[2:] == [
        ("2025-09-03", "refund", "custody", "tenant:T1", "500.00", "0.46"),
        ("2025-09-15", "refund", "custody", "tenant:T1", "1000.00", "0.82"),
        ("2025-09-15", "deduction", "custody", "enterprise:E1", "1500.00", "0.90"),
    ]
    assert pieces(ledger)[1:] == [
        ("refund", 1, D("500.00"), 106, D("0.52")),
        ("refund", 2, D("500.00"), 62, D("0.30")),
        ("deduction", 2, D("1500.00"), 62, D("0.90")),
    ]


def test_rule_07_by_default_the_enterprise_receives_the_interest_of_its_deduction(
    worked_example: Ledger,
) -> None:
    # deducted_interest_to = "recipient" (default): the worked example's 0.41 goes with the
    # 300.00 to enterprise:E1 (300.00 × 0.35 % × 139 / 360 = 0.405416… → 0.41).
    worked_example.propose_refund("C1", "deposit", [("cleaning", D("300.00"))], on=d(2025, 10, 10))
    worked_example.run_until_idle()
    to_enterprise = [t for t in worked_example.transfers("C1") if t.target == "enterprise:E1"]
    assert [(t.date, t.principal, t.interest) for t in to_enterprise] == [
        (d(2025, 10, 20), D("300.00"), D("0.41"))
    ]


@pytest.mark.parametrize(
    "ledger", [LedgerConfig(deducted_interest_to="tenant")], indirect=True, ids=["to_tenant"]
)
def test_rule_07_deducted_interest_to_tenant_parameter(worked_example: Ledger) -> None:
    # deducted_interest_to = "tenant": the enterprise gets the 300.00 principal only; the 0.41 it
    # earned (300.00 × 0.35 % × 139 / 360 = 0.405416… → 0.41) goes to the tenant on 10-20.
    worked_example.propose_refund("C1", "deposit", [("cleaning", D("300.00"))], on=d(2025, 10, 10))
    worked_example.run_until_idle()
    transfers = worked_example.transfers("C1")
    to_enterprise = [
        (t.date, t.principal, t.interest) for t in transfers if t.target == "enterprise:E1"
    ]
    to_tenant = [(t.date, t.principal, t.interest) for t in transfers if t.target == "tenant:T1"]
    assert to_enterprise == [(d(2025, 10, 20), D("300.00"), D("0.00"))]
    assert to_tenant == [
        (d(2025, 10, 10), D("4700.00"), D("5.89")),
        (d(2025, 10, 20), D("0.00"), D("0.41")),
    ]


@pytest.mark.parametrize(
    "ledger", [LedgerConfig(deducted_interest_to="tenant")], indirect=True, ids=["to_tenant"]
)
def test_rule_07_deducted_interest_to_tenant_in_a_resolution(
    ledger: Ledger, make_terms: Callable[..., ContractTerms]
) -> None:
    # Same split as the resolution test above, with the parameter set: the enterprise's
    # 1,500.00 carries no interest; its 0.90 goes to the tenant with the tenant's own 0.82.
    two_lots_returned(ledger, make_terms)
    ledger.propose_refund("C1", "deposit", [("damage", D("2500.00"))], on=d(2025, 9, 3))
    ledger.tenant_disagree("C1", "deposit", on=d(2025, 9, 4))
    ledger.resolve(
        "C1",
        "deposit",
        via="court",
        to_tenant=D("1000.00"),
        to_enterprise=D("1500.00"),
        on=d(2025, 9, 15),
    )
    on_15 = [t for t in ledger.transfers("C1") if t.date == d(2025, 9, 15)]
    to_enterprise = sum((t.interest for t in on_15 if t.target == "enterprise:E1"), D("0"))
    to_tenant = sum((t.interest for t in on_15 if t.target == "tenant:T1"), D("0"))
    assert to_enterprise == D("0.00")
    assert to_tenant == D("1.72")  # 0.82 + 0.90
    assert sum((t.principal for t in on_15 if t.target == "enterprise:E1"), D("0")) == D("1500.00")


# --- rule 8 -----------------------------------------------------------------------------------


def test_rule_08_nothing_held_at_the_return_no_refund_workflow(
    ledger: Ledger, make_terms: Callable[..., ContractTerms], assert_refused: Callable[..., object]
) -> None:
    # The agreed deposit was never paid: nothing held in custody when the home is returned.
    ledger.open_contract(make_terms("C1"), on=d(2025, 6, 1))
    ledger.return_home("C1", on=d(2025, 9, 30))
    assert ledger.deadlines("C1") == []
    assert_refused(
        ledger, NoRefundWorkflow, ledger.propose_refund, "C1", "deposit", [], on=d(2025, 10, 10)
    )
    # No deadline to miss either: the clock produces nothing.
    ledger.advance_to(d(2025, 12, 31))
    assert ledger.notices("C1") == []
    assert ledger.transfers("C1") == []


def test_rule_08_a_fund_with_nothing_held_has_no_workflow_while_the_other_fund_does(
    ledger: Ledger, make_terms: Callable[..., ContractTerms], assert_refused: Callable[..., object]
) -> None:
    # Deposit held; rent paid 3 months at a time (straight to the enterprise, rule 9): at the
    # return only the deposit has a workflow.
    ledger.open_contract(make_terms("C1"), on=d(2025, 6, 1))
    ledger.pay_deposit("C1", D("5000.00"), on=d(2025, 6, 1))
    ledger.pay_rent("C1", D("15000.00"), on=d(2025, 6, 1))
    ledger.return_home("C1", on=d(2025, 9, 30))
    assert [(x.fund, x.kind) for x in ledger.deadlines("C1")] == [("deposit", "refund_opinion")]
    assert_refused(
        ledger, NoRefundWorkflow, ledger.propose_refund, "C1", "rent", [], on=d(2025, 10, 9)
    )


def test_rule_08_a_contract_without_a_deposit_has_no_workflow(
    ledger: Ledger, make_terms: Callable[..., ContractTerms], assert_refused: Callable[..., object]
) -> None:
    ledger.open_contract(make_terms("C1", deposit="0.00"), on=d(2025, 6, 1))
    ledger.return_home("C1", on=d(2025, 9, 30))
    assert_refused(
        ledger, NoRefundWorkflow, ledger.propose_refund, "C1", "deposit", [], on=d(2025, 9, 30)
    )
    assert ledger.deadlines("C1") == []
