"""The ledger service: load → decide → append, and the clock that runs what falls due.

Streams: ``ledger`` (configuration, clock, account changes, authority notices, refusals),
``contract:ID`` (one per contract) and ``enterprise:ID`` (suspensions, Art. 20). An act that
touches several streams (a suspension fans out to the enterprise's contracts, an account change
migrates every contract) is appended in one transaction.

The in-memory projections follow the store's global order (``read_all``), so several processes
can share one ledger: before each act the ledger catches up, and a concurrent append to the same
stream (``ConcurrencyError``) is retried a bounded number of times on fresh state.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import gc
import heapq
import json
import logging
import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from typing import NamedTuple

from escrow import arguments as arg
from escrow.calendar import LAST_DATE, WorkdayCalendar, check_supported_date
from escrow.clock import Clock, SystemClock
from escrow.config import LedgerConfig
from escrow.delivery import Receipt, act_request, check_same_act
from escrow.domain import commands as cmd
from escrow.domain import events as ev
from escrow.domain.decide import decide, next_due, open_contract
from escrow.domain.ledger import Transfer, transfers_of
from escrow.domain.state import ContractState, evolve, open_state
from escrow.domain.terms import Account, ContractTerms, Fund
from escrow.errors import (
    AlreadySuspended,
    ClockError,
    ConcurrencyError,
    EscrowError,
    InputError,
    IntegrityError,
    NotSuspended,
    RuleViolation,
    UnknownContract,
)
from escrow.projections import (
    Balance,
    Deadline,
    Notice,
    balance_of,
    deadlines_of,
    notices_of,
)
from escrow.retry import backoff_delay
from escrow.rules import RulePack
from escrow.store import (
    AppendResult,
    BatchResult,
    EventStore,
    PydanticCodec,
    StoredEvent,
    open_store,
)

LEDGER = "ledger"
CONTRACT = "contract:"
ENTERPRISE = "enterprise:"
INITIAL_BANK = "initial"
MAX_RETRIES = 8
READ_CHUNK = 20_000
"""Events read from the store at a time while catching up (bounds memory on a long replay)."""
ONE_DAY = dt.timedelta(days=1)
_OFF_THE_CLOCK = frozenset({ev.LedgerConfigured, ev.ActionRefused})
"""Events whose date does not move the ledger's clock (by exact type: events are final)."""

CODEC = PydanticCodec(ev.EVENT_ADAPTER)

log = logging.getLogger(__name__)
"""``escrow.service``: acts (INFO; their arguments and clock ticks at DEBUG), refusals (INFO),
retries after a concurrent append (WARNING) and clock runs (INFO). Never prints."""


@dataclasses.dataclass(frozen=True)
class Refusal:
    date: dt.date
    action: str
    contract: str | None
    reason: str
    enterprise: str | None = None


class Entry(NamedTuple):
    """One event in global order, with what it did to money and what it noticed.

    A named tuple (immutable, one per event folded): made in a fifth of a frozen dataclass's
    time, and smaller."""

    position: int
    stream: str
    event: ev.Event
    recorded_at: dt.datetime
    transfers: tuple[Transfer, ...]
    notices: tuple[Notice, ...]


Batch = list[tuple[str, list[ev.Event]]]
Writes = list[tuple[str, int, list[ev.Event]]]
"""A batch with each stream's expected version: one :meth:`EventStore.append_many`."""


