"""`escrow verify`: is a ledger database sound?

Checks, in this order, and names the first event that fails:
1. the store's hash chain (a changed, deleted or reordered row breaks it);
2. a replay of every event: each decodes, each contract event follows its ContractOpened;
3. the money invariants at every step: no custody or supervision account below zero (Art. 8,
   Art. 12: 不透支), postings sum to zero, money in = money out + held;
4. every deadline that lapsed before the ledger's clock was handled as the rules say (nothing due
   before the clock's last day is left undone).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable
from decimal import Decimal

from escrow.domain import events as ev
from escrow.domain.decide import next_due
from escrow.domain.ledger import Transfer, post, postings_of, transfers_of
from escrow.domain.state import ContractState, evolve, open_state
from escrow.domain.terms import FUNDS
from escrow.errors import EscrowError
from escrow.money import ZERO
from escrow.store import EventStoreLike, VerifyReport

CONTRACT = "contract:"


@dataclasses.dataclass(frozen=True)
class AuditReport:
    ok: bool
    events: int
    position: int | None = None
    problem: str | None = None
    chain: VerifyReport | None = dataclasses.field(default=None, compare=False)
    """The hash chain's report: the Merkle roots recomputed from the rows (issue 15)."""

    def line(self) -> str:
        if self.ok:
            return f"sound: {self.events} events, hash chain intact, invariants hold"
        where = f"event {self.position}: " if self.position is not None else ""
        return f"unsound: {where}{self.problem}"


def audit(store: EventStoreLike, sizes: Iterable[int] = ()) -> AuditReport:
    """Verify the hash chain, replay every event and check the invariants.

    ``sizes``: the tree sizes whose Merkle roots to recompute (those of kept checkpoints)."""
    chain = store.verify(sizes)
    return dataclasses.replace(_audit(store, chain), chain=chain)


def _audit(store: EventStoreLike, chain: VerifyReport) -> AuditReport:
    if not chain.ok:
        return AuditReport(False, chain.events_checked, chain.first_bad_position, chain.reason)
    states: dict[str, ContractState] = {}
    last_position: dict[str, int] = {}
    balances: dict[str, Decimal] = {}
    posted = ZERO  # the sum of every balance, kept as postings come (one contract per event)
    held_by: dict[str, Decimal] = {}
    held = ZERO  # the sum of held_by, kept the same way
    money_in = money_out = ZERO
    clock: dt.date | None = None
    count = 0
    try:
        stored_events = store.read_all()
    except EscrowError as error:
        return AuditReport(False, 0, None, str(error))
    for stored in stored_events:
        count += 1
        event = stored.event
        if not isinstance(event, ev.LedgerConfigured | ev.ActionRefused):
            clock = event.on if clock is None else max(clock, event.on)
        if not stored.stream.startswith(CONTRACT):
            continue
        contract = stored.stream[len(CONTRACT) :]
        last_position[contract] = stored.position
        if isinstance(event, ev.ContractOpened):
            states[contract] = open_state(event)
            continue
        before = states.get(contract)
        if before is None:
            return AuditReport(
                False, count, stored.position, f"contract {contract} acts before it was opened"
            )
        try:
            transfers = _balanced_transfers(before, event)
            post(balances, transfers)
            after = states[contract] = evolve(before, event)
        except (EscrowError, KeyError, AssertionError) as error:
            return AuditReport(False, count, stored.position, f"cannot replay: {error}")
        posted += sum((p.amount for t in transfers for p in postings_of(t)), ZERO)
        now_held = sum((after.held(f) for f in FUNDS), ZERO)
        held += now_held - held_by.get(contract, ZERO)
        held_by[contract] = now_held
        for t in transfers:
            if t.kind == "payment_in":
                money_in += t.principal
            elif t.kind in ("release", "refund", "deduction"):
                money_out += t.principal
        if posted != ZERO:
            return AuditReport(False, count, stored.position, "postings do not sum to zero")
        if money_in != money_out + held:
            return AuditReport(
                False,
                count,
                stored.position,
                f"money in {money_in} != money out {money_out} + held {held}",
            )
    if clock is not None:
        for contract, state in sorted(states.items()):
            due = next_due(state)
            # Strictly before: the clock processes a day contract by contract, so a process
            # stopped mid-day (a crash) may leave that day's work for its re-run; every earlier
            # day, though, was finished before any event of a later day was written.
            if due is not None and due < clock:
                return AuditReport(
                    False,
                    count,
                    last_position[contract],
                    f"contract {contract}: something fell due on {due} but the ledger's clock"
                    f" reached {clock} without doing it",
                )
    return AuditReport(True, count)


def _balanced_transfers(state: ContractState, event: ev.Event) -> list[Transfer]:
    """The event's transfers; EscrowError if any one's postings do not balance."""
    transfers = transfers_of(state, event)
    for t in transfers:
        if sum((p.amount for p in postings_of(t)), ZERO) != ZERO:
            raise EscrowError(f"an unbalanced posting for {t.kind} on {t.date}")
    return transfers
