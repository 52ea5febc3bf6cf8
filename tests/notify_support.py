"""A real HTTP receiver for the webhook tests, and ledgers that give rise to messages.

:class:`Receiver` is ``http.server`` on a loopback port in a thread: it records every request
(message id, body, headers) and answers with the statuses it is told (200 by default).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from escrow.domain.terms import ContractTerms
from escrow.service import Ledger


@dataclasses.dataclass(frozen=True)
class Received:
    path: str
    message_id: str | None
    body: bytes
    headers: dict[str, str]

    @property
    def json(self) -> Any:
        return json.loads(self.body)


class Receiver:
    """Records what is POSTed to it; ``answer(n)`` gives the status of the n-th request (0-based)."""

    def __init__(self, answer: Callable[[int], int] | None = None, delay: float = 0.0) -> None:
        self.received: list[Received] = []
        self._answer = answer or (lambda n: 200)
        self._delay = delay
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                if receiver._delay:
                    time.sleep(receiver._delay)
                with receiver._lock:
                    n = len(receiver.received)
                    receiver.received.append(
                        Received(
                            self.path,
                            self.headers.get("Escrow-Message-Id"),
                            body,
                            dict(self.headers.items()),
                        )
                    )
                status = receiver._answer(n)
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/hook"

    def ids(self) -> list[str | None]:
        with self._lock:
            return [r.message_id for r in self.received]

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


@contextmanager
def receiving(answer: Callable[[int], int] | None = None, delay: float = 0.0) -> Iterator[Receiver]:
    with Receiver(answer, delay) as receiver:
        yield receiver


def terms(contract: str, *, enterprise: str = "E1", tenant: str | None = None) -> ContractTerms:
    return ContractTerms(
        id=contract,
        filing_no=f"JZ-2024-{contract}",
        tenant=tenant or f"T-{contract}",
        enterprise=enterprise,
        start=dt.date(2024, 10, 8),
        end=dt.date(2024, 12, 27),
        monthly_rent="3000.00",
        deposit="3000.00",
    )


def missed_deadlines(ledger: Ledger, contracts: int, *, enterprise: str = "E1") -> None:
    """``contracts`` tenancies whose enterprise misses its refund opinion (rule 6): deposit paid
    Tuesday 2024-10-08, home returned Friday 2024-12-27; working days after it Mon 12-30 (1),
    Tue 12-31 (2), Thu 2025-01-02 (3: New Year's Day is off) -> the opinion is due 2025-01-02;
    none comes, so the lapse takes effect the next calendar day, Friday 2025-01-03: one
    ``enterprise_deadline_missed`` message per contract, dated 2025-01-03."""
    with ledger.unit_of_work():
        for i in range(1, contracts + 1):
            contract = f"C{i}"
            ledger.open_contract(terms(contract, enterprise=enterprise), on=dt.date(2024, 10, 8))
            ledger.pay_deposit(contract, "3000.00", on=dt.date(2024, 10, 8))
        for i in range(1, contracts + 1):
            ledger.return_home(f"C{i}", reason="expiry", on=dt.date(2024, 12, 27))
        ledger.advance_to(dt.date(2025, 1, 3))