class Ledger:
    """A rental-deposit custody and rent-supervision ledger on an event store.

    Every act takes ``on`` (the business date it happens on; the clock's today when omitted) and
    an optional ``idempotency_key``: an act delivered twice with the same key is done once.
    Refused acts raise a named :class:`escrow.errors.EscrowError` and write nothing.
    """

    def __init__(
        self, store: EventStore, config: LedgerConfig | None = None, clock: Clock | None = None
    ) -> None:
        self.store = store
        self.clock: Clock = clock or SystemClock()
        self._config: LedgerConfig | None = None
        self._unit: list[tuple[Writes, str | None]] | None = None
        """The appends of the open unit of work (None when there is none)."""
        self._unit_keys: dict[str, str | None] = {}
        """The idempotency keys among them, with the act each stands for."""
        self.conflicts_retried = 0
        """How many concurrent appends were refused and retried on fresh state."""
        self._forget()
        self._catch_up()
        if self._config is None and store.read_only:
            raise IntegrityError("not an escrow ledger: it holds no ledger configuration")

        def configure() -> bool:
            # Inside the retry loop: several processes may open one new ledger at once.
            if self._config is None:
                first = config or LedgerConfig()
                self._append([(LEDGER, [first.as_event(self.clock.today())])], None)
            return True

        self._retrying(configure)
        if config is not None:
            assert self._config is not None
            _check_same_config(self._config, config)
        assert self._config is not None
        self.config: LedgerConfig = self._config
        self.rules: RulePack = self.config.rule_pack()
        self.calendar: WorkdayCalendar = self.config.calendar()

    # --- reading the store -------------------------------------------------------------------

    def _forget(self) -> None:
        """Drop every fold (before reading the store from its first event again)."""
        self._contracts: dict[str, ContractState] = {}
        self._filings: dict[str, str] = {}
        """Contract ids by filing number (备案编号, Art. 19)."""
        self._versions: dict[str, int] = {}
        self._suspended: dict[str, bool] = {}
        self._banks: dict[Account, str] = {"custody": INITIAL_BANK, "supervision": INITIAL_BANK}
        self._pending_notices: list[ev.AccountChanged] = []
        self._entries: list[Entry] = []
        self._refusals: list[Refusal] = []
        self._today: dt.date | None = None
        self._position = 0
        self._due: list[tuple[dt.date, str]] = []
        """A heap of (day something falls due, contract); entries go stale as contracts move."""
        self._unscheduled: set[str] = set()
        """Contracts changed since their next due day was last put on the heap."""

    def _catch_up(self) -> None:
        if self._unit is not None:
            return  # the unit's own events are folded already; the store sees them at the end
        with _collector_paused():
            while True:
                chunk = self.store.read_all(after_position=self._position, limit=READ_CHUNK)
                for stored in chunk:
                    try:
                        self._apply(stored)
                    except (KeyError, ValueError, TypeError, AttributeError, AssertionError):
                        raise _unfoldable(stored) from None
                if len(chunk) < READ_CHUNK:
                    return

    def _rebuild(self) -> None:
        """Fold the store again from its first event (after a unit of work was not written)."""
        self._forget()
        self._catch_up()

    def _apply(self, stored: StoredEvent) -> None:
        event, stream = stored.event, stored.stream
        transfers: list[Transfer] = []
        contract: str | None = None
        if stream.startswith(CONTRACT):
            contract = stream[len(CONTRACT) :]
            if type(event) is ev.ContractOpened:  # events are final classes
                state = open_state(event)
                self._filings[event.terms.filing_no] = contract
            else:
                before = self._contracts[contract]
                transfers = transfers_of(before, event)
                state = evolve(before, event)
            self._contracts[contract] = state
            self._unscheduled.add(contract)
        elif stream.startswith(ENTERPRISE):
            enterprise = stream[len(ENTERPRISE) :]
            if isinstance(event, ev.ReleasesSuspended):
                self._suspended[enterprise] = True
            elif isinstance(event, ev.ReleasesResumed):
                self._suspended[enterprise] = False
        else:
            self._apply_ledger_event(event)
        self._versions[stream] = stored.version
        self._position = stored.position
        if type(event) not in _OFF_THE_CLOCK and (self._today is None or event.on > self._today):
            self._today = event.on
        self._entries.append(
            Entry(
                stored.position,
                stream,
                event,
                stored.recorded_at,
                tuple(transfers),
                tuple(notices_of(contract, event)),
            )
        )

    def _apply_ledger_event(self, event: ev.Event) -> None:
        match event:
            case ev.LedgerConfigured():
                self._config = LedgerConfig.from_event(event)
            case ev.AccountChanged(account=account, bank=bank):
                self._banks[account] = bank
                self._pending_notices.append(event)
            case ev.AuthorityNoticeDue(account=account, bank=bank):
                self._pending_notices = [
                    n
                    for n in self._pending_notices
                    if not (n.account == account and n.bank == bank)
                ]
            case ev.ActionRefused():
                self._refusals.append(
                    Refusal(event.on, event.action, event.contract, event.reason, event.enterprise)
                )
            case _:
                pass

    # --- writing -----------------------------------------------------------------------------

    def _append(self, batch: Batch, key: _Key | None = None) -> BatchResult:
        """Append ``batch`` atomically (a duplicate of ``key``'s act writes nothing)."""
        writes = [(s, self._versions.get(s, 0), events) for s, events in batch if events]
        if not writes:
            return BatchResult((), duplicate=False)
        if self._unit is not None:
            return self._append_to_unit(writes, key)
        result = self.store.append_many(
            writes,
            idempotency_key=None if key is None else key.key,
            request=None if key is None else key.request,
        )
        if result.duplicate and key is not None and key.key is not None:
            check_same_act(key.key, result.request, key.request)  # a concurrent delivery
        if log.isEnabledFor(logging.DEBUG if key is None else logging.INFO):
            _log_append(batch, key, result)
        if (
            not result.duplicate
            and result.recorded_at is not None
            and result.first_position == self._position + 1
        ):
            self._fold_own(writes, result.recorded_at)  # nobody wrote in between
        self._catch_up()
        return result

    # --- units of work -----------------------------------------------------------------------

    @contextmanager
    def unit_of_work(self) -> Iterator[None]:
        """Write every act of the block in one transaction when it ends: all of them, or none.

        For bulk imports and simulations: acts are decided and folded as they come (a later
        act sees the earlier ones, the clock runs as usual), and the store commits once, not
        once per act. If the block raises, or the store refuses the unit (another writer got
        in first: :class:`~escrow.errors.ConcurrencyError`), nothing of the block is written
        and the ledger folds the store again. Idempotency keys hold inside the block as well.
        Queries inside the block see its acts, except ``as_of``/``known_at`` history, which
        reads the store. A unit inside a unit joins the outer one. Python's cyclic garbage
        collector is paused inside the block (a fold makes many long-lived objects; the
        collector's scans cost ~30 % of a simulation); reference counting frees as usual.
        """
        if self._unit is not None:
            yield
            return
        self._catch_up()
        start_position, start_entries = self._position, len(self._entries)
        self._unit, self._unit_keys = [], {}
        try:
            with _collector_paused():
                yield
            requests = {k: r for k, r in self._unit_keys.items() if r is not None}
            results = self.store.append_batches(self._unit, requests) if self._unit else []
        except BaseException:
            self._unit = None
            self._rebuild()
            raise
        self._unit = None
        written = [r for r in results if r.first_position]
        if any(r.duplicate for r in results) or (
            written
            and (
                written[0].first_position != start_position + 1
                or written[-1].last_position != self._position
            )
        ):
            self._rebuild()  # another writer delivered a key, or wrote first: read what is
            return
        if written and written[0].recorded_at is not None:
            recorded = written[0].recorded_at
            self._entries[start_entries:] = [
                Entry(e.position, e.stream, e.event, recorded, e.transfers, e.notices)
                for e in self._entries[start_entries:]
            ]

    def _append_to_unit(self, writes: Writes, key: _Key | None) -> BatchResult:
        assert self._unit is not None
        if key is not None and key.key is not None:
            if key.key in self._unit_keys:
                return BatchResult((), duplicate=True, request=self._unit_keys[key.key])
            self._unit_keys[key.key] = key.request
        self._unit.append((writes, None if key is None else key.key))
        # The recorded time is provisional: the store's commit time replaces it at the end.
        return BatchResult(self._fold_own(writes, self.clock.now()), duplicate=False)

    def _fold_own(self, writes: Writes, recorded_at: dt.datetime) -> tuple[AppendResult, ...]:
        """Fold events this ledger wrote, without reading them back: they take the positions
        after the last one folded, in the order of ``writes`` (as the store numbers them)."""
        position = self._position
        results = []
        for stream, version, events in writes:
            for offset, event in enumerate(events):
                position += 1
                self._apply(StoredEvent(position, stream, version + 1 + offset, event, recorded_at))
            first = position - len(events) + 1
            results.append(
                AppendResult(stream, version + 1, version + len(events), first, position, False)
            )
        return tuple(results)

    def _delivered(self, key: _Key, on: dt.date | None) -> Receipt | None:
        """The receipt of an earlier delivery of ``key``'s act (stored, or in the open unit),
        None when the key is new; IdempotencyKeyReused when it stood for another act."""
        if key.key is None:
            return None
        if self._unit is not None and key.key in self._unit_keys:
            check_same_act(key.key, self._unit_keys[key.key], key.request)
            return Receipt(on or self.today, 0, 0, duplicate=True)  # numbered at commit
        batch = self.store.delivered(key.key)
        if batch is None:
            return None
        check_same_act(key.key, batch.request, key.request)
        return Receipt(on or self.today, batch.first_position, batch.last_position, True)

    def _act(
        self, on: dt.date | None, key: _Key, build: Callable[[dt.date], Batch]
    ) -> Receipt:
        """Catch up, advance the clock to ``on``, decide and append; retry on a conflict."""
        self._catch_up()
        earlier = self._delivered(key, on)
        if earlier is not None:
            return earlier
        day = on if on is not None else self.clock.today()
        check_supported_date(day, "the act's date")
        if self._today is not None and day < self._today:
            raise ClockError(f"{day} is before the ledger's clock ({self.today})")
        receipts: list[Receipt] = []

        def attempt() -> bool:
            earlier = self._delivered(key, on)
            if earlier is not None:  # a concurrent writer delivered the same act
                receipts.append(earlier)
                return True
            self._advance(day)
            receipts.append(_receipt(day, self._append(build(day), key)))
            return True

        self._retrying(attempt)
        return receipts[-1]

    def _contract_batch(self, contract: str, command: cmd.Command, day: dt.date) -> Batch:
        events = decide(self._state(contract), command, day, self.calendar, self.rules)
        return [(CONTRACT + contract, events)]

    def _state(self, contract: str) -> ContractState:
        try:
            return self._contracts[contract]
        except KeyError:
            raise UnknownContract(f"unknown contract {contract!r}") from None

    # --- the clock ---------------------------------------------------------------------------

    @property
    def today(self) -> dt.date:
        """The ledger's business date: the latest date it has processed."""
        return self._today or self.clock.today()

    def _advance(self, until: dt.date) -> None:
        """Everything due up to and including ``until``, earliest first, contracts by id."""
        while True:
            day = self._next_due()
            notice_day = min((n.notice_due for n in self._pending_notices), default=None)
            if (
                notice_day is not None
                and (day is None or notice_day <= day)
                and notice_day <= until
            ):
                notice = min(self._pending_notices, key=lambda n: n.notice_due)
                due = ev.AuthorityNoticeDue(
                    on=notice.notice_due, account=notice.account, bank=notice.bank
                )
                self._append([(LEDGER, [due])], None)
                continue
            if day is None or day > until:
                return
            contracts = set()
            while self._due and self._due[0][0] == day:  # ``day`` is the heap's least
                contracts.add(heapq.heappop(self._due)[1])
            try:
                for contract in sorted(contracts):
                    state = self._contracts[contract]
                    if next_due(state) != day:
                        continue
                    self._append(self._contract_batch(contract, cmd.Tick(), day), None)
            except BaseException:
                # A conflict (or anything else) stopped the run: the contracts taken off the
                # heap and not processed must be scheduled again, or their day is skipped.
                self._unscheduled.update(contracts)
                raise

    def _next_due(self) -> dt.date | None:
        for contract in self._unscheduled:  # once per contract, however many events it got
            due = next_due(self._contracts[contract])
            if due is not None:
                heapq.heappush(self._due, (due, contract))
        self._unscheduled.clear()
        while self._due:
            day, contract = self._due[0]
            if next_due(self._contracts[contract]) == day:
                return day
            heapq.heappop(self._due)
        return None

    def advance_to(self, day: dt.date) -> None:
        """Run the clock to ``day``: every lapse, reminder, release and settlement due by then."""
        day = arg.day(day, "day")
        check_supported_date(day, "the clock's date")
        self._catch_up()
        if self._today is not None and day < self._today:
            raise ClockError(f"{day} is before the ledger's clock ({self.today})")

        def attempt() -> bool:
            self._advance(day)
            if self._today is None or day > self._today:
                self._append([(LEDGER, [ev.ClockAdvanced(on=day)])], None)
            return True

        self._retrying(attempt)

    def _retrying(self, attempt: Callable[[], bool]) -> None:
        """Run ``attempt``; on a concurrent append, wait a little, catch up and try again.

        At most :data:`MAX_RETRIES` tries, with an exponential backoff with full jitter between
        them (:func:`escrow.retry.backoff_delay`) so that writers that collided spread out; the
        conflict that survives them is raised (the CLI exits 75, "try again later")."""
        for tries in range(MAX_RETRIES):
            try:
                attempt()
                return
            except ConcurrencyError as exc:
                if tries == MAX_RETRIES - 1:
                    log.warning("still busy after %d tries, giving up: %s", MAX_RETRIES, exc)
                    raise
                self.conflicts_retried += 1
                delay = backoff_delay(tries)
                log.warning("concurrent append (%s): retry %d in %.3f s", exc, tries + 1, delay)
                time.sleep(delay)
                self._catch_up()
            except EscrowError as exc:
                log.info("refused: %s", exc)
                raise

    def tick(self) -> dt.date:
        """Live mode: process what fell due up to the clock's today."""
        today = self.clock.today()
        if today > self.today:
            self.advance_to(today)
        else:
            self.advance_to(self.today)
        return self.today

    def run_until_idle(self, limit: dt.date | None = None) -> dt.date:
        """Advance until nothing is pending (or ``limit``); returns the clock.

        The clock stops at :data:`~escrow.calendar.LAST_DATE` at the latest: what falls due
        after it (the far releases of a very long prepayment) stays pending.
        """
        limit = arg.optional_day(limit, "limit")
        if limit is not None:
            check_supported_date(limit, "the run's end")
        horizon = limit if limit is not None else LAST_DATE
        started = self._today
        while True:
            self._catch_up()
            day = self._next_due()
            notice_day = min((n.notice_due for n in self._pending_notices), default=None)
            candidates = [d for d in (day, notice_day) if d is not None]
            if not candidates:
                break
            nxt = min(candidates)
            if nxt > horizon:
                break
            self.advance_to(max(nxt, self.today))
        if limit is not None and limit > self.today:
            self.advance_to(limit)
        log.info("clock ran from %s to %s", started, self.today)
        return self.today

    # --- acts --------------------------------------------------------------------------------

    def open_contract(
        self, terms: ContractTerms, *, on: dt.date | None = None, idempotency_key: str | None = None
    ) -> Receipt:
        """File a contract with the ledger; the rule pack refuses one it does not govern."""
        terms = arg.terms(terms)
        on, idempotency_key = arg.act(on, idempotency_key)
        key = _key(idempotency_key, "open_contract", terms=terms, on=on)

        def build(day: dt.date) -> Batch:
            events = open_contract(
                cmd.OpenContract(terms),
                day,
                self.rules,
                custody_bank=self._banks["custody"],
                supervision_bank=self._banks["supervision"],
                suspended=self._suspended.get(terms.enterprise, False),
                existing=self._contracts.get(terms.id),
            )
            if terms.filing_no in self._filings:
                raise InputError(f"filing number {terms.filing_no!r} is already in the ledger")
            return [(CONTRACT + terms.id, list(events))]

        return self._act(on, key, build)

    def _contract_act(
        self, contract: str, command: cmd.Command, on: dt.date | None, key: _Key
    ) -> Receipt:
        self._state(contract)
        return self._act(on, key, lambda day: self._contract_batch(contract, command, day))

    def _payment(
        self,
        contract: str,
        make: Callable[[dt.date | None], cmd.Command],
        on: dt.date | None,
        key: _Key,
    ) -> Receipt:
        """A payment: dated ``on``, or booked today with ``on`` as its arrival when the clock
        has already passed ``on`` (decided afresh on every retry, as other writers move it)."""
        check_supported_date(on if on is not None else self.clock.today(), "the payment's date")
        self._catch_up()
        self._state(contract)
        receipts: list[Receipt] = []

        def attempt() -> bool:
            earlier = self._delivered(key, on)
            if earlier is not None:
                receipts.append(earlier)
                return True
            today = self._today
            if on is not None and today is not None and on < today:
                day, arrived = today, on
            else:
                day, arrived = (on if on is not None else self.clock.today()), None
            self._advance(day)
            if self._today is not None and self._today > day:
                # Catching up while the clock ran brought in another process's later days:
                # decide the booking day again rather than refuse the payment for the clock.
                raise ConcurrencyError(f"the clock moved past {day} while it ran")
            result = self._append(self._contract_batch(contract, make(arrived), day), key)
            receipts.append(_receipt(day, result))
            return True

        self._retrying(attempt)
        return receipts[-1]

    def pay_deposit(
        self,
        contract: str,
        amount: Decimal | int | str,
        *,
        channel: ev.Channel = "bank",
        on: dt.date | None = None,
        idempotency_key: str | None = None,
    ) -> Receipt:
        """The tenant pays (part of) the deposit into custody (Art. 9).

        ``on`` before the ledger's clock records a backdated bank notice: the lot arrived on
        ``on`` (interest counts from it) and is booked today.
        """
        contract, paid, channel = arg.contract(contract), arg.amount(amount), arg.channel(channel)
        on, idempotency_key = arg.act(on, idempotency_key)
        key = _key(
            idempotency_key, "pay_deposit", contract=contract, amount=paid, channel=channel, on=on
        )
        return self._payment(
            contract, lambda arrived: cmd.PayDeposit(paid, channel, arrived), on, key
        )

    def pay_rent(
        self,
        contract: str,
        amount: Decimal | int | str,
        *,
        channel: ev.Channel = "bank",
        on: dt.date | None = None,
        idempotency_key: str | None = None,
    ) -> Receipt:
        """The tenant pays rent; more than 3 months goes into supervision (Art. 13).

        ``on`` before the ledger's clock records a backdated bank notice, as for deposits.
        """
        contract, paid, channel = arg.contract(contract), arg.amount(amount), arg.channel(channel)
        on, idempotency_key = arg.act(on, idempotency_key)
        key = _key(
            idempotency_key, "pay_rent", contract=contract, amount=paid, channel=channel, on=on
        )
        return self._payment(
            contract, lambda arrived: cmd.PayRent(paid, channel, arrived), on, key
        )

    def return_home(
        self,
        contract: str,
        *,
        reason: ev.ReturnReason | None = None,
        on: dt.date | None = None,
        idempotency_key: str | None = None,
    ) -> Receipt:
        """The tenant returns the home: each fund with money held starts its refund."""
        contract, reason = arg.contract(contract), arg.reason(reason)
        on, idempotency_key = arg.act(on, idempotency_key)
        key = _key(idempotency_key, "return_home", contract=contract, reason=reason, on=on)
        return self._contract_act(contract, cmd.ReturnHome(reason), on, key)

    def propose_refund(
        self,
        contract: str,
        fund: Fund,
        deductions: Sequence[tuple[str, Decimal | int | str]] = (),
        *,
        on: dt.date | None = None,
        idempotency_key: str | None = None,
    ) -> Receipt:
        """The enterprise's refund opinion, with itemised deductions (Art. 10, Art. 15)."""
        contract, fund, listed = arg.contract(contract), arg.fund(fund), arg.deductions(deductions)
        on, idempotency_key = arg.act(on, idempotency_key)
        items = tuple(ev.Deduction(item=item, amount=amount) for item, amount in listed)
        key = _key(
            idempotency_key,
            "propose_refund",
            contract=contract,
            fund=fund,
            deductions=listed,
            on=on,
        )
        return self._contract_act(contract, cmd.ProposeRefund(fund, items), on, key)

    def tenant_agree(
        self,
        contract: str,
        fund: Fund,
        *,
        on: dt.date | None = None,
        idempotency_key: str | None = None,
    ) -> Receipt:
        contract, fund = arg.contract(contract), arg.fund(fund)
        on, idempotency_key = arg.act(on, idempotency_key)
        key = _key(idempotency_key, "tenant_agree", contract=contract, fund=fund, on=on)
        return self._contract_act(contract, cmd.TenantAgree(fund), on, key)

    def tenant_disagree(
        self,
        contract: str,
        fund: Fund,
        *,
        on: dt.date | None = None,
        idempotency_key: str | None = None,
    ) -> Receipt:
        contract, fund = arg.contract(contract), arg.fund(fund)
        on, idempotency_key = arg.act(on, idempotency_key)
        key = _key(idempotency_key, "tenant_disagree", contract=contract, fund=fund, on=on)
        return self._contract_act(contract, cmd.TenantDisagree(fund), on, key)

    def resolve(
        self,
        contract: str,
        fund: Fund,
        *,
        via: ev.Resolution,
        to_tenant: Decimal | int | str,
        to_enterprise: Decimal | int | str,
        on: dt.date | None = None,
        idempotency_key: str | None = None,
    ) -> Receipt:
        """A negotiation, mediation, arbitration or court splits the disputed amount."""
        contract, fund, via = arg.contract(contract), arg.fund(fund), arg.resolution(via)
        tenant_part = arg.amount(to_tenant, "to_tenant")
        enterprise_part = arg.amount(to_enterprise, "to_enterprise")
        on, idempotency_key = arg.act(on, idempotency_key)
        command = cmd.Resolve(fund, via, tenant_part, enterprise_part)
        key = _key(
            idempotency_key,
            "resolve",
            contract=contract,
            fund=fund,
            via=via,
            to_tenant=tenant_part,
            to_enterprise=enterprise_part,
            on=on,
        )
        return self._contract_act(contract, command, on, key)

    def _enterprise_act(
        self,
        enterprise: str,
        command: cmd.SuspendReleases | cmd.ResumeReleases,
        on: dt.date | None,
        key: _Key,
    ) -> Receipt:
        def build(day: dt.date) -> Batch:
            suspended = self._suspended.get(enterprise, False)
            if isinstance(command, cmd.SuspendReleases):
                if suspended:
                    raise _already(enterprise)
                event: ev.Event = ev.ReleasesSuspended(on=day, enterprise=enterprise)
            else:
                if not suspended:
                    raise _not_suspended(enterprise)
                event = ev.ReleasesResumed(on=day, enterprise=enterprise)
            batch: Batch = [(ENTERPRISE + enterprise, [event])]
            for contract in sorted(self._contracts):
                if self._contracts[contract].terms.enterprise == enterprise:
                    batch += self._contract_batch(contract, command, day)
            return batch

        return self._act(on, key, build)

    def suspend_releases(
        self, enterprise: str, *, on: dt.date | None = None, idempotency_key: str | None = None
    ) -> Receipt:
        """Art. 20: the district authority holds payments from supervision to ``enterprise``."""
        enterprise = arg.enterprise(enterprise)
        on, idempotency_key = arg.act(on, idempotency_key)
        key = _key(idempotency_key, "suspend_releases", enterprise=enterprise, on=on)
        return self._enterprise_act(enterprise, cmd.SuspendReleases(enterprise), on, key)

    def resume_releases(
        self, enterprise: str, *, on: dt.date | None = None, idempotency_key: str | None = None
    ) -> Receipt:
        """What was held is paid at once, with interest to the day before payment."""
        enterprise = arg.enterprise(enterprise)
        on, idempotency_key = arg.act(on, idempotency_key)
        key = _key(idempotency_key, "resume_releases", enterprise=enterprise, on=on)
        return self._enterprise_act(enterprise, cmd.ResumeReleases(enterprise), on, key)

    def change_account(
        self,
        account: Account,
        bank: str,
        *,
        on: dt.date | None = None,
        idempotency_key: str | None = None,
    ) -> Receipt:
        """Art. 18: move the custody or supervision account to ``bank``; every balance moves."""
        account, bank = arg.account(account), arg.bank(bank)
        on, idempotency_key = arg.act(on, idempotency_key)
        key = _key(idempotency_key, "change_account", account=account, bank=bank, on=on)

        def build(day: dt.date) -> Batch:
            old = self._banks[account]
            if bank == old:
                raise RuleViolation(f"the {account} account is already at {bank!r}")
            due = self.calendar.nth_working_day(day, self.rules.authority_notice_working_days)
            changed = ev.AccountChanged(
                on=day,
                account=account,
                old_bank=old,
                bank=bank,
                notice_due=due,
                provisional=self.calendar.is_provisional_span(day, due),
            )
            batch: Batch = [(LEDGER, [changed])]
            migrate = cmd.MigrateFunds(account, old, bank)
            for contract in sorted(self._contracts):
                batch += self._contract_batch(contract, migrate, day)
            return batch

        return self._act(on, key, build)

    def record_refusal(
        self,
        *,
        on: dt.date,
        action: str,
        error: EscrowError,
        contract: str | None = None,
        enterprise: str | None = None,
        idempotency_key: str | None = None,
        request: str | None = None,
    ) -> Receipt:
        """Note a refused act for the run report; the contract itself is unchanged.

        ``request`` is the refused act (:func:`escrow.delivery.act_request`) that
        ``idempotency_key`` stands for, so that delivering the act again with its key is
        recognised as the same act; without it the key stands for this refusal.
        """
        on, action, error = arg.day(on, "on"), arg.text(action, "action"), arg.error(error)
        contract, enterprise = arg.optional_contract(contract), arg.optional_enterprise(enterprise)
        idempotency_key = arg.idempotency_key(idempotency_key)
        refused = ev.ActionRefused(
            on=on,
            action=action,
            contract=contract,
            enterprise=enterprise,
            error=type(error).__name__,
            reason=str(error),
        )
        if request is None:
            request = act_request(
                "record_refusal",
                {"on": on, "action": action, "contract": contract, "enterprise": enterprise},
            )
        key = _Key(idempotency_key, request)
        self._catch_up()
        earlier = self._delivered(key, on)
        if earlier is not None:
            return earlier
        if self._today is None or on > self._today:
            self.advance_to(on)  # the refused act happened on its date: the clock has got there
        return _receipt(on, self._append([(LEDGER, [refused])], key))

    # --- queries -----------------------------------------------------------------------------

    def contract_ids(self) -> list[str]:
        self._catch_up()
        return sorted(self._contracts)

    def contract_for_filing(self, filing_no: str) -> str:
        filing_no = arg.filing_no(filing_no)
        self._catch_up()
        try:
            return self._filings[filing_no]
        except KeyError:
            raise UnknownContract(f"no contract with filing number {filing_no!r}") from None

    def state_as_of(
        self,
        contract: str,
        as_of: dt.date | None = None,
        known_at: dt.datetime | None = None,
    ) -> ContractState:
        """The contract as it stood on business date ``as_of``, as known at ``known_at``.

        Bitemporal: events dated after ``as_of`` and events recorded after ``known_at`` are left
        out, so a backdated correction changes the past only from the time it was recorded.
        """
        contract = arg.contract(contract)
        as_of, known_at = arg.optional_day(as_of, "as_of"), arg.known_at(known_at)
        self._catch_up()
        current = self._state(contract)
        if known_at is None and (as_of is None or as_of >= self.today):
            return current
        state: ContractState | None = None
        for stored in self.store.load(CONTRACT + contract):
            event = stored.event
            if as_of is not None and event.on > as_of:
                continue
            if known_at is not None and stored.recorded_at > known_at:
                continue
            if isinstance(event, ev.ContractOpened):
                state = open_state(event)
            elif state is not None:
                state = evolve(state, event)
        if state is None:
            raise UnknownContract(f"contract {contract!r} was not yet in the ledger on {as_of}")
        return state

    def balances(
        self,
        contract: str | None = None,
        *,
        filing_no: str | None = None,
        as_of: dt.date | None = None,
        known_at: dt.datetime | None = None,
    ) -> Balance:
        """Art. 19: what is held for a contract (by id or filing number) as of a date.

        ``known_at``: as the ledger knew it at that recorded time (before later corrections).
        """
        contract = arg.optional_contract(contract)
        filing_no = None if filing_no is None else arg.filing_no(filing_no)
        as_of, known_at = arg.optional_day(as_of, "as_of"), arg.known_at(known_at)
        if (contract is None) == (filing_no is None):
            raise InputError("give exactly one of contract or filing_no")
        cid = contract if contract is not None else self.contract_for_filing(filing_no or "")
        day = as_of or self.today
        state = self.state_as_of(cid, as_of, known_at)
        return balance_of(state, day, self.rules.rate_table, self.rules.day_basis)

    def entries(self) -> list[Entry]:
        self._catch_up()
        return list(self._entries)

    def _known(self, known_at: dt.datetime | None) -> list[Entry]:
        entries = self.entries()
        if known_at is None:
            return entries
        return [e for e in entries if e.recorded_at <= known_at]

    def transfers(
        self,
        contract: str | None = None,
        *,
        as_of: dt.date | None = None,
        known_at: dt.datetime | None = None,
    ) -> list[Transfer]:
        """Every money movement in the order executed (to ``as_of``, as known at ``known_at``)."""
        contract = arg.optional_contract(contract)
        as_of, known_at = arg.optional_day(as_of, "as_of"), arg.known_at(known_at)
        return [
            t
            for e in self._known(known_at)
            for t in e.transfers
            if (contract is None or t.contract == contract) and (as_of is None or t.date <= as_of)
        ]

    def notices(
        self,
        contract: str | None = None,
        *,
        as_of: dt.date | None = None,
        known_at: dt.datetime | None = None,
    ) -> list[Notice]:
        """What the clock noticed (reminders, missed deadlines, held releases…)."""
        contract = arg.optional_contract(contract)
        as_of, known_at = arg.optional_day(as_of, "as_of"), arg.known_at(known_at)
        return [
            n
            for e in self._known(known_at)
            for n in e.notices
            if (contract is None or n.contract == contract) and (as_of is None or n.date <= as_of)
        ]

    def deadlines(
        self,
        contract: str | None = None,
        *,
        as_of: dt.date | None = None,
        known_at: dt.datetime | None = None,
    ) -> list[Deadline]:
        """Open deadlines and scheduled movements, as the ledger stood on ``as_of``."""
        contract = arg.optional_contract(contract)
        as_of, known_at = arg.optional_day(as_of, "as_of"), arg.known_at(known_at)
        self._catch_up()
        ids = [contract] if contract is not None else sorted(self._contracts)
        out: list[Deadline] = []
        for cid in ids:
            try:
                state = self.state_as_of(cid, as_of, known_at)
            except UnknownContract:
                if contract is not None:
                    raise
                continue
            out += deadlines_of(state)
        return sorted(out, key=lambda d: (d.date, d.contract, d.fund, d.kind))

    def refusals(self) -> list[Refusal]:
        self._catch_up()
        return list(self._refusals)

    def held(self) -> dict[str, dict[Fund, Decimal]]:
        self._catch_up()
        return {
            c: {"deposit": s.held("deposit"), "rent": s.held("rent")}
            for c, s in sorted(self._contracts.items())
        }

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _check_same_config(recorded: LedgerConfig, asked: LedgerConfig) -> None:
    """Refuse to act on a ledger under other rules than it was created with (the label, a
    name for people, may differ)."""
    for name in LedgerConfig.model_fields:
        mine, theirs = getattr(asked, name), getattr(recorded, name)
        if name != "label" and mine != theirs:
            raise InputError(
                f"this database holds a ledger created with {name} = {_shown(theirs)}, not"
                f" {_shown(mine)} ({recorded.label or 'no label'}): use a new database, or open"
                " it without a configuration"
            )


