"""Amounts given to the library are stored as two-place decimals (issue 13 item 4).

``Decimal("1E+2")``, ``Decimal("100.0000")``, an ``int`` and a string all mean whole fen; what
the ledger writes for each is the same text, ``"100.00"``, so nothing downstream (the report,
``verify``, a replay) ever sees an exponent or sub-fen digits. Read from the real SQLite rows.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from escrow import AmountError, ContractTerms, open_ledger

D = Decimal


def stored(path: Path, type_: str) -> list[dict[str, Any]]:
    """The JSON data of every stored event of ``type_``, in order."""
    with sqlite3.connect(path) as conn:
        rows = conn.execute(
            "SELECT data FROM events WHERE type = ? ORDER BY position", (type_,)
        ).fetchall()
    return [json.loads(data) for (data,) in rows]


def test_exponents_trailing_zeros_ints_and_strings_are_stored_as_two_place_amounts(
    tmp_path: Path,
) -> None:
    path = tmp_path / "ledger.db"
    with open_ledger(path) as ledger:
        ledger.open_contract(
            ContractTerms(
                id="C1",
                filing_no="JZ-2025-000001",
                tenant="T1",
                enterprise="E1",
                start=dt.date(2025, 6, 1),
                end=dt.date(2026, 5, 31),
                monthly_rent=1000,  # an int: 1,000 yuan a month
                deposit=D("1E+2"),  # 1 × 10² = 100 yuan
            ),
            on=dt.date(2025, 6, 1),
        )
        ledger.pay_deposit("C1", D("1E+2"), on=dt.date(2025, 6, 3))
        ledger.pay_deposit("C1", D("100.0000"), on=dt.date(2025, 6, 3))
        ledger.pay_deposit("C1", 100, on=dt.date(2025, 6, 3))
        ledger.pay_deposit("C1", "100", on=dt.date(2025, 6, 3))
        held = ledger.held()["C1"]["deposit"]

    (opened,) = stored(path, "contract_opened")
    assert opened["terms"]["deposit"] == "100.00"
    assert opened["terms"]["monthly_rent"] == "1000.00"
    amounts = [event["amount"] for event in stored(path, "deposit_received")]
    assert amounts == ["100.00"] * 4
    assert str(held) == "400.00"  # 4 lots × 100.00


@pytest.mark.parametrize("rent", [1000.005, 0.1 + 0.2, 3000.0])
def test_a_float_rent_is_refused_with_an_amount_error(rent: float) -> None:
    # Before: ContractTerms(monthly_rent=1000.005) was taken as 1000.00499999999999545...; a
    # release of 3000.015 was written, verify said sound, and replay crashed on it for ever.
    with pytest.raises(AmountError, match=r"^contract C1: monthly_rent: .* is a float"):
        ContractTerms(
            id="C1",
            filing_no="JZ-2025-000001",
            tenant="T1",
            enterprise="E1",
            start=dt.date(2025, 6, 1),
            end=dt.date(2026, 5, 31),
            monthly_rent=rent,
            deposit=D("0"),
        )
