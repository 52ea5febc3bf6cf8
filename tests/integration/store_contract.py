"""The event-store contract: one suite that every backend runs unchanged.

Subclass :class:`StoreContract` in a ``test_store_<backend>.py`` module and implement
``make_url`` (a fresh, empty store per test) and ``execute_raw`` (run SQL on the database behind
the store's back, for the tamper tests; SQL is written with ``?`` placeholders and portable
functions: ``replace``, ``||``). Everything else comes from here.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import multiprocessing
import threading
from collections.abc import Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from freezegun import freeze_time
from sqlalchemy import event as sa_event
from sqlalchemy.engine import Engine
from store_events import (
    CODEC,
    DAY,
    WIDE_CODEC,
    DepositReceived,
    NoteTaken,
    RefundProposed,
    Unregistered,
    deposit,
    note,
)

import escrow
import escrow.store as store_module
from escrow import merkle
from escrow.clock import FixedClock
from escrow.errors import ConcurrencyError, IntegrityError, StoreError
from escrow.store import AppendResult, EventStore, StoredEvent, VerifyReport, open_store

T0 = dt.datetime(2024, 10, 8, 1, 2, 3, tzinfo=dt.UTC)
GENESIS = "0" * 64


def _append_in_child(url: str, stream: str, tag: str, barrier: Any, results: Any) -> None:
    """Run in a separate process: open the store, wait for the other racer, append."""
    try:
        with open_store(url, CODEC) as store:
            barrier.wait(timeout=60)
            try:
                store.append(stream, 0, [note(f"{tag}-{i}") for i in range(3)])
                results.put((tag, "won"))
            except ConcurrencyError:
                results.put((tag, "conflict"))
    except Exception as exc:  # reported to the parent, which fails the test
        results.put((tag, repr(exc)))


def _texts(events: Sequence[StoredEvent]) -> list[str]:
    return [e.event.text for e in events if isinstance(e.event, NoteTaken)]


class StoreContract:
    """What every EventStore backend promises. Subclass and implement the two hooks."""

    # --- hooks --------------------------------------------------------------------------------

    def make_url(self, tmp_path: Path) -> str:
        """The URL of a fresh, empty store for one test."""
        raise NotImplementedError

    def execute_raw(
        self, url: str, sql: str, params: Sequence[object] = ()
    ) -> list[tuple[Any, ...]]:
        """Run ``sql`` (``?`` placeholders) directly on the database, commit, return its rows."""
        raise NotImplementedError

    # --- fixtures -----------------------------------------------------------------------------

    @pytest.fixture
    def url(self, tmp_path: Path) -> str:
        return self.make_url(tmp_path)

    @pytest.fixture
    def clock(self) -> FixedClock:
        return FixedClock(T0)

    @pytest.fixture
    def store(self, url: str, clock: FixedClock) -> Iterator[EventStore]:
        with open_store(url, CODEC, clock) as store:
            yield store

    @pytest.fixture
    def ten(self, store: EventStore) -> EventStore:
        """Ten deposits, one per append, alternating between streams A and B (A has 1, 3, …)."""
        for i in range(10):
            stream = "A" if i % 2 == 0 else "B"
            store.append(stream, i // 2, [deposit(i, stream)])
        return store

    # --- round trip and versions --------------------------------------------------------------

    def test_appended_events_load_back_equal_with_decimal_and_date_types(
        self, store: EventStore
    ) -> None:
        proposed = RefundProposed(
            on=DAY,
            contract="C1",
            items=["cleaning", "broken lamp"],
            deductions=[Decimal("120.00"), Decimal("35.5")],
            reply_by=dt.date(2024, 10, 15),
        )
        written = [deposit(1), proposed, note("hello")]
        store.append("C1", 0, written)

        loaded = [s.event for s in store.load("C1")]

        assert loaded == written
        first, second = loaded[0], loaded[1]
        assert isinstance(first, DepositReceived) and isinstance(second, RefundProposed)
        assert type(first.amount) is Decimal and str(first.amount) == "101.50"
        assert type(first.value_date) is dt.date and first.value_date == dt.date(2024, 10, 10)
        assert [type(d) for d in second.deductions] == [Decimal, Decimal]
        assert [str(d) for d in second.deductions] == ["120.00", "35.5"]
        assert type(second.on) is dt.date

    def test_versions_count_from_one_per_stream_and_positions_are_global(
        self, store: EventStore
    ) -> None:
        store.append("A", 0, [deposit(1), deposit(2)])
        store.append("B", 0, [deposit(3)])
        store.append("A", 2, [deposit(4)])

        assert [(s.version, s.position) for s in store.load("A")] == [(1, 1), (2, 2), (3, 4)]
        assert [(s.version, s.position) for s in store.load("B")] == [(1, 3)]
        assert store.stream_version("A") == 3
        assert store.stream_version("B") == 1

    def test_append_result_names_the_versions_and_positions_written(
        self, store: EventStore
    ) -> None:
        store.append("B", 0, [deposit(0)])
        store.append("A", 0, [deposit(1)])

        result = store.append("A", 1, [deposit(2), deposit(3), deposit(4)])

        assert result == AppendResult(
            stream="A",
            first_version=2,
            last_version=4,
            first_position=3,
            last_position=5,
            duplicate=False,
        )

    def test_stored_event_effective_date_is_the_event_date(self, store: EventStore) -> None:
        store.append("A", 0, [deposit(3)])

        (stored,) = store.load("A")

        assert stored.effective_date == DAY + dt.timedelta(days=3)
        assert stored.stream == "A"

    def test_load_upto_version_stops_at_that_version(self, store: EventStore) -> None:
        store.append("A", 0, [deposit(i) for i in range(5)])

        assert [s.version for s in store.load("A", upto_version=3)] == [1, 2, 3]
        assert store.load("A", upto_version=0) == []
        assert len(store.load("A", upto_version=99)) == 5

    def test_an_unknown_stream_is_at_version_zero_and_loads_empty(self, store: EventStore) -> None:
        store.append("A", 0, [deposit(1)])

        assert store.stream_version("nope") == 0
        assert store.load("nope") == []

    def test_an_empty_append_writes_nothing_and_describes_the_current_version(
        self, store: EventStore
    ) -> None:
        store.append("B", 0, [deposit(0)])
        store.append("A", 0, [deposit(1), deposit(2)])

        result = store.append("A", 2, [])

        assert result == AppendResult("A", 0, 2, 0, 3, duplicate=False)
        assert store.append("new", 0, []) == AppendResult("new", 0, 0, 0, 0, duplicate=False)
        assert store.last_position() == 3
        assert store.streams() == ["A", "B"]

    def test_an_empty_append_with_a_stale_version_is_refused(self, store: EventStore) -> None:
        store.append("A", 0, [deposit(1)])

        with pytest.raises(ConcurrencyError):
            store.append("A", 0, [])

    # --- optimistic concurrency ---------------------------------------------------------------

    def test_a_stale_expected_version_raises_and_writes_nothing(self, store: EventStore) -> None:
        store.append("C1", 0, [deposit(1), deposit(2)])

        with pytest.raises(ConcurrencyError) as caught:
            store.append("C1", 1, [deposit(3), deposit(4)])

        message = str(caught.value)
        assert "'C1'" in message and "expected version 1" in message and "version 2" in message
        assert store.stream_version("C1") == 2
        assert store.last_position() == 2
        assert [s.event for s in store.load("C1")] == [deposit(1), deposit(2)]

    def test_an_expected_version_ahead_of_the_stream_is_refused_too(
        self, store: EventStore
    ) -> None:
        with pytest.raises(ConcurrencyError, match="expected version 3"):
            store.append("C1", 3, [deposit(1)])

        assert store.last_position() == 0

    def test_a_store_trusts_the_stream_heads_it_left_only_while_the_chain_head_is_its_own(
        self, url: str, clock: FixedClock
    ) -> None:
        """``one`` appends to C1 in a transaction, then in the next: the second does not ask
        C1's head (nobody appended in between: the chain head is where ``one`` left it). After
        ``two`` appends to C1, ``one``'s next transaction finds the chain head moved and asks
        again: an append at the version ``one`` knew is refused, one at C1's true version
        taken."""
        asked: list[str] = []

        def sent(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
            if "max(events.version)" in statement:
                asked.append(statement)

        with open_store(url, CODEC, clock) as one, open_store(url, CODEC, clock) as two:
            sa_event.listen(Engine, "before_cursor_execute", sent)
            try:
                with one.transaction():
                    one.append("C1", 0, [deposit(1)])
                assert len(asked) == 1  # a new stream: asked
                with one.transaction():
                    one.append("C1", 1, [deposit(2)])
                assert len(asked) == 1  # known from the transaction before
                two.append("C1", 2, [deposit(3)])
                asked.clear()
                with pytest.raises(ConcurrencyError), one.transaction():
                    one.append("C1", 2, [deposit(4)])
                assert len(asked) == 1  # the head moved: asked again
                with one.transaction():
                    one.append("C1", 3, [deposit(4)])
            finally:
                sa_event.remove(Engine, "before_cursor_execute", sent)
            assert [s.version for s in one.load("C1")] == [1, 2, 3, 4]
            assert one.verify().ok

    def test_a_failed_transaction_forgets_the_stream_heads_it_touched_and_only_those(
        self, url: str, clock: FixedClock
    ) -> None:
        """After a transaction that appended to C1 and then failed, C1's head is asked again
        (the head the store saw counted a row that was rolled back) and an append at C1's true
        version is taken; C2, which the failed transaction did not touch, is not asked."""
        asked: list[str] = []

        def sent(_conn: Any, _cursor: Any, statement: str, params: Any, *_rest: Any) -> None:
            if "max(events.version)" in statement:
                asked.append(str(params))

        with open_store(url, CODEC, clock) as store:
            with store.transaction():
                store.append_many([("C1", 0, [deposit(1)]), ("C2", 0, [deposit(2)])])
            with pytest.raises(RuntimeError, match="refused"), store.transaction():
                store.append("C1", 1, [deposit(3)])
                raise RuntimeError("refused by the caller")
            sa_event.listen(Engine, "before_cursor_execute", sent)
            try:
                with store.transaction():
                    store.append("C2", 1, [deposit(4)])
                assert asked == []  # C2's head is still known
                with store.transaction():
                    store.append("C1", 1, [deposit(5)])  # version 2 was rolled back
                assert len(asked) == 1 and "C1" in asked[0]
            finally:
                sa_event.remove(Engine, "before_cursor_execute", sent)
            assert [s.version for s in store.load("C1")] == [1, 2]
            assert store.verify().ok

    def test_keys_looked_up_together_are_not_asked_again_one_by_one(
        self, url: str, clock: FixedClock
    ) -> None:
        """Inside a transaction, ``look_up_keys`` finds which keys are stored in one read; a
        key it found unused is then answered without a read, until the transaction uses it."""
        asked: list[str] = []

        def sent(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
            if "FROM idempotency_keys" in statement:
                asked.append(statement)

        with open_store(url, CODEC, clock) as store:
            stored = store.append("C1", 0, [deposit(1)], idempotency_key="k-stored")
            with pytest.raises(StoreError, match="inside a transaction"):
                store.look_up_keys(["k-stored"])
            sa_event.listen(Engine, "before_cursor_execute", sent)
            try:
                with store.transaction():
                    assert store.look_up_keys(["k-new", "k-stored", "k-new"]) == 1
                    assert len(asked) == 1
                    assert store.delivered("k-new") is None
                    assert len(asked) == 1  # known unused: not asked
                    again = store.delivered("k-stored")
                    assert again is not None and again.duplicate
                    assert again.first_position == stored.first_position == 1
                    store.append("C1", 1, [deposit(2)], idempotency_key="k-new")
                    used = store.delivered("k-new")  # used now: asked, and found
                    assert used is not None and used.first_position == 2
            finally:
                sa_event.remove(Engine, "before_cursor_execute", sent)
            assert store.append("C1", 2, [deposit(9)], idempotency_key="k-new").duplicate

    def test_two_stores_racing_from_two_threads_on_a_new_stream_let_exactly_one_win(
        self, url: str, clock: FixedClock
    ) -> None:
        with open_store(url, CODEC, clock) as one, open_store(url, CODEC, clock) as two:
            for round_ in range(5):
                stream = f"race-{round_}"
                barrier = threading.Barrier(2)
                outcome: dict[str, str] = {}

                def racer(
                    store: EventStore,
                    tag: str,
                    stream: str = stream,
                    barrier: threading.Barrier = barrier,
                    outcome: dict[str, str] = outcome,
                ) -> None:
                    events = [note(f"{tag}-{i}") for i in range(3)]
                    barrier.wait(timeout=30)
                    try:
                        store.append(stream, 0, events)
                        outcome[tag] = "won"
                    except ConcurrencyError:
                        outcome[tag] = "conflict"
                    except Exception as exc:
                        outcome[tag] = repr(exc)

                threads = [
                    threading.Thread(target=racer, args=(one, "one")),
                    threading.Thread(target=racer, args=(two, "two")),
                ]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join(timeout=60)

                assert sorted(outcome.values()) == ["conflict", "won"], outcome
                winner = next(tag for tag, result in outcome.items() if result == "won")
                loaded = one.load(stream)
                assert _texts(loaded) == [f"{winner}-{i}" for i in range(3)]
                assert [s.version for s in loaded] == [1, 2, 3]
            assert [s.position for s in two.read_all()] == list(range(1, 16))
            assert one.verify().ok

    def test_two_processes_racing_on_a_new_stream_let_exactly_one_win(self, url: str) -> None:
        open_store(url, CODEC).close()  # create the schema before the race
        ctx = multiprocessing.get_context("spawn")
        barrier = ctx.Barrier(2)
        results = ctx.Queue()
        procs = [
            ctx.Process(target=_append_in_child, args=(url, "race", tag, barrier, results))
            for tag in ("p1", "p2")
        ]
        for p in procs:
            p.start()
        outcome = dict(results.get(timeout=120) for _ in procs)
        for p in procs:
            p.join(timeout=60)

        assert sorted(outcome.values()) == ["conflict", "won"], outcome
        winner = next(tag for tag, result in outcome.items() if result == "won")
        with open_store(url, CODEC) as store:
            assert _texts(store.load("race")) == [f"{winner}-{i}" for i in range(3)]
            assert store.last_position() == 3
            assert store.verify().ok

    @pytest.mark.parametrize("shared", [True, False], ids=["one-store", "store-per-thread"])
    def test_many_threads_appending_to_their_own_streams_all_succeed(
        self, url: str, clock: FixedClock, shared: bool
    ) -> None:
        threads_n, appends_n = 8, 15
        common = open_store(url, CODEC, clock)
        errors: list[BaseException] = []
        barrier = threading.Barrier(threads_n)

        def worker(n: int) -> None:
            store = common if shared else open_store(url, CODEC, clock)
            try:
                barrier.wait(timeout=30)
                for v in range(appends_n):
                    store.append(f"T{n}", v * 2, [note(f"t{n}-{v}a"), note(f"t{n}-{v}b")])
            except BaseException as exc:
                errors.append(exc)
            finally:
                if not shared:
                    store.close()

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(threads_n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        try:
            assert errors == []
            total = threads_n * appends_n * 2
            assert common.last_position() == total
            assert [s.position for s in common.read_all()] == list(range(1, total + 1))
            for n in range(threads_n):
                assert common.stream_version(f"T{n}") == appends_n * 2
            assert common.verify().ok
        finally:
            common.close()

    def test_the_unique_stream_version_constraint_stops_a_writer_that_read_a_stale_version(
        self, store: EventStore, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        store.append("A", 0, [deposit(1), deposit(2)])
        # Simulate a writer whose read of the stream head is stale (a lost update in the making).
        monkeypatch.setattr(EventStore, "_stream_head", staticmethod(lambda conn, stream: (0, 0)))

        with pytest.raises(ConcurrencyError):
            store.append("A", 0, [deposit(3)])

        monkeypatch.undo()
        assert store.last_position() == 2
        assert store.verify().ok

    # --- append_many --------------------------------------------------------------------------

    def test_append_many_writes_several_streams_in_one_transaction(self, store: EventStore) -> None:
        store.append("A", 0, [deposit(0)])

        batch = store.append_many([("A", 1, [deposit(1), deposit(2)]), ("B", 0, [deposit(3)])])

        assert batch.results == (
            AppendResult("A", 2, 3, 2, 3, duplicate=False),
            AppendResult("B", 1, 1, 4, 4, duplicate=False),
        )
        assert (batch.first_position, batch.last_position, batch.duplicate) == (2, 4, False)
        assert {s.recorded_at for s in store.read_all(after_position=1)} == {T0}

    def test_append_many_writes_nothing_when_one_stream_is_stale(self, store: EventStore) -> None:
        store.append("B", 0, [deposit(0)])

        with pytest.raises(ConcurrencyError, match="'B'"):
            store.append_many([("A", 0, [deposit(1)]), ("B", 0, [deposit(2)])])

        assert store.load("A") == []
        assert store.last_position() == 1

    def test_append_many_refuses_a_stream_named_twice(self, store: EventStore) -> None:
        with pytest.raises(StoreError, match="only once"):
            store.append_many([("A", 0, [deposit(1)]), ("A", 1, [deposit(2)])])

        assert store.last_position() == 0

    # --- idempotency --------------------------------------------------------------------------

    def test_reappending_with_a_known_key_returns_the_original_result_and_writes_nothing(
        self, store: EventStore, clock: FixedClock
    ) -> None:
        store.append("B", 0, [deposit(0)])
        original = store.append("A", 0, [deposit(1), deposit(2)], idempotency_key="bank-42")
        clock.set(T0 + dt.timedelta(hours=1))

        again = store.append("A", 2, [deposit(9)], idempotency_key="bank-42")

        assert again == AppendResult("A", 1, 2, 2, 3, duplicate=True)
        assert original == AppendResult("A", 1, 2, 2, 3, duplicate=False)
        assert store.last_position() == 3
        assert [s.event for s in store.load("A")] == [deposit(1), deposit(2)]

    def test_a_known_key_is_checked_before_a_now_stale_expected_version(
        self, store: EventStore
    ) -> None:
        store.append("A", 0, [deposit(1)], idempotency_key="k")
        store.append("A", 1, [deposit(2)])

        again = store.append("A", 0, [deposit(1)], idempotency_key="k")

        assert again == AppendResult("A", 1, 1, 1, 1, duplicate=True)
        assert store.stream_version("A") == 2

    def test_idempotency_keys_are_global_across_streams(self, store: EventStore) -> None:
        store.append("A", 0, [deposit(1)], idempotency_key="k")

        again = store.append("B", 0, [deposit(2)], idempotency_key="k")

        assert again == AppendResult("A", 1, 1, 1, 1, duplicate=True)
        assert store.streams() == ["A"]

    def test_idempotency_result_tells_a_known_key_from_an_unknown_one(
        self, store: EventStore
    ) -> None:
        store.append("A", 0, [deposit(1), deposit(2)], idempotency_key="k")

        assert store.idempotency_result("k") == AppendResult("A", 1, 2, 1, 2, duplicate=True)
        assert store.idempotency_result("other") is None

    def test_an_empty_append_does_not_use_up_its_key(self, store: EventStore) -> None:
        store.append("A", 0, [], idempotency_key="k")

        assert store.idempotency_result("k") is None
        assert store.append("A", 0, [deposit(1)], idempotency_key="k").duplicate is False

    def test_the_key_is_stored_on_the_first_row_of_its_append_only(
        self, url: str, store: EventStore
    ) -> None:
        store.append("A", 0, [deposit(1)])
        store.append("A", 1, [deposit(2), deposit(3)], idempotency_key="bank-7")

        rows = self.execute_raw(url, "SELECT position, idempotency_key FROM events ORDER BY 1")

        assert [tuple(r) for r in rows] == [(1, None), (2, "bank-7"), (3, None)]

    def test_a_known_key_on_append_many_returns_every_original_result(
        self, store: EventStore
    ) -> None:
        first = store.append_many(
            [("A", 0, [deposit(1)]), ("B", 0, [deposit(2), deposit(3)])], idempotency_key="k"
        )

        again = store.append_many([("C", 0, [deposit(4)])], idempotency_key="k")

        assert again.duplicate is True
        assert again.results == (
            AppendResult("A", 1, 1, 1, 1, duplicate=True),
            AppendResult("B", 1, 2, 2, 3, duplicate=True),
        )
        assert [r.stream for r in first.results] == ["A", "B"]
        assert store.idempotency_result("k") == again.results[0]
        assert store.last_position() == 3

    # --- global order -------------------------------------------------------------------------

    def test_read_all_positions_are_gap_free_from_one_in_commit_order(
        self, ten: EventStore
    ) -> None:
        stored = ten.read_all()

        assert [s.position for s in stored] == list(range(1, 11))
        assert [s.event for s in stored] == [
            deposit(i, "A" if i % 2 == 0 else "B") for i in range(10)
        ]
        assert [(s.stream, s.version) for s in stored[:4]] == [
            ("A", 1),
            ("B", 1),
            ("A", 2),
            ("B", 2),
        ]

    def test_read_all_pages_after_a_position_with_a_limit(self, ten: EventStore) -> None:
        pages: list[list[int]] = []
        after = 0
        while page := ten.read_all(after_position=after, limit=3):
            pages.append([s.position for s in page])
            after = page[-1].position

        assert pages == [[1, 2, 3], [4, 5, 6], [7, 8, 9], [10]]
        assert [s.position for s in ten.read_all(after_position=7)] == [8, 9, 10]
        assert ten.read_all(after_position=10) == []

    def test_last_position_is_zero_for_an_empty_store_and_then_counts_events(
        self, store: EventStore
    ) -> None:
        assert store.last_position() == 0
        store.append("A", 0, [deposit(1), deposit(2)])
        assert store.last_position() == 2

    def test_streams_are_listed_sorted_and_filtered_by_a_case_sensitive_prefix(
        self, store: EventStore
    ) -> None:
        for name in ["contract:B", "contract:A", "Contract:C", "enterprise:E", "contract%_x"]:
            store.append(name, 0, [deposit(1)])

        assert store.streams() == sorted(
            ["contract:B", "contract:A", "Contract:C", "enterprise:E", "contract%_x"]
        )
        assert store.streams("contract:") == ["contract:A", "contract:B"]
        assert store.streams("contract%") == ["contract%_x"]
        assert store.streams("zzz") == []

    # --- hash chain ---------------------------------------------------------------------------

    def test_verify_passes_on_an_empty_and_on_an_untouched_store(self, store: EventStore) -> None:
        assert store.verify().ok
        for i in range(6):
            store.append("A", i, [deposit(i)])

        report = store.verify()

        assert (report.ok, report.events_checked, report.first_bad_position, report.reason) == (
            True,
            6,
            None,
            None,
        )

    def test_each_row_hash_is_sha256_of_its_canonical_fields_chained_from_sixty_four_zeros(
        self, url: str, ten: EventStore
    ) -> None:
        rows = self.execute_raw(
            url,
            "SELECT position, stream, version, type, effective_date, recorded_at, data,"
            " idempotency_key, prev_hash, hash FROM events ORDER BY position",
        )

        previous = GENESIS
        for *fields, prev_hash, digest in rows:
            # [position, stream, version, type, date, recorded, data, key (null), prev_hash]
            canonical = json.dumps([*fields, prev_hash], separators=(",", ":"))
            assert prev_hash == previous
            assert digest == hashlib.sha256(canonical.encode()).hexdigest()
            previous = digest
        assert rows[0][4] == "2024-10-08"
        assert rows[0][5] == "2024-10-08T01:02:03.000000+00:00"

    def test_verify_names_the_row_whose_data_was_changed(self, url: str, ten: EventStore) -> None:
        self.execute_raw(
            url,
            "UPDATE events SET data = replace(data, '104.50', '999.50') WHERE position = ?",
            (5,),
        )

        report = ten.verify()

        assert not report.ok
        assert report.first_bad_position == 5
        assert report.events_checked == 4
        assert report.reason == "hash mismatch at position 5 (stream A version 3)"

    @pytest.mark.parametrize(
        ("column", "expression", "reason"),
        [
            ("stream", "stream || 'x'", "hash mismatch"),
            ("version", "version + 100", "hash mismatch"),
            ("type", "'note_taken'", "hash mismatch"),
            ("effective_date", "'1999-12-31'", "hash mismatch"),
            ("recorded_at", "'2000-01-01T00:00:00.000000+00:00'", "hash mismatch"),
            ("hash", "prev_hash", "hash mismatch"),
            ("prev_hash", "hash", "chain broken: previous hash of position 5"),
        ],
    )
    def test_verify_names_the_row_whose_column_was_changed(
        self, url: str, ten: EventStore, column: str, expression: str, reason: str
    ) -> None:
        self.execute_raw(url, f"UPDATE events SET {column} = {expression} WHERE position = 5")

        report = ten.verify()

        assert (report.ok, report.first_bad_position) == (False, 5)
        assert report.reason is not None and report.reason.startswith(reason)

    def test_verify_names_the_missing_position_when_a_middle_row_is_deleted(
        self, url: str, ten: EventStore
    ) -> None:
        self.execute_raw(url, "DELETE FROM events WHERE position = ?", (6,))

        report = ten.verify()

        assert (report.ok, report.first_bad_position, report.events_checked) == (False, 6, 5)
        assert report.reason is not None and report.reason.startswith("position gap after 5")

    def test_verify_names_position_one_when_the_first_row_is_deleted(
        self, url: str, ten: EventStore
    ) -> None:
        self.execute_raw(url, "DELETE FROM events WHERE position = 1")

        report = ten.verify()

        assert (report.ok, report.first_bad_position) == (False, 1)

    @pytest.mark.parametrize("column", ["data", "stream"])
    def test_verify_names_the_first_of_two_rows_whose_payloads_were_swapped(
        self, url: str, ten: EventStore, column: str
    ) -> None:
        (a,), (b,) = self.execute_raw(
            url, f"SELECT {column} FROM events WHERE position IN (3, 4) ORDER BY position"
        )
        assert a != b
        swap = f"UPDATE events SET {column} = ? WHERE position = ?"
        self.execute_raw(url, swap, ("swapping", 3))  # (stream, version) stays unique throughout
        self.execute_raw(url, swap, (a, 4))
        self.execute_raw(url, swap, (b, 3))

        report = ten.verify()

        assert (report.ok, report.first_bad_position) == (False, 3)
        assert report.reason is not None and "position 3" in report.reason

    def test_verify_names_the_first_of_two_rows_whose_positions_were_swapped(
        self, url: str, ten: EventStore
    ) -> None:
        self.execute_raw(url, "UPDATE events SET position = -1 WHERE position = 3")
        self.execute_raw(url, "UPDATE events SET position = 3 WHERE position = 7")
        self.execute_raw(url, "UPDATE events SET position = 7 WHERE position = -1")

        report = ten.verify()

        assert (report.ok, report.first_bad_position) == (False, 3)
        assert [s.event.on for s in ten.read_all()][2] == deposit(6).on  # the reorder is visible

    def test_a_row_rewritten_with_a_recomputed_hash_breaks_the_link_from_the_next_row(
        self, url: str, ten: EventStore
    ) -> None:
        ((pos, stream, version, type_, eff, rec, data, key, prev),) = self.execute_raw(
            url,
            "SELECT position, stream, version, type, effective_date, recorded_at, data,"
            " idempotency_key, prev_hash FROM events WHERE position = 5",
        )
        forged = data.replace("104.50", "1.50")
        canonical = json.dumps(
            [pos, stream, version, type_, eff, rec, forged, key, prev], separators=(",", ":")
        )
        digest = hashlib.sha256(canonical.encode()).hexdigest()
        self.execute_raw(
            url, "UPDATE events SET data = ?, hash = ? WHERE position = 5", (forged, digest)
        )

        report = ten.verify()

        assert (report.ok, report.first_bad_position) == (False, 6)
        assert (
            report.reason == "chain broken: previous hash of position 6 does not match position 5"
        )

    # --- units of work (append_batches) -------------------------------------------------------

    def test_append_batches_writes_each_batch_after_the_one_before_in_one_transaction(
        self, url: str, store: EventStore
    ) -> None:
        store.append("A", 0, [deposit(0)])

        results = store.append_batches(
            [
                ([("A", 1, [deposit(1), deposit(2)])], "k1"),
                ([("B", 0, [deposit(3, "B")]), ("A", 3, [deposit(4)])], None),
                ([("A", 4, [note("last")])], "k3"),
            ]
        )

        # Positions follow on from 1: batch 1 takes 2-3, batch 2 takes 4 (B) and 5 (A), batch 3 6.
        assert [(r.first_position, r.last_position) for r in results] == [(2, 3), (4, 5), (6, 6)]
        assert results[1].results[1] == AppendResult("A", 4, 4, 5, 5, False)
        assert [r.duplicate for r in results] == [False, False, False]
        assert len({r.recorded_at for r in results}) == 1  # one transaction, one recorded time
        assert store.verify() == VerifyReport(True, 6, None, None)
        keys = self.execute_raw(url, "SELECT position, idempotency_key FROM events ORDER BY 1")
        assert keys == [(1, None), (2, "k1"), (3, None), (4, None), (5, None), (6, "k3")]
        assert self.execute_raw(url, "SELECT * FROM idempotency_keys ORDER BY key") == [
            ("k1", 2, 3, None),
            ("k3", 6, 6, None),
        ]

    def test_a_key_keeps_the_act_it_stands_for_and_hands_it_back_with_a_duplicate(
        self, store: EventStore
    ) -> None:
        store.append_many([("A", 0, [deposit(0)])], "k1", request="pay 1")
        store.append_batches([([("A", 1, [deposit(1)])], "k2")], {"k2": "pay 2"})
        store.append_many([("A", 2, [deposit(2)])], "other", request="pay 3")

        again = store.append_many([("A", 3, [deposit(9)])], "k1", request="something else")

        # The store answers with the first delivery and its act; the caller compares them.
        assert again.duplicate and again.request == "pay 1"
        assert store.stream_version("A") == 3
        assert store.delivered("k2") is not None
        assert store.delivered("k2").request == "pay 2"  # type: ignore[union-attr]
        assert store.delivered("nope") is None
        assert store.requests("k") == {"k1": "pay 1", "k2": "pay 2"}

    def test_a_conflict_in_the_last_batch_writes_none_of_them(self, store: EventStore) -> None:
        with pytest.raises(
            ConcurrencyError, match="'A' is at version 2, not the expected version 1"
        ):
            store.append_batches(
                [
                    ([("A", 0, [deposit(1)]), ("B", 0, [deposit(2, "B")])], "k1"),
                    ([("A", 1, [deposit(3)])], None),
                    ([("A", 1, [deposit(4)])], None),  # A is at 2 by now
                ]
            )

        assert store.last_position() == 0
        assert store.idempotency_result("k1") is None
        assert store.verify() == VerifyReport(True, 0, None, None)

    def test_a_key_already_used_makes_its_batch_a_duplicate_that_writes_nothing(
        self, store: EventStore
    ) -> None:
        store.append("A", 0, [deposit(1)], idempotency_key="old")

        results = store.append_batches(
            [
                ([("A", 1, [deposit(2)])], "new"),
                ([("A", 2, [deposit(3)])], "old"),  # stored before this call
                ([("A", 2, [deposit(4)])], "new"),  # used by the first batch of this call
                ([("A", 2, [deposit(5)])], None),
            ]
        )

        assert [r.duplicate for r in results] == [False, True, True, False]
        assert results[1].results == (AppendResult("A", 1, 1, 1, 1, True),)
        assert results[2].results == (AppendResult("A", 2, 2, 2, 2, True),)
        assert [s.event for s in store.load("A")] == [deposit(1), deposit(2), deposit(5)]
        assert store.verify().ok

    def test_append_batches_with_nothing_to_write_checks_versions_and_writes_nothing(
        self, store: EventStore
    ) -> None:
        store.append("A", 0, [deposit(1)])

        assert store.append_batches([]) == []
        (result,) = store.append_batches([([("A", 1, [])], "unused")])

        assert result.results == (AppendResult("A", 0, 1, 0, 1, False),)
        assert store.idempotency_result("unused") is None
        with pytest.raises(ConcurrencyError):
            store.append_batches([([("A", 0, [])], None)])

    # --- the chain head and the idempotency keys ---------------------------------------------

    def test_verify_names_the_last_row_when_it_is_deleted(self, url: str, ten: EventStore) -> None:
        # Without an anchor, positions 1..9 would still form a valid chain; the head says 10.
        self.execute_raw(url, "DELETE FROM events WHERE position = 10")

        report = ten.verify()

        assert (report.ok, report.first_bad_position, report.events_checked) == (False, 10, 9)
        assert (
            report.reason
            == "the chain head is at position 10 but the log ends at 9: event 10 deleted"
        )

    def test_verify_names_the_first_of_several_rows_cut_off_the_end(
        self, url: str, ten: EventStore
    ) -> None:
        self.execute_raw(url, "DELETE FROM events WHERE position >= 8")

        report = ten.verify()

        assert (report.ok, report.first_bad_position) == (False, 8)
        assert report.reason is not None and report.reason.endswith("events 8..10 deleted")

    def test_verify_names_a_row_written_past_the_chain_head(
        self, url: str, ten: EventStore
    ) -> None:
        # A forged 11th row, correctly chained, but written around the store (head stays at 10).
        ((last_hash,),) = self.execute_raw(url, "SELECT hash FROM events WHERE position = 10")
        fields = [11, "B", 6, "note_taken", "2024-10-08", "2024-10-08T01:02:03.000000+00:00"]
        data = '{"type":"note_taken","on":"2024-10-08","text":"forged"}'
        digest = hashlib.sha256(
            json.dumps([*fields, data, None, last_hash], separators=(",", ":")).encode()
        ).hexdigest()
        self.execute_raw(
            url,
            "INSERT INTO events (position, stream, version, type, effective_date, recorded_at,"
            " data, idempotency_key, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?, ?)",
            (*fields, data, last_hash, digest),
        )

        report = ten.verify()

        assert (report.ok, report.first_bad_position, report.events_checked) == (False, 11, 11)
        assert report.reason is not None and "past the chain head (10)" in report.reason

    def test_an_appended_store_moves_its_head_and_verifies(self, ten: EventStore) -> None:
        ten.append("C", 0, [deposit(11, "C")], idempotency_key="k-11")

        assert ten.verify() == VerifyReport(True, 11, None, None)

    def test_verify_names_the_row_whose_idempotency_key_was_changed(
        self, url: str, ten: EventStore
    ) -> None:
        ten.append("C", 0, [deposit(11, "C"), deposit(12, "C")], idempotency_key="bank-1")
        self.execute_raw(url, "UPDATE events SET idempotency_key = 'bank-2' WHERE position = 11")

        report = ten.verify()

        assert (report.ok, report.first_bad_position) == (False, 11)
        assert report.reason == "hash mismatch at position 11 (stream C version 1)"

    def test_verify_names_the_row_whose_idempotency_key_was_cleared(
        self, url: str, ten: EventStore
    ) -> None:
        ten.append("C", 0, [deposit(11, "C")], idempotency_key="bank-1")
        self.execute_raw(url, "UPDATE events SET idempotency_key = NULL WHERE position = 11")

        assert (ten.verify().ok, ten.verify().first_bad_position) == (False, 11)

    def test_verify_names_the_row_whose_key_is_missing_from_the_key_table(
        self, url: str, ten: EventStore
    ) -> None:
        # Without its table entry, a re-delivery of "bank-1" would be applied a second time.
        ten.append("C", 0, [deposit(11, "C")], idempotency_key="bank-1")
        self.execute_raw(url, "DELETE FROM idempotency_keys WHERE key = 'bank-1'")

        report = ten.verify()

        assert (report.ok, report.first_bad_position) == (False, 11)
        assert report.reason == "idempotency key 'bank-1' on position 11 is missing from its table"

    def test_verify_names_a_key_table_entry_that_points_elsewhere(
        self, url: str, ten: EventStore
    ) -> None:
        ten.append("C", 0, [deposit(11, "C")], idempotency_key="bank-1")
        self.execute_raw(url, "UPDATE idempotency_keys SET first_position = 3 WHERE key = 'bank-1'")

        report = ten.verify()

        assert (report.ok, report.first_bad_position) == (False, 11)
        assert report.reason == "idempotency key 'bank-1' does not match the rows it covers"

    # --- codec --------------------------------------------------------------------------------

    def test_an_event_the_codec_cannot_read_back_is_refused_and_nothing_is_written(
        self, store: EventStore
    ) -> None:
        with pytest.raises(StoreError, match="unregistered"):
            store.append("A", 0, [deposit(1), Unregistered(on=DAY, text="?")])

        assert store.last_position() == 0

    def test_loading_an_event_of_an_unknown_type_names_its_position(
        self, url: str, clock: FixedClock
    ) -> None:
        with open_store(url, WIDE_CODEC, clock) as wide:
            wide.append("A", 0, [deposit(1), Unregistered(on=DAY, text="?")])

        with open_store(url, CODEC, clock) as narrow:
            with pytest.raises(IntegrityError, match="position 2"):
                narrow.load("A")
            with pytest.raises(IntegrityError, match="position 2"):
                narrow.read_all()
            assert [s.position for s in narrow.read_all(limit=1)] == [1]
            report = narrow.verify()
        assert (report.ok, report.first_bad_position) == (False, 2)

    # --- recorded time ------------------------------------------------------------------------

    def test_recorded_at_comes_from_the_injected_clock_in_utc(self, url: str) -> None:
        beijing = dt.timezone(dt.timedelta(hours=8))
        clock = FixedClock(dt.datetime(2024, 10, 8, 9, 30, tzinfo=beijing))
        with open_store(url, CODEC, clock) as store:
            store.append("A", 0, [deposit(1), deposit(2)])
            clock.set(dt.datetime(2025, 1, 1, 0, 0, 0, 250, tzinfo=dt.UTC))
            store.append("A", 2, [deposit(3)])

            recorded = [s.recorded_at for s in store.load("A")]

        first = dt.datetime(2024, 10, 8, 1, 30, tzinfo=dt.UTC)
        assert recorded == [first, first, dt.datetime(2025, 1, 1, 0, 0, 0, 250, tzinfo=dt.UTC)]
        assert all(r.utcoffset() == dt.timedelta(0) for r in recorded)

    def test_a_clock_without_a_timezone_is_refused(self, url: str) -> None:
        class NaiveClock:
            def now(self) -> dt.datetime:
                return dt.datetime(2024, 10, 8, 9, 30)  # noqa: DTZ001 (the point of the test)

            def today(self) -> dt.date:
                return dt.date(2024, 10, 8)

        with open_store(url, CODEC, NaiveClock()) as store:
            with pytest.raises(StoreError, match="timezone"):
                store.append("A", 0, [deposit(1)])
            assert store.last_position() == 0

    def test_a_store_opened_under_freezegun_records_the_frozen_time_with_the_system_clock(
        self, url: str
    ) -> None:
        # freezegun reads every attribute of every loaded module as it starts, which loads
        # escrow's lazy public names: load them first, as the escrow_travel fixture does, or a
        # pydantic model would be built on freezegun's fake date class (when this test runs
        # before anything else has loaded them).
        for name in escrow.__all__:
            getattr(escrow, name)
        with freeze_time("2025-03-04 05:06:07") as frozen, open_store(url, CODEC) as store:
            store.append("A", 0, [deposit(1)])
            frozen.move_to("2025-03-05 00:00:00")
            store.append("A", 1, [deposit(2)])

            recorded = [s.recorded_at for s in store.load("A")]

        assert recorded == [
            dt.datetime(2025, 3, 4, 5, 6, 7, tzinfo=dt.UTC),
            dt.datetime(2025, 3, 5, tzinfo=dt.UTC),
        ]

    def test_under_freezegun_an_injected_fixed_clock_still_wins(
        self, url: str, clock: FixedClock
    ) -> None:
        with freeze_time("2030-06-01 12:00:00"), open_store(url, CODEC, clock) as store:
            store.append("A", 0, [deposit(1)])
            (stored,) = store.load("A")
            report = store.verify()

        assert stored.recorded_at == T0
        assert report.ok

    # --- lifecycle ----------------------------------------------------------------------------

    def test_a_reopened_store_continues_positions_and_the_chain(
        self, url: str, clock: FixedClock
    ) -> None:
        with open_store(url, CODEC, clock) as store:
            store.append("A", 0, [deposit(1), deposit(2)], idempotency_key="k")

        with open_store(url, CODEC, clock) as store:
            result = store.append("A", 2, [deposit(3)])
            assert (result.first_position, result.last_version) == (3, 3)
            assert store.idempotency_result("k") == AppendResult("A", 1, 2, 1, 2, True)
            assert store.verify().ok

    def test_a_closed_store_refuses_to_work(self, url: str) -> None:
        with open_store(url, CODEC) as store:
            pass

        with pytest.raises(StoreError, match="closed"):
            store.append("A", 0, [deposit(1)])
        with pytest.raises(StoreError, match="closed"):
            store.read_all()
        store.close()  # closing twice is harmless

    def test_store_module_exports_the_contract_names(self) -> None:
        for name in ("EventStore", "PydanticCodec", "StoredEvent", "AppendResult", "VerifyReport"):
            assert name in store_module.__all__

    # --- volume -------------------------------------------------------------------------------

    @pytest.mark.slow
    def test_ten_thousand_events_in_batches_read_back_in_order_with_their_positions(
        self, store: EventStore
    ) -> None:
        streams = ["S0", "S1", "S2", "S3"]
        batch = 500
        for b in range(20):
            stream = streams[b % 4]
            events = [deposit(b * batch + i, stream) for i in range(batch)]
            store.append(stream, (b // 4) * batch, events)

        stored = store.read_all()

        assert len(stored) == 10_000
        assert [s.position for s in stored] == list(range(1, 10_001))
        assert [s.event for s in stored[:3]] == [
            deposit(0, "S0"),
            deposit(1, "S0"),
            deposit(2, "S0"),
        ]
        assert stored[-1].event == deposit(9_999, "S3")
        assert [s.version for s in store.load("S2")] == list(range(1, 2_501))
        assert store.last_position() == 10_000
        assert [s.position for s in store.read_all(after_position=9_990)] == list(
            range(9_991, 10_001)
        )
        report = store.verify()
        assert (report.ok, report.events_checked) == (True, 10_000)

    # --- the Merkle tree (issue 15) ------------------------------------------------------------

    @pytest.fixture
    def thirty_seven(self, store: EventStore) -> EventStore:
        """37 deposits on stream A in appends of 1, 5, 10, 3, 16 and 2 events (crossing the
        16-event blocks the tree keeps at different points of an append)."""
        done = 0
        for size in (1, 5, 10, 3, 16, 2):
            store.append("A", done, [deposit(done + i) for i in range(size)])
            done += size
        return store

    def leaves(self, url: str) -> list[bytes]:
        """RFC 9162 leaf hashes of the rows, computed here from the raw hash column."""
        hashes = self.execute_raw(url, "SELECT hash FROM events ORDER BY position")
        return [hashlib.sha256(b"\x00" + bytes.fromhex(h)).digest() for (h,) in hashes]

    @staticmethod
    def mth(leaves: list[bytes]) -> bytes:
        """RFC 9162 §2.1.1, recursively, on leaf hashes."""
        if not leaves:
            return hashlib.sha256(b"").digest()
        if len(leaves) == 1:
            return leaves[0]
        k = 1
        while 2 * k < len(leaves):
            k *= 2
        left, right = StoreContract.mth(leaves[:k]), StoreContract.mth(leaves[k:])
        return hashlib.sha256(b"\x01" + left + right).digest()

    def test_the_tree_root_is_rfc9162_over_the_row_hashes_at_every_size(
        self, url: str, thirty_seven: EventStore
    ) -> None:
        leaves = self.leaves(url)
        assert len(leaves) == 37
        for size in range(38):
            head = thirty_seven.tree_head(size)
            assert (head.size, head.root) == (size, self.mth(leaves[:size])), size
        assert thirty_seven.tree_head().size == 37
        first = self.execute_raw(url, "SELECT hash FROM events WHERE position = 1")[0][0]
        assert thirty_seven.tree_head().first_hash == first
        # Kept nodes: subtrees of 16 leaves or more. 37 leaves: [0,16), [16,32) and [0,32).
        kept = self.execute_raw(url, "SELECT level, idx FROM merkle_nodes ORDER BY 1, 2")
        assert kept == [(4, 0), (4, 1), (5, 0)]

    def test_a_tree_head_beyond_the_log_is_refused(self, thirty_seven: EventStore) -> None:
        with pytest.raises(StoreError, match="holds 37 events, not 38"):
            thirty_seven.tree_head(38)

    def test_inclusion_proofs_verify_against_the_root_of_their_size(
        self, url: str, thirty_seven: EventStore
    ) -> None:
        leaves = self.leaves(url)
        for size in (1, 15, 16, 17, 32, 37):
            root = self.mth(leaves[:size])
            for position in range(1, size + 1):
                proof = thirty_seven.inclusion_proof(position, size)
                merkle.verify_inclusion(position - 1, size, leaves[position - 1], proof, root)
        with pytest.raises(StoreError, match="position 17 is not among the first 16"):
            thirty_seven.inclusion_proof(17, 16)

    def test_consistency_proofs_verify_between_any_two_sizes(
        self, url: str, thirty_seven: EventStore
    ) -> None:
        leaves = self.leaves(url)
        for old in (1, 5, 16, 20, 32, 37):
            for new in (old, 17, 33, 37):
                if new < old:
                    continue
                proof = thirty_seven.consistency_proof(old, new)
                merkle.verify_consistency(
                    old, new, self.mth(leaves[:old]), self.mth(leaves[:new]), proof
                )
        assert len(thirty_seven.consistency_proof(20, 37)) <= 2 * 6  # log2(37) < 6

    def test_a_ledger_without_its_tree_gets_it_rebuilt_at_the_next_append(
        self, url: str, thirty_seven: EventStore
    ) -> None:
        # As a ledger made before the tree (and before the chain head kept its peaks).
        self.execute_raw(url, "DELETE FROM merkle_nodes")
        self.execute_raw(url, "UPDATE chain_head SET peaks = NULL, recorded_at = NULL")
        leaves = self.leaves(url)
        assert thirty_seven.tree_head().root == self.mth(leaves)  # computed from the rows

        with open_store(url, CODEC, FixedClock(T0)) as reopened:  # as a newer escrow would
            reopened.append("A", 37, [deposit(37)])

        leaves = self.leaves(url)
        assert thirty_seven.tree_head().root == self.mth(leaves)
        kept = self.execute_raw(url, "SELECT level, idx FROM merkle_nodes ORDER BY 1, 2")
        assert kept == [(4, 0), (4, 1), (5, 0)]  # 38 leaves: the same complete subtrees
        assert thirty_seven.verify().ok

    def test_verify_recomputes_the_roots_asked_for_from_the_rows(
        self, url: str, thirty_seven: EventStore
    ) -> None:
        leaves = self.leaves(url)
        report = thirty_seven.verify(sizes=[0, 16, 20])
        assert report.ok
        assert report.roots == {n: self.mth(leaves[:n]) for n in (0, 16, 20, 37)}

    def test_verify_names_a_kept_tree_node_that_no_longer_matches_its_rows(
        self, url: str, thirty_seven: EventStore
    ) -> None:
        self.execute_raw(
            url, "UPDATE merkle_nodes SET hash = ? WHERE level = 4 AND idx = 1", ("ab" * 32,)
        )
        report = thirty_seven.verify()
        assert (report.ok, report.first_bad_position) == (False, 32)
        assert report.reason == "the Merkle tree's node over events 17..32 does not match them"

    def test_a_clock_that_steps_back_records_the_time_before_so_recorded_at_runs_forward(
        self, url: str, clock: FixedClock, store: EventStore
    ) -> None:
        store.append("A", 0, [deposit(0)])
        first = store.load("A")[0].recorded_at
        clock.set(T0 - dt.timedelta(seconds=1))  # a wall clock that ran backwards
        store.append("A", 1, [deposit(1)])

        # The second append records the first one's time, not the clock's earlier one, so the
        # ledger stays sound (verify reports a recorded_at earlier than its predecessor's:
        # tests/reliability/test_checkpoints.py rewrites one to show it).
        assert [s.recorded_at for s in store.load("A")] == [first, first]
        assert store.verify().ok