def _shown(value: object) -> str:
    if isinstance(value, tuple):
        return "[" + ", ".join(_shown(v) for v in value) + "]"
    return str(value)


class _Key(NamedTuple):
    """An act's idempotency key (None: the caller gave none) and the act it stands for."""

    key: str | None
    request: str


def _key(idempotency_key: str | None, act: str, **arguments: object) -> _Key:
    return _Key(idempotency_key, act_request(act, arguments))


def _log_append(batch: Batch, key: _Key | None, result: BatchResult) -> None:
    """Log one append: an act at INFO (its arguments at DEBUG), a clock tick at DEBUG."""
    streams = ", ".join(stream for stream, events in batch if events)
    span = f"events {result.first_position}-{result.last_position}"
    if result.duplicate:
        span = "already recorded"
    if key is None:
        kinds = ", ".join(type(e).__name__ for _, events in batch for e in events)
        day = next((e.on for _, events in batch for e in events), None)
        log.debug("clock on %s: %s on %s (%s)", day, kinds, streams, span)
        return
    act = json.loads(key.request).get("act", "act")
    day = next((e.on for _, events in batch for e in events), None)
    if any(isinstance(e, ev.ActionRefused) for _, events in batch for e in events):
        log.info("%s on %s: the refusal recorded (%s)", act, day, span)
    else:
        log.info("%s on %s: %s (%s)", act, day, streams, span)
    log.debug("%s: %s", act, key.request)


