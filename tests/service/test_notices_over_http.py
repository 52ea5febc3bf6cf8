"""A party registers a webhook over HTTP, and `escrow serve` itself delivers its notices.

Worked by hand (rule 6, as in tests/notify_support.py): deposit paid Tuesday 2024-10-08, home
returned Friday 2024-12-27; working days after it Mon 12-30 (1), Tue 12-31 (2), Thu 2025-01-02
(3: New Year's Day is off), so the enterprise's refund opinion is due 2025-01-02; none comes,
so the lapse takes effect on Friday 2025-01-03: one ``enterprise_deadline_missed`` message for
C1, dated 2025-01-03, to the enterprise's webhook, signed with the secret it was given.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path

import httpx
from notify_support import Receiver, receiving
from serving import serving

import escrow
from escrow.api.app import create_app
from escrow.api.tokens import create_token
from escrow.clock import SystemClock
from escrow.notify import verify_signature


def _wait_for(receiver: Receiver, count: int, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while len(receiver.received) < count and time.monotonic() < deadline:
        time.sleep(0.05)


def test_a_missed_deadline_reaches_the_enterprises_webhook_signed(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    with escrow.open_ledger(path) as ledger:
        now = SystemClock().now()
        tokens = {
            who: create_token(ledger.store, role, subject, now=now)[1]
            for who, role, subject in [
                ("E1", "enterprise", "E1"),
                ("E2", "enterprise", "E2"),
                ("FC", "fund_centre", None),
                ("T1", "tenant", "T1"),
            ]
        }

    def headers(who: str, key: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {tokens[who]}"} | (
            {"Idempotency-Key": key} if key else {}
        )

    app = create_app(path, mode="simulation", deliver_interval=0.1)
    with receiving() as mine, receiving() as theirs, serving(app) as base:
        with httpx.Client(base_url=base) as client:
            hook = client.post("/webhooks", json={"url": mine.url}, headers=headers("E1", "h1"))
            assert hook.status_code == 201, hook.text
            secret = hook.json()["secret"]
            other = client.post("/webhooks", json={"url": theirs.url}, headers=headers("E2", "h2"))
            assert other.status_code == 201
            steps = [
                ("E1", "/contracts", {
                    "id": "C1", "filing_no": "JZ-2024-C1", "tenant": "T1", "enterprise": "E1",
                    "start": "2024-10-08", "end": "2024-12-27", "monthly_rent": "3000.00",
                    "deposit": "3000.00", "on": "2024-10-08",
                }),
                ("FC", "/contracts/C1/deposit-payments", {"amount": "3000.00", "arrived_on": "2024-10-08"}),
                ("T1", "/contracts/C1/return", {"reason": "expiry", "on": "2024-12-27"}),
                ("FC", "/clock/advance", {"to": "2025-01-03"}),
            ]  # fmt: skip
            for n, (who, url, body) in enumerate(steps):
                answer = client.post(url, json=body, headers=headers(who, f"step-{n}"))
                assert answer.status_code in (200, 201), answer.text
        _wait_for(mine, 1)
        time.sleep(0.5)  # anything more would have come by now
    assert len(mine.received) == 1
    message = mine.received[0]
    assert verify_signature(
        secret, message.headers.get("Escrow-Signature"), message.body, now=SystemClock().now()
    )
    body = json.loads(message.body)
    assert (body["kind"], body["contract"], body["date"]) == (
        "enterprise_deadline_missed",
        "C1",
        dt.date(2025, 1, 3).isoformat(),
    )
    assert message.message_id == body["id"]  # the id a receiver de-duplicates by
    assert theirs.received == []  # another enterprise's webhook hears nothing of C1
