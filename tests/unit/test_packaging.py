"""Packaging a platform can depend on: a license, a free distribution name, extras by need, a
light ``import escrow`` and a fast ``escrow --version``."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import escrow

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def python(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    return done.stdout.strip()


def test_import_escrow_loads_neither_the_command_line_nor_the_ledger() -> None:
    loaded = python(
        "import sys, escrow\n"
        "print(sorted(m for m in ('typer', 'rich', 'click', 'sqlalchemy', 'escrow.service')"
        " if m in sys.modules))"
    )
    assert loaded == "[]"


def test_the_library_api_loads_without_the_command_line() -> None:
    loaded = python(
        "import sys, escrow\n"
        "escrow.open_ledger, escrow.Ledger, escrow.ContractTerms, escrow.OpinionAlreadyGiven\n"
        "print(sorted(m for m in ('typer', 'rich', 'click', 'escrow.service') if m in sys.modules))"
    )
    assert loaded == "['escrow.service']"


def test_every_public_name_resolves() -> None:
    for name in escrow.__all__:
        assert getattr(escrow, name) is not None, name
    assert set(escrow.__all__) <= set(dir(escrow))


def test_escrow_version_answers_without_loading_the_command_line() -> None:
    out = python(
        "import sys\n"
        "sys.argv = ['escrow', '--version']\n"
        "from escrow.__main__ import main\n"
        "main()\n"
        "print(sorted(m for m in ('typer', 'rich', 'escrow.service') if m in sys.modules))"
    )
    assert out.splitlines() == [f"escrow {escrow.__version__}", "[]"]


def test_the_license_file_is_the_mit_license_pyproject_names() -> None:
    assert PROJECT["license"] == {"text": "MIT"}
    assert (ROOT / "LICENSE").read_text(encoding="utf-8").startswith("MIT License\n")


def test_the_distribution_name_is_not_the_taken_escrow_and_the_script_is_escrow() -> None:
    assert PROJECT["name"] == "beijing-rental-escrow"
    assert PROJECT["scripts"] == {"escrow": "escrow.__main__:main"}
    assert PROJECT["entry-points"]["pytest11"] == {"escrow": "escrow.testing"}


def test_extras_by_need() -> None:
    extras = PROJECT["optional-dependencies"]
    assert set(extras) == {"postgres", "testing", "serve", "bench", "test", "dev"}
    core = " ".join(PROJECT["dependencies"])
    for optional in ("psycopg", "freezegun", "eventsourcing", "fastapi", "uvicorn"):
        assert optional not in core, optional
    assert "sqlmodel" in core  # the read-model tables (escrow.store.readmodel) are SQLModel classes
    # The test extra carries what the suite needs, the PostgreSQL driver included.
    assert "beijing-rental-escrow[postgres,testing,serve]" in extras["test"]
    # The HTTP service (escrow serve) is its own extra: FastAPI on uvicorn.
    assert {"fastapi", "uvicorn"} <= {req.split(">")[0] for req in extras["serve"]}
    assert any(req.startswith("jsonschema") for req in extras["test"])
    assert {"ruff", "mypy", "pre-commit"} <= {
        req.split(">")[0].split("[")[0] for req in extras["test"] + extras["dev"]
    }


def test_pre_1_0_typer_has_a_floor_and_a_tested_ceiling() -> None:
    typer = next(req for req in PROJECT["dependencies"] if req.startswith("typer"))
    assert typer == "typer>=0.18,<0.30"
    from importlib.metadata import version

    major, minor = (int(part) for part in version("typer").split(".")[:2])
    assert (0, 18) <= (major, minor) < (0, 30)  # the installed one is within the tested range
