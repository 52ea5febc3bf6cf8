"""A write over HTTP is one unit of work: the act and the answer kept for its Idempotency-Key
commit together, or neither does."""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
from decimal import Decimal
from pathlib import Path

import httpx

from escrow import ContractTerms, open_ledger
from escrow.api.app import create_app
from escrow.api.tokens import create_token

TERMS = ContractTerms(
    id="C1",
    filing_no="F1",
    tenant="T1",
    enterprise="E1",
    start=dt.date(2025, 6, 3),
    end=dt.date(2026, 6, 2),
    monthly_rent=Decimal("4000.00"),
    deposit=Decimal("5000.00"),
)
NOW = dt.datetime(2025, 6, 3, 9, 0, tzinfo=dt.UTC)


def _acts_under(db: Path, key: str) -> int:
    with sqlite3.connect(db) as conn:
        return int(
            conn.execute("SELECT COUNT(*) FROM idempotency_keys WHERE key = ?", (key,)).fetchone()[
                0
            ]
        )


def test_an_act_whose_answer_cannot_be_kept_is_not_done(tmp_path: Path) -> None:
    db = tmp_path / "ledger.db"
    with open_ledger(str(db)) as ledger:
        ledger.open_contract(TERMS, on=TERMS.start)
        _, token = create_token(ledger.store, "fund_centre", None, now=NOW)
    with sqlite3.connect(db) as conn:  # the answer cannot be kept: as a full disk would refuse it
        conn.execute(
            "CREATE TRIGGER no_answers BEFORE INSERT ON api_responses"
            " BEGIN SELECT RAISE(ABORT, 'no room for the answer'); END"
        )
    pay = {"amount": "4000.00", "arrived_on": TERMS.start.isoformat()}
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "rent-june"}
    app = create_app(db, mode="simulation")

    async def exchange() -> None:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://escrow") as client,
        ):
            url = "/contracts/C1/rent-payments"
            refused = await client.post(url, json=pay, headers=headers)
            assert not refused.is_success
            # Neither the act nor its answer: the ledger holds no act under the request's key.
            assert _acts_under(db, "http:fund_centre:rent-june") == 0
            with sqlite3.connect(db) as conn:
                conn.execute("DROP TRIGGER no_answers")
            # Sent again with the same key, the payment is done now, for the first time.
            again = await client.post(url, json=pay, headers=headers)
            assert again.status_code == 200
            assert again.json()["duplicate"] is False

    asyncio.run(exchange())
    assert _acts_under(db, "http:fund_centre:rent-june") == 1
