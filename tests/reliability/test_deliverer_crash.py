"""The outbox crash test (issue 18): ``escrow deliver`` killed mid-way loses no message.

A ledger with 20 messages (missed opinion deadlines) and two webhooks, so 40 deliveries, to a
real HTTP receiver on loopback that records every request and answers slowly (50 ms). A real
``escrow deliver`` process is killed with SIGKILL after some deliveries but before all, twice,
and started again each time; the last one is stopped with SIGTERM once the receiver has had
everything. Every delivery reached the receiver at least once; a message sent twice carries the
same id and the same body; the database says every delivery was made.
"""

from __future__ import annotations

import datetime as dt
import functools
import signal
import sqlite3
import subprocess
import time
from collections import defaultdict
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

from notify_support import Receiver, missed_deadlines
from reliability_support import ESCROW, record

from escrow.clock import FixedClock
from escrow.notify import add_webhook
from escrow.service import open_ledger

MESSAGES = 20
KILL_AFTER = (8, 20)
"""Requests the receiver has had when each deliverer is killed (of 40)."""
T0 = dt.datetime(2025, 1, 3, 2, 0, tzinfo=dt.UTC)


def deliverer(db: Path) -> subprocess.Popen[bytes]:
    # --batch 2 --timeout 1: a killed deliverer's claim lapses after 2 x (1 + 1) = 4 s.
    args = ["deliver", "--db", str(db), "--interval", "0.1", "--timeout", "1", "--batch", "2"]
    return subprocess.Popen(
        [*ESCROW, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
    )


def undelivered(db: Path) -> int:
    with closing(sqlite3.connect(db, timeout=30)) as con:
        found = con.execute(
            "SELECT count(*) FROM outbox_deliveries WHERE delivered_at IS NULL"
        ).fetchone()
    return int(found[0])


def has_had(receiver: Receiver, requests: int) -> bool:
    return len(receiver.received) >= requests


def wait_for(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return False


def test_a_deliverer_killed_mid_way_loses_nothing(tmp_path: Path) -> None:
    db = tmp_path / "ledger.db"
    with Receiver(delay=0.05) as receiver:
        with open_ledger(db, clock=FixedClock(T0)) as ledger:
            for party in ("fund_centre", "enterprise:E1"):
                add_webhook(ledger.store, party, f"{receiver.url}/{party}", now=T0)
            missed_deadlines(ledger, MESSAGES)
        with closing(sqlite3.connect(db)) as con:
            ids = [i for (i,) in con.execute("SELECT id FROM outbox ORDER BY seq")]
        assert len(ids) == MESSAGES
        expected = {
            (f"/hook/{party}", i) for party in ("fund_centre", "enterprise:E1") for i in ids
        }

        def arrived() -> set[tuple[str, str | None]]:
            return {(r.path, r.message_id) for r in list(receiver.received)}

        for threshold in KILL_AFTER:
            process = deliverer(db)
            assert wait_for(functools.partial(has_had, receiver, threshold), 60), "no progress"
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)
            assert process.returncode == -signal.SIGKILL
            assert arrived() < expected, "killed too late: everything had arrived"
        last = deliverer(db)
        try:
            assert wait_for(lambda: arrived() >= expected, 90), sorted(expected - arrived())
            # A delivery the receiver got but a killed deliverer did not record is sent again
            # once its claim lapses: wait until the database says every one was made.
            assert wait_for(lambda: undelivered(db) == 0, 60)
        finally:
            last.send_signal(signal.SIGTERM)
            out, err = last.communicate(timeout=30)
        assert last.returncode == 0, err
        assert out.decode().endswith(" made\n")

    assert arrived() == expected  # everything, and nothing else
    bodies: dict[tuple[str, str | None], set[bytes]] = defaultdict(set)
    for r in receiver.received:
        bodies[(r.path, r.message_id)].add(r.body)
        assert r.json["id"] == r.message_id
    assert all(len(b) == 1 for b in bodies.values())  # a duplicate is the same message
    with closing(sqlite3.connect(db)) as con:
        rows = con.execute("SELECT count(*) FROM outbox_deliveries").fetchone()[0]
    assert (rows, undelivered(db)) == (2 * MESSAGES, 0)
    record("deliverer kills survived", len(KILL_AFTER))
    record("deliveries sent twice after a kill", len(receiver.received) - len(expected))
