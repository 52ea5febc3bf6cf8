"""The HTTP service's figures (issue 18; ``bench/run.py --only http``), loopback only.

On a COPY of the as-of store (the cached file is never written; the copy is written through to
the disk before the first server starts), with tokens issued on the copy (the fund centre's, and
one tenant's per contract queried, the contracts' tenants read from the ``rm_contracts`` table
the service checks access against):

* latency, one request at a time on one keep-alive connection, of a rent payment (``POST
  /contracts/{id}/rent-payments``, an ``Idempotency-Key`` each, the fund centre's token, dated
  the ledger's clock as ``GET /clock`` gives it) and of a tenant's balance query (``GET
  /contracts/{id}/balance``, that tenant's token), on ``escrow serve --workers N --mode
  simulation`` (N = 1, then 4) run as a child process on a free port of 127.0.0.1, beside a bare
  FastAPI endpoint that does nothing (``GET /nothing``, an ``async def`` returning ``{}``)
  served by uvicorn the same way (``uvicorn.run(factory, workers=N, log_level="warning")`` with
  the HTTP protocol ``escrow serve`` gives uvicorn) at the same time: the framework's floor. The
  three requests take turns (floor, payment, balance), so a slow spell of the shared host falls
  on all three. The client is this process (httpx), the servers are other processes; a
  request's time is from before ``client.request`` to the response read. A keep-alive
  connection stays with one worker: with 4 workers the sequential figures are one worker's,
  beside three idle ones.
* acts per second with the most workers measured (4) and 16 clients at once (asyncio, httpx,
  one connection each), each paying rent on its own contract, and every answer that is not 2xx,
  by status and problem type (a 409 or 5xx there is a conflict surfaced to a client; the target
  is none). Afterwards the copy's ``idempotency_keys`` must hold exactly one row per payment
  answered 200: each act done once, none lost.

Bounded: a fixed number of samples and acts, and a time limit on each series (what was done in
time is reported, with its count).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import math
import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from disk import flush

from escrow import open_ledger
from escrow.api.tokens import create_token
from escrow.clock import SystemClock

SEED = 18
HOST = "127.0.0.1"
AMOUNT = "1.00"
READY_TIMEOUT_S = 300.0
"""How long a server may take to answer (each worker opens the ledger first)."""

FLOOR_APP = '''
"""The framework's floor: a FastAPI endpoint that does nothing."""
import contextlib, os, pathlib
from fastapi import FastAPI


def make():
    @contextlib.asynccontextmanager
    async def lifespan(app):
        pathlib.Path(os.environ["FLOOR_READY_DIR"], str(os.getpid())).touch()
        yield

    app = FastAPI(lifespan=lifespan)

    @app.get("/nothing")
    async def nothing():
        return {}

    return app