def _receipt(day: dt.date, result: BatchResult) -> Receipt:
    return Receipt(day, result.first_position, result.last_position, result.duplicate)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while many events are folded.

    A fold makes millions of small, long-lived, acyclic objects (states, entries, transfers);
    the collector's repeated scans of them took ~40 % of a 180,000-event replay.
    Reference counting still frees everything as usual; the collector resumes (if it was on).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _unfoldable(stored: StoredEvent) -> IntegrityError:
    """A stored event the ledger cannot fold: the store was changed (``escrow verify`` says how)."""
    return IntegrityError(
        f"cannot read the ledger: the event at position {stored.position}"
        f" ({stored.event.type} on stream {stored.stream!r}) does not follow from the ones"
        " before it; run `escrow verify`"
    )


def _already(enterprise: str) -> EscrowError:
    return AlreadySuspended(f"releases to enterprise {enterprise} are already suspended")


def _not_suspended(enterprise: str) -> EscrowError:
    return NotSuspended(f"releases to enterprise {enterprise} are not suspended")


def open_ledger(
    url: str | os.PathLike[str],
    config: LedgerConfig | None = None,
    *,
    clock: Clock | None = None,
    read_only: bool = False,
) -> Ledger:
    """Open (or create) the ledger at ``url``: a SQLite path (``str`` or ``Path``) or URL, or a
    PostgreSQL URL. A bad argument raises an :class:`~escrow.errors.InputError`.

    ``read_only``: for queries; nothing is written (the store is opened read-only) and a
    database that holds no ledger is refused rather than created. Acts then fail."""
    url, config, clock = arg.store_url(url), arg.config(config), arg.clock(clock)
    store = open_store(url, CODEC, clock, read_only=read_only)
    try:
        return Ledger(store, config, clock)
    except BaseException:
        store.close()
        raise
