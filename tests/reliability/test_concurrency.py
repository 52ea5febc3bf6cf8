"""Concurrency: several processes append to one SQLite ledger and nothing is lost or doubled.

Four worker processes (``multiprocessing``, spawn) open the same ledger file at once and start
together on a barrier:

- workers 0 and 1 each act on a contract of their own (deposit lots, rent of 1 to 12 months);
- workers 2 and 3 both act on the SAME contract: deposit lots with distinct idempotency keys,
  and each also re-delivers the other's keys (a bank notice delivered to two processes).

Every act is delivered twice by its worker as well. Each act is one write transaction that holds
the store's append lock while it reads, decides and appends, so writers never conflict: no
``ConcurrencyError`` is retried or surfaces (should one surface, the worker delivers the act
again with the same key, and the test fails on the count). Afterwards: every key landed exactly once (one payment event per key, none
without a key), the sums match, the invariants hold, ``audit`` is sound and a replay gives the
live report.

The second test moves business time while the processes write: each worker pays with dates that
go forward (the slower ones' payments arrive backdated, which the ledger books as backdated bank
notices) and runs the clock. No payment may be refused or lost.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

from reliability_support import check_invariants, check_read_models, record

from escrow.audit import audit
from escrow.config import LedgerConfig
from escrow.domain import events as ev
from escrow.domain.terms import ContractTerms
from escrow.errors import ClockError, ConcurrencyError
from escrow.report import build_report
from escrow.service import MAX_RETRIES, open_ledger

DAY = dt.timedelta(days=1)
START = dt.date(2025, 3, 3)
ACTS = 40
WORKERS = 4
CONTRACT_OF = {0: "A", 1: "B", 2: "S", 3: "S"}


def terms(cid: str) -> ContractTerms:
    return ContractTerms(
        id=cid,
        filing_no=f"JZ-{cid}",
        tenant=f"T{cid}",
        enterprise="E1",
        start=START,
        end=START + 365 * DAY,
        monthly_rent=Decimal("1000.00"),
        deposit=Decimal("5000.00"),
    )


def amount(worker: int, i: int) -> Decimal:
    return Decimal(100 * worker + i + 1) + Decimal("0.25")


def plan(worker: int) -> list[tuple[str, str, Decimal, int]]:
    """(key, kind, amount, day index) of the acts ``worker`` delivers, in order."""
    acts = []
    for i in range(ACTS):
        kind = "rent" if worker < 2 and i % 4 == 3 else "deposit"
        value = Decimal(1000 * (1 + i % 12)) if kind == "rent" else amount(worker, i)
        acts.append((f"w{worker}:{i}", kind, value, i))
    if worker in (2, 3):  # the same contract: also deliver the other worker's notices
        other = 5 - worker
        acts += [(f"w{other}:{i}", "deposit", amount(other, i), i) for i in range(0, ACTS, 3)]
    return acts


def worker(path: str, number: int, moving: bool, barrier: Any) -> dict[str, Any]:
    """Deliver this worker's acts (each twice) on the shared ledger; return what happened."""
    surfaced = 0
    refused: list[str] = []
    deliveries = 1 if moving else 2
    with open_ledger(path) as ledger:
        barrier.wait()
        cid = CONTRACT_OF[number]
        for key, kind, value, index in plan(number):
            on = START + index * DAY if moving else START
            for _delivery in range(deliveries):
                for _attempt in range(50):
                    try:
                        if kind == "deposit":
                            ledger.pay_deposit(cid, value, on=on, idempotency_key=key)
                        else:
                            ledger.pay_rent(cid, value, on=on, idempotency_key=key)
                        break
                    except ConcurrencyError:
                        surfaced += 1  # retried MAX_RETRIES times by the service: try again
                    except ClockError as error:  # a payment must never be refused for the clock
                        refused.append(f"{key} on {on}: {error}")
                        break
            if moving and index % 5 == 4:
                try:
                    ledger.advance_to(on)
                except ClockError:
                    pass  # another process ran the clock further: nothing to do
                except ConcurrencyError:
                    surfaced += 1
        return {
            "worker": number,
            "conflicts_retried": ledger.conflicts_retried,
            "surfaced": surfaced,
            "refused": refused,
        }


def run_workers(path: str, moving: bool) -> list[dict[str, Any]]:
    with open_ledger(path, LedgerConfig(label="concurrency")) as ledger:
        for cid in ("A", "B", "S"):
            ledger.open_contract(terms(cid), on=START, idempotency_key=f"open:{cid}")
    context = multiprocessing.get_context("spawn")
    barrier = context.Manager().Barrier(WORKERS)
    with context.Pool(WORKERS) as pool:
        pending = [pool.apply_async(worker, (path, n, moving, barrier)) for n in range(WORKERS)]
        return [p.get(timeout=600) for p in pending]


