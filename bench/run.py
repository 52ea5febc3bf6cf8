#!/usr/bin/env python
"""Benchmarks of the escrow ledger: what it costs next to the plainest way of doing the same work.

Reproduce::

    pip install -e '.[bench]' && python bench/run.py --json

``--quick`` runs smaller sizes (minutes, not hours) and says so in the table and the JSON;
``--only NAME[,NAME]`` runs a subset (append, simulate, simulate_100k, as_of, query, open,
act, rebuild, workers, growth, tree, http). The benchmark
measures: it exits 0 whether or not a target is met, 1 if a measurement itself failed and 2 on
bad arguments. A table goes to stdout; with ``--json`` the last line of stdout is one JSON
object (the keys below, null when not measured, plus details and ``machine``). Progress goes to
stderr. Every database is made in a temporary directory, except the as-of store: it is kept in
``bench/.cache/`` and reused (``--keep-cache``, the default); ``--rebuild-cache`` makes it anew,
``--no-keep-cache`` builds it in the temporary directory and throws it away. The figures of
issue 16 (open, query, act, rebuild, workers, simulate_100k) use only the ledger's public API
(``open_ledger``, ``contract_ids``, ``today``, ``balances``, ``transfers``, ``deadlines``,
``open_contract``, ``pay_deposit``, ``pay_rent``, ``conflicts_retried``) and the CLI, never
escrow's internals, so that they measure whatever the ledger does inside.

The figures (JSON keys):

``append_vs_sqlite``
    escrow's append throughput (events/s) divided by raw ``sqlite3``'s, both writing N events
    in ONE transaction. Events come from a small ``escrow simulate`` run read back with
    ``store.read_all()``; N of them (10,000; quick 5,000) are planned stream by stream into
    batches of B events (500; each stream at most once per batch, a long stream continues in
    the next). Escrow appends the batches with ``open_store(path, CODEC).append_batches(...)``
    (its unit of work: one transaction, one commit); its time includes encoding, the hash
    chain, the optimistic-concurrency checks and the chain head. The raw side inserts the same
    rows, serialised beforehand with ``CODEC.encode``, into a table created from escrow's own
    DDL (copied from ``sqlite_master``, so the same columns, keys and unique indexes; the hash
    columns hold a constant 64-character text, the hashing being escrow's work), with one
    ``executemany`` in one transaction, journal_mode=WAL, synchronous=FULL, commit once. Best
    of 5 runs on each side, each on a fresh file, the sides taking turns within each round (a
    shared host is noisy: a slow spell then falls on both sides, not on one). The table also
    shows escrow with a commit per batch (``append_many`` per call).
``append_vs_sqlite_no_hash``, ``append_vs_sqlite_no_hash_tree``
    the same ratio with escrow's row hash replaced by a constant, then with its Merkle step a
    no-op as well (taking turns with the others; the stores they write do not verify): what
    the append costs without the hashing, the floor ``append_vs_sqlite`` is held to.
``append_vs_eventsourcing``
    escrow's append throughput with a transaction per batch (``append_many`` per call) divided
    by the ``eventsourcing`` package's SQLite recorder (``SQLiteDatastore`` +
    ``SQLiteApplicationRecorder.insert_events``, which like escrow keeps a global order) on a
    file, with the same batches (B events per ``insert_events`` call, one transaction each) and
    the same payload bytes (escrow's JSON text, UTF-8). ``originator_id`` is ``uuid5`` of the
    stream name; the topic is the event's ``module:Class``.
``simulate_10k_24m_s``, ``simulate_peak_rss_mib``
    wall time and peak resident memory of ``escrow simulate --contracts 10000 --months 24
    --seed 1 --db <fresh file> --json`` run as a child process, timed and measured by a small
    wrapper process with ``os.wait4`` (so the RSS is that child's own, not this process's).
    With ``--quick`` 1,000 contracts are simulated instead: the 10k key is null and
    ``simulate_quick_contracts``/``simulate_quick_s`` hold what was measured (nothing is
    extrapolated); ``simulate_peak_rss_mib`` is then the 1,000-contract run's.
``simulate_100k_12m_s``, ``simulate_100k_12m_rss_mib``
    the same for ``escrow simulate --contracts 100000 --months 12`` (measure
    ``simulate_100k``): wall time and the child's own peak RSS. With ``--quick`` 5,000
    contracts x 12 months are simulated instead: the two keys are null and
    ``simulate_100k_quick_contracts``, ``simulate_100k_quick_months``,
    ``simulate_100k_quick_s`` and ``simulate_100k_quick_rss_mib`` hold what was measured.
``as_of_p50_ms``, ``as_of_p99_ms``
    latency of ``ledger.balances(contract, as_of=day)`` for a seeded random contract and a
    seeded random day between its start and the earlier of its end and the ledger's today, in a
    store of one million events (quick: 50,000; ``as_of_store_events`` holds the number). The
    store is built once with ``escrow simulate`` into ``bench/.cache/as_of_1m.db`` (quick:
    ``as_of_50k.db``) and reused; ``as_of_open_s`` is the time ``open_ledger`` took on it (a
    replay figure at scale). 1,000 queries (quick 200), nearest-rank percentiles.
``open_1m_ms``, ``open_1m_rss_mib``
    what opening a ledger costs (measure ``open``). A fresh child process (imports done before
    the clock starts) times from before ``open_ledger(path)`` to the first query answered,
    ``ledger.balances(contract)`` of a seeded random contract, on the as-of store (1M events;
    quick 50,000). ``open_1m_rss_mib`` is that child's peak RSS (``os.wait4`` through the
    wrapper, as for simulate) minus the peak RSS of a child doing the same on an empty ledger
    created just before (its ``balances`` refused with ``UnknownContract``). The store's file
    is read once beforehand (page cache warm); 3 rounds (the two children taking turns),
    medians. ``open_empty_ms``, ``open_empty_rss_mib`` and ``open_peak_rss_mib`` are the
    children's own figures. The ``…_1m_…`` keys of this and the next three entries are null
    when the store holds fewer than 1,000,000 events (``--quick``): what was measured is then
    in the same key with ``quick`` in place of ``1m`` (``open_quick_ms``…), and
    ``scale_store_events`` always says how many events the store held.
``query_1m_p50_ms``, ``query_1m_p99_ms``
    latency of one query sample (measure ``query``): ``balances``, ``transfers`` and
    ``deadlines`` of one seeded random contract, each ``as_of`` a seeded random day of its life
    (between the dates of its first and last transfer, as ``ledger.transfers(contract)`` lists
    them, the last capped at the ledger's ``today``), on the as-of store. The three calls are
    one sample; 1,000 samples (quick 200) after 10 untimed ones, nearest-rank percentiles.
``act_1m_p50_ms``, ``raw_insert_commit_p50_ms``, ``act_1m_ratio``
    one act and its durable commit (measure ``act``): ``ledger.pay_rent(contract, "1.00",
    on=ledger.today)`` on a seeded random contract of a COPY of the as-of store (the cached
    file is never written), against a raw ``sqlite3`` single-row ``INSERT`` of an event-sized
    row and its ``COMMIT`` (a fresh file, journal_mode=WAL, synchronous=FULL), the two taking
    turns, 200 samples each (quick 50) after 3 untimed; the ratio is act p50 / raw p50. A
    contract whose rent the rules refuse (its home returned: ``EscrowError``) is passed over
    for another, untimed; ``act_refused`` counts them.
``rebuild_1m_s``
    wall time of ``escrow rebuild --db COPY`` on a copy of the as-of store (measure
    ``rebuild``; child process, ``rebuild_peak_rss_mib`` its peak RSS). While the CLI has no
    ``rebuild`` command (exit 2, "No such command"), the key is null and ``rebuild_note``
    says so; that is not counted as a failure.
``workers_conflicts``, ``workers_conflicts_retried``, ``workers_acts_per_s``
    8 processes acting at once on one PostgreSQL ledger (measure ``workers``; only with
    ``--postgres-url URL``, else null). The ledger lives in a fresh schema created for the run
    (the URL gets ``options=-csearch_path=SCHEMA``, as the PostgreSQL tests do) and dropped
    after it. Each process opens the ledger itself and acts only on its own 20 contracts (quick
    5) of its own enterprise, 10 acts each (quick 5): on the first day it opens each, pays its
    deposit and 4 months' rent (into supervision, released monthly), then on each of the next 7
    monthly anniversaries (quick 2), the days a release falls due, pays a month's rent on each.
    Every act has an idempotency key, and the processes wait for one another at the end of each
    day, so all act on the same business days (8 x 200 acts: the workload of issue 14's
    1,600). ``workers_conflicts`` counts the ``escrow.errors.ConcurrencyError`` that surfaced
    past the ledger's own retries (the act is then delivered again with the same key, at most
    20 times); ``workers_conflicts_retried`` is the sum of the ledgers' ``conflicts_retried``
    (null if the ledger has no such attribute); ``workers_acts_per_s`` the acts done divided by
    the wall time from the start signal to the last process done. ``workers_acts`` and
    ``workers_refused`` (acts refused with another ``EscrowError``) are given too.
``growth_exponent``
    slope of the least-squares line of log(wall time) over log(contracts) for ``escrow
    simulate`` with 1k, 4k and 16k contracts x 24 months (quick: 250, 500, 1000 x 12 months).
    1.0 is linear. ``growth_exponent_net`` is the same after subtracting the time of a
    1-contract, 1-month run (interpreter start and imports), and ``growth_exponent_cpu`` the
    fit over the children's CPU time (user + system), for information: wall time on a shared
    host is noisy, and the load average at start and end is printed with the machine.

``tree_append_vs_chain_unit``, ``_call``, ``_single`` (and ``…_cpu``)
    escrow's append throughput with the Merkle tree (issue 15) divided by the same store with
    the tree's step switched off (the plain hash chain: ``escrow.store.tree._grow_tree`` made a
    no-op), the two taking turns, best of at least 7 rounds: the append figure's N events in
    one transaction, in a commit per B-event call, and N/20 events in a commit each (how the
    service appends an act). ``…_cpu`` is the ratio of the process's CPU time (the fsync waits
    left out; less noisy on a shared host). ``tree_step_share_…`` is the share of the append's
    CPU time spent inside the tree step itself (median over the rounds): the figure least
    disturbed by other load, the wall-clock ratios on a busy host swinging by ±20 % run to run.
``checkpoint_ms``, ``receipt_bytes_median``, ``receipt_check_with_signature_us``, …
    (also ``receipt_proof_hashes_max``, ``receipt_make_ms``,
    ``receipt_check_without_signature_us``, ``consistency_hashes``, ``consistency_check_us``,
    ``verify_walk_eps``) on a store of ``tree_store_events`` events (1,000,000; quick
    100,000), built by appending the simulated source's streams again and again under new
    names: a checkpoint
    (``tree_head`` and an Ed25519 signature, median of 20), receipts for 100 seeded random
    events against it (JSON bytes, proof length, time to make), ``check_receipt`` with no
    database (mean of 2,000, with and without the signature check), a consistency proof from a
    random earlier size, and the walk of ``store.verify`` recomputing the root.

``http_floor_p50_ms``, ``http_pay_rent_p50_ms_w1``, ``http_balance_p50_ms_w4``, …
    the HTTP service (measure ``http``; needs the serve extra): p50 and p99 of a rent payment
    (``http_pay_rent_…``) and of a tenant's balance query (``http_balance_…``) over HTTP with
    ``escrow serve --workers 1`` (``…_w1``) and ``--workers 4`` (``…_w4``) on a copy of the
    as-of store, each beside a bare FastAPI endpoint served the same way in the same run
    (``http_floor_p50_ms_w1``/``_w4``; ``http_floor_p50_ms`` is the 1-worker floor), and the
    ratio p50 / floor p50 (``http_…_ratio_w1``/``_w4``); 300 rounds each (quick 100). Then 16
    clients at once, each paying rent on its own contract, 25 payments each (quick 10):
    ``http_acts_per_s_w4_c16`` and ``http_conflicts_w4_c16`` (answers that were not 2xx; by
    kind in ``http_conflict_kinds_w4_c16``). What exactly is timed is in the docstring of
    ``bench/http_bench.py``.

Targets (shown as pass/miss, for information only): append_vs_sqlite >= 0.5,
append_vs_eventsourcing >= 1.0, simulate 10k x 24 <= 30 s and <= 1024 MiB, simulate 100k x 12
<= 240 s and <= 400 MiB, as-of p50 <= 5 ms, open_1m_ms <= 50 ms, open_1m_rss_mib <= 50 MiB,
query_1m_p50_ms <= 5 ms, act_1m_ratio <= 3, rebuild_1m_s <= 60 s, workers_conflicts = 0,
growth exponent <= 1.1, tree_append_vs_chain >= 0.85, http p50 <= 3x the floor's,
http_conflicts_w4_c16 = 0.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext, suppress
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from dateutil.relativedelta import relativedelta
from disk import flush
from rich.console import Console
from rich.table import Table

from escrow import ConcurrencyError, ContractTerms, EscrowError, Ledger, open_ledger
from escrow.domain.event_base import Event

INTERNALS_MISSING: ImportError | None = None
try:  # escrow's store layer, for the append and tree measures only (they measure that layer)
    import escrow.store.event_store as event_store_module
    import escrow.store.tree as tree_module
    from escrow import merkle
    from escrow.service import CODEC
    from escrow.store import open_store
except ImportError as exc:  # moved by a rewrite: the measures of the public API still run
    INTERNALS_MISSING = exc

ROOT = Path(__file__).resolve().parent.parent
CACHE_DIR = Path(__file__).resolve().parent / ".cache"
SEED = 1
EVENTS_PER_CONTRACT_24M = 18
"""A first guess of events per contract over 24 months, to size the as-of store."""
STREAM_NAMESPACE = uuid.UUID("6f1d4c1e-5b0a-4e57-9a43-2f0e9c1b7d21")
PLACEHOLDER_HASH = "f" * 64

Number = int | float
Write = tuple[str, int, list[Event]]

# --- sizes ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sizes:
    name: str
    append_events: int
    append_batch: int
    repeats: int
    simulate_contracts: int
    simulate_months: int
    as_of_events: int
    as_of_queries: int
    growth_contracts: tuple[int, ...]
    growth_months: int
    tree_events: int = 1_000_000
    """Events of the store the tree's checkpoint, receipt and consistency figures are taken on."""
    open_rounds: int = 3
    """Rounds of the open measure (an empty-ledger child and a store child each)."""
    act_samples: int = 200
    big_contracts: int = 100_000
    big_months: int = 12
    """The large simulation (``simulate_100k``)."""
    workers: int = 8
    worker_contracts: int = 20
    worker_rent_months: int = 7
    """Each worker's contracts, and the monthly days it pays rent on after the opening day."""
    http_samples: int = 300
    http_acts_per_client: int = 25
    """The HTTP measure: timed rounds per worker count, payments per concurrent client."""


