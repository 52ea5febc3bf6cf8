"""The README's library example runs as written (its commands: tests/e2e/test_docs.py)."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_library_example_runs_and_its_assertions_hold(capsys: object) -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert blocks, "the README has a python example"
    for block in blocks:
        exec(compile(block, str(README), "exec"), {"__name__": "readme"})

