"""Webhooks per party and the deliverer, against a real HTTP receiver on loopback (issue 18).

Signed with HMAC-SHA256, retried with backoff, at least once, each message with its id; a
webhook gets what comes after its registration, for its party only.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import re
import sqlite3
import threading
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from notify_support import Receiver, missed_deadlines, receiving, terms
from typer.testing import CliRunner

from escrow.cli import app
from escrow.clock import FixedClock, SystemClock
from escrow.errors import InputError, UnknownWebhook
from escrow.notify import (
    add_webhook,
    deliver_once,
    deliver_round,
    list_webhooks,
    remove_webhook,
    retry_delay,
    verify_signature,
)
from escrow.notify.deliverer import attempt, claim, claim_lease, post
from escrow.runner import run_scenario
from escrow.scenario import load_scenario
from escrow.service import Ledger, open_ledger
from escrow.store import EventStoreLike

T0 = dt.datetime(2025, 1, 3, 2, 0, tzinfo=dt.UTC)
SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
runner = CliRunner()


def cli(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def query(path: Path, sql: str) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(path)) as con:
        return [tuple(row) for row in con.execute(sql)]


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "ledger.db"


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


@pytest.fixture
def ledger(path: Path, clock: FixedClock) -> Ledger:
    return open_ledger(path, clock=clock)


def store_of(ledger: Ledger) -> EventStoreLike:
    return ledger.store


# --- registering ------------------------------------------------------------------------------


def test_a_webhook_is_added_listed_without_its_secret_and_removed(ledger: Ledger) -> None:
    store = store_of(ledger)
    hook, secret = add_webhook(store, "enterprise:E1", "https://e1.example/hooks", now=T0)
    assert re.fullmatch(r"[0-9a-f]{64}", secret)  # 32 random bytes, hex
    assert re.fullmatch(r"wh_[0-9a-f]{16}", hook.id)
    mine, _ = add_webhook(store, "tenant:T1", "http://t1.example/", secret="s" * 16, now=T0)
    assert [h.id for h in list_webhooks(store)] == sorted([hook.id, mine.id])
    assert list_webhooks(store, "tenant:T1") == [mine]
    assert secret not in repr(list_webhooks(store))
    # Another party's webhook, an unknown id: the same refusal (no party learns of another's).
    with pytest.raises(UnknownWebhook):
        remove_webhook(store, hook.id, party="tenant:T1", now=T0)
    with pytest.raises(UnknownWebhook):
        remove_webhook(store, "wh_0000000000000000", now=T0)
    removed = remove_webhook(store, hook.id, party="enterprise:E1", now=T0)
    assert removed.removed_at == T0
    assert list_webhooks(store) == [mine]
    with pytest.raises(UnknownWebhook):
        remove_webhook(store, hook.id, now=T0)  # removed already


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("ftp://e1.example/", "only http:// and https://"),
        ("e1.example/hooks", "only http:// and https://"),
        ("http:///hooks", "has no host"),
        ("http://e1.example/a b", "spaces"),
        ("http://e1.example/\nX: y", "spaces"),
        ("http://e1.example:99999/", "not a URL"),
        ("javascript:alert(1)", "only http:// and https://"),
    ],
)
def test_a_bad_url_is_refused_in_one_line_and_nothing_is_written(
    ledger: Ledger, url: str, problem: str
) -> None:
    with pytest.raises(InputError) as caught:
        add_webhook(store_of(ledger), "fund_centre", url, now=T0)
    assert problem in str(caught.value) and "\n" not in str(caught.value)
    assert list_webhooks(store_of(ledger)) == []


@pytest.mark.parametrize(
    "party", ["bank", "enterprise", "tenant", "fund_centre:X", "auditor:A", "enterprise: E1", ""]
)
def test_a_bad_party_is_refused(ledger: Ledger, party: str) -> None:
    with pytest.raises(InputError):
        add_webhook(store_of(ledger), party, "https://x.example/", now=T0)


# --- delivering -------------------------------------------------------------------------------


def test_each_party_gets_its_messages_signed_with_its_own_secret(
    ledger: Ledger, clock: FixedClock
) -> None:
    store = store_of(ledger)
    with receiving() as receiver:
        hooks = {
            party: add_webhook(store, party, f"{receiver.url}/{party}", now=T0)
            for party in (
                "enterprise:E1",
                "enterprise:E2",
                "tenant:T-C1",
                "fund_centre",
                "district",
            )
        }
        missed_deadlines(ledger, 2)  # C1 and C2 of E1, tenants T-C1 and T-C2
        assert deliver_once(store, clock=clock) == 5
        assert deliver_once(store, clock=clock) == 0  # nothing left
    got: dict[str, list[str]] = {}
    for r in receiver.received:
        got.setdefault(r.path.removeprefix("/hook/"), []).append(r.json["contract"])
    # E1 and the fund centre get both contracts, the tenant T-C1 its own; E2 and the district
    # authorities nothing (a missed opinion deadline is no held release).
    assert {k: sorted(v) for k, v in got.items()} == {
        "enterprise:E1": ["C1", "C2"],
        "fund_centre": ["C1", "C2"],
        "tenant:T-C1": ["C1"],
    }
    for r in receiver.received:
        party = r.path.removeprefix("/hook/")
        secret = hooks[party][1]
        header = r.headers["Escrow-Signature"]
        assert verify_signature(secret, header, r.body, now=clock.now())
        assert r.message_id == r.json["id"] and r.headers["Content-Type"].startswith(
            "application/json"
        )
        # The signature by hand: HMAC-SHA256(secret, "<t>.<body>"), t the send's unix time.
        t = int(T0.timestamp())
        expected = hmac.new(secret.encode(), f"{t}.".encode() + r.body, hashlib.sha256)
        assert header == f"t={t},v1={expected.hexdigest()}"
        # Tampered, another secret, too old: refused.
        tampered = r.body.replace(b'"C', b'"X', 1)
        assert not verify_signature(secret, header, tampered, now=clock.now())
        assert not verify_signature("another secret!!", header, r.body, now=clock.now())
        later = clock.now() + dt.timedelta(seconds=301)
        assert not verify_signature(secret, header, r.body, now=later)
        assert verify_signature(secret, header, r.body, now=later, tolerance=400)
    assert not verify_signature("s", None, b"{}", now=T0)
    assert not verify_signature("s", "v1=00", b"{}", now=T0)


def test_a_webhook_gets_what_comes_after_its_registration(
    ledger: Ledger, clock: FixedClock
) -> None:
    store = store_of(ledger)
    with receiving() as receiver:
        early, _ = add_webhook(store, "fund_centre", receiver.url + "/early", now=T0)
        with ledger.unit_of_work():
            for contract in ("C1", "C2", "C3"):
                ledger.open_contract(terms(contract), on=dt.date(2024, 10, 8))
                ledger.pay_deposit(contract, "3000.00", on=dt.date(2024, 10, 8))
            ledger.return_home("C1", on=dt.date(2024, 12, 27))
            ledger.return_home("C2", on=dt.date(2024, 12, 27))
        # C1, C2: returned Fri 12-27, opinion due Thu 01-02 (12-30, 12-31, 01-02), missed on
        # Fri 01-03. C3: returned Mon 01-06, due Thu 01-09 (01-07, 01-08, 01-09), missed Fri 01-10.
        ledger.advance_to(dt.date(2025, 1, 3))
        late, _ = add_webhook(store, "fund_centre", receiver.url + "/late", now=T0)
        ledger.return_home("C3", on=dt.date(2025, 1, 6))
        ledger.advance_to(dt.date(2025, 1, 10))
        deliver_once(store, clock=clock)
    by_path = sorted((r.path, r.json["contract"], r.json["date"]) for r in receiver.received)
    assert by_path == [
        ("/hook/early", "C1", "2025-01-03"),
        ("/hook/early", "C2", "2025-01-03"),
        ("/hook/early", "C3", "2025-01-10"),
        ("/hook/late", "C3", "2025-01-10"),
    ]
    assert early.id != late.id


def test_500_then_200_delivers_twice_with_one_id_on_the_documented_schedule(
    ledger: Ledger, clock: FixedClock, path: Path
) -> None:
    store = store_of(ledger)
    with receiving(lambda n: 500 if n == 0 else 200) as receiver:
        add_webhook(store, "enterprise:E1", receiver.url, now=T0)
        missed_deadlines(ledger, 1)
        assert deliver_once(store, clock=clock) == 0
        assert query(
            path,
            "SELECT attempts, next_attempt_at, delivered_at, last_error FROM outbox_deliveries",
        ) == [
            # The first failure waits 2 ** 1 = 2 s.
            (1, "2025-01-03T02:00:02.000000+00:00", None, "HTTP 500")
        ]
        clock.set(T0 + dt.timedelta(seconds=1))
        assert deliver_once(store, clock=clock) == 0  # not due yet: not sent
        assert len(receiver.received) == 1
        clock.set(T0 + dt.timedelta(seconds=2))
        assert deliver_once(store, clock=clock) == 1
    first, second = receiver.received
    assert first.message_id == second.message_id == first.json["id"]
    assert first.body == second.body
    assert (first.headers["Escrow-Attempt"], second.headers["Escrow-Attempt"]) == ("1", "2")
    assert query(
        path, "SELECT attempts, next_attempt_at, delivered_at, last_error FROM outbox_deliveries"
    ) == [(2, None, "2025-01-03T02:00:02.000000+00:00", None)]


def test_the_backoff_doubles_up_to_an_hour(ledger: Ledger, clock: FixedClock, path: Path) -> None:
    # 2 ** attempts seconds: 2, 4, 8, … 2048 (11 failures), then the cap, 3600 s.
    assert [retry_delay(n) for n in range(1, 14)] == [
        2,
        4,
        8,
        16,
        32,
        64,
        128,
        256,
        512,
        1024,
        2048,
        3600,
        3600,
    ]
    assert retry_delay(10_000) == 3600
    store = store_of(ledger)
    with receiving(lambda n: 503) as receiver:
        add_webhook(store, "fund_centre", receiver.url, now=T0)
        missed_deadlines(ledger, 1)
        now = T0
        waits = []
        for _ in range(4):
            clock.set(now)
            deliver_once(store, clock=clock)
            due = query(path, "SELECT next_attempt_at FROM outbox_deliveries")[0][0]
            waits.append((dt.datetime.fromisoformat(due) - now).total_seconds())
            now = dt.datetime.fromisoformat(due)
        assert waits == [2, 4, 8, 16]
        assert len(receiver.received) == 4


def test_a_receiver_that_is_down_is_retried(ledger: Ledger, clock: FixedClock, path: Path) -> None:
    store = store_of(ledger)
    with receiving() as receiver:
        url = receiver.url
    add_webhook(store, "fund_centre", url, now=T0)  # nobody listens there any more
    missed_deadlines(ledger, 1)
    assert deliver_once(store, clock=clock, timeout=2) == 0
    ((attempts, error),) = query(path, "SELECT attempts, last_error FROM outbox_deliveries")
    assert attempts == 1 and "Connection" in error and "\n" not in error


def test_two_deliverers_never_claim_the_same_delivery_in_a_round(
    ledger: Ledger, path: Path
) -> None:
    store = store_of(ledger)
    add_webhook(store, "fund_centre", "http://127.0.0.1:9/", now=T0)
    missed_deadlines(ledger, 3)
    other = open_ledger(path, clock=FixedClock(T0))  # a second process's connection
    fanned, mine = claim(store, now=T0, batch=2, lease=30)
    _, theirs = claim(other.store, now=T0, batch=10, lease=30)
    assert fanned == 3 and len(mine) == 2 and len(theirs) == 1
    assert {c.message for c in mine}.isdisjoint(c.message for c in theirs)
    # After the lease, what was not recorded is due again (the deliverer may have died).
    _, again = claim(other.store, now=T0 + dt.timedelta(seconds=31), batch=10, lease=30)
    assert sorted(c.message for c in again) == [1, 2, 3]
    other.close()


def test_a_removed_webhook_gets_nothing_more(ledger: Ledger, clock: FixedClock) -> None:
    store = store_of(ledger)
    with receiving(lambda n: 500) as receiver:
        hook, _ = add_webhook(store, "fund_centre", receiver.url, now=T0)
        missed_deadlines(ledger, 1)
        deliver_once(store, clock=clock)
        remove_webhook(store, hook.id, now=T0)
        clock.set(T0 + dt.timedelta(hours=2))
        deliver_once(store, clock=clock)
    assert len(receiver.received) == 1


# --- the command line -------------------------------------------------------------------------


def test_the_webhook_commands(ledger: Ledger, path: Path) -> None:
    missed_deadlines(ledger, 1)  # before the webhook: not delivered to it
    ledger.close()
    db = str(path)
    with Receiver() as receiver:
        code, out = cli(
            "webhooks", "add", "--db", db, "--party", "tenant:T-C1", "--url", receiver.url
        )
        assert code == 0, out
        hook = re.fullmatch(r"webhook: (wh_[0-9a-f]{16})\nsecret: ([0-9a-f]{64})\n", out)
        assert hook is not None, out
        code, out = cli("webhooks", "list", "--db", db, "--json")
        assert code == 0 and [w["id"] for w in json.loads(out)] == [hook.group(1)]
        assert hook.group(2) not in out
        assert cli("deliver", "--db", db, "--once") == (0, "0 deliveries made\n")
        with open_ledger(db, clock=FixedClock(T0)) as again:
            again.open_contract(terms("C9", tenant="T-C1"), on=dt.date(2025, 1, 3))
            again.pay_deposit("C9", "100.00", on=dt.date(2025, 1, 3))
            again.return_home("C9", on=dt.date(2025, 1, 3))
            # Returned Fri 01-03: opinion due Wed 01-08 (01-06, 01-07, 01-08); missed Thu 01-09.
            again.advance_to(dt.date(2025, 1, 9))
        assert cli("deliver", "--db", db, "--once") == (0, "1 delivery made\n")
    assert [(r.json["contract"], r.json["date"]) for r in receiver.received] == [
        ("C9", "2025-01-09")
    ]
    code, out = cli("webhooks", "remove", "--db", db, hook.group(1))
    assert (code, out) == (0, f"removed webhook {hook.group(1)} (tenant:T-C1)\n")
    assert cli("webhooks", "list", "--db", db) == (0, "")


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (["webhooks", "add", "--party", "enterprise:E1", "--url", "ftp://x/"], "--url:"),
        (["webhooks", "add", "--party", "bank", "--url", "http://x/"], "--party:"),
        (
            ["webhooks", "add", "--party", "auditor", "--url", "http://x/", "--secret", "short"],
            "--secret:",
        ),
        (["webhooks", "remove", "wh_nope"], "unknown webhook 'wh_nope'"),
        (["deliver", "--interval", "0"], "--interval"),
    ],
)
def test_bad_webhook_commands_say_so_in_one_line_and_write_nothing(
    ledger: Ledger, path: Path, args: list[str], problem: str
) -> None:
    ledger.close()
    before = path.read_bytes()
    words = 2 if args[0] == "webhooks" else 1
    code, out = cli(*args[:words], "--db", str(path), *args[words:])
    assert code == 2, out
    assert out.startswith("escrow: ") and problem in out and out.count("\n") == 1, out
    assert path.read_bytes() == before


def test_a_delivery_answered_but_not_recorded_is_sent_again_with_its_id(
    ledger: Ledger, clock: FixedClock, path: Path
) -> None:
    # What a deliverer killed between the receiver's 200 and its record leaves: the claim
    # lapses (10 x (10 + 1) = 110 s with the defaults) and the next round sends it again.
    store = store_of(ledger)
    with receiving() as receiver:
        add_webhook(store, "fund_centre", receiver.url, now=T0)
        missed_deadlines(ledger, 1)
        _, claimed = claim(store, now=T0, batch=10, lease=claim_lease(10.0, 10))
        assert attempt(claimed[0], clock=clock, send=post, timeout=5) is None  # then "killed"
        clock.set(T0 + dt.timedelta(seconds=109))
        assert deliver_once(store, clock=clock) == 0  # still claimed by the dead deliverer
        clock.set(T0 + dt.timedelta(seconds=110))
        assert deliver_once(store, clock=clock) == 1
    first, second = receiver.received
    assert first.message_id == second.message_id and first.body == second.body


def test_the_receivers_check_in_the_docs_accepts_a_delivery_and_refuses_a_tampered_one(
    ledger: Ledger, clock: FixedClock
) -> None:
    docs = Path(__file__).resolve().parents[2] / "docs" / "notifications.md"
    snippet = next(
        block
        for block in re.findall(r"```python\n(.*?)```", docs.read_text(encoding="utf-8"), re.S)
        if "def verify(" in block
    )
    namespace: dict[str, Any] = {}
    exec(snippet, namespace)
    verify = namespace["verify"]
    now = SystemClock().now()  # the snippet reads the wall clock, as a receiver does
    clock.set(now)
    with receiving() as receiver:
        _, secret = add_webhook(store_of(ledger), "fund_centre", receiver.url, now=now)
        missed_deadlines(ledger, 1)
        assert deliver_once(store_of(ledger), clock=clock) == 1
    (got,) = receiver.received
    header = got.headers["Escrow-Signature"]
    assert verify(secret, header, got.body)
    assert not verify(secret, header, got.body + b" ")
    assert not verify(secret + "x", header, got.body)


def test_a_round_logs_one_line_and_a_stop_gives_back_what_it_did_not_send(
    ledger: Ledger, clock: FixedClock, path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = store_of(ledger)
    stop = threading.Event()
    with receiving(lambda n: 500 if n == 0 else 200) as receiver:
        add_webhook(store, "fund_centre", receiver.url, now=T0)
        missed_deadlines(ledger, 4)

        def send_then_stop(url: str, body: bytes, headers: Any, timeout: float) -> int:
            status = post(url, body, headers, timeout)
            if len(receiver.received) == 2:
                stop.set()  # SIGTERM after the second send
            return status

        with caplog.at_level(logging.INFO, logger="escrow.notify"):
            done = deliver_round(store, clock=clock, send=send_then_stop, stop=stop)
    assert (done.claimed, done.delivered, done.failed) == (4, 1, 1)
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    assert len(lines) == 1, lines
    assert lines[0].startswith("delivered 1 of 4 due (1 failed, to be retried; the last: msg-")
    assert lines[0].endswith(": HTTP 500)")
    # The two not sent are due at once again (not held for the claim's 110 s); the failed one
    # waits its 2 s; the delivered one is done.
    rows = query(
        path,
        "SELECT message, next_attempt_at, delivered_at FROM outbox_deliveries ORDER BY message",
    )
    assert rows == [
        (1, "2025-01-03T02:00:02.000000+00:00", None),
        (2, None, "2025-01-03T02:00:00.000000+00:00"),
        (3, "2025-01-03T02:00:00.000000+00:00", None),
        (4, "2025-01-03T02:00:00.000000+00:00", None),
    ]


def test_held_releases_reach_the_district_authorities(tmp_path: Path, clock: FixedClock) -> None:
    # scenarios/rule-13-suspension-pending-and-new-tranche.toml (rule 13, Art. 20): E1 is
    # suspended on Sun 2025-03-02 before C1's instructed release settles (held that day); C2's
    # first 3 months arrive Wed 03-05 during the suspension (held at once).
    scenario = load_scenario(SCENARIOS / "rule-13-suspension-pending-and-new-tranche.toml")
    db = str(tmp_path / "ledger.db")
    run_scenario(scenario, db, until=dt.date(2025, 3, 1))  # the ledger, before any hold
    with receiving() as receiver, open_ledger(db, clock=clock) as ledger:
        for party in ("district:Haidian", "tenant:T2", "enterprise:E2"):
            add_webhook(store_of(ledger), party, f"{receiver.url}/{party}", now=T0)
        run_scenario(scenario, db)
        assert deliver_once(store_of(ledger), clock=clock) == 3
    got = sorted(
        (r.path.removeprefix("/hook/"), r.json["kind"], r.json["contract"], r.json["date"])
        for r in receiver.received
    )
    assert got == [
        ("district:Haidian", "releases_held", "C1", "2025-03-02"),
        ("district:Haidian", "releases_held", "C2", "2025-03-05"),
        ("tenant:T2", "releases_held", "C2", "2025-03-05"),
    ]
