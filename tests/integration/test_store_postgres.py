"""The store contract on PostgreSQL, plus what only PostgreSQL has to show.

Every test gets a fresh schema on the server named by ``ESCROW_TEST_POSTGRES_URL`` (see
``tests/postgres/pg_support.py``); without one the tests skip locally and fail under CI=true.
PostgreSQL-only: the URL forms and what errors show, the append lock and the gap-free position
when a writer commits late (or never), concurrent first use of an empty database, hash chains
byte-identical to SQLite's, and four processes appending to one ledger while a reader follows.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import sqlite3
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, closing
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from store_contract import T0, StoreContract
from store_events import CODEC, NoteTaken, deposit, note

from escrow.clock import FixedClock
from escrow.errors import ConcurrencyError, StoreError
from escrow.store import StoredEvent, open_store

# The server fixture is shared with tests/postgres/, which is not on sys.path when only
# tests/integration is collected.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "postgres"))
from pg_support import execute_raw, fresh_schema


class TestPostgresStore(StoreContract):
    """Every contract test, in a fresh schema per test."""

    @pytest.fixture(autouse=True)
    def _schemas(self) -> Iterator[None]:
        with ExitStack() as self._schemas_made:
            yield

    def make_url(self, tmp_path: Path) -> str:
        return self._schemas_made.enter_context(fresh_schema())

    def execute_raw(
        self, url: str, sql: str, params: Sequence[object] = ()
    ) -> list[tuple[Any, ...]]:
        return execute_raw(url, sql, params)


# --- PostgreSQL only --------------------------------------------------------------------------


@pytest.fixture
def url() -> Iterator[str]:
    with fresh_schema() as url:
        yield url


def _texts(events: Sequence[StoredEvent]) -> list[str]:
    return [e.event.text for e in events if isinstance(e.event, NoteTaken)]


def _scheme(url: str, scheme: str) -> str:
    return scheme + url.partition("://")[1] + url.partition("://")[2]


@pytest.mark.parametrize("scheme", ["postgresql", "postgres", "postgresql+psycopg"])
def test_every_postgresql_url_form_opens_the_same_store(url: str, scheme: str) -> None:
    with open_store(url, CODEC, FixedClock(T0)) as first:
        first.append("A", 0, [deposit(1)])

    with open_store(_scheme(url, scheme), CODEC) as same:
        assert [s.event for s in same.load("A")] == [deposit(1)]
        assert same.url.startswith("postgresql+psycopg://")


def test_the_store_url_and_repr_hide_the_password(url: str) -> None:
    password = url.split("://", 1)[1].split("@", 1)[0].partition(":")[2]
    assert password, "the test server's URL should carry a password"

    shown = f":{password}@"  # the password may also be the user name (escrow:escrow@…)

    with open_store(url, CODEC) as store:
        assert shown not in store.url and ":***@" in store.url
        assert shown not in repr(store)
    with pytest.raises(StoreError, match="closed") as caught:
        store.read_all()
    assert shown not in str(caught.value) and ":***@" in str(caught.value)


def test_a_wrong_password_is_a_store_error_that_does_not_show_it(url: str) -> None:
    userinfo, at, rest = url.split("://", 1)[1].partition("@")
    bad = f"postgresql://{userinfo.partition(':')[0]}:Wr0ng-S3cret{at}{rest}"

    with pytest.raises(StoreError, match="database error") as caught:
        open_store(bad, CODEC)

    assert "password authentication failed" in str(caught.value)
    assert "Wr0ng-S3cret" not in str(caught.value)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("postgresql://escrow:Sup3r-S3cret@127.0.0.1:1/escrow", "database error"),
        ("postgresql+psycopg2://escrow:Sup3r-S3cret@127.0.0.1/escrow", "unsupported database URL"),
        ("postgresql+asyncpg://escrow:Sup3r-S3cret@127.0.0.1/escrow", "unsupported database URL"),
        ("postgresql://escrow:Sup3r-S3cret@127.0.0.1:5432", "must name a database"),
        ("postgresql://escrow:Sup3r-S3cret@127.0.0.1:port/x", "unsupported database URL"),
    ],
)
def test_a_postgresql_url_that_cannot_work_fails_without_showing_its_password(
    url: str, message: str
) -> None:
    # No server needed: nothing here gets as far as a working connection.
    with pytest.raises(StoreError, match=message) as caught:
        open_store(url, CODEC)

    assert "Sup3r-S3cret" not in str(caught.value)


def test_positions_are_bigint_on_postgresql(url: str) -> None:
    open_store(url, CODEC).close()

    rows = execute_raw(
        url,
        "SELECT table_name, column_name, data_type FROM information_schema.columns"
        " WHERE table_schema = current_schema() AND data_type IN ('bigint', 'integer')"
        " ORDER BY 1, 2",
    )

    assert rows == [
        ("api_responses", "status", "integer"),  # an HTTP status
        ("chain_head", "id", "integer"),  # always 1: the one row
        ("chain_head", "position", "bigint"),
        ("events", "position", "bigint"),
        ("events", "version", "bigint"),
        ("idempotency_keys", "first_position", "bigint"),
        ("idempotency_keys", "last_position", "bigint"),
        ("merkle_nodes", "idx", "bigint"),  # a node index runs up to the number of events
        ("merkle_nodes", "level", "integer"),  # at most 63
        # The outbox: a message's event position and its number (as many as notices, bigint).
        ("outbox", "position", "bigint"),
        ("outbox", "seq", "bigint"),
        ("outbox_deliveries", "attempts", "integer"),
        ("outbox_deliveries", "message", "bigint"),
        # The read models: positions are the events' (bigint); the rest count within one event,
        # one contract or one day (small).
        ("rm_deadlines", "seq", "integer"),
        ("rm_notices", "position", "bigint"),
        ("rm_notices", "seq", "integer"),
        ("rm_refusals", "position", "bigint"),
        ("rm_schedule", "rank", "integer"),
        ("rm_schedule", "seq", "bigint"),  # an account change's position
        ("rm_states", "version", "bigint"),  # a stream version
        ("rm_transfers", "position", "bigint"),
        ("rm_transfers", "seq", "integer"),
        ("webhooks", "seen_seq", "bigint"),  # an outbox seq
    ]


def test_the_write_transaction_locks_the_events_table_before_reading_the_head(url: str) -> None:
    seen: list[str] = []
    with open_store(url, CODEC) as store:

        @event.listens_for(store._engine, "before_cursor_execute")
        def _log(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            seen.append(statement)

        store.append("A", 0, [deposit(1)])

    lock = next(i for i, s in enumerate(seen) if "LOCK TABLE events IN EXCLUSIVE MODE" in s)
    assert "lock_timeout" in seen[lock]
    assert lock < next(i for i, s in enumerate(seen) if "FROM chain_head" in s)
    assert lock < next(i for i, s in enumerate(seen) if s.startswith("INSERT INTO events"))
    assert lock < next(i for i, s in enumerate(seen) if s.startswith("UPDATE chain_head"))


def test_concurrent_first_opens_of_an_empty_database_all_succeed(url: str) -> None:
    n = 8
    barrier = threading.Barrier(n)
    errors: list[BaseException] = []

    def opener(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            with open_store(url, CODEC) as store:
                store.append(f"S{i}", 0, [note(f"s{i}")])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=opener, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert errors == []
    with open_store(url, CODEC) as store:
        assert [s.position for s in store.read_all()] == list(range(1, n + 1))
        assert store.verify().ok


def test_the_hash_chain_is_byte_identical_to_sqlite(url: str, tmp_path: Path) -> None:
    sqlite_path = tmp_path / "same.db"
    for target in (url, str(sqlite_path)):
        with open_store(target, CODEC, FixedClock(T0)) as store:
            store.append("C1", 0, [deposit(1), note('unicode 押金 \u00e9 \\ " end')])
            store.append_many([("C2", 0, [deposit(2)]), ("C1", 2, [deposit(3)])], "k-1")
    query = "SELECT position, stream, version, type, effective_date, recorded_at, data, idempotency_key, prev_hash, hash FROM events ORDER BY position"
    with closing(sqlite3.connect(sqlite_path)) as con:
        on_sqlite = con.execute(query).fetchall()

    assert execute_raw(url, query) == on_sqlite
    assert len(on_sqlite) == 4


# --- late commits and the global position -----------------------------------------------------


class GateClock:
    """A clock that holds the append calling it (inside its write transaction) until opened.

    The store asks the clock for ``recorded_at`` after it took the append lock and numbered its
    rows, so a writer stopped here is a writer that commits late.
    """

    def __init__(self, fail: bool = False) -> None:
        self.entered = threading.Event()
        self.open = threading.Event()
        self.fail = fail

    def now(self) -> Any:
        self.entered.set()
        assert self.open.wait(timeout=60), "the gate was never opened"
        if self.fail:
            raise RuntimeError("the writer died before committing")
        return T0

    def today(self) -> Any:
        return T0.date()


class Follower:
    """A reader following ``read_all(after_position)``, as a projection does, in a thread."""

    def __init__(self, url: str) -> None:
        self.store = open_store(url, CODEC)
        self.seen: list[StoredEvent] = []
        self.problems: list[str] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run)

    def _run(self) -> None:
        try:
            while True:
                stopping = self.stop.is_set()
                self.poll()
                if stopping:
                    return
                time.sleep(0.002)
        except BaseException as exc:
            self.problems.append(repr(exc))

    def poll(self) -> None:
        after = self.seen[-1].position if self.seen else 0
        page = self.store.read_all(after_position=after, limit=100)
        expected = list(range(after + 1, after + 1 + len(page)))
        if [s.position for s in page] != expected:
            self.problems.append(f"after {after} read {[s.position for s in page]}")
        self.seen.extend(page)

    def __enter__(self) -> Follower:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=120)
        self.store.close()


def append_locks(url: str) -> list[bool]:
    """Whether each request for the append lock (``EXCLUSIVE`` on ``events``) is granted."""
    rows = execute_raw(
        url,
        "SELECT l.granted FROM pg_locks l JOIN pg_class c ON c.oid = l.relation"
        " WHERE c.relname = 'events' AND c.relnamespace = current_schema()::regnamespace"
        " AND l.mode = 'ExclusiveLock' ORDER BY l.granted",
    )
    return [bool(granted) for (granted,) in rows]


def eventually(condition: Callable[[], bool], within: float = 25.0) -> bool:
    """Poll ``condition`` until it holds (True) or ``within`` seconds passed (False)."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_a_writer_that_commits_late_never_lets_a_follower_skip_its_position(url: str) -> None:
    gate = GateClock()
    late = open_store(url, CODEC, gate)
    quick = open_store(url, CODEC, FixedClock(T0))
    reader = open_store(url, CODEC)
    results: dict[str, Any] = {}
    try:
        quick.append("B", 0, [note("b-0")])  # position 1
        with Follower(url) as follower:
            a = threading.Thread(
                target=lambda: results.setdefault("a", late.append("A", 0, [note("a-1")] * 2))
            )
            a.start()
            assert gate.entered.wait(timeout=30)  # A holds the lock and has numbered 2 and 3

            b = threading.Thread(
                target=lambda: results.setdefault("b", quick.append("B", 1, [note("b-1")]))
            )
            b.start()

            # B cannot commit a higher position while A is open: the server shows B's request
            # for the append lock waiting behind A's granted one.
            assert eventually(lambda: append_locks(url) == [False, True]), append_locks(url)
            assert b.is_alive() and "b" not in results

            # Readers are not blocked: the reads return while B is still queued for the lock.
            reads: dict[str, Any] = {}

            def read() -> None:
                reads["last"] = reader.last_position()
                reads["after"] = reader.read_all(after_position=1)

            reading = threading.Thread(target=read)
            reading.start()
            reading.join(timeout=25)  # a guard against hanging the suite, not a measurement
            assert reads == {"last": 1, "after": []}
            assert append_locks(url) == [False, True]  # B was waiting all along
            assert b.is_alive() and "b" not in results

            gate.open.set()
            a.join(timeout=60)
            b.join(timeout=60)

        assert (results["a"].first_position, results["a"].last_position) == (2, 3)
        assert (results["b"].first_position, results["b"].last_version) == (4, 2)
        assert follower.problems == []
        assert [s.position for s in follower.seen] == [1, 2, 3, 4]
        assert _texts(follower.seen) == ["b-0", "a-1", "a-1", "b-1"]
        assert reader.verify().ok
    finally:
        gate.open.set()
        for store in (late, quick, reader):
            store.close()


