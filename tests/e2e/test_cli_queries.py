"""The read commands (`transfers`, `notices`, `contracts`, `balance`, `deadlines`) and their
`--format table|json|csv`, `--contract`, `--from` and `--to` (issue 17, item 3).

The ledger is the worked example of docs/rules.md (scenarios/rule-03-07-deposit-refund-
national-day.toml), run once into a real SQLite file. Its figures, worked by hand from the rules:
deposit 5,000.00 in on 2025-06-03; the home back on Tuesday 2025-09-30; the enterprise's opinion
on 10-10 deducts 300.00, so 4,700.00 goes back on 10-10 with 4,700.00 x 0.35 % x 129 / 360 =
5.894 -> 5.89; the tenant is silent, reminded on 10-15, deemed to agree on Saturday 10-18, and the
300.00 is paid on Monday 10-20 (the first settlement day) with 300.00 x 0.35 % x 139 / 360 =
0.405 -> 0.41.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from escrow.cli import app
from escrow.errors import IntegrityError

runner = CliRunner()
SCENARIO = (
    Path(__file__).resolve().parents[2]
    / "scenarios"
    / "rule-03-07-deposit-refund-national-day.toml"
)

TRANSFERS = [
    # date, kind, from, to, principal, interest (worked in the module docstring)
    ("2025-06-03", "payment_in", "tenant:T1", "custody", "5000.00", "0.00"),
    ("2025-10-10", "refund", "custody", "tenant:T1", "4700.00", "5.89"),
    ("2025-10-20", "deduction", "custody", "enterprise:E1", "300.00", "0.41"),
]


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = str(tmp_path_factory.mktemp("queries") / "ledger.db")
    ran = runner.invoke(app, ["run", str(SCENARIO), "--db", path])
    assert ran.exit_code == 0, ran.output
    return path


def query(*args: str) -> str:
    result = runner.invoke(app, list(args), env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    return result.stdout


def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_transfers_lists_every_movement_with_the_worked_figures(db: str) -> None:
    out = query("transfers", "--db", db)
    for date, kind, source, target, principal, interest in TRANSFERS:
        line = next(line for line in out.splitlines() if date in line)
        assert [kind, source, target, principal, interest] == [
            cell.strip() for cell in line.split("│")[4:9]
        ]


def test_transfers_as_csv_has_one_header_row_and_one_row_per_movement(db: str) -> None:
    text = query("transfers", "--db", db, "--format", "csv")
    assert text.splitlines()[0] == "date,contract,fund,kind,from,to,principal,interest"
    rows = csv_rows(text)
    assert [
        (r["date"], r["kind"], r["from"], r["to"], r["principal"], r["interest"]) for r in rows
    ] == TRANSFERS
    assert {(r["contract"], r["fund"]) for r in rows} == {("C1", "deposit")}


def test_json_flag_is_format_json_and_matches_the_run_report(db: str) -> None:
    as_flag = json.loads(query("transfers", "--db", db, "--json"))
    as_format = json.loads(query("transfers", "--db", db, "--format", "json"))
    report = json.loads(query("run", str(SCENARIO), "--json"))
    assert as_flag == as_format == report["transfers"]


def test_from_and_to_keep_the_movements_of_that_period(db: str) -> None:
    rows = csv_rows(
        query("transfers", "--db", db, "--contract", "C1", "--from", "2025-10-10",
              "--to", "2025-10-19", "--format", "csv")
    )  # fmt: skip
    assert [(r["date"], r["principal"]) for r in rows] == [("2025-10-10", "4700.00")]
    rows = csv_rows(query("transfers", "--db", db, "--from", "2025-10-11", "--format", "csv"))
    assert [(r["date"], r["principal"]) for r in rows] == [("2025-10-20", "300.00")]


@pytest.mark.parametrize(
    ("command", "empty"),
    [
        (["transfers", "--from", "2025-10-11", "--to", "2025-10-19"], "no transfers"),
        (["notices", "--to", "2025-10-14"], "no notices"),
        (["contracts", "--from", "2025-10-01"], "no contracts"),  # the tenancy ended 09-30
        (["deadlines"], "no open deadlines"),  # at the clock's end the 300.00 was paid
    ],
)
def test_an_empty_result_says_so_in_one_line(db: str, command: list[str], empty: str) -> None:
    assert query(*command, "--db", db) == empty + "\n"


@pytest.mark.parametrize("command", ["transfers", "notices", "contracts"])
def test_an_empty_result_is_an_empty_list_in_json_and_a_header_in_csv(
    db: str, command: str
) -> None:
    period = ["--from", "2099-01-01"]
    assert json.loads(query(command, "--db", db, *period, "--json")) == []
    assert len(query(command, "--db", db, *period, "--format", "csv").splitlines()) == 1


def test_notices_are_the_reminder_and_the_deemed_agreement(db: str) -> None:
    # Silent through 10-14, reminded on 10-15; silent through 10-17, deemed agreed on 10-18.
    rows = json.loads(query("notices", "--db", db, "--json"))
    assert [(n["date"], n["kind"], n["contract"], n["fund"]) for n in rows] == [
        ("2025-10-15", "reminder", "C1", "deposit"),
        ("2025-10-18", "deemed_agreed", "C1", "deposit"),
    ]
    later = csv_rows(query("notices", "--db", db, "--from", "2025-10-16", "--format", "csv"))
    assert [n["kind"] for n in later] == ["deemed_agreed"]


def test_contracts_shows_the_terms_and_what_is_still_held(db: str) -> None:
    (row,) = json.loads(query("contracts", "--db", db, "--format", "json"))
    assert row == {
        "contract": "C1",
        "filing_no": "JZ-2025-000001",
        "tenant": "T1",
        "enterprise": "E1",
        "start": "2025-06-03",
        "end": "2025-09-30",
        "monthly_rent": "5000.00",
        "deposit": "5000.00",
        "affordable": False,
        "returned_on": "2025-09-30",
        "suspended": False,
        "held_deposit": "0.00",  # 5,000.00 in, 4,700.00 + 300.00 out
        "held_rent": "0.00",
    }
    (flat,) = csv_rows(query("contracts", "--db", db, "--to", "2025-06-03", "--format", "csv"))
    assert (flat["affordable"], flat["returned_on"], flat["held_deposit"]) == (
        "false",
        "2025-09-30",
        "0.00",
    )


def test_deadlines_filter_and_csv(db: str) -> None:
    # On 10-12 the tenant's first window (after the 10-10 opinion) was open until 10-14.
    args = ["deadlines", "--db", db, "--as-of", "2025-10-12", "--contract", "C1"]
    rows = csv_rows(query(*args, "--format", "csv"))
    assert [(r["date"], r["kind"], r["detail"]) for r in rows] == [
        ("2025-10-14", "tenant_answer", "first window")
    ]
    assert query(*args, "--from", "2025-10-15") == "no open deadlines\n"


def test_balance_as_csv_is_one_row_per_fund(db: str) -> None:
    # On 10-12 the 300.00 under negotiation was still in custody, with 300.00 x 0.35 % x 131 / 360
    # = 0.382 -> 0.38 accrued (06-03 to 10-12 is 27 + 31 + 31 + 30 + 12 = 131 days).
    rows = csv_rows(
        query("balance", "--db", db, "--contract", "C1", "--as-of", "2025-10-12", "--format", "csv")
    )
    assert [(r["fund"], r["principal"], r["interest_accrued"]) for r in rows] == [
        ("deposit", "300.00", "0.38"),
        ("rent", "0.00", "0.00"),
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["transfers", "--json", "--format", "csv"], "--json and --format csv: give one of them"),
        (["notices", "--contract", "C9"], "--contract: the ledger holds no contract 'C9'"),
        (
            ["contracts", "--from", "2025-10-20", "--to", "2025-10-01"],
            "--from: 2025-10-20 is after",
        ),
        (["transfers", "--to", "2025-13-01"], "--to: '2025-13-01' is not a date"),
        (["deadlines", "--format", "xml"], "'xml' is not one of 'table', 'json', 'csv'"),
    ],
)
def test_a_bad_filter_is_one_line_and_exit_2(db: str, args: list[str], message: str) -> None:
    result = runner.invoke(app, [*args, "--db", db])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1 and message in result.stderr


MARKUP = """
name = "ids that look like markup or CSV"
[[contracts]]
id = "C[/x]"
filing_no = "F,1"
tenant = "[red]T\\"1"
enterprise = "E"
start = 2025-01-06
end = 2026-01-05
monthly_rent = "1000.00"
deposit = "2000.00"