FULL = Sizes("full", 10_000, 500, 5, 10_000, 24, 1_000_000, 1_000, (1_000, 4_000, 16_000), 24)
QUICK = Sizes(
    "quick",
    5_000,
    500,
    5,
    1_000,
    24,
    50_000,
    200,
    (250, 500, 1_000),
    12,
    tree_events=100_000,
    act_samples=50,
    big_contracts=5_000,
    worker_contracts=5,
    worker_rent_months=2,
    http_samples=100,
    http_acts_per_client=10,
)
TINY = Sizes(
    "tiny",
    1_000,
    250,
    1,
    50,
    6,
    3_000,
    50,
    (20, 40, 80),
    6,
    tree_events=5_000,
    open_rounds=1,
    act_samples=10,
    big_contracts=100,
    big_months=6,
    worker_contracts=2,
    worker_rent_months=1,
    http_samples=10,
    http_acts_per_client=2,
)
"""Development smoke test only: the figures mean nothing."""

MEASURES = (
    "append",
    "simulate",
    "simulate_100k",
    "as_of",
    "query",
    "open",
    "act",
    "rebuild",
    "workers",
    "growth",
    "tree",
    "http",
)

# --- results ----------------------------------------------------------------------------------


@dataclass
class Row:
    measure: str
    value: str
    detail: str = ""
    target: str = ""
    verdict: str = ""


@dataclass
class Results:
    figures: dict[str, Any] = field(default_factory=dict)
    rows: list[Row] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def row(
        self,
        measure: str,
        value: str,
        detail: str = "",
        target: str = "",
        ok: bool | None = None,
        note: str = "",
    ) -> None:
        verdict = "" if ok is None else ("pass" if ok else "miss")
        if note and verdict:
            verdict = f"{verdict} ({note})"
        elif note:
            verdict = note
        self.rows.append(Row(measure, value, detail, target, verdict))


def _rounded(x: float | None, digits: int = 4) -> float | None:
    if x is None or math.isnan(x) or math.isinf(x):
        return None
    return round(x, digits)


def _fmt(x: float, unit: str = "") -> str:
    text = f"{x:,.0f}" if abs(x) >= 100 else f"{x:,.3g}" if abs(x) < 1 else f"{x:,.2f}"
    return f"{text} {unit}".strip()


# --- child processes --------------------------------------------------------------------------


@dataclass(frozen=True)
class ChildRun:
    seconds: float
    cpu_seconds: float
    peak_rss_mib: float
    stdout: str
    returncode: int = 0
    stderr: str = ""


_WRAPPER = """
import os, subprocess, sys, time
report, argv = sys.argv[1], sys.argv[2:]
start = time.perf_counter()
proc = subprocess.Popen(argv)
_, status, usage = os.wait4(proc.pid, 0)
seconds = time.perf_counter() - start
proc.returncode = os.waitstatus_to_exitcode(status)
with open(report, "w") as f:
    cpu = usage.ru_utime + usage.ru_stime
    f.write(f"{seconds!r} {cpu!r} {usage.ru_maxrss} {proc.returncode}")
"""
"""Runs the measured command as its own child and reports its wall time and ``ru_maxrss``.

A small interposed process, because Linux starts a child's ``ru_maxrss`` at the RSS of the
process it was forked (or vforked) from: measured straight from this process, whose memory grows
while it benchmarks, the figure would be at least this process's size."""


def best_interleaved(repeats: int, timers: dict[str, Callable[[], float]]) -> dict[str, float]:
    """The best time of each timer over ``repeats`` rounds in which the timers take turns, so a
    slow spell of the shared host falls on both sides of a ratio rather than on one."""
    best = {name: math.inf for name in timers}
    for _ in range(repeats):
        for name, timer in timers.items():
            best[name] = min(best[name], timer())
    return best


def run_child(argv: Sequence[str], workdir: Path, *, check: bool = True) -> ChildRun:
    """Run ``argv``: its wall time and its own peak RSS (``os.wait4`` in a small wrapper).

    A non-zero exit raises, unless ``check`` is false (the caller reads ``returncode``)."""
    out_path = workdir / f"child-{time.monotonic_ns()}.out"
    err_path = out_path.with_suffix(".err")
    report_path = out_path.with_suffix(".rusage")
    wrapped = [sys.executable, "-I", "-c", _WRAPPER, str(report_path), *argv]
    with out_path.open("wb") as out, err_path.open("wb") as err:
        subprocess.run(wrapped, stdout=out, stderr=err, stdin=subprocess.DEVNULL, check=True)
    stdout = out_path.read_text()
    stderr = err_path.read_text()
    seconds_text, cpu_text, maxrss_text, code_text = report_path.read_text().split()
    for path in (out_path, err_path, report_path):
        path.unlink()
    if check and int(code_text) != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {code_text}: {stderr.strip()[-2000:]}")
    # ru_maxrss: KiB on Linux, bytes on macOS.
    kib = int(maxrss_text) / 1024 if sys.platform == "darwin" else int(maxrss_text)
    return ChildRun(
        float(seconds_text), float(cpu_text), kib / 1024, stdout, int(code_text), stderr
    )


def escrow_command() -> list[str]:
    """How to run the CLI: ``python -m escrow`` with this interpreter."""
    return [sys.executable, "-m", "escrow"]


@dataclass(frozen=True)
class SimRun:
    contracts: int
    months: int
    seconds: float
    cpu_seconds: float
    peak_rss_mib: float
    events: int


