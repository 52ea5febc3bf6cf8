"""The notices' deliverer, in the background of each worker of ``escrow serve``.

It runs :func:`escrow.notify.run_deliverer` in a thread on a store of its own (a store, like a
ledger, is not shared between threads). Deliveries are claimed in a write transaction before
they are sent, so several workers never send the same delivery in one round; ``escrow deliver``
may run beside them as well.
"""

from __future__ import annotations

import threading

from escrow.clock import Clock
from escrow.notify.deliverer import run_deliverer
from escrow.service import CODEC
from escrow.store import open_store


class Deliverer:
    """One worker's background deliverer."""

    def __init__(self, url: str, clock: Clock, interval: float = 1.0) -> None:
        self.url, self.clock, self.interval = url, clock, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="escrow-deliverer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        with open_store(self.url, CODEC, self.clock) as store:
            run_deliverer(store, clock=self.clock, stop=self._stop, interval=self.interval)
