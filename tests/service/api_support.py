"""Shared ground of the HTTP API tests: a ledger file in a known state, a token per party, and
small readers of responses and of the SQLite file.

The ledger (built with the library, not over HTTP, so the API tests do not lean on the API to
set themselves up), all on the rule pack's defaults, clock in simulation from 2025-06-01:

- C1, C2, C3, C4: tenant T1 renting from enterprise E1, 2025-06-03 to 2026-06-02, rent
  4,000.00 a month, deposit 5,000.00 paid in full on 2025-06-01 (filing numbers F1 to F4);
- C9: tenant T2 renting from enterprise E2 on the same terms (filing number F9);
- on 2025-07-01 (a Tuesday; the clock's today from then on): C2, C3 and C4 returned; C3 and C4
  have a deposit refund opinion deducting 1,000.00 ("repainting"); T1 disputed C4's; releases
  to enterprise E3 are suspended.

So C1 takes payments and a return, C2 a refund opinion, C3 the tenant's answer, C4 a
resolution, E1 a suspension and E3 a resumption, each on the clock's today.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import shutil
import sqlite3
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from fastapi.testclient import TestClient

import escrow
from escrow.api.app import create_app
from escrow.api.tokens import create_token, revoke_token
from escrow.clock import FixedClock
from escrow.domain.terms import ContractTerms
from escrow.notify.webhooks import add_webhook

START_INSTANT = dt.datetime(2025, 6, 1, 2, tzinfo=dt.UTC)  # 10:00 in Beijing, 2025-06-01
TODAY = dt.date(2025, 7, 1)
TODAY_INSTANT = dt.datetime(2025, 7, 1, 2, tzinfo=dt.UTC)
PROBLEM_FIELDS = {"type", "title", "status", "detail", "instance"}

PARTIES = ("FC", "E1", "E2", "T1", "T2", "AS", "DI", "AU")
"""The parties with a valid token: fund centre, enterprise E1 (owns C1..C4), enterprise E2
(owns C9 only), tenant T1 (C1..C4), tenant T2 (C9 only), association, district, auditor."""
NO_PARTY = ("none", "revoked", "malformed")
"""Requests without a valid token: none at all, a revoked one, one that is not a token."""


def terms(contract: str, enterprise: str, tenant: str) -> ContractTerms:
    return ContractTerms(
        id=contract,
        filing_no="F" + contract[1:],
        tenant=tenant,
        enterprise=enterprise,
        start=dt.date(2025, 6, 3),
        end=dt.date(2026, 6, 2),
        monthly_rent=Decimal("4000.00"),
        deposit=Decimal("5000.00"),
    )


@dataclasses.dataclass(frozen=True)
class ApiLedger:
    """A ledger file in the state above and the tokens issued on it (by party)."""

    path: Path
    tokens: dict[str, str]

    def copy(self, to: Path) -> ApiLedger:
        """The same ledger in another file (each test that writes gets its own)."""
        shutil.copyfile(self.path, to)
        return ApiLedger(to, self.tokens)

    def headers(self, who: str, key: str | None = None) -> dict[str, str]:
        """The headers of a request by ``who`` (a party or one of NO_PARTY), with ``key`` as
        its Idempotency-Key."""
        out: dict[str, str] = {}
        if who != "none":
            out["Authorization"] = f"Bearer {self.tokens[who]}"
        if key is not None:
            out["Idempotency-Key"] = key
        return out


E1_WEBHOOK = "wh_e1e1e1e1e1e1e1e1"
"""The id of the webhook E1 has registered in the ledger of :func:`build_ledger`."""


def build_ledger(path: Path) -> ApiLedger:
    """Make the ledger described in the module's docstring at ``path``."""
    clock = FixedClock(START_INSTANT)
    tokens: dict[str, str] = {}
    with escrow.open_ledger(path, clock=clock) as ledger:
        for contract, enterprise, tenant in [
            ("C1", "E1", "T1"),
            ("C2", "E1", "T1"),
            ("C3", "E1", "T1"),
            ("C4", "E1", "T1"),
            ("C9", "E2", "T2"),
        ]:
            ledger.open_contract(terms(contract, enterprise, tenant))
            ledger.pay_deposit(contract, "5000.00")
        ledger.advance_to(TODAY)
        clock.set(TODAY_INSTANT)
        for contract in ("C2", "C3", "C4"):
            ledger.return_home(contract)
        for contract in ("C3", "C4"):
            ledger.propose_refund(contract, "deposit", [("repainting", "1000.00")])
        ledger.tenant_disagree("C4", "deposit")
        ledger.suspend_releases("E3")
        store, now = ledger.store, clock.now()
        for who, role, subject in [
            ("FC", "fund_centre", None),
            ("E1", "enterprise", "E1"),
            ("E2", "enterprise", "E2"),
            ("T1", "tenant", "T1"),
            ("T2", "tenant", "T2"),
            ("AS", "association", None),
            ("DI", "district", "Dongcheng"),
            ("AU", "auditor", None),
        ]:
            tokens[who] = create_token(store, role, subject, now=now)[1]
        hook, _ = add_webhook(store, "enterprise:E1", "https://e1.example/hook", now=now)
        with contextlib.closing(sqlite3.connect(path)) as conn, conn:  # a known id for the tests
            conn.execute("UPDATE webhooks SET id = ? WHERE id = ?", (E1_WEBHOOK, hook.id))
        issued, tokens["revoked"] = create_token(store, "fund_centre", None, now=now)
        revoke_token(store, issued.id, now=now)
    tokens["malformed"] = "not-a-token"
    return ApiLedger(path, tokens)


@contextlib.contextmanager
def api_client(path: Path) -> Iterator[TestClient]:
    """The service on ``path`` in simulation mode, its wall clock fixed on the ledger's today."""
    app = create_app(path, mode="simulation", clock=FixedClock(TODAY_INSTANT))
    with TestClient(app) as client:
        yield client


def event_count(path: Path) -> int:
    """Events in the ledger file (read with sqlite3, beside the service)."""
    with contextlib.closing(sqlite3.connect(path)) as conn:
        (count,) = conn.execute("SELECT count(*) FROM events").fetchone()
    return int(count)


def webhook_changes(path: Path) -> int:
    """Webhooks registered plus webhooks removed, in the ledger file: what a webhook write
    changes (read with sqlite3, beside the service)."""
    with contextlib.closing(sqlite3.connect(path)) as conn:
        (count,) = conn.execute("SELECT count(*) + count(removed_at) FROM webhooks").fetchone()
    return int(count)


def refusal_count(path: Path) -> int:
    """Refusals the ledger recorded, as its read-only reader sees them."""
    with escrow.open_ledger(path, read_only=True) as ledger:
        return len(ledger.refusals())


def problem(response: httpx.Response) -> dict[str, Any]:
    """The response's RFC 9457 problem document, checked for its shape."""
    assert response.headers["content-type"] == "application/problem+json", response.headers
    body = response.json()
    assert isinstance(body, dict)
    assert set(body) == PROBLEM_FIELDS, body
    assert body["status"] == response.status_code
    assert isinstance(body["detail"], str) and body["detail"]
    assert "\n" not in body["detail"], body["detail"]
    return body


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
