"""docs/openapi.json is the service's OpenAPI document: a change to the API that does not update
it fails here (run `escrow openapi > docs/openapi.json` and review the diff)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from escrow.api.openapi import document_text
from escrow.cli import app as cli_app

DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


def test_the_checked_in_document_is_the_services() -> None:
    assert DOCUMENT.read_text(encoding="utf-8") == document_text(), (
        "the API changed: run `escrow openapi > docs/openapi.json` and review the diff"
    )


def test_escrow_openapi_prints_it() -> None:
    result = CliRunner().invoke(cli_app, ["openapi"])
    assert result.exit_code == 0
    assert json.loads(result.stdout) == json.loads(DOCUMENT.read_text(encoding="utf-8"))


def test_every_write_takes_an_idempotency_key_and_every_operation_a_bearer_token() -> None:
    spec = json.loads(DOCUMENT.read_text(encoding="utf-8"))
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            assert operation.get("security") == [{"HTTPBearer": []}], (method, path)
            if method in ("post", "delete"):
                headers = [p["name"] for p in operation["parameters"] if p["in"] == "header"]
                assert headers == ["Idempotency-Key"], (method, path)
