"""The reads, as resources: contracts, balances, transfers, notices, deadlines, refusals, the
clock and the run report, each ``as_of`` a business date and ``known_at`` a recorded time.

Reads of one contract answer any party the contract concerns (``404`` for anybody else's);
ledger-wide lists answer the fund centre and the auditor.
"""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Annotated, Any, TextIO, cast

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from escrow.api import access, models
from escrow.api.context import PartyDep, Service, ServiceDep
from escrow.api.parties import Role
from escrow.api.problems import Problem
from escrow.api.routes_acts import _PROBLEMS, ContractId
from escrow.errors import UnknownContract
from escrow.money import fmt
from escrow.render import balance_json, contract_json, deadline_json, notice_json, transfer_json
from escrow.report import RunReport, write_report
from escrow.store import readstore

router = APIRouter()

AsOf = Annotated[
    dt.date | None, Query(description="The business date to look from (default: the clock's).")
]
KnownAt = Annotated[
    dt.datetime | None,
    Query(description="As recorded by this instant (ISO 8601 with a zone): later corrections"),
]
_READ: dict[str, Any] = {"responses": {k: _PROBLEMS[k] for k in (401, 404, 422)}}
_SPOOL = 1 << 20
"""Bytes of a ledger-wide answer kept in memory before it spills to a temporary file."""


def _known_at(value: dt.datetime | None) -> dt.datetime | None:
    if value is not None and value.tzinfo is None:
        raise Problem(422, "ValidationError", "known_at: needs a time zone (e.g. +08:00 or Z)")
    return value


def _checked(service: Service, party: PartyDep, contract: str) -> None:
    access.check_contract(service.ledger.store, party, contract)


@router.get("/clock", response_model=models.ClockOut, tags=["clock"], **_READ)
def clock(service: ServiceDep, party: PartyDep) -> dict[str, Any]:
    """The ledger's business date, and whether the service is live or a simulation."""
    with service.lock:
        return {"today": service.ledger.today, "mode": service.mode}