def count_events(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM events").fetchone()[0])


def simulate(contracts: int, months: int, db: Path, workdir: Path, err: Console) -> SimRun:
    """``escrow simulate`` into a fresh ``db`` as a child process, timed."""
    if db.exists():
        raise RuntimeError(f"{db} already exists: simulate needs a fresh file")
    err.log(f"escrow simulate --contracts {contracts} --months {months} …")
    argv = [*escrow_command(), "simulate", "--contracts", str(contracts)]
    argv += ["--months", str(months), "--seed", str(SEED), "--db", str(db), "--json"]
    child = run_child(argv, workdir)
    summary = json.loads(child.stdout)
    events = count_events(db)
    if summary.get("events") != events or summary.get("contracts") != contracts:
        raise RuntimeError(f"simulate summary {summary} does not match the {events} events stored")
    err.log(
        f"  {events:,} events in {child.seconds:.1f} s (CPU {child.cpu_seconds:.1f} s),"
        f" peak RSS {child.peak_rss_mib:.0f} MiB"
    )
    return SimRun(contracts, months, child.seconds, child.cpu_seconds, child.peak_rss_mib, events)


# --- the run ----------------------------------------------------------------------------------


class Bench:
    def __init__(
        self,
        sizes: Sizes,
        workdir: Path,
        err: Console,
        *,
        keep_cache: bool,
        rebuild_cache: bool,
        postgres_url: str | None = None,
    ) -> None:
        self.sizes = sizes
        self.workdir = workdir
        self.err = err
        self.keep_cache = keep_cache
        self.rebuild_cache = rebuild_cache
        self.postgres_url = postgres_url
        self.results = Results()
        self._sources: list[tuple[Path, int]] = []
        self.as_of_stores: dict[int, tuple[Path, dict[str, Any], bool]] = {}
        """The as-of stores made or found in this run, by target (made once per run)."""
        self.scale_plan: ScalePlan | None = None

    def fresh(self, name: str) -> Path:
        """A path for a new database in its own temporary directory."""
        return Path(tempfile.mkdtemp(prefix=f"{name}-", dir=self.workdir)) / f"{name}.db"

    def source_db(self, min_events: int) -> tuple[Path, int]:
        """A simulated ledger with at least ``min_events`` events (made once, 24 months)."""
        for path, events in self._sources:
            if events >= min_events:
                return path, events
        contracts = math.ceil(min_events / EVENTS_PER_CONTRACT_24M * 1.2)
        for _ in range(4):
            path = self.fresh("source")
            run = simulate(contracts, 24, path, self.workdir, self.err)
            if run.events >= min_events:
                self._sources.append((path, run.events))
                return path, run.events
            contracts = math.ceil(contracts * min_events / max(run.events, 1) * 1.1)
        raise RuntimeError(f"could not simulate {min_events} events")


# --- append -----------------------------------------------------------------------------------


def plan_batches(by_stream: dict[str, list[Event]], total: int, batch: int) -> list[list[Write]]:
    """``total`` events as append_many calls of ``batch`` events, stream by stream."""
    batches: list[list[Write]] = []
    current: list[Write] = []
    filled = taken = 0
    for stream, events in by_stream.items():
        offset = 0
        while offset < len(events) and taken < total:
            take = min(batch - filled, len(events) - offset, total - taken)
            current.append((stream, offset, events[offset : offset + take]))
            offset += take
            filled += take
            taken += take
            if filled == batch:
                batches.append(current)
                current, filled = [], 0
        if taken >= total:
            break
    if current:
        batches.append(current)
    if taken < total:
        raise RuntimeError(f"only {taken} events to append, {total} wanted")
    return batches


def time_escrow_append(batches: list[list[Write]], path: Path, *, one_transaction: bool) -> float:
    """Escrow appending ``batches``: each in its own transaction (``append_many`` per call), or
    all in one (``append_batches``, a unit of work: what the raw baseline does)."""
    store = open_store(str(path), CODEC)
    try:
        start = time.perf_counter()
        if one_transaction:
            store.append_batches([(writes, None) for writes in batches])
        else:
            for writes in batches:
                store.append_many(writes)
        seconds = time.perf_counter() - start
        report = store.verify()
        if not report.ok:
            raise RuntimeError(f"escrow store does not verify: {report.reason}")
    finally:
        store.close()
    return seconds


def time_escrow_append_without(
    batches: list[list[Write]], path: Path, *, tree: bool
) -> float:
    """:func:`time_escrow_append` in one transaction with the row hash a constant and, unless
    ``tree``, the Merkle step a no-op (:func:`chain_only`): what escrow's append costs without
    them, the floor the append ratios are held to. The store it writes does not verify."""
    with row_hash_constant(), nullcontext() if tree else chain_only():
        store = open_store(str(path), CODEC)
        try:
            start = time.perf_counter()
            store.append_batches([(writes, None) for writes in batches])
            return time.perf_counter() - start
        finally:
            store.close()


@contextmanager
def row_hash_constant() -> Iterator[None]:
    """Appends whose row hash is a constant (``escrow.store.event_store._chain_hash``)."""
    appends = vars(event_store_module)
    saved = appends["_chain_hash"]
    appends["_chain_hash"] = lambda *_: "ab" * 32
    try:
        yield
    finally:
        appends["_chain_hash"] = saved


def time_encode(events: list[Event]) -> float:
    encode = CODEC.encode
    start = time.perf_counter()
    for event in events:
        encode(event)
    return time.perf_counter() - start


def escrow_ddl(workdir: Path) -> list[str]:
    """The SQL that made escrow's ``events`` table and its indexes (from ``sqlite_master``)."""
    path = workdir / "ddl.db"
    open_store(str(path), CODEC).close()
    with sqlite3.connect(path) as conn:
        rows = conn.execute(
            "SELECT sql FROM sqlite_master WHERE tbl_name = 'events' AND sql IS NOT NULL"
            " ORDER BY type DESC"  # the table before its indexes
        ).fetchall()
    return [r[0] for r in rows]


def raw_rows(batches: list[list[Write]]) -> list[tuple[Any, ...]]:
    """The rows escrow would write, each event serialised once; hash columns constant."""
    recorded_at = dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")
    rows: list[tuple[Any, ...]] = []
    position = 0
    for writes in batches:
        for stream, expected, events in writes:
            for i, event in enumerate(events):
                position += 1
                type_, data = CODEC.encode(event)
                rows.append(
                    (
                        position,
                        stream,
                        expected + i + 1,
                        type_,
                        event.on.isoformat(),
                        recorded_at,
                        data,
                        None,
                        PLACEHOLDER_HASH,
                        PLACEHOLDER_HASH,
                    )
                )
    return rows


def time_raw_append(ddl: list[str], rows: list[tuple[Any, ...]], path: Path) -> float:
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        for statement in ddl:
            conn.execute(statement)
        columns = "position, stream, version, type, effective_date, recorded_at, data"
        columns += ", idempotency_key, prev_hash, hash"
        sql = f"INSERT INTO events ({columns}) VALUES ({', '.join('?' * 10)})"
        start = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(sql, rows)
        conn.execute("COMMIT")
        seconds = time.perf_counter() - start
        stored = conn.execute("SELECT COUNT(*) FROM events").fetchone()[0]
    finally:
        conn.close()
    if stored != len(rows):
        raise RuntimeError(f"raw sqlite stored {stored} rows, not {len(rows)}")
    return seconds


def eventsourcing_batches(batches: list[list[Write]]) -> tuple[list[list[Any]], str]:
    from eventsourcing.persistence import StoredEvent as ESStoredEvent

    out: list[list[Any]] = []
    for writes in batches:
        chunk: list[Any] = []
        for stream, expected, events in writes:
            originator = uuid.uuid5(STREAM_NAMESPACE, stream)
            for i, event in enumerate(events):
                _, data = CODEC.encode(event)
                cls = type(event)
                chunk.append(
                    ESStoredEvent(
                        originator_id=originator,
                        originator_version=expected + i + 1,
                        topic=f"{cls.__module__}:{cls.__qualname__}",
                        state=data.encode(),
                    )
                )
        out.append(chunk)
    import eventsourcing

    version = getattr(eventsourcing, "__version__", None)
    if version is None:
        from importlib.metadata import version as dist_version

        version = dist_version("eventsourcing")
    return out, str(version)


def time_eventsourcing_append(batches: list[list[Any]], path: Path) -> tuple[float, int]:
    from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteDatastore

    datastore = SQLiteDatastore(str(path))
    try:
        recorder = SQLiteApplicationRecorder(datastore)
        recorder.create_table()
        with datastore.transaction(commit=False) as cursor:
            cursor.execute("PRAGMA synchronous")
            synchronous = int(cursor.fetchone()[0])
        start = time.perf_counter()
        for chunk in batches:
            recorder.insert_events(chunk)
        seconds = time.perf_counter() - start
        stored = recorder.max_notification_id()
    finally:
        datastore.close()
    expected = sum(len(c) for c in batches)
    if stored != expected:
        raise RuntimeError(f"eventsourcing stored {stored} events, not {expected}")
    return seconds, synchronous


def need_internals(measure: str) -> None:
    """The append and tree measures reach into escrow's store layer: say so if it moved."""
    if INTERNALS_MISSING is not None:
        raise RuntimeError(
            f"{measure} measures escrow's store layer, which this escrow does not have where the"
            f" bench looks for it ({INTERNALS_MISSING}): update bench/run.py's imports"
        )


def measure_append(b: Bench) -> None:
    need_internals("append")
    n, batch, repeats = b.sizes.append_events, b.sizes.append_batch, b.sizes.repeats
    source, _ = b.source_db(n)
    store = open_store(str(source), CODEC)
    try:
        by_stream: dict[str, list[Event]] = {}
        for stored in store.read_all():
            by_stream.setdefault(stored.stream, []).append(stored.event)
    finally:
        store.close()
    batches = plan_batches(by_stream, n, batch)
    streams = len({w[0] for writes in batches for w in writes})
    shape = f"{n:,} events, {len(batches)} calls of {batch} events, {streams:,} streams"
    fig = b.results.figures
    fig["append_events"] = n
    fig["append_batch_events"] = batch

    b.err.log(f"append: escrow, raw sqlite3 and eventsourcing, taking turns ({shape})")
    ddl = escrow_ddl(b.workdir)
    rows = raw_rows(batches)
    try:
        es_batches, es_version = eventsourcing_batches(batches)
    except ImportError:
        es_batches, es_version = None, None
    synchronous_seen: list[int] = []

    def time_es() -> float:
        assert es_batches is not None
        seconds, synchronous = time_eventsourcing_append(es_batches, b.fresh("es-append"))
        synchronous_seen.append(synchronous)
        return seconds

    timers: dict[str, Callable[[], float]] = {
        "per_call": lambda: time_escrow_append(
            batches, b.fresh("escrow-append"), one_transaction=False
        ),
        "unit": lambda: time_escrow_append(batches, b.fresh("escrow-unit"), one_transaction=True),
        "raw": lambda: time_raw_append(ddl, rows, b.fresh("raw-append")),
        "no_hash": lambda: time_escrow_append_without(batches, b.fresh("no-hash"), tree=True),
        "no_hash_tree": lambda: time_escrow_append_without(
            batches, b.fresh("no-hash-tree"), tree=False
        ),
    }
    if es_batches is not None:
        timers["eventsourcing"] = time_es
    best = best_interleaved(repeats, timers)
    per_call_s, escrow_s, raw_s = best["per_call"], best["unit"], best["raw"]
    per_call_eps = n / per_call_s
    fig["escrow_append_per_call_eps"] = _rounded(per_call_eps, 1)
    b.results.row(
        "append: escrow, a commit per call",
        _fmt(per_call_eps, "events/s"),
        f"append_many, {shape}, best of {repeats}",
    )
    escrow_eps = n / escrow_s
    fig["escrow_append_eps"] = _rounded(escrow_eps, 1)
    b.results.row(
        "append: escrow, one transaction",
        _fmt(escrow_eps, "events/s"),
        f"append_batches (a unit of work): the same {len(batches)} calls' batches,"
        f" one commit, best of {repeats}",
    )

    events = [e for writes in batches for _, _, chunk in writes for e in chunk]
    encode_s = min(time_encode(events) for _ in range(repeats))
    fig["escrow_encode_eps"] = _rounded(n / encode_s, 1)
    b.results.row(
        "  of which encoding",
        f"{encode_s / escrow_s:.0%}",
        f"CODEC.encode alone: {n / encode_s:,.0f} events/s (the baselines get encoded rows)",
    )

    raw_eps = n / raw_s
    ratio = escrow_eps / raw_eps
    fig["raw_append_eps"] = _rounded(raw_eps, 1)
    fig["append_vs_sqlite"] = _rounded(ratio)
    b.results.row(
        "append: raw sqlite3",
        _fmt(raw_eps, "events/s"),
        f"one executemany, one transaction, WAL, synchronous=FULL, best of {repeats}",
    )
    b.results.row(
        "append_vs_sqlite",
        f"{ratio:.3f}",
        "escrow (one transaction) / raw sqlite3 (one transaction)",
        ">= 0.5",
        ratio >= 0.5,
    )
    for key, label, what in (
        ("no_hash", "without the row hash", "the row hash a constant"),
        ("no_hash_tree", "without the row hash and the tree", "and the Merkle step a no-op"),
    ):
        floor = raw_s / best[key]
        fig[f"append_vs_sqlite_{key}"] = _rounded(floor)
        b.results.row(
            f"  escrow {label}",
            f"{floor:.3f}",
            f"the same append, {what}: {n / best[key]:,.0f} events/s (what is left to"
            " the ratio once the hashing is gone)",
        )

    if es_batches is None:
        fig["append_vs_eventsourcing"] = None
        b.results.row(
            "append_vs_eventsourcing",
            "—",
            "eventsourcing not installed: pip install -e '.[bench]'",
            ">= 1.0",
            note="not run",
        )
        return
    es_s = best["eventsourcing"]
    synchronous = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}.get(
        synchronous_seen[0], str(synchronous_seen[0])
    )
    es_eps = n / es_s
    ratio = per_call_eps / es_eps  # both a transaction per call
    fig["eventsourcing_append_eps"] = _rounded(es_eps, 1)
    fig["append_vs_eventsourcing"] = _rounded(ratio)
    b.results.row(
        f"append: eventsourcing {es_version}",
        _fmt(es_eps, "events/s"),
        f"SQLiteApplicationRecorder.insert_events, {len(batches)} calls of {batch} events,"
        f" WAL, synchronous={synchronous} (its default), best of {repeats}",
    )
    b.results.row(
        "append_vs_eventsourcing",
        f"{ratio:.3f}",
        "escrow (a commit per call) / eventsourcing (a commit per call)",
        ">= 1.0",
        ratio >= 1.0,
    )


