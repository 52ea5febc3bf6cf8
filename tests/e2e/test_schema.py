"""The JSON Schemas shipped in docs/schema/: generated from the models, and true of real files.

Every scenario in scenarios/ validates against the scenario schema, and the report of running it
validates against the report schema (and the strict :class:`~escrow.report.RunReport` model).
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from escrow.report import RunReport
from escrow.runner import run_scenario
from escrow.scenario import load_scenario
from escrow.schema import SCHEMAS, schema_text

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "docs" / "schema"
SCENARIOS = sorted((ROOT / "scenarios").glob("*.toml"))


def as_json(value: Any) -> Any:
    """TOML data as a JSON tool sees it: dates become ISO strings."""
    if isinstance(value, dict):
        return {key: as_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [as_json(item) for item in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def validator(name: str) -> jsonschema.protocols.Validator:
    schema = json.loads((SHIPPED / f"{name}.schema.json").read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_the_shipped_schema_is_the_generated_one(name: str) -> None:
    shipped = (SHIPPED / f"{name}.schema.json").read_text(encoding="utf-8")
    assert shipped == schema_text(name), f"regenerate: escrow schema {name} > docs/schema/{name}.schema.json"


def test_escrow_schema_prints_the_shipped_file() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "escrow", "schema", "report"],
        capture_output=True, text=True, check=True,
    )
    assert out.stdout == (SHIPPED / "report.schema.json").read_text(encoding="utf-8")


def test_escrow_schema_of_an_unknown_name_is_one_line_and_exit_2() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "escrow", "schema", "contracts"], capture_output=True, text=True
    )
    assert out.returncode == 2
    assert out.stderr == "escrow: schema: 'contracts' is not a schema (expected scenario or report)\n"


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.name for p in SCENARIOS])
def test_every_scenario_file_validates_and_so_does_its_report(path: Path, tmp_path: Path) -> None:
    data = as_json(tomllib.loads(path.read_text(encoding="utf-8")))
    validator("scenario").validate(data)
    report = run_scenario(load_scenario(path), str(tmp_path / "ledger.db"))
    validator("report").validate(report)
    RunReport.model_validate(report)


BASE: dict[str, Any] = {
    "name": "n",
    "contracts": [
        {"id": "C1", "tenant": "T1", "enterprise": "E1", "start": "2025-06-01",
         "end": "2026-05-31", "monthly_rent": "5000.00", "deposit": "5000.00"}
    ],
    "actions": [
        {"date": "2025-06-03", "action": "pay_deposit", "contract": "C1", "amount": "5000.00"}
    ],
}


def test_the_base_file_of_the_negative_cases_is_valid() -> None:
    validator("scenario").validate(BASE)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("actions", 0, "amount"), "12.345"),  # three decimals
        (("actions", 0, "amount"), 5000),  # a number, not a string
        (("actions", 0, "amount"), "0.00"),  # a payment must be more than zero
        (("actions", 0, "action"), "pay_everything"),  # no such action
        (("actions", 0, "date"), "2025-06-03T10:00:00"),  # a date-time
        (("contracts", 0, "tenant"), " T1"),  # spaces at an end
        (("rules",), "shanghai-2030"),  # no such rule pack
    ],
)
def test_the_scenario_schema_refuses_what_the_loader_refuses(
    path: tuple[str | int, ...], value: object
) -> None:
    data = copy.deepcopy(BASE)
    target: Any = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(jsonschema.ValidationError):
        validator("scenario").validate(data)


def test_the_scenario_schema_requires_the_action_name_and_a_contract() -> None:
    no_action = copy.deepcopy(BASE)
    del no_action["actions"][0]["action"]
    no_contracts = copy.deepcopy(BASE) | {"contracts": []}
    for data in (no_action, no_contracts):
        with pytest.raises(jsonschema.ValidationError):
            validator("scenario").validate(data)
