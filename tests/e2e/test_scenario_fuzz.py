"""Broken scenario files never crash escrow: ``escrow check`` exits 2 with exactly one line.

Hundreds of broken files are generated deterministically from one valid scenario: every value
given a wrong type, every required key removed, unknown keys, bad amounts and dates, unknown
actions and contracts, duplicates, truncated TOML, deep nesting, unicode junk and random bytes.
Each one goes through the real CLI (typer's CliRunner) and through :func:`load_scenario`.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import random
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from toml_writer import to_toml
from typer.testing import CliRunner

from escrow.cli import app
from escrow.scenario import ScenarioError, load_scenario, parse_scenario

runner = CliRunner()


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def base() -> dict[str, Any]:
    """A valid scenario with every table and every action kind."""
    return {
        "name": "Fuzz base",
        "description": "valid",
        "rules": "beijing-2024",
        "rate_table": "pboc-benchmark",
        "until": d("2026-06-30"),
        "parameters": {
            "day_basis": 360,
            "settle_on_working_days": True,
            "deducted_interest_to": "recipient",
        },
        "rates": [{"from": d("2015-10-24"), "annual_percent": "0.35"}],
        "calendar": {"extra_holidays": [d("2025-12-24")], "extra_workdays": [d("2025-12-27")]},
        "contracts": [
            {
                "id": "C1",
                "filing_no": "JZ-1",
                "tenant": "T1",
                "enterprise": "E1",
                "start": d("2025-06-01"),
                "end": d("2026-05-31"),
                "monthly_rent": "5000.00",
                "deposit": "5000.00",
                "affordable": False,
            }
        ],
        "actions": [
            {
                "date": d("2025-06-03"),
                "action": "pay_deposit",
                "contract": "C1",
                "amount": "5000.00",
                "channel": "bank",
            },
            {
                "date": d("2025-06-03"),
                "action": "pay_rent",
                "contract": "C1",
                "amount": "20000.00",
                "channel": "ecny",
            },
            {"date": d("2025-08-01"), "action": "suspend_releases", "enterprise": "E1"},
            {"date": d("2025-08-15"), "action": "resume_releases", "enterprise": "E1"},
            {
                "date": d("2025-09-01"),
                "action": "change_account",
                "account": "supervision",
                "bank": "B2",
            },
            {
                "date": d("2025-09-30"),
                "action": "return_home",
                "contract": "C1",
                "reason": "expiry",
            },
            {
                "date": d("2025-10-10"),
                "action": "propose_refund",
                "contract": "C1",
                "fund": "deposit",
                "deductions": [{"item": "cleaning", "amount": "300.00"}],
            },
            {
                "date": d("2025-10-13"),
                "action": "tenant_disagree",
                "contract": "C1",
                "fund": "deposit",
            },
            {"date": d("2025-10-13"), "action": "tenant_agree", "contract": "C1", "fund": "rent"},
            {
                "date": d("2025-11-01"),
                "action": "resolve",
                "contract": "C1",
                "fund": "deposit",
                "via": "court",
                "to_tenant": "100.00",
                "to_enterprise": "200.00",
            },
        ],
    }


OPTIONAL_KEYS = {
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
AMOUNT_KEYS = {"monthly_rent", "deposit", "amount", "to_tenant", "to_enterprise"}


Path_ = tuple[str | int, ...]


def leaves(node: Any, path: Path_ = ()) -> Iterator[tuple[Path_, Any]]:
    """Every (path, value) of the scenario's keys (tables and arrays of tables walked into)."""
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
    data = base()
    node: Any = data
    for part in path[:-1]:
        node = node[part]
    if drop:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return data


def label(path: Path_) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")


