"""How a write runs: its key, the ledger act, a refusal kept as a 409, the response kept."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from fastapi import Request, Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from escrow import acts
from escrow.api import idempotency
from escrow.api.context import Service
from escrow.api.parties import Party
from escrow.api.problems import MEDIA_TYPE, problem_body
from escrow.delivery import Receipt
from escrow.errors import RuleViolation, UnknownContract

Outcome = tuple[int, dict[str, Any]]
"""A write's status and JSON body."""


def receipt_json(receipt: Receipt) -> dict[str, Any]:
    return {
        "on": receipt.on.isoformat(),
        "first_position": receipt.first_position,
        "last_position": receipt.last_position,
        "duplicate": receipt.duplicate,
    }


def perform(
    service: Service,
    act: acts.Act,
    key: str,
    instance: str,
    *,
    contract: str | None = None,
    enterprise: str | None = None,
    shape: Callable[[Receipt], Outcome] | None = None,
) -> Outcome:
    """Do ``act`` under the ledger key ``key``. A rule's refusal is recorded in the ledger (as
    a scenario run records it, so the run report lists it) and answered ``409`` (``404`` for a
    contract that is not there: see :func:`escrow.api.access.check_scope`)."""
    try:
        receipt = service.ledger.handle(act.keyed(key))
    except RuleViolation as error:
        assert act.on is not None
        service.ledger.record_refusal(
            on=act.on,
            action=act.name,
            contract=contract,
            enterprise=enterprise,
            error=error,
            idempotency_key=key,
            request=act.request(),
        )
        detail = " ".join(str(error).split())
        status = 404 if isinstance(error, UnknownContract) else 409
        return status, problem_body(status, type(error).__name__, detail, instance)
    if shape is not None:
        return shape(receipt)
    return 200, receipt_json(receipt)


async def write(
    request: Request,
    service: Service,
    party: Party,
    key: str | None,
    body: BaseModel | None,
    run: Callable[[str], Outcome],
) -> Response:
    """Run a write once per ``Idempotency-Key``: ``run`` gets the ledger key and returns the
    outcome; the outcome is kept and answered again for the same key and request. The act and
    its kept outcome are one unit of work: one transaction, one commit (one wait for the disk,
    not two), and never an act without its answer."""
    key = idempotency.check_key(key)
    content = b"" if body is None else body.model_dump_json().encode()
    request_id = idempotency.fingerprint(request.method, request.url.path, content)

    def work() -> tuple[idempotency.Kept, bool]:
        with service.lock, service.ledger.unit_of_work():
            # The key's answer is looked for inside the write transaction: one transaction and
            # one connection per write, and no other request can keep one in between.
            store = service.ledger.store
            found = idempotency.kept(store, party, key, request_id)
            if found is not None:
                return found, True
            status, data = run(idempotency.ledger_key(party, key))
            body = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
            fresh = idempotency.Kept(status, body.encode())
            now = service.clock.now()
            return idempotency.keep(store, party, key, request_id, fresh, now), False

    answer, replayed = await run_in_threadpool(work)
    headers = {"Idempotent-Replayed": "true"} if replayed else {}
    if answer.status == 204:  # No Content: no body, whatever was kept
        return Response(status_code=204, headers=headers)
    media = MEDIA_TYPE if answer.status >= 400 else "application/json"
    return Response(answer.body, status_code=answer.status, media_type=media, headers=headers)
