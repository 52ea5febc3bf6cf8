"""docs/rules.md rule 18 (Art. 17–18: account change) and rule 19 (Art. 19: balances by filing number).

18. The fund centre may move the custody or supervision account to a new bank: every balance
    moves, the lots keep their arrival dates, the old account closes; the authority must be
    told within 3 working days (notice ``authority_notice_due`` on the 3rd working day after).
19. A tenant queries their balances by filing number (备案编号), as of a date.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

from escrow.domain.terms import ContractTerms
from escrow.errors import InputError, UnknownContract
from escrow.service import Ledger

D = Decimal
d = dt.date


def test_rule_18_change_account_migrates_every_balance_keeping_arrival_dates(
    ledger: Ledger, make_terms: Callable[..., ContractTerms], rows: Callable[..., list[tuple[str, ...]]]
) -> None:
    # The worked example with a custody change on Fri 2025-08-15 to bank "ICBC".
    ledger.open_contract(make_terms("C1", filing_no="JZ-2025-000001"), on=d(2025, 6, 1))
    ledger.pay_deposit("C1", D("5000.00"), on=d(2025, 6, 3))
    ledger.change_account("custody", "ICBC", on=d(2025, 8, 15))
    ledger.return_home("C1", on=d(2025, 9, 30))
    ledger.propose_refund("C1", "deposit", [("cleaning", D("300.00"))], on=d(2025, 10, 10))
    ledger.run_until_idle()
    # The interest still counts from the original arrival 06-03 (129 and 139 days):
    # 5.89 and 0.41 exactly as in the worked example.
    assert rows(ledger.transfers("C1")) == [
        ("2025-06-03", "payment_in", "tenant:T1", "custody", "5000.00", "0.00"),
        ("2025-08-15", "migration", "custody", "custody", "5000.00", "0.00"),
        ("2025-10-10", "refund", "custody", "tenant:T1", "4700.00", "5.89"),
        ("2025-10-20", "deduction", "custody", "enterprise:E1", "300.00", "0.41"),
    ]
    migration, refund, deduction = ledger.transfers("C1")[1:]
    # The money left the old account for the new one; later payouts come from the new one.
    assert migration.debit.startswith("custody@") and not migration.debit.startswith("custody@ICBC")
    assert migration.credit == "custody@ICBC:C1"
    assert refund.debit == deduction.debit == "custody@ICBC:C1"
    # Authority told by the 3rd working day after Fri 08-15: Mon 08-18 (1), Tue 08-19 (2),
    # Wed 08-20 (3).
    assert [
        (n.date, n.kind, n.fund) for n in ledger.notices() if n.kind == "authority_notice_due"
    ] == [(d(2025, 8, 20), "authority_notice_due", "deposit")]


def test_rule_18_supervision_change_across_national_day(
    ledger: Ledger, make_terms: Callable[..., ContractTerms], rows: Callable[..., list[tuple[str, ...]]]
) -> None:
    # Rent 2,000.00 a month; 16,000.00 arrives Tue 2025-07-01; released 6,000.00 on 07-01,
    # 2,000.00 on 08-01 and 09-01 → 6,000.00 left when the supervision account moves to "BOC"
    # on Tue 2025-09-30.
    terms = make_terms(
        "C1", start=d(2025, 7, 1), end=d(2026, 6, 30), monthly_rent="2000.00", deposit="2000.00"
    )
    ledger.open_contract(terms, on=d(2025, 7, 1))
    ledger.pay_deposit("C1", D("2000.00"), on=d(2025, 7, 1))
    ledger.pay_rent("C1", D("16000.00"), on=d(2025, 7, 1))
    ledger.change_account("supervision", "BOC", on=d(2025, 9, 30))
    ledger.advance_to(d(2025, 10, 31))
    transfers = ledger.transfers("C1")
    # Only the supervision balance moves; the custody deposit stays where it is.
    assert rows([t for t in transfers if t.kind == "migration"]) == [
        ("2025-09-30", "migration", "supervision", "supervision", "6000.00", "0.00"),
    ]
    # The 10-01 release settles Thu 10-09 from the new account, with interest from the
    # original arrival 07-01: 100 days; 7.00 × 100 = 700.00 / 360 = 1.944444… → 1.94
    last = transfers[-1]
    assert (last.date, last.kind, last.principal, last.interest) == (
        d(2025, 10, 9),
        "release",
        D("2000.00"),
        D("1.94"),
    )
    assert last.debit == "supervision@BOC:C1"
    # Authority notice: 3rd working day after 09-30: Thu 10-09 (1), Fri 10-10 (2), Sat 10-11
    # make-up (3).
    assert [(n.date, n.fund) for n in ledger.notices() if n.kind == "authority_notice_due"] == [
        (d(2025, 10, 11), "rent")
    ]
    assert ledger.held()["C1"] == {"deposit": D("2000.00"), "rent": D("4000.00")}


def test_rule_18_payments_after_the_change_arrive_in_the_new_account(
    ledger: Ledger, make_terms: Callable[..., ContractTerms]
) -> None:
    ledger.open_contract(make_terms("C1", deposit="3000.00"), on=d(2025, 6, 1))
    ledger.pay_deposit("C1", D("1000.00"), on=d(2025, 6, 1))
    ledger.change_account("custody", "CCB", on=d(2025, 7, 1))
    ledger.pay_deposit("C1", D("2000.00"), on=d(2025, 7, 15))
    assert ledger.transfers("C1")[-1].credit == "custody@CCB:C1"
    # A contract filed after the change opens on the new account as well.
    ledger.open_contract(make_terms("C2"), on=d(2025, 7, 15))
    ledger.pay_deposit("C2", D("5000.00"), on=d(2025, 7, 15))
    assert ledger.transfers("C2")[-1].credit == "custody@CCB:C2"


def test_rule_18_a_payout_instructed_before_the_change_leaves_from_the_new_account(
    worked_example: Ledger, rows: Callable[..., list[tuple[str, ...]]]
) -> None:
    # Worked example: deemed agreed Sat 10-18, the 300.00 deduction waits for Mon 10-20. The
    # custody account moves on Sun 10-19: the 300.00 still held (instructed, not yet paid) moves
    # too, and the deduction leaves the new account on 10-20 with its interest from 06-03:
    # 139 days → 0.41 as in the worked example.
    ledger = worked_example
    ledger.propose_refund("C1", "deposit", [("cleaning", D("300.00"))], on=d(2025, 10, 10))
    ledger.advance_to(d(2025, 10, 19))
    ledger.change_account("custody", "ABC", on=d(2025, 10, 19))
    ledger.run_until_idle()
    assert rows(ledger.transfers("C1"))[2:] == [
        ("2025-10-19", "migration", "custody", "custody", "300.00", "0.00"),
        ("2025-10-20", "deduction", "custody", "enterprise:E1", "300.00", "0.41"),
    ]
    assert ledger.transfers("C1")[-1].debit == "custody@ABC:C1"
    # Authority notice: 3rd working day after Sun 10-19: Mon 10-20 (1), 10-21 (2), Wed 10-22 (3).
    assert [n.date for n in ledger.notices() if n.kind == "authority_notice_due"] == [
        d(2025, 10, 22)
    ]


# --- rule 19 ------------------------------------------------------------------------------------


def test_rule_19_balances_by_filing_number_as_of_a_past_date(worked_example: Ledger) -> None:
    ledger = worked_example
    ledger.propose_refund("C1", "deposit", [("cleaning", D("300.00"))], on=d(2025, 10, 10))
    ledger.run_until_idle()
    assert ledger.today == d(2025, 10, 20)
    # As of 2025-09-01: 5,000.00 held in one lot from 06-03; accrued (as if paid out that day):
    # days 06-03→07-03 30, →08-03 31, →09-01 29 = 90; 17.50 × 90 = 1,575.00 / 360 = 4.375
    # → 4.38 (half-up).
    sep = ledger.balances(filing_no="JZ-2025-000001", as_of=d(2025, 9, 1))
    assert (sep.contract, sep.tenant, sep.enterprise) == ("C1", "T1", "E1")
    assert sep.deposit.principal == D("5000.00")
    assert sep.deposit.interest_accrued == D("4.38")
    assert sep.deposit.lots == ((d(2025, 6, 3), D("5000.00")),)
    assert sep.rent.principal == D("0.00")
    # As of 2025-10-15 (after the 4,700.00 refund, before the deduction): 300.00 held;
    # days 134; 1.05 × 134 = 140.70 / 360 = 0.390833… → 0.39
    oct15 = ledger.balances(filing_no="JZ-2025-000001", as_of=d(2025, 10, 15))
    assert oct15.deposit.principal == D("300.00")
    assert oct15.deposit.interest_accrued == D("0.39")
    # As of 2025-06-02: the contract was filed (06-01) but nothing paid yet.
    assert ledger.balances(filing_no="JZ-2025-000001", as_of=d(2025, 6, 2)).deposit.principal == D(
        "0.00"
    )
    # Today: everything paid out.
    assert ledger.balances(filing_no="JZ-2025-000001").deposit.principal == D("0.00")
    # By contract id, the same answer.
    assert ledger.balances("C1", as_of=d(2025, 9, 1)) == sep


def test_rule_19_unknown_filing_numbers_and_dates_before_filing(
    worked_example: Ledger,
) -> None:
    import pytest

    with pytest.raises(UnknownContract):
        worked_example.balances(filing_no="JZ-9999")
    with pytest.raises(UnknownContract):
        worked_example.balances(filing_no="JZ-2025-000001", as_of=d(2025, 5, 31))
    with pytest.raises(InputError):
        worked_example.balances("C1", filing_no="JZ-2025-000001")