def wrong_values(original: Any) -> list[Any]:
    """Values of another TOML type than ``original`` (so never valid in its place)."""
    if isinstance(original, bool):
        return ["true", 1, [True]]
    if isinstance(original, int):
        return ["360", 360.0, 10**30]
    if isinstance(original, str):
        return [7, 7.5, ["x"], {"k": "v"}, True, d("2025-01-01")]
    if isinstance(original, dt.date):
        return [
            original.isoformat(),
            dt.datetime.fromisoformat("2025-06-01T08:30"),  # TOML local date-time
            dt.datetime(2025, 6, 1, 8, 30, tzinfo=dt.UTC),
            dt.time(8, 30),
            20250601,
        ]
    if isinstance(original, list):
        return ["x", 5, {"k": 1}]
    if isinstance(original, dict):
        return [5, "x"]
    raise TypeError(type(original))


BAD_AMOUNTS = [
    "1e400",
    "12.345",
    "-1",
    "",
    " 5",
    "1" * 40,
    "9" * 400 + ".99",
    "１２３",
    "1,000.00",
    "NaN",
    "Infinity",
    "0x10",
    "5.",
    ".5",
    "+5",
    "5 000",
]


def generated_cases() -> Iterator[tuple[str, bytes]]:
    def toml(data: dict[str, Any]) -> bytes:
        return to_toml(data).encode("utf-8")

    all_leaves = list(leaves(base()))
    # 1. every value given a value of another type
    for path, original in all_leaves:
        for i, wrong in enumerate(wrong_values(original)):
            yield f"wrong-type:{label(path)}:{i}", toml(changed(path, wrong))
    # 2. every required key removed
    for path, _ in all_leaves:
        if path[-1] not in OPTIONAL_KEYS:
            yield f"missing:{label(path)}", toml(changed(path, drop=True))
    # 3. unknown keys in every table
    tables: list[Path_] = [(), ("parameters",), ("calendar",), ("rates", 0), ("contracts", 0)]
    tables += [("actions", i) for i in range(len(base()["actions"]))]
    tables += [("actions", 6, "deductions", 0)]
    for table in tables:
        for key in ("amout", "备注", "", "x y"):
            yield f"unknown-key:{label(table)}:{key!r}", toml(changed((*table, key), "1"))
    # 4. every amount broken every way
    for path, _ in all_leaves:
        if path[-1] in AMOUNT_KEYS:
            for bad_amount in BAD_AMOUNTS:
                yield (
                    f"amount:{label(path)}:{bad_amount[:12]!r}",
                    toml(changed(path, bad_amount)),
                )
    # 5. values the format does not allow
    bad_values: list[tuple[Path_, object]] = [
        (("actions", 0, "action"), "pay_rnet"),
        (("actions", 0, "action"), "PAY_DEPOSIT"),
        (("actions", 0, "action"), ""),
        (("actions", 0, "action"), "支付押金"),
        (("actions", 1, "contract"), "C9"),
        (("actions", 5, "contract"), "c1"),
        (("actions", 2, "enterprise"), "E9"),
        (("actions", 0, "channel"), "cash"),
        (("actions", 5, "reason"), "eviction"),
        (("actions", 6, "fund"), "both"),
        (("actions", 9, "via"), "duel"),
        (("actions", 4, "account"), "savings"),
        (("actions", 4, "bank"), ""),
        (("actions", 6, "deductions", 0, "item"), " "),
        (("parameters", "day_basis"), 364),
        (("parameters", "deducted_interest_to"), "enterprise"),
        (("rules",), "shanghai"),
        (("rate_table",), "libor"),
        (("name",), ""),
        (("name",), "line one\nline two"),
        (("name",), "tab\there"),
        (("contracts", 0, "id"), ""),
        (("contracts", 0, "id"), " C1"),
        (("contracts", 0, "tenant"), "T\u0000"),
        (("contracts", 0, "end"), d("2025-05-31")),
        (("contracts", 0, "monthly_rent"), "0"),
        (("actions", 0, "amount"), "0.00"),
        (("contracts",), []),
        (("rates", 0, "annual_percent"), "-0.35"),
        (("rates", 0, "annual_percent"), "101"),
        (("rates", 0, "annual_percent"), "0.3.5"),
        (("calendar", "extra_workdays"), [d("2025-12-24")]),
    ]
    for path, bad in bad_values:
        yield f"bad-value:{label(path)}:{str(bad)[:12]!r}", toml(changed(path, bad))
    # 6. cross-entry problems
    dup = base()
    dup["contracts"].append({**dup["contracts"][0], "filing_no": "JZ-2"})
    yield "duplicate-contract-id", toml(dup)
    dup_filing = base()
    dup_filing["contracts"].append({**dup_filing["contracts"][0], "id": "C2"})
    yield "duplicate-filing-no", toml(dup_filing)
    dup_default = base()
    dup_default["contracts"].append({**dup_default["contracts"][0], "id": "JZ-1"})
    del dup_default["contracts"][1]["filing_no"]
    yield "filing-no-defaulted-to-a-taken-number", toml(dup_default)
    unordered = base()
    unordered["rates"].append({"from": d("2012-07-06"), "annual_percent": "0.35"})
    yield "rates-out-of-order", toml(unordered)
    twice = base()
    twice["rates"].append(dict(twice["rates"][0]))
    yield "rates-same-date-twice", toml(twice)

    valid = to_toml(base())
    # 7. truncated TOML: cut just inside every quoted string (always unterminated)
    for i, match in enumerate(re.finditer(r'= "', valid)):
        yield f"truncated-in-string:{i}", valid[: match.end() + 1].encode()
    for i, match in enumerate(re.finditer(r"\[\[", valid)):
        yield f"truncated-in-table-header:{i}", valid[: match.end() + 3].encode()
    yield "truncated-after-key", (valid + "\nname").encode()
    # 8. deep nesting and huge numbers
    yield "deep-array-1000", (valid + "junk = " + "[" * 1000 + "]" * 1000 + "\n").encode()
    yield "deep-inline-table-1000", (valid + "junk = " + "{a=" * 1000 + "1" + "}" * 1000).encode()
    yield "deep-array-100-as-amount", valid.replace('"5000.00"', "[" * 100 + "]" * 100, 1).encode()
    yield "deep-table-as-action", (valid + "\n[[actions]]\nx = " + "[" * 300 + "]" * 300).encode()
    yield (
        "integer-of-5000-digits",
        valid.replace("day_basis = 360", "day_basis = " + "9" * 5000).encode(),
    )
    yield "float-overflow-amount", valid.replace('"5000.00"', "1e400", 1).encode()
    yield "nan-amount", valid.replace('"5000.00"', "nan", 1).encode()
    # 9. not a scenario at all
    yield "empty", b""
    yield "whitespace-only", b" \n\t\r\n"
    yield "comment-only", b"# nothing here\n"
    yield "bom-only", b"\xef\xbb\xbf"
    yield "json-instead-of-toml", json.dumps({"name": "x"}).encode()
    yield "yaml-instead-of-toml", b"name: x\ncontracts:\n  - id: C1\n"
    yield "array-at-top", b"[1, 2, 3]\n"
    yield "nul-byte", valid.replace("Fuzz", "Fu\x00zz").encode()
    yield "utf16-file", valid.encode("utf-16")
    yield "gbk-file", valid.replace("Fuzz base", "押金托管").encode("gbk")
    yield "lone-surrogate-bytes", valid.encode() + b'\nx = "\xed\xa0\x80"\n'
    yield "overlong-utf8", b'name = "\xc0\xaf"\n'
    yield "latin1-file", 'name = "Café"\n'.encode("latin-1")
    # 10. unicode junk
    for i, junk in enumerate(
        [
            "\u202e\u202dreversed",
            "zero\u200bwidth",
            "emoji 🏠💰",
            "line\u2028separator",
            "para\u2029separator",
            "next\u0085line",
            "\U0010ffff",
            "a" * 10_000,
        ]
    ):
        as_key = base()
        as_key[junk] = junk
        yield f"unicode-key:{i}", toml(as_key)
        as_contract = changed(("actions", 0, "contract"), junk)
        yield f"unicode-contract:{i}", toml(as_contract)
    # 11. random bytes (seeded: the same every run)
    rng = random.Random(20251011)
    for i in range(12):
        yield f"random-bytes:{i}", rng.randbytes(rng.randint(1, 400))
    for i in range(8):
        text = "".join(rng.choice('[]{}="=.,\n#abc123-:') for _ in range(rng.randint(1, 120)))
        yield f"random-toml-punctuation:{i}", text.encode()
    for i in range(8):
        cut = valid.encode()
        lo = rng.randrange(len(cut))
        mangled = cut[:lo] + bytes([rng.randrange(256)]) + cut[lo + 1 :]
        if mangled.decode("utf-8", "replace") != valid:
            yield f"one-byte-flipped:{i}", mangled


