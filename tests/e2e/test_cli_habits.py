"""Habits of the command line: every command's help shows an example, flags read ``--json`` (not
``--json <bool>``), and ``run --strict`` fails a CI job when the rules refused an action."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from escrow.cli import app

runner = CliRunner()
SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"

COMMANDS = [
    ["run"],
    ["check"],
    ["schema"],
    ["balance"],
    ["deadlines"],
    ["transfers"],
    ["notices"],
    ["contracts"],
    ["replay"],
    ["verify"],
    ["simulate"],
    ["calendar", "next-working-day"],
    ["calendar", "is-working-day"],
    ["rates", "show"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=[" ".join(c) for c in COMMANDS])
def test_every_command_help_shows_an_example_of_itself(command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--help"], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    example = re.search(r"Example: (escrow [^\n│]*)", result.output)
    assert example is not None, result.output
    assert example.group(1).startswith("escrow " + " ".join(command) + " ")


@pytest.mark.parametrize(
    "command", [[], ["calendar"], *COMMANDS], ids=["escrow", "calendar", *map(" ".join, COMMANDS)]
)
def test_flags_are_shown_without_a_type(command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--help"], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    assert "<bool>" not in result.output
    assert re.search(r"--help +Show this message", result.output)


def test_run_strict_exits_1_after_the_report_when_an_action_was_refused() -> None:
    # rule-03-05-refused-actions.toml: six actions are refused (docs/rules.md rules 3 and 5).
    path = SCENARIOS / "rule-03-05-refused-actions.toml"
    result = runner.invoke(app, ["run", str(path), "--json", "--strict"])
    assert result.exit_code == 1, result.output
    assert len(json.loads(result.stdout)["refused"]) == 6
    lenient = runner.invoke(app, ["run", str(path), "--json"])
    assert lenient.exit_code == 0, lenient.output


def test_run_strict_exits_0_when_nothing_was_refused() -> None:
    path = SCENARIOS / "rule-03-07-deposit-refund-national-day.toml"
    result = runner.invoke(app, ["run", str(path), "--strict"])
    assert result.exit_code == 0, result.output
    assert "money in 5000.00" in result.stdout


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["run"], "escrow: Missing argument 'FILE' (see 'escrow run --help')"),
        # click words it "No such option: --bogus" or "No such option '--bogus'" by version.
        (["run", "x.toml", "--bogus"], "escrow: No such option*--bogus* (see 'escrow run --help')"),
        (["--bogus"], "escrow: No such option*--bogus* (see 'escrow --help')"),
        (["nosuch"], "escrow: No such command 'nosuch' (see 'escrow --help')"),
        (
            ["calendar", "next-working-day", "2025-09-30"],
            "escrow: Missing argument 'N' (see 'escrow calendar next-working-day --help')",
        ),
    ],
)
def test_a_usage_error_is_one_line_and_exit_2(args: list[str], line: str) -> None:
    result = runner.invoke(app, args, prog_name="escrow")
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    pattern = ".*".join(re.escape(part) for part in line.split("*"))
    assert re.fullmatch(pattern + "\n", result.stderr), result.stderr


def test_a_bare_group_still_shows_its_help() -> None:
    result = runner.invoke(app, ["calendar"], prog_name="escrow")
    assert "next-working-day" in result.output
    assert "Missing" not in result.output


def test_help_text_flows_as_sentences_not_as_the_source_lines() -> None:
    # The docstring breaks its line after "Re-running"; the help must not.
    result = runner.invoke(app, ["run", "--help"], env={"COLUMNS": "200"})
    assert "Re-running a scenario on a database that already holds part of it" in result.output
    assert "continues where it stopped: each action" in " ".join(result.output.split())


def test_shell_completion_completes_commands_and_options() -> None:
    def complete(words: str) -> str:
        env = os.environ | {
            "_ESCROW_COMPLETE": "complete_bash",
            "COMP_WORDS": words,
            "COMP_CWORD": str(len(words.split()) - 1),
        }
        done = subprocess.run(
            [str(Path(sys.executable).parent / "escrow")],  # the console script, as a shell runs it
            env=env, capture_output=True, text=True, timeout=60,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    assert complete("escrow ca").split() == ["calendar"]
    assert complete("escrow run --st").split() == ["--strict"]
    shown = runner.invoke(app, ["--show-completion", "bash"], prog_name="escrow")
    assert "_escrow_completion" in shown.output


def test_the_summary_line_is_whole_on_a_wide_terminal_and_one_figure_a_line_on_a_narrow_one() -> None:
    from escrow.render import print_summary

    # The worked example's totals: 5,000.00 in, 4,700.00 refunded, 300.00 deducted, interest
    # 5.89 + 0.41 = 6.30, nothing held.
    totals = {
        "in": Decimal("5000.00"),
        "refunded": Decimal("4700.00"),
        "deducted": Decimal("300.00"),
        "released": Decimal("0.00"),
        "interest": Decimal("6.30"),
        "held": Decimal("0.00"),
    }
    wide, narrow = io.StringIO(), io.StringIO()
    print_summary(totals, Console(file=wide, width=120, highlight=False))
    print_summary(totals, Console(file=narrow, width=40, highlight=False))

    assert wide.getvalue().splitlines() == [
        "money in 5000.00 · refunded 4700.00 · deducted 300.00 · released 0.00"
        " · interest paid 6.30 · held 0.00"
    ]
    assert narrow.getvalue().splitlines() == [
        "money in 5000.00",
        "refunded 4700.00",
        "deducted 300.00",
        "released 0.00",
        "interest paid 6.30",
        "held 0.00",
    ]