def check_every_act_landed_once(path: str, results: list[dict[str, Any]]) -> None:
    refusals = [r for result in results for r in result["refused"]]
    assert not refusals, f"{len(refusals)} payments refused: {refusals[:3]}"
    expected: dict[str, tuple[str, str, Decimal]] = {}
    for n in range(WORKERS):
        for key, kind, value, _ in plan(n):
            expected[key] = (CONTRACT_OF[n], kind, value)
    with open_ledger(path) as ledger:
        keyed: Counter[str] = Counter()
        got: dict[str, tuple[str, str, Decimal]] = {}
        with ledger.store.connection() as conn:  # the key sits on an append's first row
            rows = conn.exec_driver_sql(
                "SELECT position, idempotency_key FROM events WHERE idempotency_key IS NOT NULL"
            ).all()
        key_at = {position: key for position, key in rows}
        payments = 0
        for entry in ledger.entries():
            event = entry.event
            if isinstance(event, ev.DepositReceived | ev.RentReceived):
                payments += 1
                found = key_at.get(entry.position)
                assert found is not None, f"a payment without its key at {entry.position}"
                keyed[found] += 1
                kind = "deposit" if isinstance(event, ev.DepositReceived) else "rent"
                got[found] = (entry.stream.removeprefix("contract:"), kind, event.amount)
        doubled = [k for k, n in keyed.items() if n > 1]
        assert not doubled, f"applied more than once: {doubled}"
        assert set(got) == set(expected), (
            f"lost: {sorted(set(expected) - set(got))[:10]}, extra: {set(got) - set(expected)}"
        )
        assert got == expected
        assert payments == len(expected)
        for key in expected:
            assert ledger.store.idempotency_result(key) is not None
        check_invariants(ledger)
        check_read_models(ledger)  # four writers' read models equal a rebuild from the events
        result = audit(ledger.store)
        assert result.ok, result.line()
        live = build_report(ledger, "concurrency")
    with open_ledger(path) as again:
        assert build_report(again, "concurrency") == live


def test_four_processes_on_one_ledger_lose_nothing_and_duplicate_nothing(tmp_path: Path) -> None:
    path = str(tmp_path / "shared.db")
    started = time.perf_counter()
    results = run_workers(path, moving=False)
    check_every_act_landed_once(path, results)
    retried = sum(r["conflicts_retried"] for r in results)
    record("concurrency_processes", WORKERS)
    record("concurrency_acts_delivered", 2 * sum(len(plan(n)) for n in range(WORKERS)))
    record("concurrency_conflicts_retried", retried)
    record("concurrency_conflicts_surfaced", sum(r["surfaced"] for r in results))
    record("concurrency_seconds", round(time.perf_counter() - started, 1))
    record("concurrency_max_retries", MAX_RETRIES)
    # Writers are serial (one write transaction per act, under the append lock): the two
    # workers on one contract wait for each other instead of colliding.
    assert retried == 0, results
    assert sum(r["surfaced"] for r in results) == 0, results


def test_processes_moving_the_clock_lose_no_payment(tmp_path: Path) -> None:
    path = str(tmp_path / "shared.db")
    results = run_workers(path, moving=True)
    record(
        "concurrency_moving_clock_conflicts_retried", sum(r["conflicts_retried"] for r in results)
    )
    record("concurrency_moving_clock_payments_refused", sum(len(r["refused"]) for r in results))
    check_every_act_landed_once(path, results)


# --- another process's writes, deterministically --------------------------------------------------


def theirs_write_first(ours: Any, theirs: Any, monkeypatch: Any, contract: str) -> None:
    """Another process pays 1.00 into ``contract`` just before our next transaction begins:
    after we last read (and cached) that contract, before we act again."""
    transaction = ours.store.transaction
    sneaked: list[bool] = []

    def theirs_first() -> Any:
        if not sneaked:
            sneaked.append(True)
            theirs.pay_deposit(contract, Decimal("1.00"), on=START, idempotency_key="theirs")
        return transaction()

    monkeypatch.setattr(ours.store, "transaction", theirs_first)