CASES = list(generated_cases())


def test_the_base_scenario_is_valid(tmp_path: Path) -> None:
    path = tmp_path / "base.toml"
    path.write_text(to_toml(base()), encoding="utf-8")

    result = runner.invoke(app, ["check", str(path)])

    assert result.exit_code == 0, result.output
    assert result.stdout == "ok: Fuzz base, 1 contract, 10 actions\n"


def test_there_are_well_over_120_broken_files() -> None:
    assert len(CASES) >= 120
    assert len({name for name, _ in CASES}) == len(CASES)


def _is_still_valid(raw: bytes) -> bool:
    """A flipped byte can land in free text and leave a valid file (then it is no test case)."""
    try:
        parse_scenario(raw.decode("utf-8"), "x")
    except (ScenarioError, UnicodeDecodeError):
        return False
    return True


@pytest.mark.parametrize(("name", "raw"), CASES, ids=[name for name, _ in CASES])
def test_a_broken_file_is_refused_in_one_line_with_exit_2(
    tmp_path: Path, name: str, raw: bytes
) -> None:
    if name.startswith("one-byte-flipped") and _is_still_valid(raw):
        pytest.skip("the flipped byte left a valid scenario")
    path = tmp_path / "broken.toml"
    path.write_bytes(raw)

    result = runner.invoke(app, ["check", str(path)])

    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"escrow: {path}: ")
    assert "Traceback" not in result.output

    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert f"escrow: {caught.value}" == lines[0]
    assert len(str(caught.value).splitlines()) == 1


