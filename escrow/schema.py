"""JSON Schemas of the scenario file and of the run report, generated from their pydantic models.

``escrow schema scenario|report`` prints them; the repository ships them in ``docs/schema/``
(a test checks that the shipped files are what this module generates). The scenario schema sees
the file as JSON tools do: TOML dates as ``"YYYY-MM-DD"`` strings. It checks the shape of a file
(keys, types, patterns); cross-checks such as unknown contracts or rates out of date order are
the loader's (:func:`escrow.scenario.load_scenario`), and so stay out of it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from escrow.interest import BUILTIN_TABLES
from escrow.report import RunReport
from escrow.scenario import RULE_PACKS, Scenario

__all__ = ["SCHEMAS", "report_schema", "scenario_schema", "schema_text"]

DIALECT = "https://json-schema.org/draft/2020-12/schema"


def scenario_schema() -> dict[str, Any]:
    """The JSON Schema of a scenario file (docs/scenario-format.md)."""
    schema = Scenario.model_json_schema(by_alias=True, mode="validation")
    properties = schema["properties"]
    properties["rules"]["enum"] = list(RULE_PACKS)
    properties["rate_table"]["enum"] = list(BUILTIN_TABLES)
    contracts = properties["contracts"]
    contracts.pop("minLength", None)  # pydantic names an array's length as a string's
    contracts["minItems"] = 1
    return _headed(schema, "escrow scenario file", "A scenario file (TOML) read as JSON.")


def report_schema() -> dict[str, Any]:
    """The JSON Schema of the run report (docs/report-format.md)."""
    schema = RunReport.model_json_schema(by_alias=True, mode="serialization")
    return _headed(schema, "escrow run report", "The report of escrow run FILE --json.")


def _headed(schema: dict[str, Any], title: str, description: str) -> dict[str, Any]:
    return {"$schema": DIALECT, "title": title, "description": description} | {
        key: value for key, value in schema.items() if key not in ("title", "description")
    }


SCHEMAS: dict[str, Callable[[], dict[str, Any]]] = {
    "scenario": scenario_schema,
    "report": report_schema,
}


def schema_text(name: str) -> str:
    """The schema called ``name`` as the shipped file holds it (sorted keys, 2-space indent)."""
    return json.dumps(SCHEMAS[name](), ensure_ascii=False, indent=2, sort_keys=True) + "\n"
