"""Given events, when a command on a date, then exactly these events (or this named refusal).

The domain's rules as behaviour, called directly: ``decide(fold(given), command, on, calendar,
rules)`` with the real calendar (``holidays.China`` with its make-up working days) and the
``beijing-2024`` rule pack. No store, no I/O, no wall clock::

    given(opened, deposit).when(cmd.ReturnHome(), on=d(2025, 9, 30)).then(
        ev.HomeReturned(on=d(2025, 9, 30)),
        ev.RefundWorkflowOpened(...),
    )
    given(opened).when(cmd.TenantAgree("deposit"), on=...).refused(NoRefundWorkflow, "returned")

``OpenContract`` goes through ``open_contract`` (the stream is new, or ``existing`` is the
state the given events fold to); every other command goes through ``decide``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

import pytest

from escrow.calendar import WorkdayCalendar
from escrow.domain import commands as cmd
from escrow.domain import events as ev
from escrow.domain.decide import decide, open_contract
from escrow.domain.state import fold
from escrow.errors import EscrowError
from escrow.rules import RulePack, rule_pack

CALENDAR = WorkdayCalendar()
RULES = rule_pack("beijing-2024")
CUSTODY_BANK = "B1"
SUPERVISION_BANK = "B2"


@dataclasses.dataclass(frozen=True)
class Given:
    """A contract's history: the events its stream holds, oldest first."""

    history: tuple[ev.Event, ...]

    def when(
        self, command: cmd.Command, *, on: dt.date, enterprise_suspended: bool = False
    ) -> When:
        """``command`` on business day ``on``. ``enterprise_suspended`` only matters to an
        ``OpenContract``: whether the new contract's enterprise is suspended (Art. 20)."""
        return When(self.history, command, on, enterprise_suspended)


def given(*events: ev.Event) -> Given:
    return Given(tuple(events))


@dataclasses.dataclass(frozen=True)
class When:
    history: tuple[ev.Event, ...]
    command: cmd.Command
    today: dt.date
    enterprise_suspended: bool
    rules: RulePack = RULES

    def decided(self) -> list[ev.Event]:
        """The events the command produces; raises what the rules raise."""
        state = fold(list(self.history))
        if isinstance(self.command, cmd.OpenContract):
            return open_contract(
                self.command,
                self.today,
                self.rules,
                custody_bank=CUSTODY_BANK,
                supervision_bank=SUPERVISION_BANK,
                suspended=self.enterprise_suspended,
                existing=state,
            )
        if state is None:
            raise AssertionError("given no ContractOpened: nothing to decide on")
        return decide(state, self.command, self.today, CALENDAR, self.rules)

    def then(self, *expected: ev.Event) -> None:
        """The command is accepted and emits exactly ``expected``, in this order."""
        emitted = self.decided()
        if _exactly(emitted) != _exactly(list(expected)):
            pytest.fail(_difference(emitted, list(expected)), pytrace=False)

    def refused(self, error: type[EscrowError], match: str) -> None:
        """The command is refused with exactly ``error`` (not a subclass or a parent), its
        one-line message matching ``match`` (a regular expression), and nothing is emitted."""
        try:
            emitted = self.decided()
        except EscrowError as exc:
            assert type(exc) is error, f"refused with {type(exc).__name__}: {exc}"
            message = str(exc)
            assert "\n" not in message, f"a refusal is one line: {message!r}"
            assert re.search(match, message), f"{message!r} does not match {match!r}"
            return
        pytest.fail(
            f"expected {error.__name__}, but the command was accepted and emitted:\n"
            + "\n".join(f"  {_show(e)}" for e in emitted),
            pytrace=False,
        )


def _exactly(events: list[ev.Event]) -> list[tuple[type, dict[str, object]]]:
    """Each event's class and its fields as the store writes them: ``Decimal("5.890")`` and
    ``Decimal("5.89")`` are equal numbers but not the same amount written down."""
    return [(type(e), e.model_dump(mode="json")) for e in events]


def _show(event: ev.Event) -> str:
    return repr(event)


def _difference(emitted: list[ev.Event], expected: list[ev.Event]) -> str:
    lines = ["the events emitted are not the events expected:"]
    for i in range(max(len(emitted), len(expected))):
        got = emitted[i] if i < len(emitted) else None
        want = expected[i] if i < len(expected) else None
        same = got is not None and want is not None and _exactly([got]) == _exactly([want])
        mark = "  " if same else "!="
        lines.append(f"{mark} #{i} emitted:  {_show(got) if got is not None else '(nothing)'}")
        if not same:
            lines.append(f"   #{i} expected: {_show(want) if want is not None else '(nothing)'}")
    return "\n".join(lines)
