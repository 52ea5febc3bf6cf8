"""`escrow serve` as the README starts it: a real process on a real port."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from typer.testing import CliRunner

from escrow.cli import app as cli_app

ESCROW = [sys.executable, "-m", "escrow"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def served(*args: str) -> Iterator[str]:
    port = _free_port()
    process = subprocess.Popen(
        [*ESCROW, "serve", "--port", str(port), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise AssertionError(process.stderr.read().decode() if process.stderr else "")
            try:
                if httpx.get(f"{base}/openapi.json", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("escrow serve did not answer within 60 s")
            time.sleep(0.1)
        yield base
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _token(db: Path, *args: str) -> str:
    result = CliRunner().invoke(cli_app, ["tokens", "create", *args, "--db", str(db), "--json"])
    assert result.exit_code == 0, result.output
    return str(json.loads(result.stdout)["token"])


def test_serve_answers_a_party_and_refuses_a_stranger(tmp_path: Path) -> None:
    db = tmp_path / "ledger.db"
    with served("--db", str(db)) as base:
        token = _token(db, "auditor")  # a token made while it serves works at once
        clock = httpx.get(f"{base}/clock", headers={"Authorization": f"Bearer {token}"})
        assert clock.status_code == 200 and clock.json()["mode"] == "live"
        stranger = httpx.get(f"{base}/clock", headers={"Authorization": "Bearer esc_nope"})
        assert stranger.status_code == 401
        assert stranger.headers["content-type"] == "application/problem+json"
        docs = httpx.get(f"{base}/docs")
        assert docs.status_code == 200 and "swagger" in docs.text.lower()


def test_four_workers_share_one_ledger_and_one_clock_lease(tmp_path: Path) -> None:
    db = tmp_path / "ledger.db"
    with served("--db", str(db), "--workers", "4") as base:
        enterprise = _token(db, "enterprise", "--subject", "E1")
        fund_centre = _token(db, "fund_centre")
        with httpx.Client(base_url=base) as client:
            for n in range(8):  # the workers take turns: each opens some of the contracts
                body = {
                    "id": f"C{n}", "filing_no": f"F{n}", "tenant": f"T{n}", "enterprise": "E1",
                    "start": "2025-06-03", "end": "2026-06-02",
                    "monthly_rent": "3000.00", "deposit": "3000.00",
                }  # fmt: skip
                answer = client.post(
                    "/contracts",
                    json=body,
                    headers={"Authorization": f"Bearer {enterprise}", "Idempotency-Key": f"k{n}"},
                )
                assert answer.status_code == 201, answer.text
            listed = client.get("/contracts", headers={"Authorization": f"Bearer {fund_centre}"})
            assert [c["contract"] for c in listed.json()] == [f"C{n}" for n in range(8)]
        time.sleep(1)  # every worker's live clock has run its first round
    with sqlite3.connect(db) as con:
        leases = con.execute("SELECT name FROM service_leases").fetchall()
    assert leases == [("live_clock",)]
