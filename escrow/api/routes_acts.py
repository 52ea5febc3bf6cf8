"""The acts, as resources: every write of the ledger, each for the parties Art. 7 gives it to.

Every write takes an ``Idempotency-Key`` header (:mod:`escrow.api.idempotency`) and answers the
act's receipt, or a problem document (:mod:`escrow.api.problems`).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Path, Request, Response

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


async def _on_contract(
    request: Request,
    service: ServiceDep,
    party: PartyDep,
    key: str | None,
    body: Any,
    contract: str,
    roles: set[Role],
    what: str,
    make: Any,
) -> Response:
    """A write on one contract: the role may do it, the contract is the party's, then the act
    ``make(day)`` on the act's business day."""
    access.require(party, roles, what)
    with service.lock:
        access.check_scope(service.ledger.store, party, contract)

    def run(ledger_key: str) -> Outcome:
        act = make(service.default_day(getattr(body, "on", None)))
        return perform(service, act, ledger_key, request.url.path, contract=contract)

    return await write(request, service, party, key, body, run)


_RECEIPT: dict[str, Any] = {"response_model": models.ReceiptOut, "responses": _PROBLEMS}


@router.post(
    "/contracts/{contract}/deposit-payments",
    tags=["payments"],
    summary="A bank notice of deposit paid into custody (the fund centre)",
    **_RECEIPT,
)
async def pay_deposit(
    contract: ContractId,
    body: models.PaymentIn,
    request: Request,
    service: ServiceDep,
    party: PartyDep,
    key: KeyHeader = None,
) -> Response:
    return await _payment(request, service, party, key, body, contract, "deposit")


@router.post(
    "/contracts/{contract}/rent-payments",
    tags=["payments"],
    summary="A bank notice of rent paid in (the fund centre)",
    **_RECEIPT,
)
async def pay_rent(
    contract: ContractId,
    body: models.PaymentIn,
    request: Request,
    service: ServiceDep,
    party: PartyDep,
    key: KeyHeader = None,
) -> Response:
    return await _payment(request, service, party, key, body, contract, "rent")


async def _payment(
    request: Request,
    service: ServiceDep,
    party: PartyDep,
    key: str | None,
    body: models.PaymentIn,
    contract: str,
    fund: Literal["deposit", "rent"],
) -> Response:
    access.require(party, {Role.FUND_CENTRE}, "record a payment")
    with service.lock:
        access.check_scope(service.ledger.store, party, contract)

    def run(ledger_key: str) -> Outcome:
        on = service.default_day(body.arrived_on)
        make = acts.PayDeposit if fund == "deposit" else acts.PayRent
        act = make(contract=contract, amount=Decimal(body.amount), channel=body.channel, on=on)
        return perform(service, act, ledger_key, request.url.path, contract=contract)

    return await write(request, service, party, key, body, run)


@router.post(
    "/contracts/{contract}/return",
    tags=["refunds"],
    summary="The tenant returned the home (the enterprise or the tenant)",
    **_RECEIPT,
)
async def return_home(
    contract: ContractId,
    body: models.ReturnIn,
    request: Request,
    service: ServiceDep,
    party: PartyDep,
    key: KeyHeader = None,
) -> Response:
    return await _on_contract(
        request, service, party, key, body, contract,
        {Role.ENTERPRISE, Role.TENANT}, "record the return of a home",
        lambda on: acts.ReturnHome(contract=contract, reason=body.reason, on=on),
    )  # fmt: skip


@router.post(
    "/contracts/{contract}/refund-opinions",
    tags=["refunds"],
    summary="The enterprise's refund opinion with itemised deductions (Art. 10)",
    **_RECEIPT,
)
async def propose_refund(
    contract: ContractId,
    body: models.RefundOpinionIn,
    request: Request,
    service: ServiceDep,
    party: PartyDep,
    key: KeyHeader = None,
) -> Response:
    deductions = tuple((d.item, Decimal(d.amount)) for d in body.deductions)
    return await _on_contract(
        request, service, party, key, body, contract,
        {Role.ENTERPRISE}, "give a refund opinion",
        lambda on: acts.ProposeRefund(
            contract=contract, fund=body.fund, deductions=deductions, on=on
        ),
    )  # fmt: skip


@router.post(
    "/contracts/{contract}/answers",
    tags=["refunds"],
    summary="The tenant agrees to or disputes a refund opinion (Art. 10, Art. 11)",
    **_RECEIPT,
)
async def answer(
    contract: ContractId,
    body: models.AnswerIn,
    request: Request,
    service: ServiceDep,
    party: PartyDep,
    key: KeyHeader = None,
) -> Response:
    make = acts.TenantAgree if body.answer == "agree" else acts.TenantDisagree
    return await _on_contract(
        request, service, party, key, body, contract,
        {Role.TENANT}, "answer a refund opinion",
        lambda on: make(contract=contract, fund=body.fund, on=on),
    )  # fmt: skip


@router.post(
    "/contracts/{contract}/resolutions",
    tags=["refunds"],
    summary="How a dispute was settled (the mediation association)",
    **_RECEIPT,
)
async def resolve(
    contract: ContractId,
    body: models.ResolutionIn,
    request: Request,
    service: ServiceDep,
    party: PartyDep,
    key: KeyHeader = None,
) -> Response:
    return await _on_contract(
        request, service, party, key, body, contract,
        {Role.ASSOCIATION}, "record a resolution",
        lambda on: acts.Resolve(
            contract=contract,
            fund=body.fund,
            via=body.via,
            to_tenant=Decimal(body.to_tenant),
            to_enterprise=Decimal(body.to_enterprise),
            on=on,
        ),
    )  # fmt: skip


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
