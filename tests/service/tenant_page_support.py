"""The tenant page's tests share one contract, worked by hand from docs/rules.md.

Contract C1 (filing number JZ-2025-000123): tenant T1 rents from enterprise E1, 2025-06-01 to
2026-05-31, 5,000.00 a month, deposit 5,000.00; filed on Fri 2025-05-30.

- Tue 2025-06-03: the deposit, 5,000.00, arrives in custody (deposit lot 1). It is after the
  tenancy's start (06-01): a ``late_payment`` notice dated 06-03 (rule 1).
- Tue 2025-06-03: rent of 30,000.00 arrives = 6 months (> 3): wholly into supervision as rent
  lot 1 (rule 9). Its first 3 months, 15,000.00, go to E1 the same day (a working day), with
  0 days of interest: 0.00 (rule 10).
- Thu 2025-07-03 (a working day), the first monthly anniversary: 5,000.00 to E1, with interest
  5,000.00 × 0.35 % × 30 / 360 (06-03 → 07-03 = 30 days) = 1.458333… → 1.46 (rules 14–17).
- The clock then runs to Sun 2025-07-20, the page's date.

On 2025-07-20:
- held in custody 5,000.00; in supervision 30,000.00 − 15,000.00 − 5,000.00 = 10,000.00; in all
  15,000.00;
- interest so far, as if paid out on 07-20 (06-03 → 07-20 = 27 + 20 = 47 days):
  deposit 5,000.00 × 0.35 % × 47 / 360 = 822.5 / 360 = 2.284722… → 2.28;
  rent 10,000.00 × 0.35 % × 47 / 360 = 1,645 / 360 = 4.569444… → 4.57;
- the one open deadline: rent lot 1's second monthly release, due 06-03 + 2 months = Sun
  2025-08-03 (rule 10; it would settle on Mon 08-04, rule 11).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

from escrow.clock import FixedClock
from escrow.domain.terms import ContractTerms
from escrow.service import Ledger, open_ledger

FILING_NO = "JZ-2025-000123"
PAGE_DATE = dt.date(2025, 7, 20)


def worked_terms(
    contract: str = "C1",
    filing_no: str = FILING_NO,
    tenant: str = "T1",
    enterprise: str = "E1",
) -> ContractTerms:
    return ContractTerms(
        id=contract,
        filing_no=filing_no,
        tenant=tenant,
        enterprise=enterprise,
        start=dt.date(2025, 6, 1),
        end=dt.date(2026, 5, 31),
        monthly_rent=Decimal("5000.00"),
        deposit=Decimal("5000.00"),
    )


def new_ledger(path: Path) -> Ledger:
    """A ledger on a real SQLite file whose clock stands on the filing day (never the wall's)."""
    return open_ledger(str(path), clock=FixedClock(dt.datetime(2025, 5, 30, 2, tzinfo=dt.UTC)))


def worked_contract(ledger: Ledger, terms: ContractTerms | None = None) -> ContractTerms:
    """The module docstring's contract, run to 2025-07-20."""
    terms = terms or worked_terms()
    ledger.open_contract(terms, on=dt.date(2025, 5, 30))
    ledger.pay_deposit(terms.id, "5000.00", on=dt.date(2025, 6, 3))
    ledger.pay_rent(terms.id, "30000.00", on=dt.date(2025, 6, 3))
    ledger.advance_to(PAGE_DATE)
    return terms
