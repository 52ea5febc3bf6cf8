"""The acts, as resources: every write of the ledger, each for the parties Art. 7 gives it to.

Every write takes an ``Idempotency-Key`` header (:mod:`escrow.api.idempotency`) and answers the
act's receipt, or a problem document (:mod:`escrow.api.problems`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import operator
from collections.abc import Callable
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Path, Request, Response
from pydantic import BaseModel

from escrow import acts
from escrow.api import access, models
from escrow.api.context import PartyDep, ServiceDep
from escrow.api.parties import Role
from escrow.api.problems import Problem, problem_body
from escrow.api.query_code import query_code
from escrow.api.writes import Outcome, perform, receipt_json, write
from escrow.delivery import Receipt
from escrow.domain.terms import ContractTerms

router = APIRouter()

KeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="One key per act: the same key and body answer the first response again.",
    ),
]
ContractId = Annotated[str, Path(description="The contract's id.")]
_PROBLEMS: dict[int | str, dict[str, Any]] = {
    code: {"model": models.ProblemOut, "description": text}
    for code, text in {
        400: "The request cannot be read, or has no Idempotency-Key.",
        401: "No valid bearer token.",
        403: "This party's role may not do this.",
        404: "No such contract for this party.",
        409: "A rule refuses the act (recorded as a refusal).",
        422: "A field is wrong, or the Idempotency-Key was sent with another request.",
    }.items()
}


@router.post(
    "/contracts",
    status_code=201,
    response_model=models.ContractOpened,
    responses=_PROBLEMS,
    tags=["contracts"],
    summary="Open a contract (an enterprise, for its own contracts)",
)
async def open_contract(
    body: models.ContractIn,
    request: Request,
    service: ServiceDep,
    party: PartyDep,
    key: KeyHeader = None,
) -> Response:
    access.require(party, {Role.ENTERPRISE}, "open a contract")
    if body.enterprise != party.subject:
        raise Problem(403, "Forbidden", "an enterprise may only open its own contracts")

    def run(ledger_key: str) -> Outcome:
        taken = _taken_by_another(service, body.id, body.filing_no, body.enterprise)
        if taken is not None:
            return 409, problem_body(409, "DuplicateContract", taken, request.url.path)
        terms = ContractTerms(
            id=body.id,
            filing_no=body.filing_no,
            tenant=body.tenant,
            enterprise=body.enterprise,
            start=body.start,
            end=body.end,
            monthly_rent=Decimal(body.monthly_rent),
            deposit=Decimal(body.deposit),
            affordable=body.affordable,
        )
        act = acts.OpenContract(terms=terms, on=service.default_day(body.on))

        def opened(receipt: Receipt) -> Outcome:
            return 201, {
                "contract": terms.id,
                "filing_no": terms.filing_no,
                "query_code": query_code(service.ledger, terms.id),
                "receipt": receipt_json(receipt),
            }

        return perform(service, act, ledger_key, request.url.path, contract=terms.id, shape=opened)

    return await write(request, service, party, key, body, run)


def _taken_by_another(
    service: ServiceDep, contract: str, filing_no: str, enterprise: str
) -> str | None:
    """Why a contract cannot be opened when its id or filing number is another enterprise's:
    one sentence that names neither the other contract nor its parties, the same whichever of
    the two is taken (an enterprise learns only that the identifier is in use: ids and filing
    numbers are one register for the whole city). None when neither is another's."""
    with service.ledger.store.connection() as conn:
        holders = {
            access.contract_enterprise(conn, contract),
            access.filing_enterprise(conn, filing_no),
        } - {None, enterprise}
    if not holders:
        return None
    return "the contract id or the filing number is already in the ledger"


_RECEIPT: dict[str, Any] = {"response_model": models.ReceiptOut, "responses": _PROBLEMS}


@dataclasses.dataclass(frozen=True)
class ContractAct:
    """One act on a contract, as a resource: who may do it, and the act its body makes."""

    name: str
    """The operation id (and the handler's name)."""
    path: str
    body: type[BaseModel]
    roles: frozenset[Role]
    what: str
    """What the party does, for a 403: "record a payment"."""
    tag: str
    summary: str
    make: Callable[[str, Any, dt.date], acts.Act]
    """The act, from the contract's id, the body and the business day."""
    day: Callable[[Any], dt.date | None] = operator.attrgetter("on")
    """The day the body names (default: its ``on``)."""


