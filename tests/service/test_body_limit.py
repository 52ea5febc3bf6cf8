"""A request body over 64 KiB is refused with 413 before it is read, declared or chunked."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
from serving import serving

import escrow
from escrow.api.app import create_app
from escrow.api.limits import MAX_BODY
from escrow.api.tokens import create_token
from escrow.clock import SystemClock


def _setup(path: Path) -> str:
    with escrow.open_ledger(path) as ledger:
        return create_token(ledger.store, "enterprise", "E1", now=SystemClock().now())[1]


def test_a_body_over_the_bound_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    token = _setup(path)
    padding = "x" * (MAX_BODY + 1)
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "big"}
    with (
        serving(create_app(path, mode="simulation")) as base,
        httpx.Client(base_url=base) as client,
    ):
        declared = client.post(
            "/contracts",
            content=f'{{"id": "{padding}"}}',
            headers=headers | {"Content-Type": "application/json"},
        )
        assert declared.status_code == 413
        assert declared.headers["content-type"] == "application/problem+json"
        assert declared.json()["type"] == "ContentTooLarge"

        def chunks() -> Iterator[bytes]:
            yield b'{"id": "'
            for _ in range(MAX_BODY // 1024 + 2):
                yield b"x" * 1024
            yield b'"}'

        chunked = client.post(
            "/contracts", content=chunks(), headers=headers | {"Content-Type": "application/json"}
        )
        assert chunked.status_code == 413, chunked.text
        # A body within the bound still reaches the service (here: a field the model refuses).
        small = client.post("/contracts", json={"id": "C1"}, headers=headers)
        assert small.status_code == 422
    with escrow.open_ledger(path, read_only=True) as ledger:
        assert ledger.contract_ids() == []
