"""docs/rules.md rule 13 (Art. 20): the district authority suspends payments from supervision.

While suspended, every payment from the supervision account to that enterprise (3-month and
monthly releases, rent deductions) is held (notice ``releases_held``); refunds to tenants and
payments from custody are not. On resumption, what was held is paid at once with interest to the
day before payment. A return while releases are held keeps the rent in supervision for the rent
refund workflow.

Contract C1 (enterprise E1): rent 2,000.00 a month, 2025-07-01..2026-06-30; 16,000.00 (8
months) of rent and, where used, the 2,000.00 deposit arrive Tue 2025-07-01. Rate 0.35 % / 360:
per 1,000.00, 3.50 a year; per 2,000.00, 7.00.
Days from 07-01: 08-01 = 31, 08-21 = 51, 08-22 = 52, 09-01 = 62, 09-10 = 71, 10-01 = 92,
10-09 = 100, 11-01 = 123, 11-03 = 125, 11-05 = 127, 12-01 = 153.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

from escrow.domain.terms import ContractTerms
from escrow.service import Ledger

D = Decimal
d = dt.date


def open_rent(
    ledger: Ledger,
    make_terms: Callable[..., ContractTerms],
    contract: str = "C1",
    enterprise: str = "E1",
    *,
    deposit: bool = False,
) -> None:
    terms = make_terms(
        contract,
        enterprise=enterprise,
        start=d(2025, 7, 1),
        end=d(2026, 6, 30),
        monthly_rent="2000.00",
        deposit="2000.00",
    )
    ledger.open_contract(terms, on=d(2025, 7, 1))
    if deposit:
        ledger.pay_deposit(contract, D("2000.00"), on=d(2025, 7, 1))
    ledger.pay_rent(contract, D("16000.00"), on=d(2025, 7, 1))


def held_notices(ledger: Ledger, contract: str = "C1") -> list[tuple[dt.date, str | None]]:
    return [(n.date, n.fund) for n in ledger.notices(contract) if n.kind == "releases_held"]


def test_rule_13_suspension_holds_monthly_releases_and_resumption_pays_them_at_once(
    ledger: Ledger, make_terms: Callable[..., ContractTerms], rows: Callable[..., list[tuple[str, ...]]]
) -> None:
    open_rent(ledger, make_terms, "C1", "E1")
    open_rent(ledger, make_terms, "C2", "E2")
    # 07-01: 6,000.00 released to E1 (0 days, 0.00). Suspended Tue 07-15.
    ledger.suspend_releases("E1", on=d(2025, 7, 15))
    ledger.advance_to(d(2025, 9, 9))
    # The 08-01 and 09-01 releases are held, each with a notice dated the day it fell due.
    assert held_notices(ledger) == [(d(2025, 8, 1), "rent"), (d(2025, 9, 1), "rent")]
    assert ledger.held()["C1"]["rent"] == D("10000.00")  # 16,000 − 6,000
    assert [t.kind for t in ledger.transfers("C1")] == ["payment_in", "release"]
    # E2 is not suspended: its 08-01 release went out (7.00 × 31 = 217.00 / 360 = 0.602777…
    # → 0.60).
    assert rows(ledger.transfers("C2"))[2] == (
        "2025-08-01",
        "release",
        "supervision",
        "enterprise:E2",
        "2000.00",
        "0.60",
    )
    # Resumed Wed 09-10: both held releases paid that day, interest to the day before payment:
    #   days 71; 7.00 × 71 = 497.00 / 360 = 1.380555… → 1.38 each.
    # Then the schedule goes on:
    #   10-01 → Thu 10-09: 100 days; 700.00 / 360 = 1.944444… → 1.94
    #   11-01 Sat → Mon 11-03: 125 days; 875.00 / 360 = 2.430555… → 2.43
    #   12-01 Mon: 153 days; 1,071.00 / 360 = 2.975 → 2.98 (half-up); the tranche is empty
    #   (6,000 + 5 × 2,000 = 16,000).
    ledger.resume_releases("E1", on=d(2025, 9, 10))
    ledger.run_until_idle()
    assert rows(ledger.transfers("C1")) == [
        ("2025-07-01", "payment_in", "tenant:T1", "supervision", "16000.00", "0.00"),
        ("2025-07-01", "release", "supervision", "enterprise:E1", "6000.00", "0.00"),
        ("2025-09-10", "release", "supervision", "enterprise:E1", "2000.00", "1.38"),
        ("2025-09-10", "release", "supervision", "enterprise:E1", "2000.00", "1.38"),
        ("2025-10-09", "release", "supervision", "enterprise:E1", "2000.00", "1.94"),
        ("2025-11-03", "release", "supervision", "enterprise:E1", "2000.00", "2.43"),
        ("2025-12-01", "release", "supervision", "enterprise:E1", "2000.00", "2.98"),
    ]
    assert held_notices(ledger) == [(d(2025, 8, 1), "rent"), (d(2025, 9, 1), "rent")]


def test_rule_13_a_release_instructed_but_not_yet_settled_is_held_by_a_suspension(
    ledger: Ledger, make_terms: Callable[..., ContractTerms], rows: Callable[..., list[tuple[str, ...]]]
) -> None:
    open_rent(ledger, make_terms)
    # The 11-01 release falls on a Saturday and would settle Mon 11-03; the suspension comes on
    # Sun 11-02, before it left: it is held (notice dated 11-02).
    ledger.suspend_releases("E1", on=d(2025, 11, 2))
    assert held_notices(ledger) == [(d(2025, 11, 2), "rent")]
    ledger.advance_to(d(2025, 11, 4))
    assert [t.date for t in ledger.transfers("C1") if t.kind == "release"][-1] == d(2025, 10, 9)
    # Resumed Wed 11-05: paid that day; 127 days; 7.00 × 127 = 889.00 / 360 = 2.469444… → 2.47
    ledger.resume_releases("E1", on=d(2025, 11, 5))
    ledger.run_until_idle()
    assert rows(ledger.transfers("C1"))[-2:] == [
        ("2025-11-05", "release", "supervision", "enterprise:E1", "2000.00", "2.47"),
        ("2025-12-01", "release", "supervision", "enterprise:E1", "2000.00", "2.98"),
    ]


def test_rule_13_the_three_month_release_of_a_tranche_arriving_while_suspended_is_held(
    ledger: Ledger, make_terms: Callable[..., ContractTerms], rows: Callable[..., list[tuple[str, ...]]]
) -> None:
    # E1 is suspended before C1 is even filed; C1 is governed by the suspension too.
    ledger.suspend_releases("E1", on=d(2025, 7, 1))
    terms = make_terms(
        "C1", start=d(2025, 7, 1), end=d(2026, 6, 30), monthly_rent="2000.00", deposit="2000.00"
    )
    ledger.open_contract(terms, on=d(2025, 7, 1))
    # 8,000.00 arrives Wed 07-02: the 3-month release (6,000.00) is held that day.
    ledger.pay_rent("C1", D("8000.00"), on=d(2025, 7, 2))
    assert held_notices(ledger) == [(d(2025, 7, 2), "rent")]
    # Resumed Thu 07-10: 6,000.00 paid that day; days 8; 6,000.00 × 0.35 % = 21.00; × 8 =
    # 168.00; / 360 = 0.466666… → 0.47. The last month on Sat 08-02 → Mon 08-04: 33 days;
    # 7.00 × 33 = 231.00 / 360 = 0.641666… → 0.64.
    ledger.resume_releases("E1", on=d(2025, 7, 10))
    ledger.run_until_idle()
    assert rows(ledger.transfers("C1")) == [
        ("2025-07-02", "payment_in", "tenant:T1", "supervision", "8000.00", "0.00"),
        ("2025-07-10", "release", "supervision", "enterprise:E1", "6000.00", "0.47"),
        ("2025-08-04", "release", "supervision", "enterprise:E1", "2000.00", "0.64"),
    ]


def test_rule_13_a_return_while_releases_are_held_keeps_the_rent_for_the_refund_workflow(
    ledger: Ledger, make_terms: Callable[..., ContractTerms], rows: Callable[..., list[tuple[str, ...]]]
) -> None:
    open_rent(ledger, make_terms, deposit=True)
    ledger.suspend_releases("E1", on=d(2025, 7, 15))
    # The 08-01 release is held; the home is returned Wed 08-20 while it is.
    ledger.return_home("C1", on=d(2025, 8, 20))
    # The held release does not go to E1: all 10,000.00 (16,000 − 6,000) stays for the rent
    # refund workflow. Opinions due 08-21, 08-22, Mon 08-25.
    assert ledger.held()["C1"] == {"deposit": D("2000.00"), "rent": D("10000.00")}
    assert [(x.date, x.fund, x.kind) for x in ledger.deadlines("C1")] == [
        (d(2025, 8, 25), "deposit", "refund_opinion"),
        (d(2025, 8, 25), "rent", "refund_opinion"),
    ]
    # Opinions Thu 08-21 without deductions. Refunds to the tenant are not held:
    #   rent 10,000.00 × 0.35 % = 35.00; × 51 = 1,785.00; / 360 = 4.958333… → 4.96
    #   deposit 2,000.00: 7.00 × 51 = 357.00 / 360 = 0.991666… → 0.99
    ledger.propose_refund("C1", "rent", [], on=d(2025, 8, 21))
    ledger.propose_refund("C1", "deposit", [], on=d(2025, 8, 21))
    ledger.resume_releases("E1", on=d(2025, 9, 10))
    ledger.run_until_idle()
    assert rows(ledger.transfers("C1")) == [
        ("2025-07-01", "payment_in", "tenant:T1", "custody", "2000.00", "0.00"),
        ("2025-07-01", "payment_in", "tenant:T1", "supervision", "16000.00", "0.00"),
        ("2025-07-01", "release", "supervision", "enterprise:E1", "6000.00", "0.00"),
        ("2025-08-21", "refund", "supervision", "tenant:T1", "10000.00", "4.96"),
        ("2025-08-21", "refund", "custody", "tenant:T1", "2000.00", "0.99"),
    ]
    assert held_notices(ledger) == [(d(2025, 8, 1), "rent")]


def test_rule_13_rent_deductions_are_held_while_deposit_deductions_and_refunds_are_not(
    ledger: Ledger, make_terms: Callable[..., ContractTerms], rows: Callable[..., list[tuple[str, ...]]]
) -> None:
    open_rent(ledger, make_terms, deposit=True)
    ledger.suspend_releases("E1", on=d(2025, 7, 15))
    ledger.return_home("C1", on=d(2025, 8, 20))
    # Thu 08-21: rent opinion deducts 1,000.00 → 9,000.00 to the tenant at once (not held):
    #   9,000.00 × 0.35 % = 31.50; × 51 = 1,606.50; / 360 = 4.4625 → 4.46
    # deposit opinion deducts 200.00 → 1,800.00 to the tenant:
    #   1,800.00 × 0.35 % = 6.30; × 51 = 321.30; / 360 = 0.8925 → 0.89
    ledger.propose_refund("C1", "rent", [("utilities", D("1000.00"))], on=d(2025, 8, 21))
    ledger.propose_refund("C1", "deposit", [("cleaning", D("200.00"))], on=d(2025, 8, 21))
    # Fri 08-22 the tenant agrees to both:
    #   deposit 200.00 from custody is not held: 0.70 × 52 = 36.40 / 360 = 0.101111… → 0.10
    #   rent 1,000.00 to E1 from supervision is held (notice 08-22)
    ledger.tenant_agree("C1", "deposit", on=d(2025, 8, 22))
    ledger.tenant_agree("C1", "rent", on=d(2025, 8, 22))
    ledger.advance_to(d(2025, 9, 9))
    assert held_notices(ledger) == [(d(2025, 8, 1), "rent"), (d(2025, 8, 22), "rent")]
    assert ledger.held()["C1"] == {"deposit": D("0.00"), "rent": D("1000.00")}
    # Resumed Wed 09-10: the rent deduction is paid that day:
    #   1,000.00 × 0.35 % = 3.50; × 71 = 248.50; / 360 = 0.690277… → 0.69
    ledger.resume_releases("E1", on=d(2025, 9, 10))
    ledger.run_until_idle()
    assert rows(ledger.transfers("C1"))[3:] == [
        ("2025-08-21", "refund", "supervision", "tenant:T1", "9000.00", "4.46"),
        ("2025-08-21", "refund", "custody", "tenant:T1", "1800.00", "0.89"),
        ("2025-08-22", "deduction", "custody", "enterprise:E1", "200.00", "0.10"),
        ("2025-09-10", "deduction", "supervision", "enterprise:E1", "1000.00", "0.69"),
    ]
    assert ledger.held()["C1"] == {"deposit": D("0.00"), "rent": D("0.00")}


def test_rule_13_held_releases_cancelled_at_the_return_are_never_instructed_again(
    ledger: Ledger, make_terms: Callable[..., ContractTerms], rows: Callable[..., list[tuple[str, ...]]]
) -> None:
    # Contract C7 (enterprise E2): rent 2,500.00 a month, 2025-06-16..2025-12-15, no deposit;
    # 15,000.00 (6 months) arrives Mon 2025-06-16.
    terms = make_terms(
        "C7",
        enterprise="E2",
        start=d(2025, 6, 16),
        end=d(2025, 12, 15),
        monthly_rent="2500.00",
        deposit="0",
    )
    ledger.open_contract(terms, on=d(2025, 6, 16))
    ledger.pay_rent("C7", D("15000.00"), on=d(2025, 6, 16))
    # 06-16: 7,500.00 (3 months) released at once (0 days, 0.00).
    # 07-16: 2,500.00 released; 30 days: 2,500.00 × 0.35 % = 8.75; × 30 = 262.50;
    #   / 360 = 0.729166… → 0.73.
    # Suspended Fri 08-01: the 08-16 and 09-16 releases (2,500.00 each) are held; with them the
    # tranche is spent (7,500 + 2,500 × 3 = 15,000), so 10-16 has nothing to release.
    ledger.suspend_releases("E2", on=d(2025, 8, 1))
    # Returned Mon 11-03 while both releases are held: they are cancelled, none is instructed
    # again, and all 5,000.00 they held goes through the rent refund workflow.
    ledger.return_home("C7", on=d(2025, 11, 3))
    assert ledger.held()["C7"]["rent"] == D("5000.00")
    # Opinion Wed 11-05 without deductions: 5,000.00 back to the tenant at once with interest
    # from 06-16: 14 + 31 + 31 + 30 + 31 + 5 = 142 days;
    #   5,000.00 × 0.35 % = 17.50; × 142 = 2,485.00; / 360 = 6.902777… → 6.90
    ledger.propose_refund("C7", "rent", [], on=d(2025, 11, 5))
    ledger.run_until_idle()
    assert rows(ledger.transfers("C7")) == [
        ("2025-06-16", "payment_in", "tenant:T1", "supervision", "15000.00", "0.00"),
        ("2025-06-16", "release", "supervision", "enterprise:E2", "7500.00", "0.00"),
        ("2025-07-16", "release", "supervision", "enterprise:E2", "2500.00", "0.73"),
        ("2025-11-05", "refund", "supervision", "tenant:T1", "5000.00", "6.90"),
    ]
    assert held_notices(ledger, "C7") == [(d(2025, 8, 16), "rent"), (d(2025, 9, 16), "rent")]
    assert ledger.held()["C7"] == {"deposit": D("0.00"), "rent": D("0.00")}
    # Resuming afterwards pays the enterprise nothing more.
    ledger.resume_releases("E2", on=d(2025, 11, 10))
    ledger.run_until_idle()
    assert len(ledger.transfers("C7")) == 4
