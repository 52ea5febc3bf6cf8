"""The permission matrix (issue 18): every party against every endpoint of the OpenAPI document.

The endpoints come from ``app.openapi()["paths"]``, so an endpoint added without a row in
:data:`EXPECTED` fails here. A row names the parties that may use the endpoint (``ok``: a 2xx,
the act done on a ledger where the rules let it succeed) and the parties whose role may use it
but to whom the contract (or enterprise) is somebody else's (``hidden``: the same 404 as for one
that does not exist); every other party gets 403, and a request without a valid token (none, a
revoked one, a malformed one) 401 with a ``WWW-Authenticate: Bearer`` challenge.

Who may do what, from issue 18's list of parties (Art. 7): the fund centre records bank notices,
account changes and moves the clock in simulation; an enterprise opens its own contracts and
gives refund opinions; a tenant answers opinions; the association records resolutions; a
district suspends and resumes; the auditor reads everything and writes nothing. The return of a
home (not in the issue's list) is recorded by the contract's enterprise or tenant.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import httpx
import pytest
from api_support import (
    E1_WEBHOOK,
    NO_PARTY,
    PARTIES,
    ApiLedger,
    api_client,
    build_ledger,
    event_count,
    problem,
    webhook_changes,
)
from fastapi.testclient import TestClient

from escrow.api.app import create_app

ALL = frozenset(PARTIES)
OVERSIGHT = frozenset({"FC", "AU"})
CONTRACT_READERS = ALL - {"E2", "T2"}
"""Who sees C1 (E1's and T1's contract): its own parties and every role not scoped to its own."""


@dataclasses.dataclass(frozen=True)
class Row:
    """One endpoint: its path parameters and body, who may use it, who gets the 404."""

    params: dict[str, str]
    ok: frozenset[str]
    hidden: frozenset[str] = frozenset()
    body: dict[str, Any] | None = None

    def expected(self, who: str) -> int | str:
        if who in NO_PARTY:
            return 401
        if who in self.ok:
            return "2xx"
        return 404 if who in self.hidden else 403


NEW_CONTRACT = {
    "id": "C5",
    "filing_no": "F5",
    "tenant": "T1",
    "enterprise": "E1",
    "start": "2025-07-03",
    "end": "2026-07-02",
    "monthly_rent": "4000.00",
    "deposit": "5000.00",
}
C1 = {"contract": "C1"}


def _f(*parties: str) -> frozenset[str]:
    return frozenset(parties)


EXPECTED: dict[tuple[str, str], Row] = {
    # --- acts ---------------------------------------------------------------------------------
    ("POST", "/contracts"): Row({}, _f("E1"), body=NEW_CONTRACT),  # E2: not its contract, 403
    ("POST", "/contracts/{contract}/deposit-payments"): Row(
        C1, _f("FC"), body={"amount": "100.00"}
    ),
    ("POST", "/contracts/{contract}/rent-payments"): Row(C1, _f("FC"), body={"amount": "4000.00"}),
    ("POST", "/contracts/{contract}/return"): Row(
        C1, _f("E1", "T1"), _f("E2", "T2"), body={"reason": "termination"}
    ),
    ("POST", "/contracts/{contract}/refund-opinions"): Row(
        {"contract": "C2"},
        _f("E1"),
        _f("E2"),
        body={"fund": "deposit", "deductions": [{"item": "cleaning", "amount": "200.00"}]},
    ),
    ("POST", "/contracts/{contract}/answers"): Row(
        {"contract": "C3"}, _f("T1"), _f("T2"), body={"fund": "deposit", "answer": "agree"}
    ),
    ("POST", "/contracts/{contract}/resolutions"): Row(
        {"contract": "C4"},
        _f("AS"),
        # the disputed 1,000.00 split 500.00 + 500.00
        body={
            "fund": "deposit",
            "via": "mediation",
            "to_tenant": "500.00",
            "to_enterprise": "500.00",
        },
    ),
    ("POST", "/enterprises/{enterprise}/suspension"): Row({"enterprise": "E1"}, _f("DI"), body={}),
    ("POST", "/enterprises/{enterprise}/resumption"): Row({"enterprise": "E3"}, _f("DI"), body={}),
    ("POST", "/accounts/{account}/changes"): Row(
        {"account": "custody"}, _f("FC"), body={"bank": "B9"}
    ),
    ("POST", "/clock/advance"): Row({}, _f("FC"), body={"to": "2025-07-10"}),
    ("POST", "/clock/run"): Row({}, _f("FC"), body={"limit": "2025-07-10"}),
    # --- reads --------------------------------------------------------------------------------
    ("GET", "/clock"): Row({}, ALL),
    ("GET", "/contracts"): Row({}, ALL),  # each sees its own (test_a_party_lists_only_its_own)
    ("GET", "/contracts/{contract}"): Row(C1, CONTRACT_READERS, _f("E2", "T2")),
    ("GET", "/filings/{filing_no}"): Row({"filing_no": "F1"}, CONTRACT_READERS, _f("E2", "T2")),
    ("GET", "/contracts/{contract}/balance"): Row(C1, CONTRACT_READERS, _f("E2", "T2")),
    ("GET", "/contracts/{contract}/transfers"): Row(C1, CONTRACT_READERS, _f("E2", "T2")),
    ("GET", "/contracts/{contract}/notices"): Row(C1, CONTRACT_READERS, _f("E2", "T2")),
    ("GET", "/contracts/{contract}/deadlines"): Row(C1, CONTRACT_READERS, _f("E2", "T2")),
    ("GET", "/transfers"): Row({}, OVERSIGHT),
    ("GET", "/notices"): Row({}, OVERSIGHT),
    ("GET", "/deadlines"): Row({}, OVERSIGHT),
    ("GET", "/refusals"): Row({}, OVERSIGHT),
    ("GET", "/held"): Row({}, OVERSIGHT),
    ("GET", "/report"): Row({}, OVERSIGHT),
    ("GET", "/enterprises/{enterprise}"): Row(
        {"enterprise": "E1"}, ALL - {"E2", "T1", "T2"}, _f("E2")
    ),
    # --- webhooks: each party its own; the auditor's are the operator's (escrow webhooks add) -
    ("POST", "/webhooks"): Row({}, ALL - {"AU"}, body={"url": "https://platform.example/hook"}),
    ("GET", "/webhooks"): Row({}, ALL),  # each lists its own (test_a_party_lists_its_webhooks)
    ("DELETE", "/webhooks/{webhook}"): Row(
        {"webhook": E1_WEBHOOK}, _f("E1"), ALL - {"E1", "AU"}, body=None
    ),
}

UNKNOWN = {
    "contract": "C404",
    "filing_no": "F404",
    "enterprise": "E404",
    "account": "custody",
    "webhook": "wh_0000000000000000",
}
"""Path parameters naming nothing that exists (the 404 that a hidden one must look like)."""


def _endpoints() -> list[tuple[str, str]]:
    paths = create_app("never-opened.db").openapi()["paths"]  # the lifespan opens the file
    return [(method.upper(), path) for path, ops in paths.items() for method in ops]


ENDPOINTS = _endpoints()


@pytest.fixture(scope="module")
def api_template(tmp_path_factory: pytest.TempPathFactory) -> ApiLedger:
    return build_ledger(tmp_path_factory.mktemp("api-permissions") / "template.db")


def _call(
    client: TestClient, ledger: ApiLedger, method: str, path: str, row: Row, who: str
) -> httpx.Response:
    headers = ledger.headers(who, f"matrix-{who}" if method != "GET" else None)
    response: httpx.Response = client.request(method, path, json=row.body, headers=headers)
    return response


def _same_as_unknown(
    client: TestClient,
    ledger: ApiLedger,
    method: str,
    template: str,
    row: Row,
    who: str,
    hidden: httpx.Response,
) -> str | None:
    """Whether ``hidden`` (the 404 for somebody else's contract) is the 404 for one that does
    not exist, but for the id: None when it is, else what differs."""
    unknown_path = template.format(**{k: UNKNOWN[k] for k in row.params})
    unknown = client.request(
        method,
        unknown_path,
        json=row.body,
        headers=ledger.headers(who, f"unknown-{who}" if method != "GET" else None),
    )
    if unknown.status_code != 404:
        return f"the unknown one answered {unknown.status_code}"
    seen, expected = problem(hidden), problem(unknown)
    for name, value in row.params.items():
        for field in ("detail", "instance"):
            seen[field] = seen[field].replace(value, UNKNOWN[name])
    if seen != expected:
        return f"{seen} != {expected}"
    if dict(hidden.headers) | {"content-length": "0"} != dict(unknown.headers) | {
        "content-length": "0"
    }:
        return f"headers {dict(hidden.headers)} != {dict(unknown.headers)}"
    return None


def _check(
    client: TestClient,
    ledger: ApiLedger,
    method: str,
    template: str,
    row: Row,
    who: str,
) -> str | None:
    """What is wrong with ``who``'s answer on the endpoint, or None."""
    path = template.format(**row.params)
    expected = row.expected(who)
    # A webhook is no event: its writes are counted in the webhooks table (added or removed).
    count = webhook_changes if template.startswith("/webhooks") else event_count
    before = count(ledger.path)
    response = _call(client, ledger, method, path, row, who)
    status = response.status_code
    wrote = count(ledger.path) - before
    if expected == "2xx":
        if not 200 <= status < 300:
            return f"{who}: expected 2xx, got {status} {response.text}"
        if method != "GET" and wrote == 0:
            return f"{who}: answered {status} but the ledger holds no new event"
        if method == "GET":
            response.json()  # a JSON document
        return None
    if status != expected:
        return f"{who}: expected {expected}, got {status} {response.text}"
    if wrote:
        return f"{who}: answered {status} and {wrote} events were written"
    body = problem(response)
    if status == 401:
        if not response.headers.get("www-authenticate", "").startswith("Bearer"):
            return f"{who}: 401 without a Bearer challenge: {dict(response.headers)}"
        return None if body["type"] == "Unauthorized" else f"{who}: 401 typed {body['type']}"
    if status == 403:
        return None if body["type"] == "Forbidden" else f"{who}: 403 typed {body['type']}"
    differs = _same_as_unknown(client, ledger, method, template, row, who, response)
    return None if differs is None else f"{who}: hidden 404 differs from an unknown one: {differs}"


@pytest.mark.parametrize(("method", "path"), ENDPOINTS, ids=[f"{m} {p}" for m, p in ENDPOINTS])
def test_every_party_against_the_endpoint(
    method: str, path: str, api_template: ApiLedger, tmp_path: Path
) -> None:
    row = EXPECTED.get((method, path))
    if row is None:
        pytest.fail(f"{method} {path} has no row in EXPECTED: say who may use it")
    wrong: list[str | None] = []
    refused = [w for w in (*PARTIES, *NO_PARTY) if row.expected(w) != "2xx" or method == "GET"]
    ledger = api_template.copy(tmp_path / "shared.db")
    with api_client(ledger.path) as client:
        wrong += [_check(client, ledger, method, path, row, who) for who in refused]
    # Each party that may write acts on a ledger of its own, so every act meets the state it
    # was set up for (the enterprise's and the tenant's return of the same home, say).
    for who in sorted(row.ok) if method != "GET" else ():
        own = api_template.copy(tmp_path / f"{who}.db")
        with api_client(own.path) as client:
            wrong.append(_check(client, own, method, path, row, who))
    assert [w for w in wrong if w is not None] == []


def test_every_row_of_the_table_is_an_endpoint() -> None:
    assert set(EXPECTED) - set(ENDPOINTS) == set()


def test_the_auditor_writes_nothing_and_reads_everything() -> None:
    for (method, path), row in EXPECTED.items():
        assert row.expected("AU") == ("2xx" if method == "GET" else 403), (method, path)


def test_a_party_lists_only_its_own_webhooks(api_template: ApiLedger, tmp_path: Path) -> None:
    ledger = api_template.copy(tmp_path / "ledger.db")
    with api_client(ledger.path) as client:
        added = client.post(
            "/webhooks",
            json={"url": "https://tenant.example/t2"},
            headers=ledger.headers("T2", "t2-hook"),
        )
        assert added.status_code == 201, added.text
        assert len(added.json()["secret"]) == 64  # 32 random bytes, hex, shown once
        mine = client.get("/webhooks", headers=ledger.headers("T2")).json()
        theirs = client.get("/webhooks", headers=ledger.headers("E1")).json()
        nobody = client.get("/webhooks", headers=ledger.headers("AS")).json()
    assert [(h["party"], h["url"]) for h in mine] == [("tenant:T2", "https://tenant.example/t2")]
    assert "secret" not in mine[0]
    assert [(h["id"], h["party"]) for h in theirs] == [(E1_WEBHOOK, "enterprise:E1")]
    assert nobody == []


def test_a_party_lists_only_its_own_contracts(api_template: ApiLedger) -> None:
    seen: dict[str, list[str]] = {}
    with api_client(api_template.path) as client:
        for who in PARTIES:
            response = client.get("/contracts", headers=api_template.headers(who))
            assert response.status_code == 200, response.text
            seen[who] = [c["contract"] for c in response.json()]
    everything = ["C1", "C2", "C3", "C4", "C9"]
    assert seen == {
        "FC": everything,
        "E1": ["C1", "C2", "C3", "C4"],
        "E2": ["C9"],
        "T1": ["C1", "C2", "C3", "C4"],
        "T2": ["C9"],
        "AS": everything,
        "DI": everything,
        "AU": everything,
    }


def test_an_enterprise_may_not_open_a_contract_for_another(
    api_template: ApiLedger, tmp_path: Path
) -> None:
    ledger = api_template.copy(tmp_path / "ledger.db")
    before = event_count(ledger.path)
    with api_client(ledger.path) as client:
        response = client.post(
            "/contracts",
            json=NEW_CONTRACT | {"enterprise": "E2"},
            headers=ledger.headers("E1", "k"),
        )
    assert response.status_code == 403
    assert problem(response)["type"] == "Forbidden"
    assert event_count(ledger.path) == before


def test_an_id_or_filing_number_another_enterprise_uses_is_refused_without_saying_whose(
    api_template: ApiLedger, tmp_path: Path
) -> None:
    """Ids and filing numbers are one register for the city: a taken one must be refused, so
    an enterprise learns that it is in use. It learns nothing more: the answer is the same for
    a taken id and a taken filing number, and names neither the other contract nor its
    parties (docs/service.md, "What the 404 rule cannot hide")."""
    ledger = api_template.copy(tmp_path / "ledger.db")
    with api_client(ledger.path) as client:
        taken_id = client.post(
            "/contracts",
            json=NEW_CONTRACT | {"id": "C9", "enterprise": "E1"},
            headers=ledger.headers("E1", "taken-id"),
        )
        taken_filing = client.post(
            "/contracts",
            json=NEW_CONTRACT | {"id": "C7", "filing_no": "F9", "enterprise": "E1"},
            headers=ledger.headers("E1", "taken-filing"),
        )
    assert taken_id.status_code == taken_filing.status_code == 409
    first, second = taken_id.json(), taken_filing.json()
    assert first["type"] == second["type"] == "DuplicateContract"
    assert first["detail"] == second["detail"]
    for text in (first["detail"], second["detail"]):
        assert "E2" not in text and "T2" not in text and "C9" not in text and "F9" not in text


def test_contracts_come_a_page_at_a_time_after_an_id(api_template: ApiLedger) -> None:
    with api_client(api_template.path) as client:
        first = client.get("/contracts?limit=2", headers=api_template.headers("FC")).json()
        rest = client.get(
            f"/contracts?after={first[-1]['contract']}&limit=10",
            headers=api_template.headers("FC"),
        ).json()
        own = client.get("/contracts?after=C1&limit=2", headers=api_template.headers("E1")).json()
    # The ledger holds C1..C4 (E1's) and C9 (E2's), by id.
    assert [c["contract"] for c in first] == ["C1", "C2"]
    assert [c["contract"] for c in rest] == ["C3", "C4", "C9"]
    assert [c["contract"] for c in own] == ["C2", "C3"]  # E1's only, after C1, two of them
