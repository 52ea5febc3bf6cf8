"""The escrow command line: help, calendar, rates and check, through typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sample_files import GOOD
from typer.testing import CliRunner, Result

from escrow.cli import app

runner = CliRunner()


def assert_one_line_refusal(result: Result, starts: str) -> None:
    """Exit 2, nothing on stdout, exactly one line on stderr starting 'escrow: '."""
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"escrow: {starts}"), lines[0]
    assert "Traceback" not in result.output


# --- help --------------------------------------------------------------------------------------


def test_help_exits_zero_and_lists_the_commands() -> None:
    result = runner.invoke(app, ["--help"])

    assert result.exit_code == 0
    for command in ("calendar", "rates", "check"):
        assert command in result.stdout
    assert "deposit custody" in result.stdout


def test_no_arguments_shows_the_help() -> None:
    result = runner.invoke(app, [])

    assert "Usage" in result.output
    assert "calendar" in result.output


@pytest.mark.parametrize("args", [["calendar", "--help"], ["rates", "--help"], ["check", "--help"]])
def test_every_group_and_command_has_help(args: list[str]) -> None:
    result = runner.invoke(app, args)

    assert result.exit_code == 0
    assert "Usage" in result.stdout


def test_an_unknown_command_is_a_usage_error_with_exit_2() -> None:
    result = runner.invoke(app, ["balanse"])

    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_version_prints_the_version() -> None:
    result = runner.invoke(app, ["--version"])

    assert result.exit_code == 0
    assert result.stdout.startswith("escrow 0.")


# --- calendar ---------------------------------------------------------------------------------------


def test_the_third_working_day_after_national_day_eve_is_the_make_up_saturday() -> None:
    # Worked by hand: Oct 1-8 is the National Day holiday; Thu 10-09 (1), Fri 10-10 (2),
    # make-up Saturday 10-11 (3).
    result = runner.invoke(app, ["calendar", "next-working-day", "2025-09-30", "3"])

    assert result.exit_code == 0, result.output
    assert result.stdout == "2025-10-11\n"


def test_next_working_day_as_json() -> None:
    result = runner.invoke(app, ["calendar", "next-working-day", "2025-09-30", "3", "--json"])

    assert result.exit_code == 0
    assert json.loads(result.stdout) == {
        "start": "2025-09-30",
        "n": 3,
        "working_day": "2025-10-11",
        "provisional": False,
        "provisional_years": [],
    }


def test_a_working_day_in_an_unpublished_year_is_flagged_provisional() -> None:
    # 2090: no State Council schedule is published decades ahead, whatever holidays release is
    # installed. Wed 2090-03-01 -> Thu 03-02 (no holiday falls in early March in any year).
    result = runner.invoke(app, ["calendar", "next-working-day", "2090-03-01", "1"])

    assert result.exit_code == 0
    assert result.stdout == "2090-03-02 (provisional: 2090 schedule not yet published)\n"


def test_a_span_across_unpublished_years_lists_each_of_them_in_json() -> None:
    # From Wed 2089-12-28, 5 working days reach into 2090: both years are unpublished.
    result = runner.invoke(app, ["calendar", "next-working-day", "2089-12-28", "5", "--json"])

    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["provisional"] is True
    assert data["provisional_years"] == [2089, 2090]


def test_a_span_within_a_published_year_is_not_provisional_in_json() -> None:
    # 2026's schedule is published (the holidays floor carries it): Thu 2026-12-24 -> Fri 12-25
    # (1), Mon 12-28 (2), Tue 12-29 (3).
    result = runner.invoke(app, ["calendar", "next-working-day", "2026-12-24", "3", "--json"])

    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert (data["working_day"], data["provisional"], data["provisional_years"]) == (
        "2026-12-29",
        False,
        [],
    )


def test_a_make_up_saturday_is_a_working_day() -> None:
    result = runner.invoke(app, ["calendar", "is-working-day", "2025-10-11"])

    assert result.exit_code == 0
    assert result.stdout == "2025-10-11 (Saturday) is a working day\n"


def test_national_day_is_not_a_working_day_in_json() -> None:
    result = runner.invoke(app, ["calendar", "is-working-day", "2025-10-01", "--json"])

    assert result.exit_code == 0
    assert json.loads(result.stdout) == {
        "date": "2025-10-01",
        "working_day": False,
        "provisional": False,
    }


@pytest.mark.parametrize(
    "bad", ["2025-13-01", "2025-02-30", "30/09/2025", "20250930", "tomorrow", "", "２０２５-09-30"]
)
def test_a_date_that_does_not_parse_is_one_line_naming_the_argument(bad: str) -> None:
    result = runner.invoke(app, ["calendar", "next-working-day", bad, "3"])

    assert_one_line_refusal(result, "DATE: ")
    assert "is not a date (expected YYYY-MM-DD" in result.stderr


def test_a_bad_date_for_is_working_day_is_one_line() -> None:
    result = runner.invoke(app, ["calendar", "is-working-day", "2025-9-3"])

    assert_one_line_refusal(result, "DATE: '2025-9-3' is not a date")


@pytest.mark.parametrize("bad", ["0", "-1", "three", "1.5", "9999999"])
def test_a_bad_count_of_working_days_is_one_line(bad: str) -> None:
    result = runner.invoke(app, ["calendar", "next-working-day", "2025-09-30", bad])

    assert_one_line_refusal(result, "N: ")


def test_a_missing_argument_is_a_usage_error_with_exit_2() -> None:
    result = runner.invoke(app, ["calendar", "next-working-day", "2025-09-30"])

    assert result.exit_code == 2
    assert "Traceback" not in result.output


# --- rates -------------------------------------------------------------------------------------------


def test_rates_show_lists_every_built_in_table() -> None:
    result = runner.invoke(app, ["rates", "show"])

    assert result.exit_code == 0
    out = result.stdout
    assert "pboc-benchmark (default)" in out
    assert "big-bank-listed" in out
    assert "2012-07-06" in out
    assert "0.35" in out
    assert "2025-05-20" in out
    assert "0.05" in out


def test_rates_show_one_table_as_json() -> None:
    result = runner.invoke(app, ["rates", "show", "--table", "pboc-benchmark", "--json"])

    assert result.exit_code == 0
    assert json.loads(result.stdout) == [
        {
            "name": "pboc-benchmark",
            "default": True,
            "rows": [
                {"from": "2012-06-08", "annual_percent": "0.40"},
                {"from": "2012-07-06", "annual_percent": "0.35"},
            ],
        }
    ]


def test_an_unknown_rate_table_is_one_line_with_the_known_names() -> None:
    result = runner.invoke(app, ["rates", "show", "--table", "libor"])

    assert_one_line_refusal(result, "unknown rate table 'libor'")
    assert "pboc-benchmark" in result.stderr


# --- check -------------------------------------------------------------------------------------------


def test_check_accepts_a_good_file(tmp_path: Path) -> None:
    path = tmp_path / "good.toml"
    path.write_text(GOOD, encoding="utf-8")

    result = runner.invoke(app, ["check", str(path)])

    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "ok: Deposit refund across the National Day holiday, 1 contract, 2 actions\n"
    )
    assert result.stderr == ""


def test_check_refuses_a_bad_amount_naming_file_entry_and_problem(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(GOOD.replace('amount = "5000.00"', 'amount = "12.345"'), encoding="utf-8")

    result = runner.invoke(app, ["check", str(path)])

    assert_one_line_refusal(result, str(path))
    assert (
        result.stderr == f"escrow: {path}: actions[0].amount: '12.345' has more than two decimals\n"
    )


def test_check_refuses_an_unknown_contract(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(GOOD.replace('contract = "C1"\n', 'contract = "C9"\n', 1), encoding="utf-8")

    result = runner.invoke(app, ["check", str(path)])

    assert result.stderr == f"escrow: {path}: actions[0].contract: unknown contract 'C9'\n"
    assert result.exit_code == 2


def test_check_refuses_a_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.toml"

    result = runner.invoke(app, ["check", str(path)])

    assert_one_line_refusal(result, f"{path}: no such file")


def test_check_refuses_invalid_toml(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("name = \n", encoding="utf-8")

    result = runner.invoke(app, ["check", str(path)])

    assert_one_line_refusal(result, f"{path}: not valid TOML: ")


def test_main_turns_an_escrow_error_into_one_line_and_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from escrow import cli

    path = tmp_path / "bad.toml"
    path.write_text("", encoding="utf-8")
    monkeypatch.setattr("sys.argv", ["escrow", "check", str(path)])

    with pytest.raises(SystemExit) as exited:
        cli.main()

    assert exited.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == f"escrow: {path}: the file is empty\n"