[[actions]]
date = 2025-01-06
action = "pay_deposit"
contract = "C[/x]"
amount = "2000.00"
"""


def test_user_strings_are_data_in_every_format(tmp_path: Path) -> None:
    scenario = tmp_path / "markup.toml"
    scenario.write_text(MARKUP, encoding="utf-8")
    db = str(tmp_path / "ledger.db")
    assert runner.invoke(app, ["run", str(scenario), "--db", db]).exit_code == 0

    table = query("contracts", "--db", db, "--contract", "C[/x]")
    (row,) = csv_rows(query("contracts", "--db", db, "--format", "csv"))
    (transfer,) = csv_rows(query("transfers", "--db", db, "--format", "csv"))

    assert "C[/x]" in table and '[red]T"1' in table and "F,1" in table
    assert (row["contract"], row["filing_no"], row["tenant"]) == ("C[/x]", "F,1", '[red]T"1')
    assert (transfer["from"], transfer["principal"]) == ('tenant:[red]T"1', "2000.00")


def test_transfers_are_written_as_the_ledger_reads_them(
    db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """JSON rows go out as the ledger yields them: when reading fails after the first two
    movements, those two are already on stdout (a ledger-wide list is never held whole)."""
    from escrow.service import Ledger

    real = Ledger.iter_transfers

    def two_then_fail(self: Ledger, *args: object, **kwargs: object) -> Iterator[object]:
        with contextlib.closing(real(self, *args, **kwargs)) as found:  # type: ignore[arg-type]
            yield next(found)
            yield next(found)
            raise IntegrityError("the store failed while it was read")

    monkeypatch.setattr(Ledger, "iter_transfers", two_then_fail)
    result = runner.invoke(app, ["transfers", "--db", db, "--json"])
    assert result.exit_code == 2  # an EscrowError: one line, exit 2
    assert "2025-06-03" in result.stdout and "2025-10-10" in result.stdout
    assert "2025-10-20" not in result.stdout
    assert "the store failed while it was read" in result.stderr
