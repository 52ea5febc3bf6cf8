"""Bad input: mutated scenario files and bad arguments never crash ``escrow`` (issue 6).

tests/e2e/test_scenario_fuzz.py feeds broken files to ``escrow check``; this module feeds them
to ``escrow run FILE --db DB`` (the command that writes), from another valid base (three
contracts, every table and every action, several of each), and adds what only ``run`` and the
database commands have: ``--until``, ``--as-of``, ``--db``. Families of mutations:

- every value of the base given a value of another type, and every required key removed;
- every date broken (impossible dates, other date formats, quoted, with a time of day, far
  outside the calendar, outside the dates escrow supports — 2000-01-01 to 2099-12-31 — by a day
  or by millennia, an end before its start);
- every amount huge or tiny (beyond the maximum, fractions of a fen, negative, exponents, zero
  where a payment must be positive, unicode digits, a number instead of a string);
- unicode in ids and keys (control characters, bidi overrides, zero-width characters, NUL);
- deep nesting, an empty file, whitespace, a lone BOM, other encodings, binary junk, TOML
  truncated at many points, duplicate tables.

Each broken file: exit code 2, nothing on stdout, exactly one line on stderr
(``escrow: <file>: ...``), no traceback, and no database file created (nor its journal).
Each bad argument list: exit code 2, no traceback, nothing created.
"""

from __future__ import annotations

import copy
import datetime as dt
import random
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from reliability_support import add, record
from toml_writer import Raw, to_toml
from typer.testing import CliRunner

from escrow.cli import app
from escrow.scenario import ScenarioError, parse_scenario

runner = CliRunner()
d = dt.date.fromisoformat


def base() -> dict[str, Any]:
    """A valid scenario: three contracts, every table, every action kind (some twice)."""
    contracts = [
        {
            "id": f"C{i}",
            "filing_no": f"JZ-2025-{i:06d}",
            "tenant": f"T{i}",
            "enterprise": "E1" if i < 3 else "E2",
            "start": d("2025-03-01"),
            "end": d("2026-02-28"),
            "monthly_rent": "4200.00",
            "deposit": "8400.00",
            "affordable": i == 3,
        }
        for i in (1, 2, 3)
    ]
    return {
        "name": "Reliability base",
        "description": "three tenancies",
        "rules": "beijing-2024",
        "rate_table": "big-bank-listed",
        "until": d("2026-12-31"),
        "parameters": {
            "day_basis": 365,
            "settle_on_working_days": True,
            "deducted_interest_to": "tenant",
        },
        "rates": [
            {"from": d("2015-10-24"), "annual_percent": "0.35"},
            {"from": d("2025-05-20"), "annual_percent": "0.05"},
        ],
        "calendar": {"extra_holidays": [d("2025-12-31")], "extra_workdays": [d("2026-01-04")]},
        "contracts": contracts,
        "actions": [
            {
                "date": d("2025-03-01"),
                "action": "pay_deposit",
                "contract": "C1",
                "amount": "8400.00",
                "channel": "ecny",
            },
            {"date": d("2025-03-02"), "action": "pay_deposit", "contract": "C2", "amount": "0.01"},
            {"date": d("2025-03-02"), "action": "pay_rent", "contract": "C1", "amount": "25200.00"},
            {"date": d("2025-04-01"), "action": "pay_rent", "contract": "C3", "amount": "4200.00"},
            {"date": d("2025-05-06"), "action": "suspend_releases", "enterprise": "E1"},
            {"date": d("2025-06-06"), "action": "resume_releases", "enterprise": "E1"},
            {
                "date": d("2025-07-01"),
                "action": "change_account",
                "account": "custody",
                "bank": "B2",
            },
            {"date": d("2025-09-30"), "action": "return_home", "contract": "C1"},
            {
                "date": d("2025-09-30"),
                "action": "return_home",
                "contract": "C2",
                "reason": "termination",
            },
            {
                "date": d("2025-10-09"),
                "action": "propose_refund",
                "contract": "C1",
                "fund": "deposit",
                "deductions": [
                    {"item": "cleaning", "amount": "300.00"},
                    {"item": "钥匙 key", "amount": "50.00"},
                ],
            },
            {
                "date": d("2025-10-09"),
                "action": "propose_refund",
                "contract": "C1",
                "fund": "rent",
                "deductions": [],
            },
            {
                "date": d("2025-10-10"),
                "action": "tenant_disagree",
                "contract": "C1",
                "fund": "deposit",
            },
            {
                "date": d("2025-10-10"),
                "action": "tenant_agree",
                "contract": "C2",
                "fund": "deposit",
            },
            {
                "date": d("2025-12-01"),
                "action": "resolve",
                "contract": "C1",
                "fund": "deposit",
                "via": "mediation",
                "to_tenant": "150.00",
                "to_enterprise": "200.00",
            },
        ],
    }