CONTRACT_ACTS = (
    ContractAct(
        "pay_deposit", "/contracts/{contract}/deposit-payments", models.PaymentIn,
        frozenset({Role.FUND_CENTRE}), "record a payment", "payments",
        "A bank notice of deposit paid into custody (the fund centre)",
        lambda c, b, on: acts.PayDeposit(
            contract=c, amount=Decimal(b.amount), channel=b.channel, on=on
        ),
        operator.attrgetter("arrived_on"),
    ),
    ContractAct(
        "pay_rent", "/contracts/{contract}/rent-payments", models.PaymentIn,
        frozenset({Role.FUND_CENTRE}), "record a payment", "payments",
        "A bank notice of rent paid in (the fund centre)",
        lambda c, b, on: acts.PayRent(
            contract=c, amount=Decimal(b.amount), channel=b.channel, on=on
        ),
        operator.attrgetter("arrived_on"),
    ),
    ContractAct(
        "return_home", "/contracts/{contract}/return", models.ReturnIn,
        frozenset({Role.ENTERPRISE, Role.TENANT}), "record the return of a home", "refunds",
        "The tenant returned the home (the enterprise or the tenant)",
        lambda c, b, on: acts.ReturnHome(contract=c, reason=b.reason, on=on),
    ),
    ContractAct(
        "propose_refund", "/contracts/{contract}/refund-opinions", models.RefundOpinionIn,
        frozenset({Role.ENTERPRISE}), "give a refund opinion", "refunds",
        "The enterprise's refund opinion with itemised deductions (Art. 10)",
        lambda c, b, on: acts.ProposeRefund(
            contract=c,
            fund=b.fund,
            deductions=tuple((d.item, Decimal(d.amount)) for d in b.deductions),
            on=on,
        ),
    ),
    ContractAct(
        "answer", "/contracts/{contract}/answers", models.AnswerIn,
        frozenset({Role.TENANT}), "answer a refund opinion", "refunds",
        "The tenant agrees to or disputes a refund opinion (Art. 10, Art. 11)",
        lambda c, b, on: (acts.TenantAgree if b.answer == "agree" else acts.TenantDisagree)(
            contract=c, fund=b.fund, on=on
        ),
    ),
    ContractAct(
        "resolve", "/contracts/{contract}/resolutions", models.ResolutionIn,
        frozenset({Role.ASSOCIATION}), "record a resolution", "refunds",
        "How a dispute was settled (the mediation association)",
        lambda c, b, on: acts.Resolve(
            contract=c,
            fund=b.fund,
            via=b.via,
            to_tenant=Decimal(b.to_tenant),
            to_enterprise=Decimal(b.to_enterprise),
            on=on,
        ),
    ),
)  # fmt: skip
"""The acts on one contract. Each is a handler made by :func:`_contract_route`: the role may do
it (403), the contract is the party's (the 404 of none), then the act on the body's day."""


def _contract_route(spec: ContractAct) -> None:
    async def endpoint(
        contract: ContractId,
        body: Any,
        request: Request,
        service: ServiceDep,
        party: PartyDep,
        key: KeyHeader = None,
    ) -> Response:
        access.require(party, spec.roles, spec.what)
        with service.lock:
            access.check_scope(service.ledger.store, party, contract)

        def run(ledger_key: str) -> Outcome:
            act = spec.make(contract, body, service.default_day(spec.day(body)))
            return perform(service, act, ledger_key, request.url.path, contract=contract)

        return await write(request, service, party, key, body, run)

    endpoint.__annotations__ = endpoint.__annotations__ | {"body": spec.body}
    endpoint.__name__ = endpoint.__qualname__ = spec.name
    router.post(spec.path, tags=[spec.tag], summary=spec.summary, **_RECEIPT)(endpoint)


for _spec in CONTRACT_ACTS:
    _contract_route(_spec)


async def _enterprise_act(
    request: Request,
    service: ServiceDep,
    party: PartyDep,
    key: str | None,
    body: models.DatedIn,
    enterprise: str,
    suspend: bool,
) -> Response:
    what = "suspend releases" if suspend else "resume releases"
    access.require(party, {Role.DISTRICT}, what)

    def run(ledger_key: str) -> Outcome:
        make = acts.SuspendReleases if suspend else acts.ResumeReleases
        act = make(enterprise=enterprise, on=service.default_day(body.on))
        return perform(service, act, ledger_key, request.url.path, enterprise=enterprise)

    return await write(request, service, party, key, body, run)


@router.post(
    "/enterprises/{enterprise}/suspension",
    tags=["enterprises"],
    summary="Suspend releases to a risky enterprise (a district authority, Art. 20)",
    **_RECEIPT,
)
async def suspend(
    enterprise: str,
    body: models.DatedIn,
    request: Request,
    service: ServiceDep,
    party: PartyDep,
    key: KeyHeader = None,
) -> Response:
    return await _enterprise_act(request, service, party, key, body, enterprise, True)


@router.post(
    "/enterprises/{enterprise}/resumption",
    tags=["enterprises"],
    summary="Resume releases: what was held is paid at once (a district authority)",
    **_RECEIPT,
)
async def resume(
    enterprise: str,
    body: models.DatedIn,
    request: Request,
    service: ServiceDep,
    party: PartyDep,
    key: KeyHeader = None,
) -> Response:
    return await _enterprise_act(request, service, party, key, body, enterprise, False)


@router.post(
    "/accounts/{account}/changes",
    tags=["accounts"],
    summary="Move the custody or supervision account to another bank (the fund centre, Art. 18)",
    **_RECEIPT,
)
async def change_account(
    account: Literal["custody", "supervision"],
    body: models.AccountChangeIn,
    request: Request,
    service: ServiceDep,
    party: PartyDep,
    key: KeyHeader = None,
) -> Response:
    access.require(party, {Role.FUND_CENTRE}, "change an account")

    def run(ledger_key: str) -> Outcome:
        act = acts.ChangeAccount(account=account, bank=body.bank, on=service.default_day(body.on))
        return perform(service, act, ledger_key, request.url.path)

    return await write(request, service, party, key, body, run)
