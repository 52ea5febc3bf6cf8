"""`pytest -q` prints its result, not the block of reliability figures: those come with -v or
with RELIABILITY_FIGURES=path (which also writes them as JSON)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ONE_TEST = "tests/reliability/test_bad_input.py::test_there_are_over_300_broken_files"


def run(*args: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args, ONE_TEST],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={k: v for k, v in os.environ.items() if k != "RELIABILITY_FIGURES"} | (env or {}),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_quiet_run_prints_no_figures() -> None:
    out = run("-q")
    assert "reliability figures" not in out
    assert "bad_scenario_files" not in out
    assert len(out.strip().splitlines()) <= 3, out


def test_verbose_run_prints_the_figures() -> None:
    out = run("-v")
    assert "reliability figures" in out
    assert "bad_scenario_files: " in out


def test_the_figures_file_gets_them_and_they_are_printed(tmp_path: Path) -> None:
    target = tmp_path / "figures.json"
    out = run("-q", env={"RELIABILITY_FIGURES": str(target)})
    assert "bad_scenario_files: " in out
    assert json.loads(target.read_text())["bad_scenario_files"] > 300
