"""Double-entry: every money movement is a transfer, and every transfer is balanced postings.

Accounts: ``tenant:ID`` and ``enterprise:ID`` (outside parties), ``custody:CONTRACT`` and
``supervision:CONTRACT`` (each contract's share of the dedicated accounts, Art. 8, Art. 12) and
``interest`` (the bank's interest paid). Escrow accounts may never go below zero (不透支); the
sum of all postings is always zero.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, MutableMapping
from decimal import Decimal
from typing import Literal, NamedTuple

from escrow.domain import events as ev
from escrow.domain.state import ContractState
from escrow.domain.terms import ACCOUNT_OF_FUND, FUND_OF_ACCOUNT, FUNDS, Fund
from escrow.errors import Overdraft
from escrow.money import ZERO

TransferKind = Literal["payment_in", "direct_rent", "release", "refund", "deduction", "migration"]


class Transfer(NamedTuple):
    """One money movement, as the run report lists it (docs/report-format.md).

    ``source``/``target`` are the report's names (``custody``, ``tenant:T1``…);
    ``debit``/``credit`` the ledger accounts posted (``custody@BANK:C1``…). An immutable named
    tuple: every replay makes one per money movement, at a fraction of a frozen dataclass's cost.
    """

    date: dt.date
    contract: str
    fund: Fund
    kind: TransferKind
    source: str
    target: str
    principal: Decimal
    interest: Decimal
    debit: str
    credit: str
    channel: str | None = None


@dataclasses.dataclass(frozen=True)
class Posting:
    account: str
    amount: Decimal


def escrow_account(state: ContractState, fund: Fund, bank: str | None = None) -> str:
    """The ledger account of a contract's share of the custody or supervision account."""
    account = ACCOUNT_OF_FUND[fund]
    return f"{account}@{bank or state.bank(account)}:{state.terms.id}"


_MONEY_EVENTS = frozenset(
    {ev.PayoutExecuted, ev.DepositReceived, ev.RentReceived, ev.FundsMigrated}
)
"""The only events that move money; every other event makes no transfer. Looked up by exact
type, which is a set lookup where ``isinstance`` on a pydantic class is an ABC check (events are
final classes: ``tests/unit/test_events.py`` checks that none subclasses another)."""


def transfers_of(state: ContractState, event: ev.Event) -> list[Transfer]:
    """The transfers ``event`` makes, given the contract state just before it."""
    if type(event) not in _MONEY_EVENTS:
        return []
    terms = state.terms
    tenant, enterprise = f"tenant:{terms.tenant}", f"enterprise:{terms.enterprise}"
    c = terms.id
    match event:
        case ev.PayoutExecuted(fund=fund, payout=no, pieces=pieces, interest_to=interest_to, on=on):
            payout = state.payout(no)
            name = ACCOUNT_OF_FUND[fund]
            source = escrow_account(state, fund)
            principal = sum((p.principal for p in pieces), ZERO)
            interest = sum((p.interest for p in pieces), ZERO)
            party = {"tenant": tenant, "enterprise": enterprise}
            target = party[payout.to]
            if interest_to == payout.to:
                return [
                    Transfer(
                        on, c, fund, payout.kind, name, target, principal, interest, source, target
                    )
                ]
            other = party[interest_to]
            return [
                Transfer(on, c, fund, payout.kind, name, target, principal, ZERO, source, target),
                Transfer(on, c, fund, "refund", name, other, ZERO, interest, source, other),
            ]
        case ev.DepositReceived(amount=amount, channel=channel, on=on):
            to = escrow_account(state, "deposit")
            return [
                Transfer(
                    on,
                    c,
                    "deposit",
                    "payment_in",
                    tenant,
                    "custody",
                    amount,
                    ZERO,
                    tenant,
                    to,
                    channel,
                )
            ]
        case ev.RentReceived(amount=amount, channel=channel, supervised=True, on=on):
            to = escrow_account(state, "rent")
            return [
                Transfer(
                    on,
                    c,
                    "rent",
                    "payment_in",
                    tenant,
                    "supervision",
                    amount,
                    ZERO,
                    tenant,
                    to,
                    channel,
                )
            ]
        case ev.RentReceived(amount=amount, channel=channel, on=on):
            return [
                Transfer(
                    on,
                    c,
                    "rent",
                    "direct_rent",
                    tenant,
                    enterprise,
                    amount,
                    ZERO,
                    tenant,
                    enterprise,
                    channel,
                )
            ]
        case ev.FundsMigrated(principal=principal) if principal == ZERO:
            return []
        case ev.FundsMigrated(account=account, principal=principal, old_bank=old, bank=new, on=on):
            moved = FUND_OF_ACCOUNT[account]
            return [
                Transfer(
                    on,
                    c,
                    moved,
                    "migration",
                    account,
                    account,
                    principal,
                    ZERO,
                    escrow_account(state, moved, old),
                    escrow_account(state, moved, new),
                )
            ]
        case _:
            return []


def postings_of(transfer: Transfer) -> list[Posting]:
    """Balanced postings: principal from debit to credit; interest from the bank's interest."""
    postings = [
        Posting(transfer.debit, -transfer.principal),
        Posting(transfer.credit, transfer.principal),
    ]
    if transfer.interest:
        postings += [
            Posting("interest", -transfer.interest),
            Posting(transfer.credit, transfer.interest),
        ]
    return postings


def is_escrow_account(account: str) -> bool:
    return account.startswith(("custody@", "supervision@"))


def post(balances: MutableMapping[str, Decimal], transfers: Iterable[Transfer]) -> None:
    """Apply ``transfers`` to ``balances``; Overdraft if an escrow account would go below zero.

    Principal leaves an escrow account; the interest comes from the bank, not from the principal.
    ``balances`` is left unchanged by a refusal.
    """
    staged: dict[str, Decimal] = {}
    for transfer in transfers:
        for posting in postings_of(transfer):
            base = staged.get(posting.account, balances.get(posting.account, ZERO))
            new = base + posting.amount
            if is_escrow_account(posting.account) and new < ZERO:
                raise Overdraft(
                    f"{transfer.kind} of {transfer.principal} on {transfer.date} would take"
                    f" {posting.account} below zero"
                )
            staged[posting.account] = new
    balances.update(staged)


class OverdraftGuard:
    """Art. 8, Art. 12 (不透支): refuses an event that would take an escrow account below zero.

    Starts from what the contract holds in each account; :meth:`admit` posts each event's
    transfers in turn, as a decision emits them, and raises :class:`Overdraft` at the first one
    that would overdraw (the balances stay as they were).
    """

    def __init__(self, state: ContractState) -> None:
        self._start = state
        self._balances: dict[str, Decimal] | None = None
        """The accounts' balances, taken from the start state at the first event that moves
        money (most decisions emit none: their balances are never needed)."""

    def admit(self, before: ContractState, event: ev.Event) -> list[Transfer]:
        """Post ``event``'s transfers, given the contract state just before it; the transfers
        (the read models are written from them)."""
        transfers = transfers_of(before, event)
        if not transfers:
            return transfers
        if self._balances is None:
            start = self._start
            self._balances = {escrow_account(start, fund): start.held(fund) for fund in FUNDS}
        post(self._balances, transfers)
        return transfers