def test_a_writer_that_dies_before_committing_leaves_no_gap(url: str) -> None:
    gate = GateClock(fail=True)
    dying = open_store(url, CODEC, gate)
    quick = open_store(url, CODEC, FixedClock(T0))
    errors: list[BaseException] = []

    def append_dying() -> None:
        try:
            dying.append("A", 0, [note("never")])
        except BaseException as exc:
            errors.append(exc)

    try:
        a = threading.Thread(target=append_dying)
        a.start()
        assert gate.entered.wait(timeout=30)  # A numbered position 1 and holds the lock
        b = threading.Thread(target=lambda: quick.append("B", 0, [note("b")]))
        b.start()
        time.sleep(0.2)
        gate.open.set()  # A fails and rolls back; B goes on
        a.join(timeout=60)
        b.join(timeout=60)

        assert [type(e) for e in errors] == [RuntimeError]
        assert [(s.position, s.stream) for s in quick.read_all()] == [(1, "B")]
        assert quick.verify().ok
    finally:
        gate.open.set()
        dying.close()
        quick.close()


# --- four processes, one ledger ---------------------------------------------------------------

WORKERS = 4
ROUNDS = 40


def _worker(url: str, w: int, rounds: int, barrier: Any, results: Any) -> None:
    """One process: its own stream, and the shared stream with retries and redeliveries."""
    try:
        with open_store(url, CODEC) as store:
            barrier.wait(timeout=120)
            conflicts = 0
            for i in range(rounds):
                store.append(f"own-{w}", i, [note(f"w{w}-own-{i}")])
                key = f"w{w}-shared-{i}"
                while True:
                    version = store.stream_version("shared")
                    writes = [
                        (
                            "shared",
                            version,
                            [note(f"w{w}-shared-{i}-a"), note(f"w{w}-shared-{i}-b")],
                        ),
                        (f"audit-{w}", i, [note(f"w{w}-audit-{i}")]),
                    ]
                    try:
                        batch = store.append_many(writes, idempotency_key=key)
                        break
                    except ConcurrencyError:
                        conflicts += 1
                # The same command delivered again (say, the bank retried): nothing is written.
                again = store.append_many(writes, idempotency_key=key)
                if again != dataclasses.replace(
                    batch,
                    duplicate=True,
                    results=tuple(dataclasses.replace(r, duplicate=True) for r in batch.results),
                ):
                    raise AssertionError(f"redelivery of {key}: {again} after {batch}")
            results.put((w, conflicts, None))
    except BaseException as exc:  # reported to the parent, which fails the test
        results.put((w, -1, repr(exc)))


