"""Deposit and rent interest (Art. 10, Art. 15; docs/rules.md rules 14-17).

- Rule 14: the rate is the PBoC demand-deposit listed rate **in force on the payout day**, applied
  to the whole period (not piecewise). Rate tables are data with effective dates; a payout day
  before a table's first row is an error (:class:`RateUnavailable`), never a zero rate.
- Rule 15: days = payout date − arrival date (arrival day counted, payout day not).
- Rule 16: annual rate / 360 by default (``day_basis``), simple interest.
- Rule 17: exact decimals, rounded once, half-up to the fen, by :func:`escrow.money.round_fen`.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Context, Decimal
from types import MappingProxyType

from escrow.errors import InputError, RateUnavailable, UnknownRateTable
from escrow.money import round_fen

__all__ = [
    "BUILTIN_TABLES",
    "DEFAULT_RATE_TABLE",
    "RateRow",
    "RateTable",
    "interest_days",
    "lot_interest",
    "rate_table",
]

_CONTEXT = Context(prec=60)


@dataclass(frozen=True)
class RateRow:
    """An annual demand-deposit rate, in percent, in force from ``effective`` (inclusive)."""

    effective: date
    annual_percent: Decimal

    def __post_init__(self) -> None:
        if not isinstance(self.effective, date) or isinstance(self.effective, datetime):
            raise InputError(f"rate row: effective must be a date, got {self.effective!r}")
        pct = self.annual_percent
        if not isinstance(pct, Decimal) or not pct.is_finite() or pct < 0:
            raise InputError(
                f"rate row {self.effective.isoformat()}: annual_percent must be a Decimal >= 0,"
                f" got {pct!r}"
            )


@dataclass(frozen=True)
class RateTable:
    """A named rate table: non-empty rows with strictly increasing effective dates."""

    name: str
    rows: tuple[RateRow, ...]

    def __post_init__(self) -> None:
        rows = tuple(self.rows)
        object.__setattr__(self, "rows", rows)
        if not rows:
            raise InputError(f"rate table {self.name!r} has no rows")
        for before, after in itertools.pairwise(rows):
            if after.effective <= before.effective:
                raise InputError(
                    f"rate table {self.name!r}: effective dates must strictly increase,"
                    f" but {after.effective.isoformat()} follows {before.effective.isoformat()}"
                )

    def rate_on(self, day: date) -> Decimal:
        """Annual percent in force on ``day``: the row with the latest ``effective <= day``."""
        index = bisect.bisect_right([row.effective for row in self.rows], day)
        if index == 0:
            raise RateUnavailable(
                f"rate table {self.name!r} has no rate for {day.isoformat()}:"
                f" its first rate takes effect on {self.rows[0].effective.isoformat()}"
            )
        return self.rows[index - 1].annual_percent


def _table(name: str, *rows: tuple[str, str]) -> RateTable:
    return RateTable(
        name, tuple(RateRow(date.fromisoformat(day), Decimal(pct)) for day, pct in rows)
    )


BUILTIN_TABLES: Mapping[str, RateTable] = MappingProxyType(
    {
        # PBoC benchmark demand-deposit rate; unchanged since 2012-07-06 (notice of 2015-10-24).
        "pboc-benchmark": _table(
            "pboc-benchmark",
            ("2012-06-08", "0.40"),
            ("2012-07-06", "0.35"),
        ),
        # The five large state banks' listed demand rate.
        "big-bank-listed": _table(
            "big-bank-listed",
            ("2015-10-24", "0.30"),
            ("2022-09-15", "0.25"),
            ("2023-06-08", "0.20"),
            ("2024-07-25", "0.15"),
            ("2024-10-18", "0.10"),
            ("2025-05-20", "0.05"),
        ),
    }
)

DEFAULT_RATE_TABLE = "pboc-benchmark"


def rate_table(name: str) -> RateTable:
    """The built-in table called ``name``; :class:`UnknownRateTable` lists the known names."""
    try:
        return BUILTIN_TABLES[name]
    except KeyError:
        known = ", ".join(sorted(BUILTIN_TABLES))
        raise UnknownRateTable(f"unknown rate table {name!r} (known: {known})") from None


def interest_days(arrived: date, paid_out: date) -> int:
    """Days of interest: arrival day counted, payout day not (rule 15)."""
    if paid_out < arrived:
        raise ValueError(
            f"payout {paid_out.isoformat()} is before the money arrived {arrived.isoformat()}"
        )
    return (paid_out - arrived).days


def lot_interest(
    principal: Decimal,
    arrived: date,
    paid_out: date,
    table: RateTable,
    day_basis: int = 360,
) -> Decimal:
    """Simple interest on one lot: principal × rate(payout day)/100 × days / day_basis.

    The whole period takes the payout day's rate (rule 14); the exact product is rounded once,
    half-up to the fen (rule 17).
    """
    if not isinstance(principal, Decimal) or not principal.is_finite() or principal < 0:
        raise ValueError(f"principal must be a Decimal >= 0, got {principal!r}")
    if not isinstance(day_basis, int) or isinstance(day_basis, bool) or day_basis <= 0:
        raise ValueError(f"day_basis must be a positive int, got {day_basis!r}")
    days = interest_days(arrived, paid_out)
    rate = table.rate_on(paid_out)
    # One division at the end: the only inexact step, at 60 significant digits.
    numerator = _CONTEXT.multiply(_CONTEXT.multiply(principal, rate), Decimal(days))
    exact = _CONTEXT.divide(numerator, Decimal(100 * day_basis))
    return round_fen(exact)
