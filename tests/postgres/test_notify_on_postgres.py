"""The outbox, webhooks and the deliverer on PostgreSQL (issue 18), as on SQLite.

Messages are written in the act's transaction (a failed transaction writes none), numbered in
commit order; two deliverers on two connections claim disjoint deliveries; a receiver that
answers 500 then 200 gets the message twice with one id.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from notify_support import missed_deadlines, receiving
from pg_support import execute_raw, fresh_schema

from escrow.clock import FixedClock
from escrow.notify import add_webhook, deliver_once, verify_signature
from escrow.notify.deliverer import claim
from escrow.service import open_ledger

T0 = dt.datetime(2025, 1, 3, 2, 0, tzinfo=dt.UTC)


@pytest.fixture
def pg_url() -> Iterator[str]:
    with fresh_schema() as url:
        yield url


def test_messages_commit_with_their_events_on_postgresql(pg_url: str) -> None:
    with open_ledger(pg_url, clock=FixedClock(T0)) as ledger:
        with pytest.raises(RuntimeError), ledger.unit_of_work():
            missed_deadlines(ledger, 2)
            raise RuntimeError("fails before the commit")
        assert execute_raw(pg_url, "SELECT count(*) FROM outbox") == [(0,)]
        assert execute_raw(pg_url, "SELECT count(*) FROM events") == [(1,)]  # the configuration
        missed_deadlines(ledger, 2)
    # Both lapse on Fri 2025-01-03 (returned Fri 12-27, opinion due Thu 01-02): C1 then C2.
    rows = execute_raw(pg_url, "SELECT seq, kind, contract, date FROM outbox ORDER BY seq")
    assert rows == [
        (1, "enterprise_deadline_missed", "C1", "2025-01-03"),
        (2, "enterprise_deadline_missed", "C2", "2025-01-03"),
    ]


def test_delivery_on_postgresql(pg_url: str) -> None:
    clock = FixedClock(T0)
    with (
        receiving(lambda n: 500 if n == 0 else 200) as receiver,
        open_ledger(pg_url, clock=clock) as ledger,
        open_ledger(pg_url, clock=clock) as other,
    ):
        _, secret = add_webhook(ledger.store, "enterprise:E1", receiver.url, now=T0)
        missed_deadlines(ledger, 3)
        fanned, mine = claim(ledger.store, now=T0, batch=1, lease=30)
        _, theirs = claim(other.store, now=T0, batch=10, lease=30)
        assert (fanned, len(mine), len(theirs)) == (3, 1, 2)
        assert {c.message for c in mine}.isdisjoint(c.message for c in theirs)
        clock.set(T0 + dt.timedelta(seconds=31))  # both claims lapse unrecorded
        assert deliver_once(ledger.store, clock=clock) == 2  # the first answer is a 500
        clock.set(T0 + dt.timedelta(seconds=33))  # 2 s after the failure
        assert deliver_once(other.store, clock=clock) == 1
    ids = [r.message_id for r in receiver.received]
    assert len(ids) == 4 and len(set(ids)) == 3 and ids[0] == ids[3]
    for r in receiver.received:
        assert verify_signature(secret, r.headers["Escrow-Signature"], r.body, now=clock.now())
