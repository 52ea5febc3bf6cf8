"""Text from a scenario or a ledger is data, never markup or terminal control (issue 14, item 3).

Ids and names that look like rich markup (``C[/x]``, ``[/red]E``) used to pass ``check`` and then
crash ``run`` after it had written the ledger, and every later text-mode command on it. Control
characters (ESC, OSC sequences) reached the terminal raw. Every user string is now escaped at
render time: markup prints as written, a control character as its visible escape.
"""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console
from typer.testing import CliRunner

from escrow.cli import app
from escrow.render import print_report

runner = CliRunner()

MARKUP_IDS = """
name = "[bold]markup[/bold] in ids"
[[contracts]]
id = "C[/x]"
filing_no = "[/]F1"
tenant = "[link=http://x]T"
enterprise = "[/red]E"
start = 2025-01-06
end = 2026-01-05
monthly_rent = "1000.00"
deposit = "2000.00"

[[actions]]
date = 2025-01-06
action = "pay_deposit"
contract = "C[/x]"
amount = "2000.00"

[[actions]]
date = 2025-01-06
action = "pay_rent"
contract = "C[/x]"
amount = "6000.00"

[[actions]]
date = 2025-02-10
action = "suspend_releases"
enterprise = "[/red]E"

[[actions]]
date = 2025-02-11
action = "tenant_agree"
contract = "C[/x]"
fund = "deposit"
"""


def test_ids_that_look_like_markup_run_and_are_shown_as_written(tmp_path: Path) -> None:
    scenario = tmp_path / "markup.toml"
    scenario.write_text(MARKUP_IDS, encoding="utf-8")
    db = str(tmp_path / "ledger.db")

    ran = runner.invoke(app, ["run", str(scenario), "--db", db])
    later = [
        runner.invoke(app, ["replay", "--db", db]),
        runner.invoke(app, ["deadlines", "--db", db]),
        runner.invoke(app, ["balance", "--contract", "C[/x]", "--db", db]),
    ]

    for result in (ran, *later):
        assert result.exception is None or isinstance(result.exception, SystemExit), repr(
            result.exception
        )
        assert result.exit_code == 0, result.output
    assert "[bold]markup[/bold] in ids" in ran.stdout  # the name as written, not styled
    assert "C[/x]" in ran.stdout
    assert "enterprise:[/red]E" in ran.stdout  # the releases to the enterprise
    assert "C[/x]" in later[0].stdout and "[/]F1" in later[2].stdout


ESC = "\x1b"
OSC_TITLE = "\x1b]0;owned\x07"


def rendered(report: dict[str, object]) -> str:
    out = io.StringIO()
    print_report(report, Console(file=out, force_terminal=False, width=200, highlight=False))
    return out.getvalue()


def test_control_characters_in_a_report_reach_the_terminal_as_visible_escapes() -> None:
    report: dict[str, object] = {
        "scenario": f"demo{OSC_TITLE}",
        "clock": "2025-03-01",
        "transfers": [
            {
                "date": "2025-01-06",
                "contract": f"C1{ESC}[2J",
                "fund": "deposit",
                "kind": "payment_in",
                "from": f"tenant:T{ESC}[31m",
                "to": "custody@initial",
                "principal": "1.00",
                "interest": "0.00",
            }
        ],
        "notices": [
            {"date": "2025-01-06", "contract": "C1\u202e", "fund": None, "kind": "late_payment"}
        ],
        "held": {},
        "refused": [
            {"date": "2025-01-07", "action": "pay_rent", "contract": "C1", "reason": OSC_TITLE}
        ],
    }

    text = rendered(report)

    assert ESC not in text and "\x07" not in text and "\u202e" not in text
    assert "\\x1b]0;owned\\x07" in text and "C1\\x1b[2J" in text and "C1\\u202e" in text


def test_a_refusal_line_never_carries_a_control_character(tmp_path: Path) -> None:
    scenario = tmp_path / "s.toml"
    scenario.write_text(MARKUP_IDS, encoding="utf-8")
    db = str(tmp_path / "ledger.db")
    assert runner.invoke(app, ["run", str(scenario), "--db", db]).exit_code == 0

    # An id with control characters is refused by the id check without echoing it...
    result = runner.invoke(app, ["balance", "--contract", f"X{OSC_TITLE}", "--db", db])
    assert result.exit_code == 2
    assert ESC not in result.stderr and "\x07" not in result.stderr
    assert "contract: must not contain line breaks or control characters" in result.stderr

    # ...and a refusal that does quote the input (a scenario path) shows it escaped.
    missing = str(tmp_path / f"X{OSC_TITLE}.toml")
    result = runner.invoke(app, ["run", missing, "--db", db])
    assert result.exit_code == 2
    assert ESC not in result.stderr and "\x07" not in result.stderr
    assert "X\\x1b]0;owned\\x07" in result.stderr


def test_a_scenario_name_with_control_characters_is_never_printed_raw(tmp_path: Path) -> None:
    """Whether ``check`` accepts the name or refuses it, the terminal sees no control character."""
    scenario = tmp_path / "s.toml"
    scenario.write_text(
        MARKUP_IDS.replace(
            'name = "[bold]markup[/bold] in ids"', 'name = "n\\u001b]0;owned\\u0007"'
        ),
        encoding="utf-8",
    )

    result = runner.invoke(app, ["check", str(scenario)])

    assert result.exit_code in (0, 2), result.output
    assert ESC not in result.output and "\x07" not in result.output
