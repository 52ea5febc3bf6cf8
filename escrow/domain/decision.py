"""A decision in progress: the events decided so far and the state they fold to."""

from __future__ import annotations

import dataclasses
import datetime as dt

from escrow.calendar import WorkdayCalendar
from escrow.domain import events as ev
from escrow.domain.ledger import OverdraftGuard, Transfer
from escrow.domain.state import ContractState, evolve
from escrow.rules import RulePack


@dataclasses.dataclass
class Decision:
    """Accumulates events; each one is folded in at once so later rules see its effect, and
    its money checked at once against what the escrow accounts hold (Art. 8, Art. 12)."""

    state: ContractState
    today: dt.date
    calendar: WorkdayCalendar
    rules: RulePack
    events: list[ev.Event] = dataclasses.field(default_factory=list)
    befores: list[ContractState] = dataclasses.field(default_factory=list)
    """The state just before each of ``events`` (what its transfers are computed from)."""
    transfers: list[list[Transfer]] = dataclasses.field(default_factory=list)
    """The transfers of each of ``events``, as the overdraft guard posted them."""
    guard: OverdraftGuard = dataclasses.field(init=False)

    def __post_init__(self) -> None:
        self.guard = OverdraftGuard(self.state)

    def emit(self, event: ev.Event) -> None:
        """Add ``event``; raises Overdraft (nothing added) if it would overdraw an account."""
        self.transfers.append(self.guard.admit(self.state, event))
        self.events.append(event)
        self.befores.append(self.state)
        self.state = evolve(self.state, event)

    def settlement_day(self, day: dt.date) -> dt.date:
        """Rule 11: outgoing transfers execute on working days (a rule-pack parameter)."""
        if self.rules.settle_on_working_days:
            return self.calendar.settlement_day(day)
        return day

    def deadline(self, start: dt.date, working_days: int) -> tuple[dt.date, bool]:
        """The ``working_days``-th working day after ``start`` and whether it is provisional."""
        due = self.calendar.nth_working_day(start, working_days)
        return due, self.calendar.is_provisional_span(start, due)
