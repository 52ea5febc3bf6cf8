"""The repository stands on its own: its docs are complete, their examples run, and no file points
at documents a clone does not have.

- every ```toml block of docs/scenario-format.md is a valid scenario (a complete file) or an
  action that, added to the complete file, runs without being refused itself;
- the JSON example of docs/report-format.md is what `escrow run` prints for the file it names;
- the `escrow` commands of the README run, in order, and the README's scenario change does what
  the README says;
- docs/rules.md has the 21 rules, each naming test files and scenarios that exist, and every
  scenario of scenarios/ is named there.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from escrow.runner import run_scenario
from escrow.scenario import parse_scenario

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
README = ROOT / "README.md"


def blocks(path: Path, language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", path.read_text(encoding="utf-8"), re.S | re.M)


# --- no references to documents outside the repository

# Spelt in pieces so that this file does not name them itself.
OUTSIDE = [".." + "/shared", "RULES" + ".md", "INTERFACE" + ".md", "DESIGN" + ".md"]


def tracked_files() -> list[Path]:
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
        ).stdout.decode()
        return [ROOT / name for name in listed.split("\0") if name]
    except (OSError, subprocess.CalledProcessError):  # not a git checkout (an sdist)
        skip = {".git", ".venv", "__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache"}
        return [
            Path(folder) / name
            for folder, dirs, names in os.walk(ROOT)
            if not dirs.__setitem__(slice(None), [d for d in dirs if d not in skip])
            for name in names
        ]


def test_no_file_refers_to_documents_a_clone_does_not_have() -> None:
    offending = []
    for path in tracked_files():
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, FileNotFoundError, IsADirectoryError):
            continue
        for number, line in enumerate(text.splitlines(), 1):
            if any(name in line for name in OUTSIDE):
                offending.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offending == [], "point at docs/rules.md or the format docs instead:\n" + "\n".join(
        offending
    )


def test_the_reference_check_would_see_a_reference() -> None:
    line = "see " + OUTSIDE[1] + " rule 7"
    assert any(name in line for name in OUTSIDE)


# --- docs/scenario-format.md

FORMAT = DOCS / "scenario-format.md"
TOML_BLOCKS = blocks(FORMAT, "toml")
COMPLETE = TOML_BLOCKS[0]
FRAGMENTS = [block for block in TOML_BLOCKS if "name =" not in block]
WHOLE_FILES = [block for block in TOML_BLOCKS if "name =" in block]


def test_the_format_doc_has_a_complete_file_and_an_example_of_every_action() -> None:
    assert "name =" in COMPLETE
    shown = {action for block in FRAGMENTS for action in re.findall(r'action = "(\w+)"', block)}
    assert shown == {
        "pay_deposit", "pay_rent", "return_home", "propose_refund", "tenant_agree",
        "tenant_disagree", "resolve", "suspend_releases", "resume_releases", "change_account",
    }


@pytest.mark.parametrize("block", WHOLE_FILES, ids=[f"file{i}" for i in range(len(WHOLE_FILES))])
def test_every_whole_file_of_the_format_doc_runs_without_refusals(
    block: str, tmp_path: Path
) -> None:
    report = run_scenario(parse_scenario(block, "docs"), str(tmp_path / "ledger.db"))
    assert report["refused"] == []
    assert report["transfers"] or len(block) < 400  # the complete file moves money


@pytest.mark.parametrize("fragment", FRAGMENTS, ids=[f"action{i}" for i in range(len(FRAGMENTS))])
def test_every_action_example_runs_added_to_the_complete_file(
    fragment: str, tmp_path: Path
) -> None:
    scenario = parse_scenario(COMPLETE + "\n" + fragment, "docs")
    report = run_scenario(scenario, str(tmp_path / "ledger.db"))
    added = tomllib.loads(fragment)["actions"]
    for action in added:
        refused_here = [
            r for r in report["refused"]
            if r["date"] == action["date"].isoformat() and r["action"] == action["action"]
        ]
        assert refused_here == [], f"the example's own action was refused: {refused_here}"


def test_the_complete_file_gives_the_worked_example(tmp_path: Path) -> None:
    # docs/rules.md's worked example: 4,700.00 back on 10-10 with 4,700 x 0.35 % x 129 / 360 =
    # 5.894 -> 5.89; the 300.00 deemed agreed and paid Monday 10-20 with 300 x 0.35 % x 139 / 360
    # = 0.405 -> 0.41.
    report = run_scenario(parse_scenario(COMPLETE, "docs"), str(tmp_path / "ledger.db"))
    outgoing = [(t["date"], t["kind"], t["principal"], t["interest"]) for t in report["transfers"]]
    assert ("2025-10-10", "refund", "4700.00", "5.89") in outgoing
    assert ("2025-10-20", "deduction", "300.00", "0.41") in outgoing


# --- docs/report-format.md


def test_the_report_example_is_what_escrow_run_prints(tmp_path: Path) -> None:
    text = (DOCS / "report-format.md").read_text(encoding="utf-8")
    command = re.search(r"`(escrow run \S+\.toml --json)`", text)
    assert command is not None
    example = json.loads(blocks(DOCS / "report-format.md", "json")[0])
    out = run_cli(shlex.split(command.group(1))[1:], cwd=ROOT)
    assert json.loads(out) == example


def test_the_report_doc_lists_every_kind_the_schema_allows() -> None:
    text = (DOCS / "report-format.md").read_text(encoding="utf-8")
    schema = json.loads((DOCS / "schema" / "report.schema.json").read_text(encoding="utf-8"))
    kinds = (
        schema["$defs"]["ReportTransfer"]["properties"]["kind"]["enum"]
        + schema["$defs"]["ReportNotice"]["properties"]["kind"]["enum"]
    )
    for kind in kinds:
        assert f"| `{kind}` |" in text, kind


# --- README


def run_cli(args: list[str], cwd: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "escrow", *args], cwd=cwd, capture_output=True, text=True
    )
    assert done.returncode == 0, f"escrow {' '.join(args)}: {done.stderr}"
    return done.stdout


def run_shell(command: str, cwd: Path, env: dict[str, str]) -> str:
    """A README command as a reader's shell runs it (redirections, comments), with the
    ``escrow`` script of this environment first on the PATH."""
    done = subprocess.run(
        ["bash", "-c", command], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, f"{command}: {done.stderr}"
    return done.stdout


def test_the_readme_commands_run_in_order(tmp_path: Path) -> None:
    (tmp_path / "scenarios").symlink_to(ROOT / "scenarios")
    commands = [
        line
        for block in blocks(README, "sh")[1:]  # the first block installs; the rest use escrow
        for line in block.splitlines()
        # `escrow serve` runs until stopped: tests/service/test_serve_command.py starts it
        if line.startswith(("escrow ", "export ")) and not line.startswith("escrow serve ")
    ]
    assert len(commands) >= 5
    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": bin_dir + os.pathsep + os.environ.get("PATH", "")}
    outputs = []
    by_command: dict[str, str] = {}
    for command in commands:
        if command.startswith("export "):  # a variable the later commands read
            name, _, value = shlex.split(command, comments=True)[1].partition("=")
            env[name] = value
        else:
            outputs.append(run_shell(command, tmp_path, env))
            by_command[command.split()[1]] = outputs[-1]
    # The summary line the README shows after the first run.
    assert (
        "money in 5000.00 · refunded 4700.00 · deducted 300.00 · released 0.00 · interest paid"
        " 6.30 · held 0.00" in outputs[0]
    )
    # What the README says its query examples show: the refund of 4,700.00 + 5.89 on 10-10 and
    # the deduction of 300.00 + 0.41 on 10-20 (in October), the reminder and the deemed agreement.
    assert by_command["transfers"].splitlines()[1:] == [
        "2025-10-10,C1,deposit,refund,custody,tenant:T1,4700.00,5.89",
        "2025-10-20,C1,deposit,deduction,custody,enterprise:E1,300.00,0.41",
    ]
    notices = by_command["notices"]
    assert "2025-10-15" in notices and "reminder" in notices
    assert "2025-10-18" in notices and "deemed_agreed" in notices


def test_the_readme_change_of_one_line_keeps_the_300_in_custody(tmp_path: Path) -> None:
    scenario_path = ROOT / "scenarios" / "rule-03-07-deposit-refund-national-day.toml"
    change = blocks(README, "toml")[0]
    assert 'action = "tenant_disagree"' in change
    text = scenario_path.read_text(encoding="utf-8") + "\n" + change
    report = run_scenario(parse_scenario(text, "readme"), str(tmp_path / "ledger.db"))
    assert report["held"]["C1"]["deposit"] == "300.00"
    assert "deduction" not in {t["kind"] for t in report["transfers"]}


def test_the_readme_opens_with_a_virtual_environment_and_says_which_python() -> None:
    text = README.read_text(encoding="utf-8")
    first, second, third = blocks(README, "sh")[0].strip().splitlines()
    assert first.startswith("python3 -m venv .venv && . .venv/bin/activate && pip install -e . ")
    assert second.startswith(". .venv/bin/activate && pip install -e '.[test]' && pytest")
    # The third starts the HTTP service on the embedded SQLite file, with a token to call it.
    assert third.startswith(". .venv/bin/activate && pip install -e '.[serve]' && escrow tokens")
    assert third.endswith("&& escrow serve --db ledger.db --mode simulation")
    script = first.split("escrow run ")[1]
    assert (ROOT / script).is_file()
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "requires-python"
    ]
    assert requires == ">=3.11"
    assert "needs Python 3.11 or later" in text


# --- docs/rules.md

RULES = (DOCS / "rules.md").read_text(encoding="utf-8")


def test_the_rules_page_has_the_21_rules_in_order() -> None:
    numbers = [int(n) for n in re.findall(r"^### Rule (\d+)\.", RULES, re.M)]
    assert numbers == list(range(1, 22))


def test_every_rule_names_its_tests_and_they_exist() -> None:
    sections = re.split(r"^### ", RULES, flags=re.M)[1:]
    for section in sections:
        if not section.startswith("Rule "):
            continue
        assert "Tests: " in section, section.splitlines()[0]
        for name in re.findall(r"`(tests/[\w/]+\.py)`", section):
            assert (ROOT / name).is_file(), name
        for name in re.findall(r"`(?:scenarios/)?(rule-[\w-]+\.toml)`", section):
            assert (ROOT / "scenarios" / name).is_file(), name


def test_every_scenario_file_is_named_on_the_rules_page() -> None:
    for path in (ROOT / "scenarios").glob("*.toml"):
        assert path.name in RULES, path.name