'''

_FLOOR_SERVE = """
import sys, uvicorn
sys.path.insert(0, sys.argv[1])
uvicorn.run("floor_app:make", factory=True, host=sys.argv[2], port=int(sys.argv[3]),
            workers=int(sys.argv[4]), log_level="warning", http=sys.argv[5])
"""
"""How the floor is served: as ``escrow serve`` serves escrow (uvicorn.run, a factory, the same
HTTP protocol)."""


def _http_protocol() -> str:
    """The HTTP protocol ``escrow serve`` gives uvicorn (``auto`` before it chose one)."""
    from escrow import cli_service

    return str(getattr(cli_service, "HTTP_PROTOCOL", "auto"))


@dataclass(frozen=True)
class HttpSizes:
    samples: int
    """Timed rounds (floor, payment, balance) per worker count, after ``warm`` untimed ones."""
    acts_per_client: int
    """Rent payments each of the concurrent clients makes."""
    clients: int = 16
    workers: tuple[int, ...] = (1, 4)
    warm: int = 10
    series_s: float = 120.0
    """Time limit of one series (a latency series, the concurrent run)."""


@dataclass
class HttpResult:
    figures: dict[str, Any] = field(default_factory=dict)
    rows: list[tuple[str, str, str, str, bool | None]] = field(default_factory=list)
    """(measure, value, detail, target, ok)."""


@dataclass(frozen=True)
class Setup:
    copy: Path
    fund_token: str
    pay_contracts: list[str]
    """Contracts that take rent (not returned, not ended), seeded random order."""
    balance_contracts: list[tuple[str, str]]
    """(contract, its tenant's token)."""


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of already sorted values."""
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def prepare(store: Path, into: Path, clients: int) -> Setup:
    """Copy ``store`` to ``into``, draw the contracts (up to 64 to pay on, at least ``clients``,
    and up to 16 to query), issue the tokens on the copy."""
    shutil.copyfile(store, into)
    wal = Path(str(store) + "-wal")
    if wal.exists():
        shutil.copyfile(wal, Path(str(into) + "-wal"))
    rng = random.Random(SEED)
    now = SystemClock().now()
    with open_ledger(str(into)) as ledger:  # migrates the copy to this escrow's schema
        today = ledger.today
        ids = list(ledger.contract_ids())
        rng.shuffle(ids)
        takers: list[str] = []
        for cid in ids:
            state = ledger.state_as_of(cid)
            if state.returned_on is None and state.terms.start <= today < state.terms.end:
                takers.append(cid)
            if len(takers) == 64 + 16:
                break
        queried_n = min(16, len(takers) // 5)
        if len(takers) - queried_n < clients or queried_n == 0:
            raise RuntimeError(f"only {len(takers)} contracts of {into.name} take rent on {today}")
        queried, pay = takers[:queried_n], takers[queried_n:]
        with contextlib.closing(sqlite3.connect(into)) as conn:  # whose contracts they are
            owner = dict(conn.execute("SELECT contract, tenant FROM rm_contracts").fetchall())
        _, fund = create_token(ledger.store, "fund_centre", None, label="bench", now=now)
        balance = []
        for cid in queried:
            _, token = create_token(ledger.store, "tenant", owner[cid], label="bench", now=now)
            balance.append((cid, token))
    flush(into)
    return Setup(into, fund, pay, balance)


# --- servers ----------------------------------------------------------------------------------


def _children(pid: int) -> list[int]:
    """``pid``'s descendants (Linux ``/proc``)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            for child in (task / "children").read_text().split():
                found += [int(child), *_children(int(child))]
    return found


def _has_open(pid: int, path: Path) -> bool:
    target = str(path.resolve())
    with contextlib.suppress(OSError):
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                if os.readlink(fd) == target:
                    return True
    return False


class Server:
    """A server started as a child process in its own session (stopped with its workers)."""

    def __init__(self, name: str, argv: list[str], workdir: Path, env: dict[str, str]) -> None:
        self.name = name
        self.log = workdir / f"{name}.log"
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, **env},
                start_new_session=True,
            )

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_ready(
        self, url: str, headers: dict[str, str], workers: int, ready: Callable[[int], bool]
    ) -> float:
        """Seconds until ``url`` answers 200 and ``workers`` worker processes pass ``ready``
        (every one has finished starting: a keep-alive connection may land on any)."""
        start = time.monotonic()
        answered = False
        while time.monotonic() - start < READY_TIMEOUT_S:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited {self.proc.returncode}: {self.log_text()}")
            if not answered:
                with contextlib.suppress(httpx.HTTPError):
                    answered = httpx.get(url, headers=headers, timeout=2).status_code == 200
            if answered:
                pids = _children(self.proc.pid) if workers > 1 else [self.proc.pid]
                if sum(ready(pid) for pid in pids) >= workers:
                    time.sleep(0.5)
                    return time.monotonic() - start
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} not ready in {READY_TIMEOUT_S:.0f} s: {self.log_text()}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        with contextlib.suppress(ProcessLookupError):  # a worker left behind
            os.killpg(self.proc.pid, signal.SIGKILL)


@contextlib.contextmanager
def servers(setup: Setup, workers: int, workdir: Path) -> Iterator[tuple[str, str]]:
    """The floor and ``escrow serve`` with ``workers`` workers, ready: their base URLs."""
    floor_dir = workdir / "floor"
    ready_dir = workdir / f"floor-ready-{workers}"
    floor_dir.mkdir(exist_ok=True)
    ready_dir.mkdir()
    (floor_dir / "floor_app.py").write_text(FLOOR_APP)
    floor_port, escrow_port = free_port(), free_port()
    floor_argv = [sys.executable, "-c", _FLOOR_SERVE, str(floor_dir), HOST, str(floor_port)]
    escrow_argv = [sys.executable, "-m", "escrow", "serve", "--db", str(setup.copy)]
    escrow_argv += ["--host", HOST, "--port", str(escrow_port), "--workers", str(workers)]
    escrow_argv += ["--mode", "simulation"]
    started: list[Server] = []
    try:
        floor = Server(
            f"floor-w{workers}",
            [*floor_argv, str(workers), _http_protocol()],
            workdir,
            {"FLOOR_READY_DIR": str(ready_dir)},
        )
        started.append(floor)
        escrow = Server(f"escrow-w{workers}", escrow_argv, workdir, {})
        started.append(escrow)
        floor_url, escrow_url = f"http://{HOST}:{floor_port}", f"http://{HOST}:{escrow_port}"
        floor.wait_ready(
            f"{floor_url}/nothing", {}, workers, lambda pid: (ready_dir / str(pid)).exists()
        )
        escrow.wait_ready(
            f"{escrow_url}/clock",
            _bearer(setup.fund_token),
            workers,
            lambda pid: _has_open(pid, setup.copy),
        )
        yield floor_url, escrow_url
    finally:
        for server in reversed(started):
            server.stop()


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _kind(response: httpx.Response) -> str:
    """``409 RuleViolation``: a non-2xx answer's status and problem type."""
    kind = str(response.status_code)
    with contextlib.suppress(ValueError, AttributeError):
        kind += f" {response.json().get('type')}"
    return kind


def _today(client: httpx.Client, token: str) -> str:
    answer = client.get("/clock", headers=_bearer(token))
    answer.raise_for_status()
    return str(answer.json()["today"])


# --- latency ----------------------------------------------------------------------------------


@dataclass
class Series:
    floor: list[float] = field(default_factory=list)
    pay: list[float] = field(default_factory=list)
    balance: list[float] = field(default_factory=list)
    failures: collections.Counter[str] = field(default_factory=collections.Counter)


def _timed(
    client: httpx.Client,
    series: list[float],
    failures: collections.Counter[str],
    what: str,
    method: str,
    url: str,
    **kwargs: Any,
) -> None:
    start = time.perf_counter_ns()
    answer = client.request(method, url, **kwargs)
    elapsed = (time.perf_counter_ns() - start) / 1e6
    if 200 <= answer.status_code < 300:
        series.append(elapsed)
    else:
        failures[f"{what} {_kind(answer)}"] += 1


def latency_series(
    setup: Setup, floor_url: str, escrow_url: str, workers: int, sizes: HttpSizes
) -> tuple[Series, str]:
    """``warm`` untimed then ``samples`` timed rounds of floor, payment, balance; the day."""
    rng = random.Random(SEED + workers)
    series = Series()
    with (
        httpx.Client(base_url=floor_url, timeout=60) as floor,
        httpx.Client(base_url=escrow_url, timeout=60) as escrow,
    ):
        today = _today(escrow, setup.fund_token)
        deadline = time.monotonic() + sizes.series_s
        for i in range(sizes.warm + sizes.samples):
            if i >= sizes.warm and time.monotonic() > deadline:
                break
            keep = i >= sizes.warm
            floor_ms = series.floor if keep else []
            pay_ms = series.pay if keep else []
            balance_ms = series.balance if keep else []
            _timed(floor, floor_ms, series.failures, "floor", "GET", "/nothing")
            contract = rng.choice(setup.pay_contracts)
            _timed(
                escrow,
                pay_ms,
                series.failures,
                "payment",
                "POST",
                f"/contracts/{contract}/rent-payments",
                json={"amount": AMOUNT, "arrived_on": today},
                headers={**_bearer(setup.fund_token), "Idempotency-Key": f"lat-w{workers}-{i}"},
            )
            queried, token = setup.balance_contracts[i % len(setup.balance_contracts)]
            _timed(
                escrow,
                balance_ms,
                series.failures,
                "balance",
                "GET",
                f"/contracts/{queried}/balance",
                headers=_bearer(token),
            )
    return series, today


# --- throughput -------------------------------------------------------------------------------


@dataclass
class Load:
    acts: int
    seconds: float
    answers: collections.Counter[str]
    """Every answer that is not 2xx, and every request that got no answer, by kind."""
    cut_short: bool


async def _pay_client(
    escrow_url: str,
    setup: Setup,
    contract: str,
    client_no: int,
    acts: int,
    today: str,
    connected: asyncio.Queue[int],
    go: asyncio.Event,
    deadline: list[float],
    tally: collections.Counter[str],
) -> int:
    """One client: connect, wait for the start, pay rent ``acts`` times on ``contract``."""
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    headers = _bearer(setup.fund_token)
    done = 0
    async with httpx.AsyncClient(
        base_url=escrow_url, headers=headers, timeout=120, limits=limits
    ) as client:
        (await client.get("/clock")).raise_for_status()  # the connection, opened untimed
        await connected.put(client_no)
        await go.wait()
        for j in range(acts):
            if time.monotonic() > deadline[0]:
                break
            try:
                answer = await client.post(
                    f"/contracts/{contract}/rent-payments",
                    json={"amount": AMOUNT, "arrived_on": today},
                    headers={"Idempotency-Key": f"load-c{client_no}-{j}"},
                )
            except httpx.HTTPError as exc:
                tally[f"no answer {type(exc).__name__}"] += 1
                continue
            if 200 <= answer.status_code < 300:
                done += 1
            else:
                tally[_kind(answer)] += 1
    return done


async def _load(
    escrow_url: str, setup: Setup, today: str, sizes: HttpSizes
) -> tuple[int, float, collections.Counter[str], bool]:
    connected: asyncio.Queue[int] = asyncio.Queue()
    go = asyncio.Event()
    deadline = [math.inf]
    tally: collections.Counter[str] = collections.Counter()
    contracts = setup.pay_contracts[: sizes.clients]
    tasks = [
        asyncio.create_task(
            _pay_client(
                escrow_url,
                setup,
                c,
                n,
                sizes.acts_per_client,
                today,
                connected,
                go,
                deadline,
                tally,
            )
        )
        for n, c in enumerate(contracts)
    ]
    for _ in tasks:
        await connected.get()
    start = time.monotonic()
    deadline[0] = start + sizes.series_s
    go.set()
    done = await asyncio.gather(*tasks)
    seconds = time.monotonic() - start
    return sum(done), seconds, tally, time.monotonic() > deadline[0]


def throughput(setup: Setup, escrow_url: str, sizes: HttpSizes) -> Load:
    if len(setup.pay_contracts) < sizes.clients:
        raise RuntimeError(f"{sizes.clients} clients need as many contracts")
    with httpx.Client(base_url=escrow_url, timeout=60) as client:
        today = _today(client, setup.fund_token)
    acts, seconds, tally, cut = asyncio.run(_load(escrow_url, setup, today, sizes))
    with contextlib.closing(sqlite3.connect(setup.copy)) as conn:
        kept = conn.execute(
            "SELECT COUNT(*) FROM idempotency_keys WHERE key LIKE 'http:%:load-c%'"
        ).fetchone()[0]
    if kept != acts:
        raise RuntimeError(f"{acts} payments answered 200 but the ledger keeps {kept} acts")
    return Load(acts, seconds, tally, cut)


# --- the measure ------------------------------------------------------------------------------


def measure(store: Path, workdir: Path, sizes: HttpSizes, log: Callable[[str], None]) -> HttpResult:
    """Every figure of the HTTP service (see the module's docstring)."""
    result = HttpResult()
    fig = result.figures
    copy_dir = workdir / "http-copy"
    copy_dir.mkdir()
    try:
        log(f"http: copying {store.name}, issuing tokens on the copy")
        setup = prepare(store, copy_dir / "ledger.db", sizes.clients)
        logs: list[str] = []
        for workers in sizes.workers:
            log(f"http: {workers} worker(s): floor and escrow serve, {sizes.samples} rounds")
            with servers(setup, workers, workdir) as (floor_url, escrow_url):
                series, today = latency_series(setup, floor_url, escrow_url, workers, sizes)
                _latency_figures(result, series, workers, today)
                if workers == max(sizes.workers):
                    log(f"http: {sizes.clients} clients x {sizes.acts_per_client} payments")
                    load = throughput(setup, escrow_url, sizes)
                    _load_figures(result, load, sizes, workers)
            logs += [(workdir / f"{n}-w{workers}.log").read_text() for n in ("floor", "escrow")]
        tracebacks = sum(text.count("Traceback") for text in logs)
        fig["http_server_tracebacks"] = tracebacks
        if tracebacks:
            result.rows.append(("http: server logs", f"{tracebacks} tracebacks", "", "", False))
    finally:
        shutil.rmtree(copy_dir, ignore_errors=True)
    return result


def _r(x: float) -> float:
    return round(x, 3)


def _latency_figures(result: HttpResult, series: Series, workers: int, today: str) -> None:
    fig = result.figures
    w = f"w{workers}"
    if not (series.floor and series.pay and series.balance):
        raise RuntimeError(f"{w}: no successful samples: {dict(series.failures)}")
    floor, pay, balance = sorted(series.floor), sorted(series.pay), sorted(series.balance)
    floor_p50 = percentile(floor, 50)
    fig[f"http_floor_p50_ms_{w}"] = _r(floor_p50)
    fig[f"http_floor_p99_ms_{w}"] = _r(percentile(floor, 99))
    if workers == 1:
        fig["http_floor_p50_ms"] = _r(floor_p50)
    for name, values in (("pay_rent", pay), ("balance", balance)):
        p50, p99 = percentile(values, 50), percentile(values, 99)
        ratio = p50 / floor_p50
        fig[f"http_{name}_p50_ms_{w}"] = _r(p50)
        fig[f"http_{name}_p99_ms_{w}"] = _r(p99)
        fig[f"http_{name}_ratio_{w}"] = round(ratio, 2)
        what = "POST rent-payments" if name == "pay_rent" else "GET balance (tenant)"
        result.rows.append(
            (
                f"http {name} p50, {workers} worker(s)",
                f"{p50:.2f} ms",
                f"{what}, {len(values)} samples, p99 {p99:.2f} ms; floor p50 {floor_p50:.2f} ms:"
                f" {ratio:.1f}x",
                "<= 3x floor",
                ratio <= 3,
            )
        )
    fig[f"http_samples_{w}"] = len(pay)
    fig[f"http_failures_{w}"] = dict(series.failures)
    fig["http_business_day"] = today
    result.rows.append(
        (
            f"http floor p50, {workers} worker(s)",
            f"{floor_p50:.2f} ms",
            f"bare FastAPI GET /nothing on uvicorn, same client, {len(floor)} samples,"
            f" p99 {percentile(floor, 99):.2f} ms"
            + (f"; failures {dict(series.failures)}" if series.failures else ""),
            "",
            None,
        )
    )


def _load_figures(result: HttpResult, load: Load, sizes: HttpSizes, workers: int) -> None:
    fig = result.figures
    key = f"w{workers}_c{sizes.clients}"
    rate = load.acts / load.seconds
    conflicts = sum(load.answers.values())
    fig[f"http_acts_per_s_{key}"] = round(rate, 1)
    fig[f"http_conflicts_{key}"] = conflicts
    fig[f"http_conflict_kinds_{key}"] = dict(load.answers)
    fig[f"http_acts_{key}"] = load.acts
    fig[f"http_load_s_{key}"] = round(load.seconds, 2)
    cut = "; cut short by the time limit" if load.cut_short else ""
    result.rows.append(
        (
            f"http acts/s, {workers} workers, {sizes.clients} clients",
            f"{rate:,.0f}",
            f"{load.acts} rent payments in {load.seconds:.1f} s, each client its own contract{cut}",
            "",
            None,
        )
    )
    kinds = ", ".join(f"{k}: {v}" for k, v in sorted(load.answers.items())) or "none"
    result.rows.append(
        (
            "http conflicts surfaced",
            str(conflicts),
            f"non-2xx answers: {kinds}",
            "0",
            conflicts == 0,
        )
    )