@pytest.mark.slow
def test_four_processes_append_to_one_ledger_while_a_reader_follows(url: str) -> None:
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(WORKERS + 1)
    results = ctx.Queue()
    procs = [
        ctx.Process(target=_worker, args=(url, w, ROUNDS, barrier, results)) for w in range(WORKERS)
    ]
    for p in procs:
        p.start()
    try:
        with Follower(url) as follower:
            barrier.wait(timeout=120)
            reports = sorted(results.get(timeout=300) for _ in procs)
    finally:
        for p in procs:
            p.join(timeout=60)
            if p.is_alive():
                p.kill()

    assert [error for _, _, error in reports] == [None] * WORKERS
    total = WORKERS * ROUNDS * 4
    with open_store(url, CODEC) as store:
        stored = store.read_all()
        # Gap-free and in order, and the follower saw exactly that sequence, page by page.
        assert [s.position for s in stored] == list(range(1, total + 1))
        assert follower.problems == []
        assert [(s.position, s.stream, s.version) for s in follower.seen] == [
            (s.position, s.stream, s.version) for s in stored
        ]
        # Nothing lost, nothing duplicated.
        texts = Counter(_texts(stored))
        expected = {
            f"w{w}-{part}"
            for w in range(WORKERS)
            for i in range(ROUNDS)
            for part in (f"own-{i}", f"shared-{i}-a", f"shared-{i}-b", f"audit-{i}")
        }
        assert set(texts) == expected and set(texts.values()) == {1}
        # Every stream's versions count from one; each batch's events sit together.
        for stream in store.streams():
            assert [s.version for s in store.load(stream)] == list(
                range(1, store.stream_version(stream) + 1)
            )
        shared = _texts(store.load("shared"))
        assert all(
            a.endswith("-a") and b == a[:-1] + "b"
            for a, b in zip(shared[::2], shared[1::2], strict=True)
        )
        assert store.stream_version("shared") == WORKERS * ROUNDS * 2
        for w in range(WORKERS):
            assert _texts(store.load(f"own-{w}")) == [f"w{w}-own-{i}" for i in range(ROUNDS)]
            assert store.idempotency_result(f"w{w}-shared-{ROUNDS - 1}") is not None
        report = store.verify()
        assert (report.ok, report.events_checked) == (True, total)
