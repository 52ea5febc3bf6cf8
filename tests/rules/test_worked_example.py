"""docs/rules.md "Worked example (rules 3–7, 14–17)", reproduced to the fen.

Every figure below was worked by hand from docs/rules.md, not read off the code:

Calendar (State Council notice for 2025): National Day + Mid-Autumn 2025-10-01..10-08 off;
Sat 2025-10-11 is a make-up working day (Sun 09-28 is the other one).

- Deposit 5,000.00 arrives Tue 2025-06-03 (lot 1).
- Home returned Tue 2025-09-30 (R). Working days after R: Thu 10-09 (1), Fri 10-10 (2),
  Sat 10-11 make-up (3) → the enterprise's deadline is 2025-10-11, end of day.
- Opinion Fri 2025-10-10, deducting 300.00 for cleaning → 4,700.00 refunded on 10-10.
  days = 10-10 − 06-03: 06-03→07-03 30, →08-03 31 (61), →09-03 31 (92), →10-03 30 (122),
  →10-10 7 = 129.  4,700.00 × 0.35 % = 16.45 a year; × 129 = 2,122.05; / 360 = 5.894583… → 5.89.
- Tenant's window: 3 working days after 10-10: Sat 10-11 (1), Sun 10-12 off, Mon 10-13 (2),
  Tue 10-14 (3) → 2025-10-14.
- Silent → reminder on the day after: Wed 2025-10-15. Second window, counted from the end of the
  first (10-14): Wed 10-15 (1), Thu 10-16 (2), Fri 10-17 (3) → 2025-10-17.
- Still silent → deemed agreed from Sat 2025-10-18 (the day after). Not a working day (Sun 10-19
  neither) → the 300.00 goes to the enterprise on Mon 2025-10-20.
  days = 10-20 − 06-03 = 122 + 17 = 139.  300.00 × 0.35 % = 1.05; × 139 = 145.95; / 360 =
  0.405416… → 0.41.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

from escrow.report import build_report
from escrow.service import Ledger

D = Decimal
d = dt.date


def run_worked_example(ledger: Ledger) -> None:
    ledger.propose_refund("C1", "deposit", [("cleaning", D("300.00"))], on=d(2025, 10, 10))
    ledger.run_until_idle()


def test_worked_example_transfers_to_the_fen(
    worked_example: Ledger, rows: Callable[..., list[tuple[str, ...]]]
) -> None:
    run_worked_example(worked_example)
    assert rows(worked_example.transfers("C1")) == [
        ("2025-06-03", "payment_in", "tenant:T1", "custody", "5000.00", "0.00"),
        # 4,700.00 × 0.35 % × 129 / 360 = 5.894583… → 5.89
        ("2025-10-10", "refund", "custody", "tenant:T1", "4700.00", "5.89"),
        # 300.00 × 0.35 % × 139 / 360 = 0.405416… → 0.41
        ("2025-10-20", "deduction", "custody", "enterprise:E1", "300.00", "0.41"),
    ]
    assert worked_example.held() == {"C1": {"deposit": D("0.00"), "rent": D("0.00")}}
    # Nothing is due any more: the clock stopped on the last settlement, 2025-10-20.
    assert worked_example.today == d(2025, 10, 20)


def test_worked_example_reminder_on_10_15_and_deemed_agreed_on_10_18(
    worked_example: Ledger,
) -> None:
    run_worked_example(worked_example)
    workflow = [
        (n.date, n.kind, n.fund)
        for n in worked_example.notices("C1")
        if n.kind not in ("late_payment", "short_payment", "excess_payment")
    ]
    assert workflow == [
        (d(2025, 10, 15), "reminder", "deposit"),
        (d(2025, 10, 18), "deemed_agreed", "deposit"),
    ]


def test_worked_example_deposit_after_the_contract_start_is_flagged_late(
    worked_example: Ledger,
) -> None:
    # Our documented reading of "late" (escrow/domain/payments.py): a deposit arriving after the
    # contract's start date. The docs/scenario-format.md contract starts 2025-06-01; the deposit arrives
    # 06-03, so it is flagged late on 06-03. The amount is exactly the agreed 5,000.00: no
    # short or excess flag.
    flags = [(n.date, n.kind) for n in worked_example.notices("C1") if n.kind.endswith("_payment")]
    assert flags == [(d(2025, 6, 3), "late_payment")]


def test_worked_example_deadlines_step_by_step(worked_example: Ledger) -> None:
    ledger = worked_example
    # After the return: the enterprise's opinion is due on the make-up Saturday 2025-10-11.
    assert [(x.date, x.kind) for x in ledger.deadlines("C1")] == [
        (d(2025, 10, 11), "refund_opinion")
    ]
    ledger.propose_refund("C1", "deposit", [("cleaning", D("300.00"))], on=d(2025, 10, 10))
    # First window ends Tue 2025-10-14 (10-11, 10-13, 10-14).
    assert [(x.date, x.kind) for x in ledger.deadlines("C1")] == [
        (d(2025, 10, 14), "tenant_answer")
    ]
    ledger.advance_to(d(2025, 10, 15))
    # Reminded on 10-15; second window ends Fri 2025-10-17 (10-15, 10-16, 10-17).
    assert [(x.date, x.kind) for x in ledger.deadlines("C1")] == [
        (d(2025, 10, 17), "tenant_answer")
    ]
    ledger.advance_to(d(2025, 10, 18))
    # Deemed agreed on Sat 10-18; the deduction waits for Mon 10-20 and is still held.
    assert [(x.date, x.kind) for x in ledger.deadlines("C1")] == [(d(2025, 10, 20), "settlement")]
    assert ledger.held()["C1"]["deposit"] == D("300.00")
    ledger.advance_to(d(2025, 10, 20))
    assert ledger.deadlines("C1") == []
    assert ledger.held()["C1"]["deposit"] == D("0.00")


def test_worked_example_run_report_matches_interface(worked_example: Ledger) -> None:
    run_worked_example(worked_example)
    report = build_report(worked_example, "Deposit refund across the National Day holiday")
    assert report["clock"] == "2025-10-20"
    assert report["transfers"][:2] == [
        {
            "date": "2025-06-03",
            "contract": "C1",
            "fund": "deposit",
            "kind": "payment_in",
            "from": "tenant:T1",
            "to": "custody",
            "principal": "5000.00",
            "interest": "0.00",
        },
        {
            "date": "2025-10-10",
            "contract": "C1",
            "fund": "deposit",
            "kind": "refund",
            "from": "custody",
            "to": "tenant:T1",
            "principal": "4700.00",
            "interest": "5.89",
        },
    ]
    assert {"date": "2025-10-15", "contract": "C1", "fund": "deposit", "kind": "reminder"} in (
        report["notices"]
    )
    assert report["held"] == {"C1": {"deposit": "0.00", "rent": "0.00"}}
    assert report["refused"] == []
