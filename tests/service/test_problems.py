"""Errors as RFC 9457 problem details (issue 18): ``application/problem+json`` with type, title,
status, detail (one line) and instance, and each status used as its RFC means it: 400 a request
that cannot be read, 401 no valid token, 403 a role that may not, 404 nothing there for this
party, 405 a wrong method, 409 a rule's refusal (the refusal's class as the type), 422 a request
well formed but wrong.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from api_support import ApiLedger, api_client, build_ledger, event_count, problem

from escrow import errors


@pytest.fixture(scope="module")
def api_template(tmp_path_factory: pytest.TempPathFactory) -> ApiLedger:
    return build_ledger(tmp_path_factory.mktemp("api-problems") / "template.db")


@pytest.fixture
def api_ledger(api_template: ApiLedger, tmp_path: Path) -> ApiLedger:
    return api_template.copy(tmp_path / "ledger.db")


DEPOSIT = "/contracts/C1/deposit-payments"
JSON = {"Content-Type": "application/json"}

# (who, method, path, body or raw bytes) -> (status, type, what the detail names)
CASES: dict[str, tuple[str, str, str, Any, int, str, str]] = {
    "malformed JSON": ("FC", "POST", DEPOSIT, b'{"amount": "1.00"', 400, "MalformedRequest", "JSON"),
    "an amount as a JSON number": ("FC", "POST", DEPOSIT, {"amount": 100.5}, 422, "ValidationError", "amount: "),
    "an amount with three decimals": ("FC", "POST", DEPOSIT, {"amount": "1.005"}, 422, "ValidationError", "amount: "),
    "an amount that is not a number": ("FC", "POST", DEPOSIT, {"amount": "1e3"}, 422, "ValidationError", "amount: "),
    "an unknown field": ("FC", "POST", DEPOSIT, {"amount": "1.00", "currency": "CNY"}, 422, "ValidationError", "currency: "),
    "a field named over two lines": ("FC", "POST", DEPOSIT, {"amount": "1.00", "two\nlines": 1}, 422, "ValidationError", "two lines: "),
    "a missing field": ("FC", "POST", DEPOSIT, {}, 422, "ValidationError", "amount: "),
    "a date as a number": ("E1", "POST", "/contracts/C1/return", {"on": 20250702}, 422, "ValidationError", "on: "),
    "a date not in the calendar": ("E1", "POST", "/contracts/C1/return", {"on": "2025-02-30"}, 422, "ValidationError", "on: "),
    "a date with a time": ("E1", "POST", "/contracts/C1/return", {"on": "2025-07-02T00:00:00"}, 422, "ValidationError", "on: "),
    "a second opinion": ("E1", "POST", "/contracts/C3/refund-opinions", {"fund": "deposit"}, 409, "OpinionAlreadyGiven", "C3"),
    "an act dated before the clock": ("E1", "POST", "/contracts/C1/return", {"on": "2025-06-30"}, 409, "ClockError", "2025-06-30"),
    "the clock moved back": ("FC", "POST", "/clock/advance", {"to": "2025-06-30"}, 409, "ClockError", "2025-06-30"),
    "deductions beyond what is held": (
        # C2 holds 5,000.00 of deposit; 5,000.01 cannot be deducted from it (rule 3)
        "E1", "POST", "/contracts/C2/refund-opinions",
        {"fund": "deposit", "deductions": [{"item": "damage", "amount": "5000.01"}]},
        409, "DeductionsExceedHeld", "C2",
    ),
    "a payment into an unknown contract": ("FC", "POST", "/contracts/C404/deposit-payments", {"amount": "1.00"}, 404, "UnknownContract", "C404"),
    "an unknown contract": ("FC", "GET", "/contracts/C404", None, 404, "UnknownContract", "C404"),
    "an unknown filing number": ("T1", "GET", "/filings/F404", None, 404, "UnknownContract", "F404"),
    "an unknown path": ("FC", "GET", "/nowhere", None, 404, "NotFound", "Not Found"),
    "a wrong method": ("FC", "DELETE", "/contracts/C1", None, 405, "MethodNotAllowed", "Method Not Allowed"),
    "a known_at without a zone": ("FC", "GET", "/contracts/C1?known_at=2025-07-01T10:00:00", None, 422, "ValidationError", "known_at: "),
    "no token": ("none", "GET", "/clock", None, 401, "Unauthorized", "bearer token"),
    "a revoked token": ("revoked", "GET", "/clock", None, 401, "Unauthorized", "revoked"),
    "a role that may not": ("T1", "POST", DEPOSIT, {"amount": "1.00"}, 403, "Forbidden", "tenant"),
}  # fmt: skip


@pytest.mark.parametrize("case", CASES)
def test_every_error_is_a_problem_document(api_ledger: ApiLedger, case: str) -> None:
    who, method, path, body, status, type_, named = CASES[case]
    key = "problem" if method == "POST" else None
    before = event_count(api_ledger.path)
    with api_client(api_ledger.path) as client:
        if isinstance(body, bytes):
            response = client.request(
                method, path, content=body, headers=api_ledger.headers(who, key) | JSON
            )
        else:
            response = client.request(method, path, json=body, headers=api_ledger.headers(who, key))

    assert response.status_code == status, response.text
    found = problem(response)  # the content type, the five fields, a one-line detail
    assert found["type"] == type_
    assert named in found["detail"]
    assert found["instance"] == path.partition("?")[0]
    assert isinstance(found["title"], str) and found["title"]
    refusal = getattr(errors, type_, None)
    if isinstance(refusal, type) and status != 422:
        # a refusal's title is the first line of its class's documentation
        assert refusal.__doc__ is not None
        assert found["title"] == refusal.__doc__.strip().splitlines()[0]
    if status == 404 and method == "POST" and who == "FC":
        # The fund centre sees every contract: an act on one that is not there is recorded as
        # refused (one ActionRefused event), as `escrow run` records it.
        assert event_count(api_ledger.path) == before + 1
    elif status != 409:
        assert event_count(api_ledger.path) == before  # nothing written, not even a refusal


def test_a_wrong_method_says_which_methods_are_allowed(api_ledger: ApiLedger) -> None:
    with api_client(api_ledger.path) as client:
        response = client.put("/clock", json={}, headers=api_ledger.headers("FC"))

    assert response.status_code == 405
    assert response.headers["allow"] == "GET"
    assert problem(response)["type"] == "MethodNotAllowed"


def test_a_missed_deadline_is_409_deadline_passed(api_ledger: ApiLedger) -> None:
    # C2 was returned on Tue 2025-07-01: its opinion is due by the 3rd working day after,
    # Wed 07-02 (1), Thu 07-03 (2), Fri 07-04 (3) (rule 3). On Mon 07-07 it is too late.
    with api_client(api_ledger.path) as client:
        moved = client.post(
            "/clock/advance", json={"to": "2025-07-07"}, headers=api_ledger.headers("FC", "to-07")
        )
        late = client.post(
            "/contracts/C2/refund-opinions",
            json={"fund": "deposit", "deductions": [{"item": "cleaning", "amount": "200.00"}]},
            headers=api_ledger.headers("E1", "late"),
        )
        refusals = client.get("/refusals", headers=api_ledger.headers("AU")).json()

    assert moved.status_code == 200, moved.text
    assert late.status_code == 409
    found = problem(late)
    assert found["type"] == "DeadlinePassed"
    assert "2025-07-04" in found["detail"]
    assert found["instance"] == "/contracts/C2/refund-opinions"
    # the refusal is recorded for the run report, as `escrow run` records it
    assert [(r["action"], r["contract"], r["date"]) for r in refusals] == [
        ("propose_refund", "C2", "2025-07-07")
    ]


def test_a_rule_refusal_is_recorded_and_a_422_is_not(api_ledger: ApiLedger) -> None:
    with api_client(api_ledger.path) as client:
        client.post(DEPOSIT, json={"amount": "1.005"}, headers=api_ledger.headers("FC", "a"))
        client.post(
            "/contracts/C3/refund-opinions",
            json={"fund": "deposit"},
            headers=api_ledger.headers("E1", "b"),
        )
        refusals = client.get("/refusals", headers=api_ledger.headers("FC")).json()

    assert [(r["action"], r["contract"]) for r in refusals] == [("propose_refund", "C3")]
    assert "refund opinion was already given" in refusals[0]["reason"]


@pytest.mark.parametrize("content_type", [None, "text/plain"])
def test_a_body_not_sent_as_json_is_400_and_says_so(
    api_ledger: ApiLedger, content_type: str | None
) -> None:
    headers = api_ledger.headers("FC", "plain")
    if content_type is not None:
        headers["Content-Type"] = content_type
    before = event_count(api_ledger.path)
    with api_client(api_ledger.path) as client:
        response = client.post(DEPOSIT, content=b'{"amount": "1.00"}', headers=headers)

    assert response.status_code == 400
    found = problem(response)
    assert found["type"] == "MalformedRequest"
    assert "application/json" in found["detail"]
    assert event_count(api_ledger.path) == before
