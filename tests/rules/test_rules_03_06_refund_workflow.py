"""docs/rules.md rules 3–6 (Art. 10–11): the refund opinion, the tenant's answer, the missed deadline.

Unless a test says otherwise: the worked example's contract C1, deposit 5,000.00 arriving Tue
2025-06-03, home returned Tue 2025-09-30, pboc-benchmark 0.35 %, day basis 360.

Calendar: 2025-10-01..08 National Day off, Sat 2025-10-11 a make-up working day. 2026 Spring
Festival 02-15..23 off, Sat 02-14 and Sat 02-28 make-up working days.

Days from 2025-06-03: to 10-03 = 30 + 31 + 31 + 30 = 122; so 10-10 = 129, 10-11 = 130,
10-12 = 131, 10-13 = 132, 10-16 = 135, 10-17 = 136; 11-03 = 153, 12-03 = 183, 12-01 = 181,
12-15 = 195.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

from escrow.domain.terms import ContractTerms
from escrow.errors import DeadlinePassed, NothingToAnswer
from escrow.service import Ledger

D = Decimal
d = dt.date

PAYMENT_IN = ("2025-06-03", "payment_in", "tenant:T1", "custody", "5000.00", "0.00")
WORKFLOW_NOTICES = ("reminder", "deemed_agreed", "enterprise_deadline_missed")


def workflow_notices(ledger: Ledger, contract: str = "C1") -> list[tuple[dt.date, str]]:
    return [(n.date, n.kind) for n in ledger.notices(contract) if n.kind in WORKFLOW_NOTICES]


# --- rule 3: the enterprise's deadline ---------------------------------------------------------


def test_rule_03_enterprise_deadline_is_third_working_day_after_return(
    worked_example: Ledger,
) -> None:
    # R = Tue 2025-09-30 does not count; 10-01..08 off; Thu 10-09 (1), Fri 10-10 (2),
    # Sat 10-11 make-up (3) → 2025-10-11.
    deadlines = worked_example.deadlines("C1")
    assert [(x.date, x.kind, x.fund) for x in deadlines] == [
        (d(2025, 10, 11), "refund_opinion", "deposit")
    ]


def test_rule_03_enterprise_deadline_across_the_2026_spring_festival(
    ledger: Ledger, make_terms: Callable[..., ContractTerms]
) -> None:
    # R = Thu 2026-02-12: Fri 02-13 (1), Sat 02-14 make-up (2), 02-15..23 off, Tue 02-24 (3).
    terms = make_terms(
        "C1", start=d(2025, 12, 1), end=d(2026, 2, 11), monthly_rent="4000.00", deposit="4000.00"
    )
    ledger.open_contract(terms, on=d(2025, 12, 1))
    ledger.pay_deposit("C1", D("4000.00"), on=d(2025, 12, 1))
    ledger.return_home("C1", on=d(2026, 2, 12))
    assert [(x.date, x.kind) for x in ledger.deadlines("C1")] == [
        (d(2026, 2, 24), "refund_opinion")
    ]


def test_rule_03_an_opinion_on_the_deadline_day_itself_is_in_time(
    worked_example: Ledger, rows: Callable[..., list[tuple[str, ...]]]
) -> None:
    # Deadline is the end of Sat 2025-10-11 (a make-up working day): an opinion that day counts,
    # and its undisputed 4,700.00 settles that same Saturday (a working day).
    # days 06-03→10-11 = 130; 4,700.00 × 0.35 % = 16.45; × 130 = 2,138.50; / 360 = 5.940277… → 5.94
    worked_example.propose_refund("C1", "deposit", [("cleaning", D("300.00"))], on=d(2025, 10, 11))
    assert rows(worked_example.transfers("C1")) == [
        PAYMENT_IN,
        ("2025-10-11", "refund", "custody", "tenant:T1", "4700.00", "5.94"),
    ]
    assert workflow_notices(worked_example) == []


# --- rule 4: the undisputed part at once --------------------------------------------------------


def test_rule_04_an_opinion_without_deductions_refunds_everything_and_closes(
    worked_example: Ledger, rows: Callable[..., list[tuple[str, ...]]], assert_refused: Callable[..., object]
) -> None:
    ledger = worked_example
    ledger.propose_refund("C1", "deposit", [], on=d(2025, 10, 10))
    # days 129; 5,000.00 × 0.35 % = 17.50; × 129 = 2,257.50; / 360 = 6.270833… → 6.27
    assert rows(ledger.transfers("C1")) == [
        PAYMENT_IN,
        ("2025-10-10", "refund", "custody", "tenant:T1", "5000.00", "6.27"),
    ]
    assert ledger.held()["C1"]["deposit"] == D("0.00")
    assert ledger.deadlines("C1") == []
    # Nothing is left to agree to.
    assert_refused(
        ledger, NothingToAnswer, ledger.tenant_agree, "C1", "deposit", on=d(2025, 10, 10)
    )
    assert_refused(
        ledger, NothingToAnswer, ledger.tenant_disagree, "C1", "deposit", on=d(2025, 10, 13)
    )
    # And the clock produces no reminder and no deemed agreement.
    ledger.advance_to(d(2025, 11, 30))
    assert workflow_notices(ledger) == []
    assert len(ledger.transfers("C1")) == 2


def test_rule_04_deductions_equal_to_everything_held_refund_nothing(
    worked_example: Ledger, rows: Callable[..., list[tuple[str, ...]]]
) -> None:
    ledger = worked_example
    ledger.propose_refund(
        "C1", "deposit", [("cleaning", D("300.00")), ("damage", D("4700.00"))], on=d(2025, 10, 10)
    )
    # Undisputed part = 5,000.00 − 5,000.00 = 0: no refund transfer at all.
    assert rows(ledger.transfers("C1")) == [PAYMENT_IN]
    assert ledger.held()["C1"]["deposit"] == D("5000.00")
    # The tenant agrees on Mon 10-13 (window 10-11, 10-13, 10-14): the whole 5,000.00 to E1.
    # days 132; 17.50 × 132 = 2,310.00; / 360 = 6.416666… → 6.42
    ledger.tenant_agree("C1", "deposit", on=d(2025, 10, 13))
    assert rows(ledger.transfers("C1")) == [
        PAYMENT_IN,
        ("2025-10-13", "deduction", "custody", "enterprise:E1", "5000.00", "6.42"),
    ]


# --- rule 5: the tenant's answer ----------------------------------------------------------------


def test_rule_05_tenant_agrees_in_the_first_window_deduction_paid_the_same_day(
    worked_example: Ledger, rows: Callable[..., list[tuple[str, ...]]]
) -> None:
    ledger = worked_example
    ledger.propose_refund("C1", "deposit", [("cleaning", D("300.00"))], on=d(2025, 10, 10))
    # Agrees on Sat 10-11, the make-up working day, the first day of the window: paid that day.
    # days 130; 300.00 × 0.35 % = 1.05; × 130 = 136.50; / 360 = 0.379166… → 0.38
    ledger.tenant_agree("C1", "deposit", on=d(2025, 10, 11))
    ledger.run_until_idle()
    assert rows(ledger.transfers("C1")) == [
        PAYMENT_IN,
        ("2025-10-10", "refund", "custody", "tenant:T1", "4700.00", "5.89"),
        ("2025-10-11", "deduction", "custody", "enterprise:E1", "300.00", "0.38"),
    ]
    assert workflow_notices(ledger) == []


def test_rule_05_tenant_agrees_in_the_second_window_after_the_reminder(
    worked_example: Ledger, rows: Callable[..., list[tuple[str, ...]]]
) -> None:
    ledger = worked_example
    ledger.propose_refund("C1", "deposit", [("cleaning", D("300.00"))], on=d(2025, 10, 10))
    ledger.advance_to(d(2025, 10, 15))
    assert workflow_notices(ledger) == [(d(2025, 10, 15), "reminder")]
    # Agrees on Thu 10-16 (second window 10-15, 10-16, 10-17): paid that day.
    # days 135; 1.05 × 135 = 141.75; / 360 = 0.39375 → 0.39
    ledger.tenant_agree("C1", "deposit", on=d(2025, 10, 16))
    ledger.run_until_idle()
    assert rows(ledger.transfers("C1"))[-1] == (
        "2025-10-16",
        "deduction",
        "custody",
        "enterprise:E1",
        "300.00",
        "0.39",
    )
    assert workflow_notices(ledger) == [(d(2025, 10, 15), "reminder")]


def test_rule_05_tenant_may_still_answer_on_the_last_day_of_the_second_window(
    worked_example: Ledger, rows: Callable[..., list[tuple[str, ...]]]
) -> None:
    ledger = worked_example
    ledger.propose_refund("C1", "deposit", [("cleaning", D("300.00"))], on=d(2025, 10, 10))
    # Fri 10-17 is the last day: agreeing then pays on 10-17.
    # days 136; 1.05 × 136 = 142.80; / 360 = 0.396666… → 0.40
    ledger.tenant_agree("C1", "deposit", on=d(2025, 10, 17))
    assert rows(ledger.transfers("C1"))[-1] == (
        "2025-10-17",
        "deduction",
        "custody",
        "enterprise:E1",
        "300.00",
        "0.40",
    )


def test_rule_05_silent_tenant_after_the_reminder_is_deemed_to_agree(
    worked_example: Ledger, assert_refused: Callable[..., object]
) -> None:
    ledger = worked_example
    ledger.propose_refund("C1", "deposit", [("cleaning", D("300.00"))], on=d(2025, 10, 10))
    ledger.advance_to(d(2025, 10, 18))
    assert workflow_notices(ledger) == [
        (d(2025, 10, 15), "reminder"),
        (d(2025, 10, 18), "deemed_agreed"),
    ]
    # Too late to answer once deemed agreed (Sat 10-18).
    assert_refused(
        ledger, DeadlinePassed, ledger.tenant_disagree, "C1", "deposit", on=d(2025, 10, 18)
    )


def test_rule_05_tenant_disagrees_the_deduction_stays_held_earning_interest_until_resolved(
    worked_example: Ledger, rows: Callable[..., list[tuple[str, ...]]]
) -> None:
    ledger = worked_example
    ledger.propose_refund("C1", "deposit", [("cleaning", D("300.00"))], on=d(2025, 10, 10))
    # Disagrees on Tue 10-14, the last day of the first window.
    ledger.tenant_disagree("C1", "deposit", on=d(2025, 10, 14))
    ledger.advance_to(d(2025, 12, 1))
    # No reminder, no deemed agreement, no deadline while disputed; 300.00 still held.
    assert workflow_notices(ledger) == []
    assert ledger.deadlines("C1") == []
    assert ledger.held()["C1"]["deposit"] == D("300.00")
    # Still earning: as of 12-01, days 06-03→12-01 = 181;
    # 1.05 × 181 = 190.05; / 360 = 0.527916… → 0.53
    balance = ledger.balances(filing_no="JZ-2025-000001", as_of=d(2025, 12, 1))
    assert balance.deposit.principal == D("300.00")
    assert balance.deposit.interest_accrued == D("0.53")
    # Mediation on Sat 2025-12-13 splits it 100.00 / 200.00; a Saturday, so it settles on
    # Mon 12-15 (rule 11). days 06-03→12-15 = 195.
    #   tenant:     100.00 × 0.35 % = 0.35; × 195 = 68.25;  / 360 = 0.189583… → 0.19
    #   enterprise: 200.00 × 0.35 % = 0.70; × 195 = 136.50; / 360 = 0.379166… → 0.38
    ledger.resolve(
        "C1",
        "deposit",
        via="mediation",
        to_tenant=D("100.00"),
        to_enterprise=D("200.00"),
        on=d(2025, 12, 13),
    )
    ledger.run_until_idle()
    assert rows(ledger.transfers("C1"))[2:] == [
        ("2025-12-15", "refund", "custody", "tenant:T1", "100.00", "0.19"),
        ("2025-12-15", "deduction", "custody", "enterprise:E1", "200.00", "0.38"),
    ]
    assert ledger.held()["C1"]["deposit"] == D("0.00")


def test_rule_05_reminder_and_second_window_across_the_2026_make_up_saturday(
    ledger: Ledger, make_terms: Callable[..., ContractTerms], rows: Callable[..., list[tuple[str, ...]]]
) -> None:
    # Deposit 4,000.00 arrives Mon 2025-12-01; home returned Thu 2026-02-12; the enterprise's
    # deadline is Tue 02-24 (see rule 3 above); it proposes that day, deducting 400.00.
    terms = make_terms(
        "C1", start=d(2025, 12, 1), end=d(2026, 2, 11), monthly_rent="4000.00", deposit="4000.00"
    )
    ledger.open_contract(terms, on=d(2025, 12, 1))
    ledger.pay_deposit("C1", D("4000.00"), on=d(2025, 12, 1))
    ledger.return_home("C1", on=d(2026, 2, 12))
    ledger.propose_refund("C1", "deposit", [("repairs", D("400.00"))], on=d(2026, 2, 24))
    # First window: Wed 02-25 (1), Thu 02-26 (2), Fri 02-27 (3) → ends 02-27.
    assert [(x.date, x.kind) for x in ledger.deadlines("C1")] == [(d(2026, 2, 27), "tenant_answer")]
    ledger.run_until_idle()
    # Reminder the day after: Sat 02-28. Second window from 02-27: Sat 02-28 make-up (1),
    # Mon 03-02 (2), Tue 03-03 (3). Deemed agreed Wed 03-04, a working day: paid that day.
    assert [(n.date, n.kind) for n in ledger.notices("C1") if n.kind in WORKFLOW_NOTICES] == [
        (d(2026, 2, 28), "reminder"),
        (d(2026, 3, 4), "deemed_agreed"),
    ]
    # Refund 3,600.00 on 02-24: days 2025-12-01→2026-01-01 31, →02-01 31 (62), →02-24 23 = 85;
    #   3,600.00 × 0.35 % = 12.60; × 85 = 1,071.00; / 360 = 2.975 → 2.98 (half-up)
    # Deduction 400.00 on 03-04: days 85 + 8 (02-24→03-04, February 2026 has 28 days) = 93;
    #   400.00 × 0.35 % = 1.40; × 93 = 130.20; / 360 = 0.361666… → 0.36
    assert rows(ledger.transfers("C1")) == [
        ("2025-12-01", "payment_in", "tenant:T1", "custody", "4000.00", "0.00"),
        ("2026-02-24", "refund", "custody", "tenant:T1", "3600.00", "2.98"),
        ("2026-03-04", "deduction", "custody", "enterprise:E1", "400.00", "0.36"),
    ]


def test_rule_05_tenant_disagrees_in_the_second_window(
    worked_example: Ledger, rows: Callable[..., list[tuple[str, ...]]]
) -> None:
    ledger = worked_example
    ledger.propose_refund("C1", "deposit", [("cleaning", D("300.00"))], on=d(2025, 10, 10))
    # Reminded Wed 10-15; disagrees Fri 10-17 (the last day): no deemed agreement follows, the
    # 300.00 stays held until a court splits it on Mon 2025-11-03 — all to the enterprise:
    #   days 06-03→11-03 = 153; 1.05 × 153 = 160.65; / 360 = 0.44625 → 0.45
    ledger.tenant_disagree("C1", "deposit", on=d(2025, 10, 17))
    ledger.advance_to(d(2025, 11, 2))
    assert workflow_notices(ledger) == [(d(2025, 10, 15), "reminder")]
    assert ledger.held()["C1"]["deposit"] == D("300.00")
    ledger.resolve(
        "C1",
        "deposit",
        via="court",
        to_tenant=D("0.00"),
        to_enterprise=D("300.00"),
        on=d(2025, 11, 3),
    )
    assert rows(ledger.transfers("C1"))[2:] == [
        ("2025-11-03", "deduction", "custody", "enterprise:E1", "300.00", "0.45"),
    ]


# --- rule 6: the enterprise misses its deadline -------------------------------------------------


def test_rule_06_enterprise_misses_its_deadline_the_whole_deposit_goes_back(
    worked_example: Ledger, rows: Callable[..., list[tuple[str, ...]]]
) -> None:
    ledger = worked_example
    ledger.run_until_idle()
    # Deadline Sat 10-11 (end of day) → missed from Sun 10-12: a notice dated 10-12; the refund
    # settles on the next working day, Mon 10-13.
    # days 132; 5,000.00 × 0.35 % = 17.50; × 132 = 2,310.00; / 360 = 6.416666… → 6.42
    assert workflow_notices(ledger) == [(d(2025, 10, 12), "enterprise_deadline_missed")]
    assert rows(ledger.transfers("C1")) == [
        PAYMENT_IN,
        ("2025-10-13", "refund", "custody", "tenant:T1", "5000.00", "6.42"),
    ]
    assert ledger.held()["C1"]["deposit"] == D("0.00")


def test_rule_06_a_late_opinion_after_the_missed_deadline_is_refused(
    worked_example: Ledger, assert_refused: Callable[..., object]
) -> None:
    ledger = worked_example
    ledger.advance_to(d(2025, 10, 12))
    # On Sun 10-12 the deadline has passed; the whole refund is instructed (pending until 10-13).
    assert ledger.held()["C1"]["deposit"] == D("5000.00")
    error = assert_refused(
        ledger,
        DeadlinePassed,
        ledger.propose_refund,
        "C1",
        "deposit",
        [("cleaning", D("300.00"))],
        on=d(2025, 10, 12),
    )
    assert "2025-10-11" in str(error)
    ledger.advance_to(d(2025, 10, 13))
    assert_refused(
        ledger, DeadlinePassed, ledger.propose_refund, "C1", "deposit", [], on=d(2025, 10, 13)
    )
    # …and the tenant has nothing to answer.
    assert_refused(
        ledger, NothingToAnswer, ledger.tenant_agree, "C1", "deposit", on=d(2025, 10, 13)
    )


def test_rule_06_missed_deadline_refunds_every_lot_with_its_own_interest(
    ledger: Ledger, make_terms: Callable[..., ContractTerms], rows: Callable[..., list[tuple[str, ...]]]
) -> None:
    # Deposit 3,000.00 in two lots: 1,000.00 on Sun 2025-06-01, 2,000.00 on Tue 07-15.
    # Returned Mon 2025-09-01 → deadline 09-02 (1), 09-03 (2), Thu 09-04 (3); missed from Fri
    # 09-05 (a working day): notice and refund on 09-05.
    #   lot 1: days 06-01→09-05 = 92 + 4 = 96; 1,000.00 × 0.35 % = 3.50; × 96 = 336.00;
    #          / 360 = 0.933333… → 0.93
    #   lot 2: days 07-15→09-05 = 31 + 21 = 52; 7.00 × 52 = 364.00; / 360 = 1.011111… → 1.01
    #   interest 0.93 + 1.01 = 1.94
    ledger.open_contract(make_terms("C1", deposit="3000.00"), on=d(2025, 6, 1))
    ledger.pay_deposit("C1", D("1000.00"), on=d(2025, 6, 1))
    ledger.pay_deposit("C1", D("2000.00"), on=d(2025, 7, 15))
    ledger.return_home("C1", on=d(2025, 9, 1))
    ledger.run_until_idle()
    assert workflow_notices(ledger) == [(d(2025, 9, 5), "enterprise_deadline_missed")]
    assert rows(ledger.transfers("C1"))[2:] == [
        ("2025-09-05", "refund", "custody", "tenant:T1", "3000.00", "1.94"),
    ]