# --- mutations ------------------------------------------------------------------------------------

Path_ = tuple[str | int, ...]
OPTIONAL = {
    "description",
    "rules",
    "rate_table",
    "until",
    "parameters",
    "rates",
    "calendar",
    "actions",
    "day_basis",
    "settle_on_working_days",
    "deducted_interest_to",
    "extra_holidays",
    "extra_workdays",
    "filing_no",
    "affordable",
    "channel",
    "reason",
    "deductions",
}
AMOUNTS = {"monthly_rent", "deposit", "amount", "to_tenant", "to_enterprise"}
POSITIVE = {"monthly_rent", "amount"}  # payments and rent must be more than zero
DATES = {"until", "from", "start", "end", "date"}


def leaves(node: Any, path: Path_ = ()) -> Iterator[tuple[Path_, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield (*path, key), value
            if isinstance(value, dict) or (
                isinstance(value, list) and value and isinstance(value[0], dict)
            ):
                yield from leaves(value, (*path, key))
    elif isinstance(node, list):
        for i, item in enumerate(node):
            yield from leaves(item, (*path, i))


def changed(path: Path_, value: Any = None, *, drop: bool = False) -> dict[str, Any]:
    data = copy.deepcopy(base())
    node: Any = data
    for part in path[:-1]:
        node = node[part]
    if drop:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return data


def name(path: Path_) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")


def wrong_types(value: Any) -> list[Any]:
    if isinstance(value, bool):
        return ["yes", 0]
    if isinstance(value, int):
        return ["365", 365.0]
    if isinstance(value, str):
        return [42, ["x"], {"k": "v"}]
    if isinstance(value, dt.date):
        return [20250301, 2025.0301, True]
    if isinstance(value, list):
        return ["x", {"k": 1}]
    if isinstance(value, dict):
        return [1, "x", [1]]
    raise TypeError(type(value))


BAD_DATES = [
    "2025-02-29",  # not a leap year
    "2025-02-30",
    "2025-13-01",
    "2025-00-10",
    "2025-04-31",
    "0000-01-01",
    "2025-6-3",
    "20250603",
    "2025/06/03",
    '"2025-06-03"',
    "2025-06-03T10:00:00",
    "2025-06-03 10:00:00+08:00",
    "10:00:00",
    "-2025-06-03",
    "２０２５-06-03",
    # well-formed dates outside the supported dates (escrow.calendar.FIRST_DATE..LAST_DATE)
    "1999-12-31",  # the day before 2000-01-01
    "2100-01-01",  # the day after 2099-12-31
    "0001-01-01",
    "9999-12-31",
]
BAD_AMOUNTS = [
    '"1e400"',
    '"1000000000000.00"',  # above the maximum amount
    '"' + "9" * 60 + '"',
    '"0.001"',
    '"0.000000001"',
    '"1e-9"',
    '"-0.01"',
    '"-5000.00"',
    '"５０００.００"',
    '"5000.0.0"',
    "5000",
    "5000.00",
    "1e400",
    "inf",
]


UNSUPPORTED_DATES = BAD_DATES[-4:]
DATE_PATHS: list[Path_] = [
    ("until",),
    ("rates", 1, "from"),
    ("contracts", 0, "start"),
    ("contracts", 2, "end"),
    ("actions", 0, "date"),
    ("actions", 13, "date"),
]


def cases() -> Iterator[tuple[str, bytes]]:
    def toml(data: dict[str, Any]) -> bytes:
        return to_toml(data).encode()

    all_leaves = list(leaves(base()))
    for path, value in all_leaves:
        for i, wrong in enumerate(wrong_types(value)):
            yield f"type:{name(path)}:{i}", toml(changed(path, wrong))
        if path[-1] not in OPTIONAL:
            yield f"missing:{name(path)}", toml(changed(path, drop=True))
    # dates: every date field of the first contract, two actions and the scenario, every way
    for path in DATE_PATHS:
        for bad in BAD_DATES:
            yield f"date:{name(path)}:{bad}", toml(changed(path, Raw(bad)))
    yield "date:end-before-start", toml(changed(("contracts", 1, "end"), d("2025-02-28")))
    yield (
        "date:calendar-day-twice",
        toml(changed(("calendar", "extra_workdays"), [d("2025-12-31")])),
    )
    # amounts: every amount field, every way; zero where it must be positive
    for path, _ in all_leaves:
        if path[-1] in AMOUNTS:
            for bad in BAD_AMOUNTS:
                yield f"amount:{name(path)}:{bad[:14]}", toml(changed(path, Raw(bad)))
            if path[-1] in POSITIVE and "deductions" not in path:
                yield f"amount-zero:{name(path)}", toml(changed(path, "0.00"))
    # unicode in ids and keys
    for i, junk in enumerate(
        ["C1\u0000", "\u202eC1", "C\u200b1", "C1\n", "\ufeffC1", "C1\u2028", " C1", ""]
    ):
        yield f"unicode-id:{i}", toml(changed(("contracts", 0, "id"), junk))
        yield f"unicode-ref:{i}", toml(changed(("actions", 1, "contract"), junk))
    for i, key in enumerate(["合同", "🏠", "amount\u200b", "Amount", "date "]):
        yield f"unicode-key:{i}", toml(changed(("actions", 0, key), "1"))
    # references and structure
    yield "unknown-contract", toml(changed(("actions", 3, "contract"), "C4"))
    yield "unknown-enterprise", toml(changed(("actions", 4, "enterprise"), "E3"))
    yield "no-contracts", toml(changed(("contracts",), []))
    yield "actions-as-table", toml(changed(("actions",), {"date": d("2025-03-01")}))
    valid = to_toml(base())
    yield "duplicate-table", (valid + "\n[parameters]\nday_basis = 360\n").encode()
    yield (
        "duplicate-key",
        valid.replace('name = "Reliability base"', 'name = "a"\nname = "b"').encode(),
    )
    # deep nesting
    for depth in (50, 500, 5000):
        yield f"deep-array-{depth}", (valid + "junk = " + "[" * depth + "]" * depth + "\n").encode()
        yield (
            f"deep-table-{depth}",
            (valid + "junk = " + "{a=" * depth + "1" + "}" * depth + "\n").encode(),
        )
    yield "deep-amount", valid.replace('"8400.00"', "[" * 200 + "]" * 200, 1).encode()
    # not a scenario
    for label, raw in [
        ("empty", b""),
        ("spaces", b"   \n\n\t"),
        ("bom", b"\xef\xbb\xbf"),
        ("bom-and-spaces", b"\xef\xbb\xbf \n"),
        ("utf16", valid.encode("utf-16")),
        ("utf32", valid.encode("utf-32")),
        ("gb18030", valid.replace("钥匙 key", "钥匙").encode("gb18030")),
        ("nul", b"\x00" * 64),
        ("json", b'{"name": "x", "contracts": []}'),
        ("html", b"<html><body>scenario</body></html>"),
        ("elf", b"\x7fELF\x02\x01\x01" + bytes(64)),
        ("png", b"\x89PNG\r\n\x1a\n" + bytes(range(256))),
        ("gzip", b"\x1f\x8b\x08\x00" + bytes(range(200))),
    ]:
        yield f"junk:{label}", raw
    rng = random.Random(6)
    for i in range(20):
        yield f"junk:random-{i}", rng.randbytes(rng.randint(1, 2000))
    # truncated: cut inside each of the first 30 quoted strings (always unterminated)
    for i, match in enumerate(re.finditer(r'= "', valid)):
        if i == 30:
            break
        yield f"truncated:{i}", valid[: match.end() + 1].encode()


CASES = list(cases())


def test_the_base_runs(tmp_path: Path) -> None:
    scenario = tmp_path / "base.toml"
    scenario.write_text(to_toml(base()), encoding="utf-8")
    result = runner.invoke(app, ["run", str(scenario), "--db", str(tmp_path / "b.db"), "--json"])
    assert result.exit_code == 0, result.output


def test_there_are_over_300_broken_files() -> None:
    assert len(CASES) >= 300
    assert len({label for label, _ in CASES}) == len(CASES)
    record("bad_scenario_files", len(CASES))


def no_database(db: Path) -> bool:
    return not any(db.parent.glob(db.name + "*"))


@pytest.mark.parametrize(("label", "raw"), CASES, ids=[label for label, _ in CASES])
def test_a_broken_scenario_is_refused_by_run_with_nothing_written(
    tmp_path: Path, label: str, raw: bytes
) -> None:
    scenario = tmp_path / "broken.toml"
    scenario.write_bytes(raw)
    db = tmp_path / "ledger.db"
    args = ["run", str(scenario), "--db", str(db)]
    if sum(raw) % 2:  # half of them in JSON mode
        args.append("--json")

    result = runner.invoke(app, args)

    assert result.exit_code == 2, (result.exit_code, result.output)
    assert isinstance(result.exception, SystemExit)
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"escrow: {scenario}: "), lines[0]
    assert "Traceback" not in result.output
    assert no_database(db), sorted(p.name for p in tmp_path.iterdir())
    add("bad_input_refused")


# --- bad arguments ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("args")
    scenario = root / "ok.toml"
    scenario.write_text(to_toml(base()), encoding="utf-8")
    db = root / "ledger.db"
    result = runner.invoke(app, ["run", str(scenario), "--db", str(db)])
    assert result.exit_code == 0, result.output
    text = root / "not-a-db.txt"
    text.write_text("this is not a database\n")
    return {
        "scenario": str(scenario),
        "db": str(db),
        "missing": str(root / "missing.db"),
        "dir": str(root),
        "text": str(text),
    }


BAD_ARGS: list[list[str]] = [
    ["frobnicate"],
    ["run"],
    ["run", "{scenario}", "--frobnicate"],
    ["run", "{scenario}", "--db"],
    ["run", "{scenario}", "--until"],
    ["run", "{scenario}", "--until", "2025-13-01", "--db", "{missing}"],
    ["run", "{scenario}", "--until", "2025-02-30", "--db", "{missing}"],
    ["run", "{scenario}", "--until", "yesterday", "--db", "{missing}"],
    ["run", "{scenario}", "--until", "", "--db", "{missing}"],
    ["run", "{scenario}", "--until", "2025-6-3", "--db", "{missing}"],
    ["run", "{scenario}", "--until", "２０２５-06-03", "--db", "{missing}"],
    ["run", "{scenario}", "--until", "2100-01-01", "--db", "{missing}"],
    ["run", "{scenario}", "--until", "1999-12-31", "--db", "{missing}"],
    ["run", "{scenario}", "--until", "9999-12-31", "--db", "{missing}"],
    ["run", "{missing}", "--db", "{missing}"],
    ["run", "{dir}", "--db", "{missing}"],
    ["run", "{scenario}", "--db", "mysql://user@localhost/escrow"],
    ["balance", "--contract", "C1"],
    ["balance", "--db", "{missing}", "--contract", "C1"],
    ["balance", "--db", "{dir}", "--contract", "C1"],
    ["balance", "--db", "{db}"],
    ["balance", "--db", "{db}", "--contract", "C1", "--filing-no", "JZ-2025-000001"],
    ["balance", "--db", "{db}", "--contract", "C9"],
    ["balance", "--db", "{db}", "--filing-no", "JZ-none"],
    ["balance", "--db", "{db}", "--contract", "C1", "--as-of", "2025-02-30"],
    ["balance", "--db", "{db}", "--contract", "C1", "--as-of", "soon"],
    ["balance", "--db", "{db}", "--contract", "C1", "--as-of", "2100-01-01"],
    ["balance", "--db", "{db}", "--contract", "C1", "--as-of", "0001-01-01"],
    ["balance", "--db", "{text}", "--contract", "C1"],
    ["deadlines"],
    ["deadlines", "--db", "{missing}"],
    ["deadlines", "--db", "{db}", "--as-of", "2025-00-01"],
    ["deadlines", "--db", "{db}", "--as-of", "2025-10-10T00:00"],
    ["deadlines", "--db", "{db}", "--as-of", "9999-12-31"],
    ["deadlines", "--db", "{db}", "--as-of", "1999-12-31"],
    ["deadlines", "--db", "{text}"],
    ["replay"],
    ["replay", "--db", "{missing}"],
    ["replay", "--db", "{text}"],
    ["replay", "--db", "{db}", "--frobnicate"],
    ["verify"],
    ["verify", "--db", "{missing}"],
    ["verify", "--db", "{dir}"],
    ["verify", "--db", "{text}"],
    ["verify", "--db", "sqlite:///{missing}"],
    ["check"],
    ["check", "{missing}"],
    ["calendar", "next-working-day", "2025-09-30"],
    ["calendar", "next-working-day", "2025-09-30", "x"],
    ["calendar", "next-working-day", "2025-09-30", "0"],
    ["calendar", "next-working-day", "2025-09-30", "-1"],
    ["calendar", "next-working-day", "2025-09-30", "1.5"],
    ["calendar", "next-working-day", "2025-09-30", "9999999"],
    ["calendar", "next-working-day", "2025-09-30", ""],
    ["calendar", "next-working-day", "2025-09-30", "３"],
    ["calendar", "next-working-day", "2025-09-31", "3"],
    ["calendar", "next-working-day", "not-a-date", "3"],
    ["calendar", "next-working-day", "9999-12-31", "3"],
    ["calendar", "next-working-day", "1999-12-31", "3"],
    ["calendar", "is-working-day", "2025-02-29"],
    ["calendar", "is-working-day", "0001-01-01"],
    ["calendar", "is-working-day", "2100-01-01"],
    ["calendar", "is-working-day"],
    ["calendar", "frobnicate"],
    ["rates", "show", "--table", "libor"],
    ["rates", "show", "--table"],
]


@pytest.mark.parametrize("args", BAD_ARGS, ids=[" ".join(a) or "-" for a in BAD_ARGS])
def test_bad_arguments_exit_2_without_a_traceback(
    workspace: dict[str, str], args: list[str]
) -> None:
    argv = [a.format(**workspace) for a in args]
    before = {p.name: p.stat().st_size for p in Path(workspace["dir"]).iterdir()}
    text_before = Path(workspace["text"]).read_bytes()

    result = runner.invoke(app, argv, env={"ESCROW_DATABASE_URL": None})

    assert result.exit_code == 2, (result.exit_code, result.output)
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert not Path(workspace["missing"]).exists()
    assert Path(workspace["text"]).read_bytes() == text_before
    after = {p.name for p in Path(workspace["dir"]).iterdir()}
    assert after == set(before), after ^ set(before)
    if result.stderr.startswith("escrow: "):  # escrow's own refusals are one line
        assert len(result.stderr.splitlines()) == 1, result.stderr
    add("bad_args_refused")


def test_there_are_over_30_bad_argument_lists() -> None:
    assert len(BAD_ARGS) >= 30
    record("bad_cli_argument_lists", len(BAD_ARGS))


def test_every_mutation_is_a_scenario_error_in_the_library() -> None:
    """The same files through :func:`parse_scenario`: only ScenarioError, always one line."""
    for label, raw in CASES:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            continue
        with pytest.raises(ScenarioError) as caught:
            parse_scenario(text, label)
        assert len(str(caught.value).splitlines()) == 1, label


@pytest.mark.parametrize("bad", UNSUPPORTED_DATES)
@pytest.mark.parametrize("path", DATE_PATHS, ids=name)
def test_a_date_outside_the_supported_dates_is_refused_naming_the_field(
    path: Path_, bad: str
) -> None:
    assert UNSUPPORTED_DATES == ["1999-12-31", "2100-01-01", "0001-01-01", "9999-12-31"]
    text = to_toml(changed(path, Raw(bad)))

    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text, "b.toml")

    assert str(caught.value) == (
        f"b.toml: {name(path)}: {bad} is outside the supported dates 2000-01-01 to 2099-12-31"
    )
