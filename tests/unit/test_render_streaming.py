"""JSON and CSV of a query are written row by row (``escrow.render.write_json``/``write_csv``).

The text must be exactly what the whole list made before (the documented format does not move),
and the first rows must be out before the last is read: a ledger-wide list is never held whole.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

import pytest

from escrow.render import Rows, write_csv, write_json

COLUMNS = ("date", "contract", "detail", "amount", "flag")
ROWS: list[dict[str, Any]] = [
    {"date": "2025-10-10", "contract": "C1", "detail": "退还押金", "amount": "4700.00", "flag": True},
    {"date": "2025-10-20", "contract": "C2", "detail": 'a "quoted", comma', "amount": "0.41",
     "flag": None},
    {"date": "2025-10-21", "contract": "C3", "detail": ["nested", {"x": 1}], "amount": "1.00",
     "flag": False},
]  # fmt: skip


def _rows(items: object) -> Rows:
    return Rows("Test", COLUMNS, items, "none")  # type: ignore[arg-type]


@pytest.mark.parametrize("count", [0, 1, 3])
def test_json_is_exactly_the_whole_list_dumped(count: int) -> None:
    out = io.StringIO()
    write_json(_rows(iter(ROWS[:count])), out)
    assert out.getvalue() == json.dumps(ROWS[:count], ensure_ascii=False, indent=2) + "\n"


def test_csv_is_one_header_and_one_line_per_row() -> None:
    out = io.StringIO()
    write_csv(_rows(iter(ROWS[:2])), out)
    read = list(csv.reader(io.StringIO(out.getvalue())))
    # None is an empty cell, a flag true/false; quotes and commas quoted by RFC 4180.
    assert read == [
        list(COLUMNS),
        ["2025-10-10", "C1", "退还押金", "4700.00", "true"],
        ["2025-10-20", "C2", 'a "quoted", comma', "0.41", ""],
    ]


class _Broken(Exception):
    pass


def _two_then_fail() -> Iterator[dict[str, Any]]:
    yield ROWS[0]
    yield ROWS[1]
    raise _Broken


@pytest.mark.parametrize("writer", [write_json, write_csv])
def test_rows_are_written_before_the_last_is_read(writer: Any) -> None:
    out = io.StringIO()
    with pytest.raises(_Broken):
        writer(_rows(_two_then_fail()), out)
    written = out.getvalue()
    assert "C1" in written and "C2" in written  # both rows were out when the third failed