# --- simulate ---------------------------------------------------------------------------------


def measure_simulate(b: Bench) -> None:
    contracts, months = b.sizes.simulate_contracts, b.sizes.simulate_months
    run = simulate(contracts, months, b.fresh("simulate"), b.workdir, b.err)
    fig = b.results.figures
    full = contracts == 10_000 and months == 24
    fig["simulate_10k_24m_s"] = _rounded(run.seconds, 2) if full else None
    if not full:
        fig["simulate_quick_contracts"] = contracts
        fig["simulate_quick_months"] = months
        fig["simulate_quick_s"] = _rounded(run.seconds, 2)
    fig["simulate_peak_rss_mib"] = _rounded(run.peak_rss_mib, 1)
    fig["simulate_events"] = run.events
    fig["simulate_cpu_s"] = _rounded(run.cpu_seconds, 2)
    label = f"simulate {contracts:,} x {months}m"
    detail = f"{run.events:,} events, {run.events / run.seconds:,.0f} events/s,"
    detail += f" CPU {run.cpu_seconds:.1f} s, child process"
    if full:
        b.results.row(label, _fmt(run.seconds, "s"), detail, "<= 30 s", run.seconds <= 30)
        b.results.row(
            "simulate peak RSS",
            _fmt(run.peak_rss_mib, "MiB"),
            "os.wait4 ru_maxrss of the child",
            "<= 1024 MiB",
            run.peak_rss_mib <= 1024,
        )
    else:
        note = f"not comparable: {contracts:,} contracts, not 10k"
        b.results.row(label, _fmt(run.seconds, "s"), detail, "<= 30 s (10k)", note=note)
        b.results.row(
            "simulate peak RSS",
            _fmt(run.peak_rss_mib, "MiB"),
            f"os.wait4 ru_maxrss of the {contracts:,}-contract child",
            "<= 1024 MiB (10k)",
            note=note,
        )


def measure_simulate_100k(b: Bench) -> None:
    """``simulate_100k_12m_s`` and its RSS: the large simulation (quick: smaller, said so)."""
    contracts, months = b.sizes.big_contracts, b.sizes.big_months
    run = simulate(contracts, months, b.fresh("simulate-large"), b.workdir, b.err)
    fig = b.results.figures
    full = contracts == 100_000 and months == 12
    fig["simulate_100k_12m_s"] = _rounded(run.seconds, 2) if full else None
    fig["simulate_100k_12m_rss_mib"] = _rounded(run.peak_rss_mib, 1) if full else None
    if not full:
        fig["simulate_100k_quick_contracts"] = contracts
        fig["simulate_100k_quick_months"] = months
        fig["simulate_100k_quick_s"] = _rounded(run.seconds, 2)
        fig["simulate_100k_quick_rss_mib"] = _rounded(run.peak_rss_mib, 1)
    fig["simulate_100k_events"] = run.events
    fig["simulate_100k_cpu_s"] = _rounded(run.cpu_seconds, 2)
    label = f"simulate {contracts:,} x {months}m"
    detail = f"{run.events:,} events, {run.events / run.seconds:,.0f} events/s,"
    detail += f" CPU {run.cpu_seconds:.1f} s, child process"
    rss_label = f"simulate {contracts:,} x {months}m peak RSS"
    rss_detail = f"os.wait4 ru_maxrss of the {contracts:,}-contract child"
    if full:
        b.results.row(label, _fmt(run.seconds, "s"), detail, "<= 240 s", run.seconds <= 240)
        b.results.row(
            rss_label,
            _fmt(run.peak_rss_mib, "MiB"),
            rss_detail,
            "<= 400 MiB",
            run.peak_rss_mib <= 400,
        )
    else:
        note = f"not comparable: {contracts:,} x {months}m, not 100k x 12m"
        b.results.row(label, _fmt(run.seconds, "s"), detail, "<= 240 s (100k)", note=note)
        b.results.row(
            rss_label, _fmt(run.peak_rss_mib, "MiB"), rss_detail, "<= 400 MiB (100k)", note=note
        )


# --- as of ------------------------------------------------------------------------------------


def _label(events: int) -> str:
    return f"{events // 1_000_000}m" if events % 1_000_000 == 0 else f"{events // 1_000}k"


