"""Progress on a terminal for long work: `run` of many actions and `replay` (issue 17, item 3).

Progress goes to stderr, only when stderr is a terminal (a real pseudo-terminal here) and the
output is not JSON; stdout carries the same report either way.
"""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from escrow.cli import RUN_PROGRESS_FROM

CONTRACTS = RUN_PROGRESS_FROM  # one deposit payment each: RUN_PROGRESS_FROM actions


def many_deposits(path: Path) -> Path:
    parts = ['name = "many deposits"']
    for i in range(CONTRACTS):
        parts.append(
            f'[[contracts]]\nid = "C{i}"\nfiling_no = "F{i}"\ntenant = "T{i}"\nenterprise = "E1"\n'
            'start = 2025-01-06\nend = 2026-01-05\nmonthly_rent = "1000.00"\ndeposit = "100.00"'
        )
    for i in range(CONTRACTS):
        parts.append(
            f'[[actions]]\ndate = 2025-01-06\naction = "pay_deposit"\ncontract = "C{i}"\n'
            'amount = "100.00"'
        )
    scenario = path / "many.toml"
    scenario.write_text("\n\n".join(parts) + "\n", encoding="utf-8")
    return scenario


def on_a_terminal(args: list[str], cwd: Path) -> tuple[int, str, str]:
    """Run ``escrow ARGS`` with stderr on a pseudo-terminal: exit code, stdout, terminal text."""
    leader, follower = pty.openpty()
    env = {**os.environ, "TERM": "xterm", "COLUMNS": "100"}
    env.pop("NO_COLOR", None)
    done = subprocess.run(
        [sys.executable, "-m", "escrow", *args],
        cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=follower, text=True, check=False,
    )  # fmt: skip
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal is closed and drained
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    return done.returncode, done.stdout, b"".join(chunks).decode(errors="replace")


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("progress")
    return folder, many_deposits(folder)


def test_a_large_run_shows_progress_on_a_terminal_and_the_report_on_stdout(
    ledger: tuple[Path, Path],
) -> None:
    folder, scenario = ledger
    code, out, terminal = on_a_terminal(["run", str(scenario), "--db", "l.db"], folder)
    assert code == 0, terminal
    assert "running" in terminal
    # 100 contracts x 100.00 deposited, nothing paid out yet.
    assert f"money in {CONTRACTS * 100}.00 · refunded 0.00" in out


def test_a_json_run_shows_no_progress(ledger: tuple[Path, Path]) -> None:
    folder, scenario = ledger
    code, out, terminal = on_a_terminal(["run", str(scenario), "--db", "j.db", "--json"], folder)
    assert code == 0, terminal
    assert terminal == ""
    assert out.startswith("{")


def test_replay_shows_progress_on_a_terminal(ledger: tuple[Path, Path]) -> None:
    folder, scenario = ledger
    assert on_a_terminal(["run", str(scenario), "--db", "r.db", "--json"], folder)[0] == 0
    code, out, terminal = on_a_terminal(["replay", "--db", "r.db"], folder)
    assert code == 0, terminal
    assert "replaying" in terminal
    assert f"money in {CONTRACTS * 100}.00" in out


def test_a_small_run_shows_no_progress(tmp_path: Path) -> None:
    scenario = Path(__file__).resolve().parents[2] / "scenarios"
    worked = scenario / "rule-03-07-deposit-refund-national-day.toml"
    code, out, terminal = on_a_terminal(["run", str(worked)], tmp_path)
    assert code == 0, terminal
    assert terminal == ""
    assert "money in 5000.00" in out