def test_every_wrong_type_names_the_entry_it_broke(tmp_path: Path) -> None:
    """The message names the very entry the mutation touched (spot check over all leaves)."""
    path = tmp_path / "broken.toml"
    for path_, original in leaves(base()):
        wrong = wrong_values(original)[0]
        path.write_text(to_toml(changed(path_, wrong)), encoding="utf-8")
        with pytest.raises(ScenarioError) as caught:
            load_scenario(path)
        assert caught.value.entry is not None
        assert caught.value.entry.startswith(label(path_)), (label(path_), str(caught.value))


def test_a_copy_of_the_base_is_untouched_by_the_generators() -> None:
    assert base() == copy.deepcopy(base())


@settings(
    derandomize=True,
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(raw=st.binary(max_size=600))
def test_arbitrary_bytes_raise_only_a_one_line_scenario_error(tmp_path: Path, raw: bytes) -> None:
    path = tmp_path / "any.toml"
    path.write_bytes(raw)

    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert len(str(caught.value).splitlines()) == 1


@settings(derandomize=True, max_examples=150, deadline=None)
@given(
    text=st.text(
        alphabet=st.sampled_from(list("[]{}=\"'.,\n#_-: aA1é押\u2028\x00tfrueals2025-06-03")),
        max_size=200,
    )
)
def test_arbitrary_toml_like_text_raises_only_a_one_line_scenario_error(text: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text, "any.toml")
    assert len(str(caught.value).splitlines()) == 1