def build_as_of_store(b: Bench, target: int, path: Path) -> dict[str, Any]:
    """Simulate until the store holds at least ``target`` events; the build record."""
    months = 24
    contracts = math.ceil(target / EVENTS_PER_CONTRACT_24M * 1.03)
    for _ in range(4):
        building = path.with_name(path.stem + ".building.db")
        for leftover in path.parent.glob(building.name + "*"):
            leftover.unlink()
        run = simulate(contracts, months, building, b.workdir, b.err)
        if run.events >= target:
            with sqlite3.connect(building) as conn:
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            for suffix in ("-wal", "-shm"):
                Path(str(building) + suffix).unlink(missing_ok=True)
            os.replace(building, path)
            return {
                "events": run.events,
                "contracts": contracts,
                "months": months,
                "seed": SEED,
                "build_s": round(run.seconds, 1),
                "built_with_commit": git_commit(),
                "built_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            }
        b.err.log(f"  {run.events:,} events < {target:,}: more contracts")
        contracts = math.ceil(contracts * target / max(run.events, 1) * 1.02)
    raise RuntimeError(f"could not simulate {target:,} events")


def as_of_store(b: Bench, target: int) -> tuple[Path, dict[str, Any], bool]:
    """The as-of store: (path, build record, reused); found or made once per run."""
    if target not in b.as_of_stores:
        b.as_of_stores[target] = find_or_build_as_of_store(b, target)
    return b.as_of_stores[target]


def find_or_build_as_of_store(b: Bench, target: int) -> tuple[Path, dict[str, Any], bool]:
    if not b.keep_cache:
        path = b.fresh(f"as_of_{_label(target)}")
        return path, build_as_of_store(b, target, path), False
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    path = CACHE_DIR / f"as_of_{_label(target)}.db"
    record_path = path.with_suffix(".json")
    if not b.rebuild_cache and path.exists() and record_path.exists():
        record = json.loads(record_path.read_text())
        if int(record.get("events", 0)) >= target:
            b.err.log(f"as_of: reusing the cached store {path} ({record['events']:,} events)")
            return path, record, True
    for stale in CACHE_DIR.glob(path.name + "*"):
        stale.unlink()
    record_path.unlink(missing_ok=True)
    record = build_as_of_store(b, target, path)
    record_path.write_text(json.dumps(record, indent=2) + "\n")
    return path, record, False


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of already sorted values."""
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def measure_as_of(b: Bench) -> None:
    target, queries = b.sizes.as_of_events, b.sizes.as_of_queries
    path, record, reused = as_of_store(b, target)
    events = count_events(path)
    b.err.log(f"as_of: open_ledger on {events:,} events")
    start = time.perf_counter()
    try:
        ledger = open_ledger(str(path))
    except EscrowError as exc:
        if not reused:
            raise
        raise RuntimeError(
            f"the cached {path} cannot be opened by this escrow ({exc});"
            " run again with --rebuild-cache"
        ) from exc
    open_s = time.perf_counter() - start
    try:
        rng = random.Random(SEED)
        ids = ledger.contract_ids()
        today = ledger.today
        plan: list[tuple[str, dt.date]] = []
        for _ in range(queries):
            cid = rng.choice(ids)
            terms = ledger.state_as_of(cid).terms
            last = min(terms.end, today)
            span = max((last - terms.start).days, 0)
            plan.append((cid, terms.start + dt.timedelta(days=rng.randint(0, span))))
        for cid, day in plan[:10]:  # warm-up, untimed
            ledger.balances(cid, as_of=day)
        b.err.log(f"as_of: {queries} queries")
        latencies: list[float] = []
        failures = 0
        for cid, day in plan:
            t0 = time.perf_counter_ns()
            try:
                ledger.balances(cid, as_of=day)
            except EscrowError:
                failures += 1
                continue
            latencies.append((time.perf_counter_ns() - t0) / 1e6)
    finally:
        ledger.close()
    if not latencies:
        raise RuntimeError("every as-of query failed")
    latencies.sort()
    p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
    fig = b.results.figures
    fig["as_of_p50_ms"] = _rounded(p50, 3)
    fig["as_of_p99_ms"] = _rounded(p99, 3)
    fig["as_of_store_events"] = events
    fig["as_of_queries"] = len(latencies)
    fig["as_of_failures"] = failures
    fig["as_of_open_s"] = _rounded(open_s, 2)
    fig["as_of_open_eps"] = _rounded(events / open_s, 1)
    scale = "" if events >= 1_000_000 else f"{events:,}-event store, not 1M"
    origin = "cached, reused" if reused else "built now"
    where = f"{path.name} ({origin}; built {record.get('built_at', '?')}"
    where += f" at {record.get('built_with_commit', '?')})" if b.keep_cache else ")"
    store_detail = f"{events:,} events, {record.get('contracts', '?'):,} contracts x 24m"
    b.results.row("as-of store", f"{events:,} events", f"{where}; {store_detail}")
    b.results.row(
        "as-of open_ledger",
        _fmt(open_s, "s"),
        f"replay at scale: {events / open_s:,.0f} events/s",
    )
    detail = f"balances(cid, as_of=day), {len(latencies)} queries"
    if failures:
        detail += f", {failures} refused (EscrowError)"
    b.results.row("as-of p50", _fmt(p50, "ms"), detail, "<= 5 ms", p50 <= 5, note=scale)
    b.results.row("as-of p99", _fmt(p99, "ms"), detail)


# --- the ledger at scale (issue 16): open, query, act, rebuild ------------------------------------

SCALE_EVENTS = 1_000_000
"""The store size the ``…_1m_…`` keys stand for."""


@dataclass(frozen=True)
class ScalePlan:
    """The as-of store and what the scale measures ask of it, drawn once per run (seeded)."""

    path: Path
    events: int
    record: dict[str, Any]
    reused: bool
    today: dt.date
    contracts: list[str]
    queries: list[tuple[str, dt.date]]
    """(contract, day in its life) for the query measure; the first also serves ``open``."""


def open_scale_ledger(path: Path, reused: bool) -> Ledger:
    """``open_ledger(path)``; a cached store this escrow cannot open says how to remake it."""
    try:
        return open_ledger(str(path))
    except EscrowError as exc:
        if not reused:
            raise
        raise RuntimeError(
            f"the cached {path} cannot be opened by this escrow ({exc});"
            " run again with --rebuild-cache"
        ) from exc


def life_of(ledger: Ledger, contract: str, today: dt.date) -> tuple[dt.date, dt.date] | None:
    """The days of a contract's life as its transfers show it: first to last (at most today)."""
    days = [t.date for t in ledger.transfers(contract)]
    if not days:
        return None
    return min(days), min(max(days), today)


def scale_plan(b: Bench, opened: Ledger | None = None) -> ScalePlan:
    """The as-of store and the seeded contracts and days asked of it (once per run); drawn on
    ``opened`` if given (the store's ledger, left open), else on a ledger opened for it."""
    if b.scale_plan is not None:
        return b.scale_plan
    path, record, reused = as_of_store(b, b.sizes.as_of_events)
    b.err.log(f"scale: drawing {b.sizes.as_of_queries} contracts and days on {path.name}")
    ledger = opened if opened is not None else open_scale_ledger(path, reused)
    try:
        today = ledger.today
        contracts = list(ledger.contract_ids())
        rng = random.Random(SEED)
        queries: list[tuple[str, dt.date]] = []
        for _ in range(b.sizes.as_of_queries * 10):
            if len(queries) == b.sizes.as_of_queries:
                break
            cid = rng.choice(contracts)
            life = life_of(ledger, cid, today)
            if life is None:
                continue
            first, last = life
            span = max((last - first).days, 0)
            queries.append((cid, first + dt.timedelta(days=rng.randint(0, span))))
    finally:
        if opened is None:
            ledger.close()
    if len(queries) < b.sizes.as_of_queries:
        raise RuntimeError(f"too few contracts with transfers in {path}")
    events = int(record["events"])
    b.scale_plan = ScalePlan(path, events, record, reused, today, contracts, queries)
    return b.scale_plan


def scaled(b: Bench, template: str, value: float | None) -> None:
    """Record ``value`` under ``template`` with ``1m`` when the store holds a million events,
    else under ``quick`` (the ``1m`` key then null): a figure never claims a size it was not
    measured at."""
    plan = b.scale_plan
    assert plan is not None
    fig = b.results.figures
    fig["scale_store_events"] = plan.events
    full = plan.events >= SCALE_EVENTS
    fig[template.format("1m")] = value if full else None
    if not full:
        fig[template.format("quick")] = value


def scale_verdict(b: Bench, measure: str, value: str, detail: str, target: str, ok: bool) -> None:
    """A table row with its pass/miss, or "not comparable" on a store of under 1M events."""
    plan = b.scale_plan
    assert plan is not None
    if plan.events >= SCALE_EVENTS:
        b.results.row(measure, value, detail, target, ok)
    else:
        note = f"not comparable: {plan.events:,}-event store, not 1M"
        b.results.row(measure, value, detail, f"{target} (1M)", note=note)


def copy_store(source: Path, into: Path) -> Path:
    """A copy of a SQLite ledger file (and its WAL, if any) at ``into``, written through to the
    disk before it is used (:func:`disk.flush`): the cache is never written."""
    shutil.copyfile(source, into)
    for suffix in ("-wal",):
        extra = Path(str(source) + suffix)
        if extra.exists():
            shutil.copyfile(extra, Path(str(into) + suffix))
    flush(into)
    return into


def warm_page_cache(path: Path) -> None:
    with path.open("rb") as f:
        while f.read(1 << 24):
            pass


_OPEN_CHILD = """
import json, sys, time
from escrow import EscrowError, open_ledger
path, contract = sys.argv[1], sys.argv[2]
start = time.perf_counter()
ledger = open_ledger(path)
try:
    ledger.balances(contract)
    answer = "balance"
except EscrowError as exc:
    answer = type(exc).__name__
seconds = time.perf_counter() - start
ledger.close()
print(json.dumps({"seconds": seconds, "answer": answer}))
"""
"""A fresh process: from before ``open_ledger`` to the first ``balances`` answered (imports
done before the clock starts)."""


def open_child(path: Path, contract: str, workdir: Path) -> tuple[float, float, str]:
    """(milliseconds to the first answer, the child's peak RSS in MiB, what it answered)."""
    child = run_child([sys.executable, "-c", _OPEN_CHILD, str(path), contract], workdir)
    out = json.loads(child.stdout)
    return float(out["seconds"]) * 1000, child.peak_rss_mib, str(out["answer"])


def measure_open(b: Bench) -> None:
    plan = scale_plan(b)
    contract = plan.queries[0][0]
    empty = b.fresh("open-empty")
    open_ledger(str(empty)).close()  # a freshly created, empty ledger
    warm_page_cache(plan.path)
    rounds = b.sizes.open_rounds
    b.err.log(f"open: {rounds} rounds of an empty-ledger child and a {plan.events:,}-event one")
    store_ms: list[float] = []
    store_rss: list[float] = []
    empty_ms: list[float] = []
    empty_rss: list[float] = []
    for _ in range(rounds):
        ms, rss, answer = open_child(empty, contract, b.workdir)
        if answer != "UnknownContract":
            raise RuntimeError(f"the empty ledger answered {answer} for {contract}")
        empty_ms.append(ms)
        empty_rss.append(rss)
        ms, rss, answer = open_child(plan.path, contract, b.workdir)
        if answer != "balance":
            raise RuntimeError(f"balances({contract!r}) on {plan.path.name} failed: {answer}")
        store_ms.append(ms)
        store_rss.append(rss)
    ms, rss = statistics.median(store_ms), statistics.median(store_rss)
    base_ms, base_rss = statistics.median(empty_ms), statistics.median(empty_rss)
    extra = rss - base_rss
    fig = b.results.figures
    scaled(b, "open_{}_ms", _rounded(ms, 2))
    scaled(b, "open_{}_rss_mib", _rounded(extra, 1))
    fig["open_empty_ms"] = _rounded(base_ms, 2)
    fig["open_empty_rss_mib"] = _rounded(base_rss, 1)
    fig["open_peak_rss_mib"] = _rounded(rss, 1)
    scale_verdict(
        b,
        "open_ledger to the first answer",
        _fmt(ms, "ms"),
        f"fresh child: open_ledger + balances({contract}) on {plan.events:,} events, median of"
        f" {rounds} (empty ledger: {base_ms:,.1f} ms)",
        "<= 50 ms",
        ms <= 50,
    )
    scale_verdict(
        b,
        "open: peak RSS over an empty ledger",
        _fmt(extra, "MiB"),
        f"child's ru_maxrss {rss:,.0f} MiB - {base_rss:,.0f} MiB opening an empty ledger,"
        f" medians of {rounds}",
        "<= 50 MiB",
        extra <= 50,
    )


def measure_query(b: Bench) -> None:
    path, _, reused = as_of_store(b, b.sizes.as_of_events)
    ledger = open_scale_ledger(path, reused)
    try:
        plan = scale_plan(b, ledger)
        for cid, day in plan.queries[:10]:  # warm-up, untimed
            ledger.balances(cid, as_of=day)
            ledger.transfers(cid, as_of=day)
            ledger.deadlines(cid, as_of=day)
        b.err.log(f"query: {len(plan.queries)} samples of balances + transfers + deadlines")
        latencies: list[float] = []
        for cid, day in plan.queries:
            t0 = time.perf_counter_ns()
            ledger.balances(cid, as_of=day)
            ledger.transfers(cid, as_of=day)
            ledger.deadlines(cid, as_of=day)
            latencies.append((time.perf_counter_ns() - t0) / 1e6)
    finally:
        ledger.close()
    latencies.sort()
    p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
    scaled(b, "query_{}_p50_ms", _rounded(p50, 3))
    scaled(b, "query_{}_p99_ms", _rounded(p99, 3))
    b.results.figures["query_samples"] = len(latencies)
    detail = "balances + transfers + deadlines as of a day of its life, one random contract,"
    detail += f" {len(latencies)} samples, {plan.events:,} events"
    scale_verdict(b, "query p50", _fmt(p50, "ms"), detail, "<= 5 ms", p50 <= 5)
    b.results.row("query p99", _fmt(p99, "ms"), detail)


RAW_EVENT_TABLE = """CREATE TABLE events (
    position INTEGER PRIMARY KEY, stream TEXT NOT NULL, version INTEGER NOT NULL,
    type TEXT NOT NULL, effective_date TEXT NOT NULL, recorded_at TEXT NOT NULL,
    data TEXT NOT NULL, UNIQUE (stream, version))"""
RAW_EVENT_DATA = json.dumps(
    {"on": "2026-09-30", "amount": "1.00", "channel": "bank", "supervised": False, "lot": None}
)
"""An event-sized row for the raw side of ``act_1m_ratio`` (a rent payment's JSON)."""


class RawInserts:
    """Raw ``sqlite3``: one event-sized row inserted and committed at a time (WAL, FULL)."""

    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode = WAL")
        self.conn.execute("PRAGMA synchronous = FULL")
        self.conn.execute(RAW_EVENT_TABLE)
        self.version = 0

    def insert_commit(self) -> float:
        """Seconds to insert one row and commit it."""
        self.version += 1
        row = ("contract:C000001", self.version, "RentReceived", "2026-09-30")
        recorded_at = dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")
        start = time.perf_counter()
        self.conn.execute("BEGIN IMMEDIATE")
        self.conn.execute(
            "INSERT INTO events (stream, version, type, effective_date, recorded_at, data)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (*row, recorded_at, RAW_EVENT_DATA),
        )
        self.conn.execute("COMMIT")
        return time.perf_counter() - start

    def close(self) -> int:
        rows = int(self.conn.execute("SELECT COUNT(*) FROM events").fetchone()[0])
        self.conn.close()
        return rows


def measure_act(b: Bench) -> None:
    plan = scale_plan(b)
    samples, warm = b.sizes.act_samples, 3
    copy = copy_store(plan.path, b.fresh("act-copy"))
    raw = RawInserts(b.fresh("act-raw"))
    rng = random.Random(SEED + 1)
    refused = 0
    ledger = open_scale_ledger(copy, plan.reused)

    def act() -> float:
        nonlocal refused
        for _ in range(50):
            cid = rng.choice(plan.contracts)
            start = time.perf_counter()
            try:
                ledger.pay_rent(cid, "1.00", on=plan.today)
            except EscrowError:
                refused += 1  # e.g. its home returned: another contract
                continue
            return time.perf_counter() - start
        raise RuntimeError(f"50 contracts in a row refused rent on {plan.today}")

    b.err.log(f"act: {samples} pay_rent and raw insert+commit, taking turns, on a copy")
    acts: list[float] = []
    raws: list[float] = []
    try:
        for i in range(warm + samples):
            a, r = act(), raw.insert_commit()
            if i >= warm:
                acts.append(a * 1000)
                raws.append(r * 1000)
    finally:
        ledger.close()
        rows = raw.close()
        shutil.rmtree(copy.parent)  # a copy of the store: its size again on disk
    if rows != warm + samples:
        raise RuntimeError(f"raw sqlite3 stored {rows} rows, not {warm + samples}")
    acts.sort()
    raws.sort()
    act_p50, raw_p50 = percentile(acts, 50), percentile(raws, 50)
    ratio = act_p50 / raw_p50
    fig = b.results.figures
    scaled(b, "act_{}_p50_ms", _rounded(act_p50, 3))
    scaled(b, "act_{}_ratio", _rounded(ratio, 3))
    fig["raw_insert_commit_p50_ms"] = _rounded(raw_p50, 3)
    fig["act_p99_ms"] = _rounded(percentile(acts, 99), 3)
    fig["act_samples"] = samples
    fig["act_refused"] = refused
    b.results.row(
        "act: pay_rent p50",
        _fmt(act_p50, "ms"),
        f"pay_rent(random contract, 1.00, on=today {plan.today}) with its commit, on a copy of"
        f" {plan.events:,} events; {samples} samples, p99 {percentile(acts, 99):,.2f} ms"
        + (f"; {refused} refused contracts passed over" if refused else ""),
    )
    b.results.row(
        "act: raw insert + commit p50",
        _fmt(raw_p50, "ms"),
        "sqlite3 single-row INSERT + COMMIT, WAL, synchronous=FULL, taking turns with the act",
    )
    scale_verdict(
        b,
        "act_1m_ratio",
        f"{ratio:.2f}",
        "pay_rent p50 / raw insert+commit p50",
        "<= 3",
        ratio <= 3,
    )


def measure_rebuild(b: Bench) -> None:
    plan = scale_plan(b)
    copy = copy_store(plan.path, b.fresh("rebuild-copy"))
    b.err.log(f"rebuild: escrow rebuild --db <copy of {plan.path.name}>")
    try:
        child = run_child([*escrow_command(), "rebuild", "--db", str(copy)], b.workdir, check=False)
    finally:
        shutil.rmtree(copy.parent)
    fig = b.results.figures
    if child.returncode == 2 and "no such command" in child.stderr.lower():
        scaled(b, "rebuild_{}_s", None)
        fig["rebuild_note"] = "this escrow has no rebuild command (exit 2, No such command)"
        b.results.row(
            "rebuild",
            "—",
            "escrow rebuild: no such command in this escrow",
            "<= 60 s",
            note="not run",
        )
        return
    if child.returncode != 0:
        raise RuntimeError(f"escrow rebuild exited {child.returncode}: {child.stderr[-2000:]}")
    scaled(b, "rebuild_{}_s", _rounded(child.seconds, 2))
    fig["rebuild_peak_rss_mib"] = _rounded(child.peak_rss_mib, 1)
    scale_verdict(
        b,
        "rebuild",
        _fmt(child.seconds, "s"),
        f"escrow rebuild on a copy of {plan.events:,} events; CPU {child.cpu_seconds:.1f} s,"
        f" peak RSS {child.peak_rss_mib:,.0f} MiB (child process)",
        "<= 60 s",
        child.seconds <= 60,
    )


# --- processes acting at once on PostgreSQL (issue 16) ----------------------------------------

WORKERS_START = dt.date(2025, 3, 3)
WORKER_REDELIVERIES = 20
WORKER_PREPAID_MONTHS = 4
"""Rent paid on the first day: more than 3 months, so it goes into supervision (Art. 13) and a
release of every contract falls due on each monthly anniversary, the days the workers act on."""


def worker_terms(worker: int, j: int) -> ContractTerms:
    return ContractTerms(
        id=f"W{worker}-{j:03d}",
        filing_no=f"JZ-W{worker}-{j:03d}",
        tenant=f"T{worker}-{j:03d}",
        enterprise=f"EW{worker}",
        start=WORKERS_START,
        end=WORKERS_START + dt.timedelta(days=364),
        monthly_rent=Decimal("3000.00"),
        deposit=Decimal("3000.00"),
    )


def workers_act(
    url: str, worker: int, contracts: int, rent_months: int, start: Any, day_done: Any
) -> dict[str, Any]:
    """One worker process: its own contracts, day by day in step with the others."""
    try:
        return worker_days(url, worker, contracts, rent_months, start, day_done)
    except BaseException:
        start.abort()  # the others (and the parent) would wait for this worker until timeout
        day_done.abort()
        raise


def worker_days(
    url: str, worker: int, contracts: int, rent_months: int, start: Any, day_done: Any
) -> dict[str, Any]:
    surfaced = acts = 0
    refused: list[str] = []
    with open_ledger(url) as ledger:

        def deliver(key: str, act: Callable[..., object], *args: object, on: dt.date) -> None:
            """``act(*args, on=on)`` under ``key``, delivered again while a conflict surfaces."""
            nonlocal surfaced, acts
            for _ in range(WORKER_REDELIVERIES):
                try:
                    act(*args, on=on, idempotency_key=key)
                except ConcurrencyError:
                    surfaced += 1  # past the ledger's retries: deliver again, same key
                    continue
                except EscrowError as exc:
                    refused.append(f"{key}: {type(exc).__name__}: {exc}")
                    return
                acts += 1
                return
            refused.append(f"{key}: still conflicting after {WORKER_REDELIVERIES} deliveries")

        start.wait(timeout=600)
        every = [worker_terms(worker, j) for j in range(contracts)]
        for terms in every:
            deliver(f"open:{terms.id}", ledger.open_contract, terms, on=WORKERS_START)
            deliver(
                f"deposit:{terms.id}",
                ledger.pay_deposit,
                terms.id,
                terms.deposit,
                on=WORKERS_START,
            )
            prepaid = terms.monthly_rent * WORKER_PREPAID_MONTHS  # supervised: released monthly
            deliver(f"rent:{terms.id}:0", ledger.pay_rent, terms.id, prepaid, on=WORKERS_START)
        day_done.wait(timeout=600)
        for k in range(1, rent_months + 1):
            day = WORKERS_START + relativedelta(months=k)  # a release of every contract is due
            for terms in every:
                deliver(
                    f"rent:{terms.id}:{k}",
                    ledger.pay_rent,
                    terms.id,
                    terms.monthly_rent,
                    on=day,
                )
            day_done.wait(timeout=600)
        retried = getattr(ledger, "conflicts_retried", None)
    return {"acts": acts, "surfaced": surfaced, "refused": refused, "retried": retried}


def with_search_path(url: str, schema: str) -> str:
    """``url`` with ``schema`` alone on the search path (as the PostgreSQL tests do)."""
    from sqlalchemy.engine import make_url

    return (
        make_url(url)
        .update_query_dict({"options": f"-csearch_path={schema}"})
        .render_as_string(hide_password=False)
    )


def libpq(url: str) -> str:
    """``url`` as libpq takes it (no SQLAlchemy ``+driver`` in the scheme)."""
    scheme, sep, rest = url.partition("://")
    return f"{scheme.partition('+')[0]}{sep}{rest}"


@contextmanager
def fresh_schema(url: str) -> Iterator[str]:
    """A new, empty schema on the server at ``url``; yields a URL that works in it; drops it."""
    import psycopg
    from psycopg import sql

    name = f"escrow_bench_{os.getpid()}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(libpq(url), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
    try:
        yield with_search_path(url, name)
    finally:
        with psycopg.connect(libpq(url), autocommit=True) as conn:
            conn.execute("SET lock_timeout = '20s'")
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(name)))


