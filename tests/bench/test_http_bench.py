"""bench/run.py's http measure at a tiny size: it runs end to end, every payment it counts is in
the ledger once, and the store it measures stays as it was (it works on a copy).

A smoke test, not a timed one: the figures are only checked to be there.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pytest

from escrow import open_ledger
from escrow.simulate import simulate

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import http_bench  # bench/ is not a package: its directory is put on the path above

pytestmark = pytest.mark.slow


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_http_measure_runs_on_a_copy(tmp_path: Path) -> None:
    store = tmp_path / "store.db"
    with open_ledger(str(store)) as ledger:
        simulate(ledger, contracts=40, months=3, seed=1)
    before = _digest(store)
    work = tmp_path / "work"
    work.mkdir()
    sizes = http_bench.HttpSizes(
        samples=3, acts_per_client=2, clients=3, workers=(1, 2), warm=1, series_s=60
    )
    result = http_bench.measure(store, work, sizes, lambda _: None)
    fig = result.figures
    for workers in (1, 2):
        for name in ("floor", "pay_rent", "balance"):
            assert fig[f"http_{name}_p50_ms_w{workers}"] > 0
        assert fig[f"http_samples_w{workers}"] == 3
        assert fig[f"http_failures_w{workers}"] == {}
    # 3 clients x 2 payments, on 2 workers: all done, none refused, none surfaced a conflict.
    assert fig["http_acts_w2_c3"] == 6
    assert fig["http_conflicts_w2_c3"] == 0
    assert fig["http_server_tracebacks"] == 0
    assert _digest(store) == before
    assert not (work / "http-copy").exists()
