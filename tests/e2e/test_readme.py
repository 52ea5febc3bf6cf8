"""The README's library example runs as written."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_library_example_runs_and_its_assertions_hold(capsys: object) -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert blocks, "the README has a python example"
    for block in blocks:
        exec(compile(block, str(README), "exec"), {"__name__": "readme"})


def test_readme_opens_with_the_run_and_test_commands() -> None:
    text = README.read_text(encoding="utf-8")
    first_block = re.search(r"```sh\n(.*?)```", text, re.S)
    assert first_block is not None
    lines = first_block.group(1).strip().splitlines()
    assert lines[0].startswith("pip install -e . && escrow run scenarios/")
    assert lines[1] == "pip install -e '.[test]' && pytest -q"
    assert (README.parent / lines[0].split("escrow run ")[1]).is_file()