def measure_workers(b: Bench) -> None:
    fig = b.results.figures
    n, contracts, rent_months = (
        b.sizes.workers,
        b.sizes.worker_contracts,
        b.sizes.worker_rent_months,
    )
    if b.postgres_url is None:
        for key in ("workers_conflicts", "workers_conflicts_retried", "workers_acts_per_s"):
            fig[key] = None
        b.results.row(
            "workers_conflicts", "—", "give --postgres-url URL to run it", "0", note="not run"
        )
        return
    import multiprocessing

    planned = n * contracts * (3 + rent_months)
    with fresh_schema(b.postgres_url) as url:
        open_ledger(url).close()  # the tables, made once before the workers race
        b.err.log(f"workers: {n} processes, {planned} acts on PostgreSQL")
        context = multiprocessing.get_context("spawn")
        with context.Manager() as manager, context.Pool(n) as pool:
            start = manager.Barrier(n + 1)
            day_done = manager.Barrier(n)
            pending = [
                pool.apply_async(workers_act, (url, w, contracts, rent_months, start, day_done))
                for w in range(n)
            ]
            with suppress(threading.BrokenBarrierError):  # a worker failed: p.get says how
                start.wait(timeout=600)
            began = time.perf_counter()
            results = [p.get(timeout=3600) for p in pending]
            seconds = time.perf_counter() - began
        with open_ledger(url) as ledger:
            held = len(ledger.contract_ids())
    acts = sum(int(r["acts"]) for r in results)
    surfaced = sum(int(r["surfaced"]) for r in results)
    refused = [line for r in results for line in r["refused"]]
    retried_each = [r["retried"] for r in results]
    retried = None if None in retried_each else sum(int(x) for x in retried_each)
    if held != n * contracts:
        raise RuntimeError(f"the ledger holds {held} contracts, not {n * contracts}")
    fig["workers_conflicts"] = surfaced
    fig["workers_conflicts_retried"] = retried
    fig["workers_acts_per_s"] = _rounded(acts / seconds, 1)
    fig["workers_processes"] = n
    fig["workers_acts"] = acts
    fig["workers_refused"] = len(refused)
    if refused:
        fig["workers_refused_first"] = refused[:3]
    b.results.row(
        "workers_conflicts",
        str(surfaced),
        f"ConcurrencyError past the ledger's retries: {n} processes, each its own {contracts}"
        f" contracts, {acts}/{planned} acts done in {seconds:.1f} s ({acts / seconds:,.1f}"
        f" acts/s), retried inside the ledger: {retried}"
        + (f"; {len(refused)} refused: {refused[0]}" if refused else ""),
        "0",
        surfaced == 0,
    )


