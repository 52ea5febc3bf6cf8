"""Idempotency-Key over HTTP (issue 18): one act per key and request, as payment APIs do it.

The same key and request answer the first response again (status and body, marked
``Idempotent-Replayed: true``) and append nothing; the same key with another request is 422; keys
are per party; a rule's refusal is kept (and recorded once); an answer refused before the act
ran is not kept. Acts are counted in the SQLite file itself.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from api_support import (
    ApiLedger,
    api_client,
    build_ledger,
    event_count,
    problem,
    refusal_count,
)

DEPOSIT = "/contracts/C1/deposit-payments"


@pytest.fixture(scope="module")
def api_template(tmp_path_factory: pytest.TempPathFactory) -> ApiLedger:
    return build_ledger(tmp_path_factory.mktemp("api-idempotency") / "template.db")


@pytest.fixture
def api_ledger(api_template: ApiLedger, tmp_path: Path) -> ApiLedger:
    return api_template.copy(tmp_path / "ledger.db")


def _acts_events(receipt: dict[str, int]) -> int:
    """How many events the act of ``receipt`` appended."""
    return receipt["last_position"] - receipt["first_position"] + 1


def test_the_same_key_and_body_answer_the_first_response_and_act_once(
    api_ledger: ApiLedger,
) -> None:
    before = event_count(api_ledger.path)
    with api_client(api_ledger.path) as client:
        first = client.post(
            DEPOSIT, json={"amount": "100.00"}, headers=api_ledger.headers("FC", "pay-1")
        )
        after_first = event_count(api_ledger.path)
        again = client.post(
            DEPOSIT, json={"amount": "100.00"}, headers=api_ledger.headers("FC", "pay-1")
        )
        balance = client.get("/contracts/C1/balance", headers=api_ledger.headers("FC")).json()

    assert first.status_code == 200, first.text
    assert "idempotent-replayed" not in first.headers
    assert after_first == before + _acts_events(first.json())
    assert again.status_code == first.status_code
    assert again.content == first.content
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["content-type"] == first.headers["content-type"] == "application/json"
    assert event_count(api_ledger.path) == after_first
    # 5,000.00 paid when the ledger was built + 100.00 once = 5,100.00 in custody
    assert balance["funds"]["deposit"]["principal"] == "5100.00"


def test_equal_json_written_with_other_spacing_and_order_is_the_same_request(
    api_ledger: ApiLedger,
) -> None:
    headers = api_ledger.headers("FC", "pay-2") | {"Content-Type": "application/json"}
    with api_client(api_ledger.path) as client:
        first = client.post(
            DEPOSIT, content=b'{"amount":"100.00","channel":"bank"}', headers=headers
        )
        count = event_count(api_ledger.path)
        again = client.post(
            DEPOSIT, content=b'{\n  "channel" : "bank",\n  "amount" : "100.00"\n}', headers=headers
        )

    assert first.status_code == 200, first.text
    assert again.status_code == 200
    assert again.headers["idempotent-replayed"] == "true"
    assert again.content == first.content
    assert event_count(api_ledger.path) == count


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (DEPOSIT, {"amount": "200.00"}),  # another amount
        ("/contracts/C1/rent-payments", {"amount": "100.00"}),  # the same body elsewhere
    ],
)
def test_the_same_key_with_another_request_is_422(
    api_ledger: ApiLedger, path: str, body: dict[str, str]
) -> None:
    with api_client(api_ledger.path) as client:
        first = client.post(
            DEPOSIT, json={"amount": "100.00"}, headers=api_ledger.headers("FC", "k")
        )
        count = event_count(api_ledger.path)
        other = client.post(path, json=body, headers=api_ledger.headers("FC", "k"))
        again = client.post(
            DEPOSIT, json={"amount": "100.00"}, headers=api_ledger.headers("FC", "k")
        )

    assert first.status_code == 200, first.text
    assert other.status_code == 422
    assert problem(other)["type"] == "IdempotencyKeyReused"
    assert "'k'" in problem(other)["detail"]
    assert event_count(api_ledger.path) == count
    # the key still stands for its first request
    assert again.status_code == 200
    assert again.content == first.content


def test_the_same_key_from_two_parties_is_two_acts(api_ledger: ApiLedger) -> None:
    contract = {
        "start": "2025-07-03",
        "end": "2026-07-02",
        "monthly_rent": "4000.00",
        "deposit": "5000.00",
    }
    mine = contract | {"id": "C5", "filing_no": "F5", "tenant": "T1", "enterprise": "E1"}
    theirs = contract | {"id": "C6", "filing_no": "F6", "tenant": "T2", "enterprise": "E2"}
    before = event_count(api_ledger.path)
    with api_client(api_ledger.path) as client:
        first = client.post("/contracts", json=mine, headers=api_ledger.headers("E1", "open"))
        second = client.post("/contracts", json=theirs, headers=api_ledger.headers("E2", "open"))
        c5 = client.get("/contracts/C5", headers=api_ledger.headers("E1"))
        c6 = client.get("/contracts/C6", headers=api_ledger.headers("E2"))

    assert (first.status_code, second.status_code) == (201, 201), (first.text, second.text)
    assert "idempotent-replayed" not in second.headers
    assert first.json()["contract"] == "C5"
    assert second.json()["contract"] == "C6"
    assert (c5.status_code, c6.status_code) == (200, 200)
    written = _acts_events(first.json()["receipt"]) + _acts_events(second.json()["receipt"])
    assert event_count(api_ledger.path) == before + written


def test_a_refusal_is_kept_and_recorded_once(api_ledger: ApiLedger) -> None:
    # C3 already has its deposit refund opinion (rule 3: one opinion per fund)
    body = {"fund": "deposit", "deductions": []}
    refusals = refusal_count(api_ledger.path)
    with api_client(api_ledger.path) as client:
        first = client.post(
            "/contracts/C3/refund-opinions", json=body, headers=api_ledger.headers("E1", "again")
        )
        count = event_count(api_ledger.path)
        again = client.post(
            "/contracts/C3/refund-opinions", json=body, headers=api_ledger.headers("E1", "again")
        )

    assert first.status_code == 409
    assert problem(first)["type"] == "OpinionAlreadyGiven"
    assert again.status_code == 409
    assert again.content == first.content
    assert problem(again) == problem(first)
    assert again.headers["idempotent-replayed"] == "true"
    assert event_count(api_ledger.path) == count
    assert refusal_count(api_ledger.path) == refusals + 1


@pytest.mark.parametrize(
    ("bad", "refused_by"),
    [
        ("1.005", "ValidationError"),  # three decimals: the request model refuses it
        ("0.00", "AmountError"),  # nothing paid: the ledger refuses it
    ],
)
def test_a_422_is_not_kept_so_the_corrected_request_takes_the_key(
    api_ledger: ApiLedger, bad: str, refused_by: str
) -> None:
    before = event_count(api_ledger.path)
    with api_client(api_ledger.path) as client:
        wrong = client.post(DEPOSIT, json={"amount": bad}, headers=api_ledger.headers("FC", "fix"))
        unchanged = event_count(api_ledger.path)
        right = client.post(
            DEPOSIT, json={"amount": "1.00"}, headers=api_ledger.headers("FC", "fix")
        )

    assert wrong.status_code == 422
    assert problem(wrong)["type"] == refused_by
    assert unchanged == before
    assert right.status_code == 200, right.text
    assert "idempotent-replayed" not in right.headers
    assert event_count(api_ledger.path) == before + _acts_events(right.json())


@pytest.mark.parametrize(
    ("path", "body", "who"),
    [
        (DEPOSIT, {"amount": "100.00"}, "FC"),
        ("/contracts/C1/return", {}, "T1"),
        ("/enterprises/E1/suspension", {}, "DI"),
    ],
)
def test_a_write_without_a_key_is_400_and_does_nothing(
    api_ledger: ApiLedger, path: str, body: dict[str, str], who: str
) -> None:
    before = event_count(api_ledger.path)
    with api_client(api_ledger.path) as client:
        response = client.post(path, json=body, headers=api_ledger.headers(who))

    assert response.status_code == 400
    assert problem(response)["type"] == "MissingIdempotencyKey"
    assert "Idempotency-Key" in problem(response)["detail"]
    assert event_count(api_ledger.path) == before


@pytest.mark.parametrize("key", ["a\tb", "a\x01b", "a\x7fb", " padded", "", "k" * 101])
def test_a_key_that_is_not_one_short_line_is_400(api_ledger: ApiLedger, key: str) -> None:
    before = event_count(api_ledger.path)
    with api_client(api_ledger.path) as client:
        response = client.post(
            DEPOSIT, json={"amount": "1.00"}, headers=api_ledger.headers("FC", key)
        )

    assert response.status_code == 400
    body = problem(response)
    assert body["type"] == "MalformedRequest"
    assert body["detail"].startswith("Idempotency-Key: ")
    assert event_count(api_ledger.path) == before


def test_concurrent_requests_with_one_key_act_once(api_ledger: ApiLedger) -> None:
    before = event_count(api_ledger.path)
    with api_client(api_ledger.path) as client, ThreadPoolExecutor(8) as pool:
        responses = list(
            pool.map(
                lambda _: client.post(
                    DEPOSIT, json={"amount": "100.00"}, headers=api_ledger.headers("FC", "race")
                ),
                range(8),
            )
        )

    assert {r.status_code for r in responses} == {200}
    assert len({r.content for r in responses}) == 1
    assert sum("idempotent-replayed" not in r.headers for r in responses) == 1
    assert event_count(api_ledger.path) == before + _acts_events(responses[0].json())


# --- a real server with two worker processes ---------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def _served(path: Path, workers: int) -> Iterator[str]:
    """``escrow serve`` on ``path`` (simulation) until the block ends; its base URL."""
    port = _free_port()
    command = [sys.executable, "-m", "escrow", "serve", "--db", str(path), "--mode", "simulation"]
    command += ["--port", str(port), "--workers", str(workers)]
    server = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert server.poll() is None, server.stderr.read() if server.stderr else ""
            try:
                httpx.get(f"{base}/openapi.json", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the server did not start in 30 s"
                time.sleep(0.1)
        yield base
    finally:
        server.terminate()  # uvicorn stops its workers
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)  # its own session: the workers started here
            server.wait()
        if server.stderr:
            server.stderr.close()


@pytest.mark.slow
def test_concurrent_requests_with_one_key_act_once_across_worker_processes(
    api_ledger: ApiLedger,
) -> None:
    before = event_count(api_ledger.path)
    with _served(api_ledger.path, workers=2) as base, httpx.Client(base_url=base) as client:

        def pay(_: int) -> httpx.Response:
            headers = api_ledger.headers("FC", "race")
            return client.post(DEPOSIT, json={"amount": "100.00"}, headers=headers, timeout=30)

        with ThreadPoolExecutor(16) as pool:
            responses = list(pool.map(pay, range(32)))
        balance = client.get("/contracts/C1/balance", headers=api_ledger.headers("FC")).json()

    assert {r.status_code for r in responses} == {200}, [r.text for r in responses]
    assert len({r.content for r in responses}) == 1
    assert event_count(api_ledger.path) == before + _acts_events(responses[0].json())
    # 5,000.00 paid when the ledger was built + 100.00 once = 5,100.00 in custody
    assert balance["funds"]["deposit"]["principal"] == "5100.00"