@router.get("/contracts", response_model=list[models.ContractOut], tags=["contracts"], **_READ)
def list_contracts(
    service: ServiceDep,
    party: PartyDep,
    after: Annotated[str | None, Query(description="Only ids that sort after this.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    """The contracts the party may see, by id, a page at a time."""
    with service.lock:
        page = access.visible_contracts(service.ledger.store, party, after=after, limit=limit)
        return [contract_json(service.ledger.state_as_of(c)) for c in page]


@router.get("/contracts/{contract}", response_model=models.ContractOut, tags=["contracts"], **_READ)
def get_contract(
    contract: ContractId,
    service: ServiceDep,
    party: PartyDep,
    as_of: AsOf = None,
    known_at: KnownAt = None,
) -> dict[str, Any]:
    """A contract's terms and where it stands."""
    with service.lock:
        _checked(service, party, contract)
        state = service.ledger.state_as_of(contract, as_of, _known_at(known_at))
        return contract_json(state)


@router.get("/filings/{filing_no}", response_model=models.ContractOut, tags=["contracts"], **_READ)
def get_filing(filing_no: str, service: ServiceDep, party: PartyDep) -> dict[str, Any]:
    """The contract with this filing number (备案编号, Art. 19)."""
    with service.lock:
        try:
            contract = service.ledger.contract_for_filing(filing_no)
        except UnknownContract:
            contract = None
        if contract is None:
            raise Problem(404, "UnknownContract", f"no contract with filing number {filing_no!r}")
        try:
            _checked(service, party, contract)
        except Problem:  # the same answer as for a filing number that is not there
            raise Problem(
                404, "UnknownContract", f"no contract with filing number {filing_no!r}"
            ) from None
        return contract_json(service.ledger.state_as_of(contract))


@router.get(
    "/contracts/{contract}/balance", response_model=models.BalanceOut, tags=["queries"], **_READ
)
def balance(
    contract: ContractId,
    service: ServiceDep,
    party: PartyDep,
    as_of: AsOf = None,
    known_at: KnownAt = None,
) -> dict[str, Any]:
    """Art. 19: what is held in custody and in supervision, lot by lot, with interest so far."""
    with service.lock:
        _checked(service, party, contract)
        found = service.ledger.balances(contract, as_of=as_of, known_at=_known_at(known_at))
        return balance_json(found)


def _contract_list(
    service: Service,
    party: PartyDep,
    contract: str,
    read: Callable[[Service], Iterable[Any]],
    shape: Callable[[Any], dict[str, Any]],
) -> list[dict[str, Any]]:
    with service.lock:
        _checked(service, party, contract)
        return [shape(item) for item in read(service)]


@router.get(
    "/contracts/{contract}/transfers",
    response_model=list[models.TransferOut],
    tags=["queries"],
    **_READ,
)
def contract_transfers(
    contract: ContractId,
    service: ServiceDep,
    party: PartyDep,
    as_of: AsOf = None,
    known_at: KnownAt = None,
) -> list[dict[str, Any]]:
    """The contract's money movements, in the order executed."""
    at = _known_at(known_at)
    return _contract_list(
        service, party, contract,
        lambda s: s.ledger.iter_transfers(contract, as_of=as_of, known_at=at), transfer_json,
    )  # fmt: skip


@router.get(
    "/contracts/{contract}/notices",
    response_model=list[models.NoticeOut],
    tags=["queries"],
    **_READ,
)
def contract_notices(
    contract: ContractId,
    service: ServiceDep,
    party: PartyDep,
    as_of: AsOf = None,
    known_at: KnownAt = None,
) -> list[dict[str, Any]]:
    """Reminders, missed deadlines, deemed agreements, held releases… of the contract."""
    at = _known_at(known_at)
    return _contract_list(
        service, party, contract,
        lambda s: s.ledger.iter_notices(contract, as_of=as_of, known_at=at), notice_json,
    )  # fmt: skip


@router.get(
    "/contracts/{contract}/deadlines",
    response_model=list[models.DeadlineOut],
    tags=["queries"],
    **_READ,
)
def contract_deadlines(
    contract: ContractId,
    service: ServiceDep,
    party: PartyDep,
    as_of: AsOf = None,
    known_at: KnownAt = None,
) -> list[dict[str, Any]]:
    """Open deadlines and scheduled movements of the contract."""
    at = _known_at(known_at)
    return _contract_list(
        service, party, contract,
        lambda s: s.ledger.deadlines(contract, as_of=as_of, known_at=at), deadline_json,
    )  # fmt: skip


def _spooled(service: Service, fill: Callable[[IO[str]], None]) -> Iterator[bytes]:
    """Write a ledger-wide answer under the lock into a spooled file, then stream it without
    the lock (memory stays bounded; other requests go on)."""
    spool = tempfile.SpooledTemporaryFile(  # noqa: SIM115 (closed by the stream)
        max_size=_SPOOL, mode="w+", encoding="utf-8"
    )
    with service.lock:
        fill(spool)
    spool.seek(0)

    def chunks() -> Iterator[bytes]:
        with spool:
            while block := spool.read(1 << 16):
                yield block.encode()

    return chunks()


def _json_array(out: IO[str], items: Iterable[dict[str, Any]]) -> None:
    out.write("[")
    for n, item in enumerate(items):
        out.write(("," if n else "") + json.dumps(item, ensure_ascii=False))
    out.write("]")


async def _ledger_list(
    service: Service, party: PartyDep, what: str, items: Callable[[], Iterable[dict[str, Any]]]
) -> StreamingResponse:
    access.require(party, access.OVERSIGHT, f"list every contract's {what}")
    body = await run_in_threadpool(_spooled, service, lambda out: _json_array(out, items()))
    return StreamingResponse(body, media_type="application/json")


@router.get("/transfers", response_model=list[models.TransferOut], tags=["ledger"], **_READ)
async def transfers(
    service: ServiceDep, party: PartyDep, as_of: AsOf = None, known_at: KnownAt = None
) -> StreamingResponse:
    """Every money movement of the ledger (the fund centre, the auditor)."""
    at = _known_at(known_at)
    return await _ledger_list(
        service, party, "transfers",
        lambda: map(transfer_json, service.ledger.iter_transfers(as_of=as_of, known_at=at)),
    )  # fmt: skip


@router.get("/notices", response_model=list[models.NoticeOut], tags=["ledger"], **_READ)
async def notices(
    service: ServiceDep, party: PartyDep, as_of: AsOf = None, known_at: KnownAt = None
) -> StreamingResponse:
    """Every notice of the ledger (the fund centre, the auditor)."""
    at = _known_at(known_at)
    return await _ledger_list(
        service, party, "notices",
        lambda: map(notice_json, service.ledger.iter_notices(as_of=as_of, known_at=at)),
    )  # fmt: skip


@router.get("/deadlines", response_model=list[models.DeadlineOut], tags=["ledger"], **_READ)
async def deadlines(
    service: ServiceDep, party: PartyDep, as_of: AsOf = None, known_at: KnownAt = None
) -> StreamingResponse:
    """Every open deadline of the ledger (the fund centre, the auditor)."""
    at = _known_at(known_at)
    return await _ledger_list(
        service, party, "deadlines",
        lambda: map(deadline_json, service.ledger.deadlines(as_of=as_of, known_at=at)),
    )  # fmt: skip


@router.get("/refusals", response_model=list[models.RefusalOut], tags=["ledger"], **_READ)
async def refusals(service: ServiceDep, party: PartyDep) -> StreamingResponse:
    """Every act the rules refused (the fund centre, the auditor)."""
    return await _ledger_list(
        service, party, "refusals",
        lambda: (
            {
                "date": r.date.isoformat(), "action": r.action, "contract": r.contract,
                "enterprise": r.enterprise, "reason": r.reason,
            }
            for r in service.ledger.refusals()
        ),
    )  # fmt: skip


@router.get("/held", response_model=list[models.HeldOut], tags=["ledger"], **_READ)
async def held(service: ServiceDep, party: PartyDep) -> StreamingResponse:
    """Principal held now for every contract (the fund centre, the auditor)."""
    return await _ledger_list(
        service, party, "held funds",
        lambda: (
            {"contract": c, "deposit": fmt(d), "rent": fmt(r)}
            for c, d, r in service.ledger.iter_held()
        ),
    )  # fmt: skip


@router.get(
    "/enterprises/{enterprise}", response_model=models.EnterpriseOut, tags=["enterprises"], **_READ
)
def enterprise(enterprise: str, service: ServiceDep, party: PartyDep) -> dict[str, Any]:
    """Whether releases to the enterprise are suspended (Art. 20)."""
    access.require(party, access.EVERYONE - {Role.TENANT}, "look up an enterprise")
    if party.role is Role.ENTERPRISE and party.subject != enterprise:
        raise Problem(404, "NotFound", f"unknown enterprise {enterprise!r}")
    with service.lock, service.ledger.store.connection() as conn:
        return {"enterprise": enterprise, "suspended": readstore.suspended(conn, enterprise)}


@router.get("/report", tags=["ledger"], response_model=RunReport, **_READ)
async def report(service: ServiceDep, party: PartyDep) -> StreamingResponse:
    """The run report of the whole ledger, as ``escrow run --json`` writes it (the fund centre,
    the auditor)."""
    access.require(party, access.OVERSIGHT, "read the run report")

    def fill(out: IO[str]) -> None:
        ledger = service.ledger
        with ledger.store.connection() as conn:
            write_report(cast(TextIO, out), conn, ledger.config.label, ledger.today)

    body = await run_in_threadpool(_spooled, service, fill)
    return StreamingResponse(body, media_type="application/json")