# --- growth -----------------------------------------------------------------------------------


def slope(xs: Sequence[float], ys: Sequence[float]) -> float:
    """Least-squares slope of ys over xs."""
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum(
        (x - mx) ** 2 for x in xs
    )


def measure_growth(b: Bench) -> None:
    months = b.sizes.growth_months
    baseline = simulate(1, 1, b.fresh("growth-baseline"), b.workdir, b.err)
    runs = [
        simulate(c, months, b.fresh(f"growth-{c}"), b.workdir, b.err)
        for c in b.sizes.growth_contracts
    ]
    xs = [math.log(r.contracts) for r in runs]
    exponent = slope(xs, [math.log(r.seconds) for r in runs])
    net = [r.seconds - baseline.seconds for r in runs]
    net_exponent = slope(xs, [math.log(s) for s in net]) if min(net) > 0 else None
    cpu_exponent = slope(xs, [math.log(r.cpu_seconds) for r in runs])
    fig = b.results.figures
    fig["growth_exponent"] = _rounded(exponent, 3)
    fig["growth_exponent_net"] = _rounded(net_exponent, 3) if net_exponent is not None else None
    fig["growth_exponent_cpu"] = _rounded(cpu_exponent, 3)
    fig["growth_contracts"] = [r.contracts for r in runs]
    fig["growth_months"] = months
    fig["growth_seconds"] = [round(r.seconds, 2) for r in runs]
    fig["growth_cpu_seconds"] = [round(r.cpu_seconds, 2) for r in runs]
    fig["growth_events"] = [r.events for r in runs]
    fig["growth_baseline_s"] = round(baseline.seconds, 2)
    for r in runs:
        b.results.row(
            f"simulate {r.contracts:,} x {r.months}m",
            _fmt(r.seconds, "s"),
            f"{r.events:,} events, {r.events / r.seconds:,.0f} events/s, CPU {r.cpu_seconds:.1f} s",
        )
    sizes = " / ".join(f"{c:,}" for c in b.sizes.growth_contracts)
    note = "" if b.sizes.name == "full" else f"{b.sizes.name} sizes"
    b.results.row(
        "growth_exponent",
        f"{exponent:.3f}",
        f"slope of log t over log contracts: {sizes} x {months}m",
        "<= 1.1",
        exponent <= 1.1,
        note,
    )
    if net_exponent is not None:
        b.results.row(
            "growth exponent, net",
            f"{net_exponent:.3f}",
            f"minus a 1-contract 1-month run ({baseline.seconds:.2f} s: start-up)",
        )
    b.results.row(
        "growth exponent, CPU",
        f"{cpu_exponent:.3f}",
        "the same fit over the children's user+system CPU time (less sensitive to a busy host)",
    )


# --- machine ----------------------------------------------------------------------------------