def test_another_process_write_is_read_before_acting(tmp_path: Path, monkeypatch: Any) -> None:
    """Another process appends to a contract this one holds in its cache: the act reads the
    stream's version inside its transaction, folds the newer event, and decides on it."""
    path = str(tmp_path / "shared.db")
    with open_ledger(path) as ours, open_ledger(path) as theirs:
        ours.open_contract(terms("S"), on=START)
        ours.balances("S")  # S cached at version 1
        theirs_write_first(ours, theirs, monkeypatch, "S")
        ours.pay_deposit("S", Decimal("2.00"), on=START, idempotency_key="ours")
        assert ours.conflicts_retried == 0
        lots = [t.principal for t in ours.transfers("S") if t.kind == "payment_in"]
        assert lots == [Decimal("1.00"), Decimal("2.00")]
        # 5,000 deposit asked; 1.00 + 2.00 paid: both short payments flagged, in order.
        assert ours.balances("S").deposit.principal == Decimal("3.00")
        check_invariants(ours)


def two_contracts_due_together(ours: Any) -> dt.date:
    """A and B each prepay 12 months of rent of 1,000.00 on 2025-03-03; their next rent tranche
    falls due on one day (the schedule reads 2025-04-03 for both), which is returned."""
    for cid in ("A", "B"):
        ours.open_contract(terms(cid), on=START)
        ours.pay_rent(cid, Decimal("12000.00"), on=START)
    due = {d.date for d in ours.deadlines() if d.kind == "release"}
    assert len(due) == 1, due
    day: dt.date = due.pop()
    return day


def releases_on(ledger: Any, day: dt.date) -> list[tuple[int, str]]:
    return [
        (e.position, e.stream)
        for e in ledger.entries()
        if isinstance(e.event, ev.PayoutInstructed) and e.event.on == day
    ]


def test_the_clock_runs_every_due_contract_after_another_process_wrote_to_one(
    tmp_path: Path, monkeypatch: Any
) -> None:
    """The clock takes the contracts due on a day from the schedule table and ticks them in id
    order. Another process wrote to A since this one cached it: A is brought forward, and B
    (due the same day) is released too."""
    path = str(tmp_path / "shared.db")
    with open_ledger(path) as ours, open_ledger(path) as theirs:
        day = two_contracts_due_together(ours)
        theirs_write_first(ours, theirs, monkeypatch, "A")
        ours.advance_to(day)
        assert ours.conflicts_retried == 0
        assert [stream for _, stream in releases_on(ours, day)] == ["contract:A", "contract:B"]
        assert all(d.date > day for d in ours.deadlines())  # nothing left behind
        check_invariants(ours)


def test_a_payment_whose_clock_run_comes_first_is_its_keys_first_row(
    tmp_path: Path, monkeypatch: Any
) -> None:
    """A payment on a day releases fall due: the clock's releases (A's, then B's) are appended
    before the payment, so the payment is the first row of its own append (with the key)."""
    path = str(tmp_path / "shared.db")
    with open_ledger(path) as ours, open_ledger(path) as theirs:
        day = two_contracts_due_together(ours)
        theirs_write_first(ours, theirs, monkeypatch, "A")
        ours.pay_deposit("B", Decimal("2.00"), on=day, idempotency_key="ours")
        with ours.store.connection() as conn:
            (key_position,) = conn.exec_driver_sql(
                "SELECT position FROM events WHERE idempotency_key = 'ours'"
            ).one()
        by_position = {e.position: e for e in ours.entries()}
        assert isinstance(by_position[key_position].event, ev.DepositReceived)
        released = releases_on(ours, day)
        assert [stream for _, stream in released] == ["contract:A", "contract:B"]
        assert all(position < key_position for position, _ in released)
        check_invariants(ours)


def test_conflicts_are_retried_a_bounded_number_of_times(tmp_path: Path, monkeypatch: Any) -> None:
    """A store that always refuses: MAX_RETRIES attempts, then ConcurrencyError; nothing written."""
    path = str(tmp_path / "busy.db")
    with open_ledger(path) as ledger:
        ledger.open_contract(terms("S"), on=START)
        before = ledger.store.last_position()
        calls: list[int] = []

        def always_refused(writes: Any, idempotency_key: Any = None, request: Any = None) -> Any:
            calls.append(1)
            raise ConcurrencyError("stream 'contract:S' moved on")

        monkeypatch.setattr(ledger.store, "append_many", always_refused)
        try:
            ledger.pay_deposit("S", Decimal("1.00"), on=START, idempotency_key="k")
        except ConcurrencyError:
            pass
        else:
            raise AssertionError("the conflict did not surface")
        monkeypatch.undo()
        assert len(calls) == MAX_RETRIES
        assert ledger.conflicts_retried == MAX_RETRIES - 1
        assert ledger.store.last_position() == before
        assert ledger.store.idempotency_result("k") is None