def git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() or "unknown"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith(("model name", "hardware", "cpu model")):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "cpu_model": cpu_model(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "platform": platform.platform(),
        "escrow_commit": git_commit(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


# --- main -------------------------------------------------------------------------------------

# --- the Merkle tree (issue 15) ----------------------------------------------------------------


@contextmanager
def tree_cpu_counted(spent: list[float]) -> Iterator[None]:
    """Appends with the tree, the CPU time of the store's tree step added to ``spent[0]``."""
    saved = tree_module._grow_tree

    def counted(*args: Any) -> merkle.CompactRange:
        start = time.process_time()
        try:
            return saved(*args)
        finally:
            spent[0] += time.process_time() - start

    tree_module._grow_tree = counted  # type: ignore[assignment]
    try:
        yield
    finally:
        tree_module._grow_tree = saved


@contextmanager
def chain_only() -> Iterator[None]:
    """Appends without the Merkle tree: the plain hash chain, the tree's baseline (the store's
    tree step, ``escrow.store.tree._grow_tree``, made a no-op for the duration)."""
    saved = tree_module._grow_tree
    tree_module._grow_tree = lambda *_: merkle.CompactRange()
    try:
        yield
    finally:
        tree_module._grow_tree = saved


def time_appends(
    calls: list[list[Write]], path: Path, *, one_transaction: bool
) -> tuple[float, float]:
    """Wall and CPU seconds (``time.process_time``: SQLite runs in this process, the fsync
    waits do not count) of appending ``calls``: all in one transaction or one per call. The
    store is verified afterwards, untimed."""
    store = open_store(str(path), CODEC)
    try:
        wall, cpu = time.perf_counter(), time.process_time()
        if one_transaction:
            store.append_batches([(writes, None) for writes in calls])
        else:
            for writes in calls:
                store.append_many(writes)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        report = store.verify()
        if not report.ok:
            raise RuntimeError(f"escrow store does not verify: {report.reason}")
    finally:
        store.close()
    return wall, cpu


def build_tree_store(by_stream: dict[str, list[Event]], total: int, path: Path) -> float:
    """A store of ``total`` events: the source's streams again and again under new names, in
    transactions of 50,000 events (append_batches of 500-event batches). Returns the seconds."""
    source = plan_batches(by_stream, sum(len(v) for v in by_stream.values()), 500)
    store = open_store(str(path), CODEC)
    done = 0
    round_ = 0
    start = time.perf_counter()
    try:
        while done < total:
            pending: list[tuple[Sequence[tuple[str, int, Sequence[Event]]], str | None]] = []
            for writes in source:
                take = []
                for stream, expected, events in writes:
                    room = total - done
                    if room <= 0:
                        break
                    take.append((f"{stream}~{round_}", expected, events[:room]))
                    done += min(len(events), room)
                if take:
                    pending.append((take, None))
                if len(pending) == 100:
                    store.append_batches(pending)
                    pending = []
            if pending:
                store.append_batches(pending)
            round_ += 1
    finally:
        store.close()
    return time.perf_counter() - start


def measure_tree(b: Bench) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from escrow.checkpoint import (
        ConsistencyProof,
        check_consistency,
        check_receipt,
        make_checkpoint,
        make_receipt,
    )

    need_internals("tree")
    n, batch, repeats = b.sizes.append_events, b.sizes.append_batch, b.sizes.repeats
    source, _ = b.source_db(n)
    store = open_store(str(source), CODEC)
    try:
        by_stream: dict[str, list[Event]] = {}
        flat: list[tuple[str, Event]] = []
        for stored in store.read_all():
            by_stream.setdefault(stored.stream, []).append(stored.event)
            flat.append((stored.stream, stored.event))
    finally:
        store.close()
    batches = plan_batches(by_stream, n, batch)
    singles = [[(stream, 0, [event])] for stream, event in flat[: max(n // 20, 50)]]
    for i, (stream, _, _) in enumerate(w[0] for w in singles):  # versions follow on
        singles[i] = [(stream, sum(1 for w in singles[:i] if w[0][0] == stream), singles[i][0][2])]
    fig = b.results.figures
    rounds = max(repeats, 7)
    cpu: dict[str, float] = {}
    shares: dict[str, list[float]] = {}

    def timer(name: str, calls: list[list[Write]], one: bool, tree: bool) -> Callable[[], float]:
        def run() -> float:
            path = b.fresh(f"tree-{name}")
            if tree:
                spent = [0.0]
                with tree_cpu_counted(spent):
                    wall, used = time_appends(calls, path, one_transaction=one)
                shares.setdefault(name, []).append(spent[0] / used)
            else:
                with chain_only():
                    wall, used = time_appends(calls, path, one_transaction=one)
            cpu[name] = min(cpu.get(name, math.inf), used)
            return wall

        return run

    modes = (
        ("unit", batches, True, "one transaction (append_batches)"),
        ("call", batches, False, f"a commit per {batch}-event call (append_many)"),
        ("single", singles, False, "a commit per event (append), as the service appends an act"),
    )
    b.err.log(f"tree: append with and without the Merkle tree, taking turns ({n:,} events)")
    timers = {}
    for mode, calls, one, _ in modes:
        timers[f"tree_{mode}"] = timer(f"tree_{mode}", calls, one, True)
        timers[f"chain_{mode}"] = timer(f"chain_{mode}", calls, one, False)
    best = best_interleaved(rounds, timers)
    for mode, calls, _, label in modes:
        count = sum(len(events) for writes in calls for _, _, events in writes)
        tree_eps, chain_eps = count / best[f"tree_{mode}"], count / best[f"chain_{mode}"]
        ratio = tree_eps / chain_eps
        cpu_ratio = cpu[f"chain_{mode}"] / cpu[f"tree_{mode}"]
        share = statistics.median(shares[f"tree_{mode}"])
        fig[f"tree_step_share_{mode}"] = _rounded(share)
        fig[f"tree_append_{mode}_eps"] = _rounded(tree_eps, 1)
        fig[f"chain_append_{mode}_eps"] = _rounded(chain_eps, 1)
        fig[f"tree_append_vs_chain_{mode}"] = _rounded(ratio)
        fig[f"tree_append_vs_chain_{mode}_cpu"] = _rounded(cpu_ratio)
        b.results.row(
            f"tree_append_vs_chain ({mode})",
            f"{ratio:.3f}",
            f"{label}: {tree_eps:,.0f} events/s with the tree, {chain_eps:,.0f} without,"
            f" {count:,} events, best of {rounds}; CPU time ratio {cpu_ratio:.3f}",
            ">= 0.85",
            ratio >= 0.85,
        )
        b.results.row(
            f"  tree step's share of append CPU ({mode})",
            f"{share:.1%}",
            f"CPU time inside the store's tree step / the append's, median of {rounds}: without"
            f" it the append would be {1 / (1 - share):.3f}x as fast (robust to a shared host)",
            "<= 15%",
            share <= 0.15,
        )

    total = b.sizes.tree_events
    path = b.fresh("tree-store")
    b.err.log(f"tree: building a store of {total:,} events …")
    build_s = build_tree_store(by_stream, total, path)
    fig["tree_store_events"] = total
    fig["tree_store_build_eps"] = _rounded(total / build_s, 1)
    with sqlite3.connect(path) as conn:
        nodes = int(conn.execute("SELECT COUNT(*) FROM merkle_nodes").fetchone()[0])
    fig["tree_nodes_per_event"] = _rounded(nodes / total)
    b.results.row(
        "tree: store built",
        _fmt(total / build_s, "events/s"),
        f"{total:,} events appended in transactions of 50,000; {nodes:,} kept tree nodes"
        f" ({nodes / total:.3f} per event)",
    )

    key = Ed25519PrivateKey.generate()
    public = key.public_key()
    rng = random.Random(SEED)
    now = dt.datetime.now(dt.UTC)
    store = open_store(str(path), CODEC)
    try:
        timings = []
        for _ in range(20):
            start = time.perf_counter()
            checkpoint = make_checkpoint(store.tree_head(), now, key)
            timings.append(time.perf_counter() - start)
        fig["checkpoint_ms"] = _rounded(statistics.median(timings) * 1000, 3)
        b.results.row(
            f"checkpoint at {total:,} events",
            f"{statistics.median(timings) * 1000:.2f} ms",
            "tree_head from the kept nodes + Ed25519 signature, median of 20",
        )

        receipts, made = [], []
        for _ in range(100):
            start = time.perf_counter()
            receipts.append(make_receipt(store, rng.randint(1, total), checkpoint, now))
            made.append(time.perf_counter() - start)
        sizes = [len(r.line().encode()) for r in receipts]
        proof_bytes = [32 * len(r.proof) for r in receipts]
        fig["receipt_bytes_median"] = statistics.median(sizes)
        fig["receipt_proof_hashes_max"] = max(len(r.proof) for r in receipts)
        fig["receipt_make_ms"] = _rounded(statistics.median(made) * 1000, 3)
        b.results.row(
            f"receipt at {total:,} events",
            f"{statistics.median(sizes):,.0f} bytes",
            f"median of 100 random events (JSON line; the proof: {max(proof_bytes)} bytes at most,"
            f" {max(len(r.proof) for r in receipts)} hashes); made in"
            f" {statistics.median(made) * 1000:.2f} ms (median)",
        )

        rounds = 2000
        for signed, label in ((True, "with"), (False, "without")):
            start = time.perf_counter()
            for i in range(rounds):
                check_receipt(receipts[i % len(receipts)], checkpoint, public if signed else None)
            us = (time.perf_counter() - start) / rounds * 1e6
            fig[f"receipt_check_{label}_signature_us"] = _rounded(us, 1)
            b.results.row(
                f"receipt check ({label} signature)",
                f"{us:,.0f} µs",
                f"check_receipt, no database, mean of {rounds}",
            )

        old = rng.randint(1, total - 1)
        start = time.perf_counter()
        proof = ConsistencyProof(old, total, tuple(store.consistency_proof(old, total)))
        made_s = time.perf_counter() - start
        earlier = make_checkpoint(store.tree_head(old), now, key)
        start = time.perf_counter()
        for _ in range(200):
            check_consistency(proof, earlier, checkpoint, public)
        check_us = (time.perf_counter() - start) / 200 * 1e6
        fig["consistency_hashes"] = len(proof.proof)
        fig["consistency_check_us"] = _rounded(check_us, 1)
        b.results.row(
            f"consistency {old:,} → {total:,}",
            f"{len(proof.proof)} hashes",
            f"made in {made_s * 1000:.1f} ms; checked (2 signatures) in {check_us:,.0f} µs",
        )

        b.err.log(f"tree: escrow verify's walk of {total:,} events with a checkpoint …")
        start = time.perf_counter()
        report = store.verify([checkpoint.events])
        walk_s = time.perf_counter() - start
        if not report.ok or report.roots.get(total) != checkpoint.root:
            raise RuntimeError(f"the tree store does not verify: {report.reason}")
        fig["verify_walk_eps"] = _rounded(total / walk_s, 1)
        b.results.row(
            f"verify --checkpoints walk at {total:,}",
            f"{walk_s:.1f} s",
            f"{total / walk_s:,.0f} events/s: every row's hash, the roots, the kept nodes",
        )
    finally:
        store.close()


# --- the HTTP service (issue 18) --------------------------------------------------------------


def measure_http(b: Bench) -> None:
    try:
        import http_bench  # needs the serve extra (FastAPI, uvicorn, httpx)
    except ImportError as exc:
        raise RuntimeError(f"the http measure needs: pip install -e '.[serve]' ({exc})") from exc
    plan = scale_plan(b)
    sizes = http_bench.HttpSizes(b.sizes.http_samples, b.sizes.http_acts_per_client)
    result = http_bench.measure(plan.path, b.workdir, sizes, b.err.log)
    b.results.figures.update(result.figures)
    b.results.figures["http_store_events"] = plan.events
    for measure, value, detail, target, ok in result.rows:
        if ok is not None and plan.events < SCALE_EVENTS:
            note = f"not comparable: {plan.events:,}-event store, not 1M"
            b.results.row(measure, value, detail, f"{target} (1M)", note=note)
        else:
            b.results.row(measure, value, detail, target, ok)


REQUIRED = (
    "append_vs_sqlite",
    "append_vs_eventsourcing",
    "simulate_10k_24m_s",
    "simulate_peak_rss_mib",
    "simulate_100k_12m_s",
    "simulate_100k_12m_rss_mib",
    "as_of_p50_ms",
    "as_of_p99_ms",
    "open_1m_ms",
    "open_1m_rss_mib",
    "query_1m_p50_ms",
    "query_1m_p99_ms",
    "act_1m_p50_ms",
    "raw_insert_commit_p50_ms",
    "act_1m_ratio",
    "rebuild_1m_s",
    "workers_conflicts",
    "workers_conflicts_retried",
    "workers_acts_per_s",
    "growth_exponent",
    "http_floor_p50_ms",
    "http_pay_rent_p50_ms_w1",
    "http_pay_rent_p99_ms_w1",
    "http_pay_rent_ratio_w1",
    "http_balance_p50_ms_w1",
    "http_balance_p99_ms_w1",
    "http_balance_ratio_w1",
    "http_pay_rent_p50_ms_w4",
    "http_pay_rent_p99_ms_w4",
    "http_pay_rent_ratio_w4",
    "http_balance_p50_ms_w4",
    "http_balance_p99_ms_w4",
    "http_balance_ratio_w4",
    "http_acts_per_s_w4_c16",
    "http_conflicts_w4_c16",
)

RUNNERS: dict[str, Callable[[Bench], None]] = {
    "append": measure_append,
    "simulate": measure_simulate,
    "simulate_100k": measure_simulate_100k,
    "as_of": measure_as_of,
    "query": measure_query,
    "open": measure_open,
    "act": measure_act,
    "rebuild": measure_rebuild,
    "workers": measure_workers,
    "growth": measure_growth,
    "tree": measure_tree,
    "http": measure_http,
}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/run.py",
        description="Measure escrow against raw sqlite3 and the eventsourcing package.",
        epilog=(
            "The as-of store (1M events; 50k with --quick) is cached in bench/.cache/ and reused"
            " while its build record says it holds enough events. Exit status: 0 whether or not"
            " targets are met, 1 if a measurement failed, 2 on bad arguments."
        ),
    )
    size = parser.add_mutually_exclusive_group()
    size.add_argument(
        "--quick",
        action="store_true",
        help="smaller sizes (1k-contract simulate, 50k-event as-of store, 250/500/1000 x 12m"
        " growth, 5,000 appended events); the output says so",
    )
    size.add_argument(
        "--tiny", action="store_true", help="a development smoke test; the figures mean nothing"
    )
    parser.add_argument(
        "--json", action="store_true", help="end stdout with one line holding a JSON object"
    )
    parser.add_argument(
        "--keep-cache",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="keep the as-of store in bench/.cache/ and reuse it on later runs (default);"
        " --no-keep-cache builds it in a temporary directory and deletes it afterwards",
    )
    parser.add_argument(
        "--rebuild-cache",
        action="store_true",
        help="rebuild the cached as-of store even if one is present",
    )
    parser.add_argument(
        "--postgres-url",
        metavar="URL",
        help="a PostgreSQL server for the workers measure (e.g. the tests'"
        " ESCROW_TEST_POSTGRES_URL); it works in a schema of its own that it creates and drops."
        " Without it the workers figures are null",
    )
    parser.add_argument(
        "--only",
        metavar="NAME[,NAME]",
        help=f"run only these measures: {', '.join(MEASURES)}",
    )
    args = parser.parse_args(argv)
    if args.only is not None:
        names = [n.strip() for n in args.only.split(",") if n.strip()]
        unknown = [n for n in names if n not in MEASURES]
        if unknown or not names:
            parser.error(f"--only: unknown measure {unknown!r}; choose from {', '.join(MEASURES)}")
        args.only = names
    else:
        args.only = list(MEASURES)
    return args


def render(results: Results, info: dict[str, Any], sizes: Sizes, out: Console) -> None:
    title = f"escrow benchmarks ({sizes.name} sizes)"
    if sizes.name != "full":
        title += " — NOT the reference sizes"
    table = Table(title=title, show_lines=False)
    table.add_column("measure", style="bold")
    table.add_column("value", justify="right")
    table.add_column("detail", overflow="fold")
    table.add_column("target")
    table.add_column("pass/miss")
    for row in results.rows:
        style = "green" if row.verdict.startswith("pass") else ""
        style = "red" if row.verdict.startswith("miss") else style
        verdict = f"[{style}]{row.verdict}[/]" if style else row.verdict
        table.add_row(row.measure, row.value, row.detail, row.target, verdict)
    out.print(table)
    out.print(
        f"machine: {info['cpus']} CPUs, {info['cpu_model']}; Python {info['python']};"
        f" SQLite {info['sqlite']}; {info['platform']}; escrow {info['escrow_commit']};"
        f" {info['date']}; load average at start {info['load_average']},"
        f" at end {[round(x, 2) for x in os.getloadavg()]}",
        markup=False,
        highlight=False,
    )
    for error in results.errors:
        out.print(f"[red]error:[/] {error}", highlight=False)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    sizes = TINY if args.tiny else QUICK if args.quick else FULL
    out = Console(width=None if sys.stdout.isatty() else 160)
    err = Console(stderr=True)
    info = machine()
    with tempfile.TemporaryDirectory(prefix="escrow-bench-") as tmp:
        bench = Bench(
            sizes,
            Path(tmp),
            err,
            keep_cache=args.keep_cache,
            rebuild_cache=args.rebuild_cache,
            postgres_url=args.postgres_url,
        )
        for name in args.only:
            try:
                RUNNERS[name](bench)
            except Exception as exc:
                traceback.print_exc()
                bench.results.errors.append(f"{name}: {type(exc).__name__}: {exc}")
                bench.results.rows.append(Row(name, "—", f"failed: {exc}", "", "error"))
    results = bench.results
    render(results, info, sizes, out)
    if args.json:
        payload: dict[str, Any] = {key: results.figures.get(key) for key in REQUIRED}
        payload.update(results.figures)
        payload["sizes"] = sizes.name
        payload["measures"] = args.only
        payload["errors"] = results.errors
        payload["machine"] = info
        sys.stdout.flush()
        print(json.dumps(payload, ensure_ascii=False, separators=(",", ":")), flush=True)
    return 1 if results.errors else 0


if __name__ == "__main__":
    sys.exit(main())
