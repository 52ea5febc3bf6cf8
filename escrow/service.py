"""The ledger service: load one contract → decide → append with the read models.

Streams: ``ledger`` (configuration, clock, account changes, authority notices, refusals),
``contract:ID`` (one per contract) and ``enterprise:ID`` (suspensions, Art. 20). An act that
touches several streams (a suspension fans out to the enterprise's contracts, an account change
migrates every contract) is appended in one transaction.

Several processes share one ledger: each act is one write transaction of the store, which
serialises writers, reads what it needs inside it and writes the events and their read models
(:mod:`escrow.store.readmodel`) together; nothing is held in memory but a bounded cache of contract
states brought forward with their stream's newer events (if any) inside each transaction.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import os
import time
from collections import OrderedDict
from collections.abc import Callable, Generator, Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy.engine import Connection

from escrow import acts, packed_state
from escrow import arguments as arg
from escrow.calendar import LAST_DATE, WorkdayCalendar, check_supported_date
from escrow.clock import Clock, SystemClock
from escrow.collector import collector_paused
from escrow.config import LedgerConfig
from escrow.delivery import Receipt, act_request, check_same_act
from escrow.domain import commands as cmd
from escrow.domain import events as ev
from escrow.domain.decide import decide_folded, next_due, open_contract
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
    StoreError,
    UnknownContract,
)
from escrow.notify.outbox import MESSAGE_EVENTS, Outbox
from escrow.projections import (
    Balance,
    Deadline,
    Notice,
    balance_of,
    deadlines_of,
    notices_of,
)
from escrow.projector import (
    BANK,
    CONTRACT,
    ENTERPRISE,
    INITIAL_BANK,
    LEDGER,
    OFF_THE_CLOCK,
    folded,
    project_contract,
    project_event,
    replayed,
    unfoldable,
)
from escrow.retry import backoff_delay
from escrow.rules import RulePack
from escrow.store import (
    READ_MODELS_KEY,
    SCHEMA_VERSION,
    BatchResult,
    EventStoreLike,
    PydanticCodec,
    StoredEvent,
    open_store,
    readstore,
    snapshots,
)

MAX_RETRIES = 8
CACHE_SIZE = 12288
"""Contract states kept between acts (least recently used first out): about 4.4 KiB each, so
some 54 MiB at most. An evicted state is kept packed (below). 12,288 holds a 10,000-contract
simulation whole: with 4,096 its acts spent ~10 % of their time packing and unpacking states."""
PACKED_BYTES = 128 * 1024 * 1024
"""The packed states kept (about 0.3 KiB each: some 28 MiB for the 95,904 packed at the end of
100,000 contracts x 12 months); beyond them a contract is loaded again from its kept state and
the events after it."""

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


class Part(NamedTuple):
    """One stream's share of an append: its events, and for a contract the states they fold to."""

    stream: str
    version: int
    """The stream's version the events were decided on (the store checks it)."""
    events: list[ev.Event]
    contract: str | None = None
    befores: Sequence[ContractState | None] = ()
    """The contract's state just before each event (None before its opening)."""
    after: ContractState | None = None
    transfers: Sequence[list[Transfer]] = ()
    """The transfers of each event, when the decision computed them (else the projector does)."""


Batch = list[Part]
TICKS_PER_APPEND = 64
"""Contracts whose ticks of one day go to the store in one append (:meth:`Ledger._advance`)."""


class _Packed:
    """A contract's packed state (:meth:`Ledger._pack`): the stream version it folds, the
    ledger's epoch it was known current in, and its bytes (:mod:`escrow.packed_state`) in a
    buffer the contract keeps and that is rewritten in place."""

    __slots__ = ("data", "epoch", "version")

    def __init__(self, version: int, epoch: int, data: bytearray) -> None:
        self.version = version
        self.epoch = epoch
        self.data = data


class Ledger:
    """A rental-deposit custody and rent-supervision ledger on an event store.

    Every act takes ``on`` (the business date it happens on; the clock's today when omitted) and
    an optional ``idempotency_key``: an act delivered twice with the same key is done once.
    Refused acts raise a named :class:`escrow.errors.EscrowError` and write nothing.

    **One contract at a time.** Opening reads the configuration and nothing else. An act runs in
    one write transaction of the store (:meth:`~escrow.store.EventStore.transaction`, which holds
    the append lock, so writers are serial and what the act reads cannot change before it
    commits): it takes from the ``schedule`` read model what falls due up to its date and runs
    those contracts, loads the streams it concerns (its contract; for a suspension every contract
    of the enterprise, found in the ``contracts`` read model), decides, appends, and writes the
    read models of :mod:`escrow.store.readmodel` in the same transaction. States are kept in a
    bounded cache keyed by stream version; a stale entry is brought forward by reading only the
    newer events. Queries read the read-model tables, or fold the one contract's stream (``as_of``,
    ``known_at``).
    """

    def __init__(
        self, store: EventStoreLike, config: LedgerConfig | None = None, clock: Clock | None = None
    ) -> None:
        self.store: EventStoreLike = store
        """The event store, as the service sees it (:class:`~escrow.store.EventStoreLike`)."""
        self.clock: Clock = clock or SystemClock()
        self.conflicts_retried = 0
        """How many concurrent appends were refused and retried on fresh state."""
        self._cache: OrderedDict[str, tuple[int, ContractState]] = OrderedDict()
        self._packed: OrderedDict[str, _Packed] = OrderedDict()
        """States evicted from ``_cache``, packed (see :meth:`_pack`)."""
        self._packed_bytes = 0
        """Recent contract states with the stream version they fold (LRU, :data:`CACHE_SIZE`)."""
        self._touched: set[str] = set()
        """Contracts whose state was cached during the open transaction (forgotten if it fails)."""
        self._epoch = 0
        """Moves on when a transaction finds that another writer moved the chain head since
        this ledger's last commit (see :meth:`_current`)."""
        self._fresh: dict[str, int] = {}
        """The epoch each live cached state was last known current in."""
        self._last_head: tuple[int, str] | None = None
        """The chain head this ledger's last committed transaction left (None: not known)."""
        self._tx_today: tuple[dt.date | None] | None = None
        """The ledger's clock as the open transaction knows it (None: not read in it yet)."""
        self._pending = readstore.Pending()
        self._outbox = Outbox()
        """Messages for people (:mod:`escrow.notify.outbox`), written with the read models."""
        self._unit = False
        self._check_read_models()
        recorded = self._recorded_config()
        if recorded is None:
            if store.read_only:
                raise IntegrityError("not an escrow ledger: it holds no ledger configuration")

            def configure() -> bool:
                # Inside the transaction: several processes may open one new ledger at once.
                with self._transaction():
                    if self._recorded_config() is None:
                        first = config or LedgerConfig()
                        event = first.as_event(self.clock.today())
                        self._append([Part(LEDGER, 0, [event])], None)
                return True

            self._retrying(configure)
            recorded = self._recorded_config()
        assert recorded is not None
        if config is not None:
            _check_same_config(recorded, config)
        self.config: LedgerConfig = recorded
        self.rules: RulePack = self.config.rule_pack()
        self.calendar: WorkdayCalendar = self.config.calendar()

    # --- reading the store -------------------------------------------------------------------

    def _check_read_models(self) -> None:
        found = self.store.schema_versions[1]
        if found < SCHEMA_VERSION:  # an older ledger opened read-only: it has no read models
            raise StoreError(
                f"the ledger's schema is version {found}, older than this escrow's"
                f" {SCHEMA_VERSION}: its balances and deadlines are kept in tables that"
                " `escrow migrate --db …` adds (`escrow verify` and `escrow replay` read it as"
                " it is)"
            )
        if self.store.meta_value(READ_MODELS_KEY) == "stale":
            raise IntegrityError(
                "the ledger's read models are not built from its events yet: run"
                " `escrow rebuild --db …` (or `escrow migrate --db …`)"
            )

    def _recorded_config(self) -> LedgerConfig | None:
        return recorded_config(self.store)

    def _current(self, contract: str) -> tuple[int, ContractState]:
        """The contract's stream version and state now (cached; brought forward if stale).

        Inside a transaction a cached state is current without a read when it was known current
        in the ledger's present epoch: the epoch moves on whenever a transaction finds the chain
        head elsewhere than this ledger's last commit left it (another writer appended since),
        so a state of the present epoch has seen every append since it was cached, all of them
        this ledger's own (which cache what they fold). Otherwise, and outside transactions,
        the stream is read after the cached version."""
        cached = self._cache.get(contract)
        in_tx = self.store.in_transaction
        if cached is not None and in_tx and self._fresh.get(contract) == self._epoch:
            self._cache.move_to_end(contract)
            return cached
        if cached is None:
            cached = self._unpacked(contract)
            if cached is not None and in_tx and self._packed[contract].epoch == self._epoch:
                self._remember(contract, cached[0], cached[1])
                return cached
        kept = cached is None
        if kept:
            cached = self._kept(contract)
        # One read: the stream's events after the cached version (none when the cache is
        # current). A cached state is never ahead of the store: a transaction that fails
        # forgets the states cached during it (:meth:`_transaction`). A kept state whose version
        # the stream does not reach is not used: events after it show that it does (versions
        # have no gaps); without any, the stream's version must be the kept one's (inside a
        # transaction the load has read the head, and nothing more is asked).
        known = 0 if cached is None else cached[0]
        stream = CONTRACT + contract
        newer = self.store.load(stream, after_version=known)
        if known and kept and not self._reaches(stream, known, newer):
            log.warning("the kept state of %s is not its stream's: folding it", contract)
            cached, newer = None, self.store.load(stream)
        if not newer:
            if cached is None:
                raise UnknownContract(f"unknown contract {contract!r}")
            self._remember(contract, cached[0], cached[1])
            return cached
        state = None if cached is None else cached[1]
        for stored in newer:
            state = folded(state, stored)
        assert state is not None
        version = newer[-1].version
        self._remember(contract, version, state)
        return version, state

    def _reaches(self, stream: str, version: int, newer: list[StoredEvent]) -> bool:
        """Whether ``stream`` has an event at ``version``, given its events after it."""
        if newer:
            return newer[0].version == version + 1
        return self.store.stream_version(stream) == version

    def _kept(self, contract: str) -> tuple[int, ContractState] | None:
        """The contract's kept state (:mod:`escrow.store.snapshots`), None when it has none or
        it cannot be read (then its stream is folded; ``escrow verify`` reports the row)."""
        with self.store.connection() as conn:
            row = readstore.kept_state(conn, contract)
        if row is None:
            return None
        try:
            return row[0], snapshots.load(contract, row[1])
        except IntegrityError as exc:
            log.warning("%s: folding the stream", exc)
            return None

    def _remember(self, contract: str, version: int, state: ContractState) -> None:
        """Cache ``state``, known current now (stamped with the present epoch)."""
        self._cache[contract] = (version, state)
        self._cache.move_to_end(contract)
        self._fresh[contract] = self._epoch
        if self.store.in_transaction:
            self._touched.add(contract)
        while len(self._cache) > CACHE_SIZE:
            evicted, (evicted_version, evicted_state) = self._cache.popitem(last=False)
            epoch = self._fresh.pop(evicted, -1)
            self._pack(evicted, evicted_version, epoch, evicted_state)

    def _pack(self, contract: str, version: int, epoch: int, state: ContractState) -> None:
        """Keep an evicted state packed (:mod:`escrow.packed_state`): about a sixteenth of its
        size in memory (0.3 KiB), packed in ~6 µs and read back in ~18 µs without checking the
        terms again (the kept state's JSON took 0.9 KiB, ~8 µs and ~25 µs; a pickle 1.2 KiB,
        ~27 µs and ~21 µs). Bounded by :data:`PACKED_BYTES`, least recently packed first out.

        Each contract keeps one buffer, rewritten in place when its state is packed again (and
        kept while the state is live): a fresh ``bytes`` per eviction, freed at the next
        unpacking, left the C heap full of holes that the ever larger states of later months
        did not fit (some 150 MiB of the 450 MiB of 100,000 contracts x 12 months)."""
        packed = packed_state.pack(state)
        slot = self._packed.get(contract)
        if slot is None:
            self._packed[contract] = _Packed(version, epoch, bytearray(packed))
            self._packed_bytes += len(packed)
        else:
            self._packed_bytes += len(packed) - len(slot.data)
            slot.version, slot.epoch = version, epoch
            slot.data[:] = packed
            self._packed.move_to_end(contract)
        while self._packed_bytes > PACKED_BYTES and self._packed:
            _, dropped = self._packed.popitem(last=False)
            self._packed_bytes -= len(dropped.data)

    def _unpacked(self, contract: str) -> tuple[int, ContractState] | None:
        """The contract's packed state, if kept (its buffer stays for its next packing)."""
        slot = self._packed.get(contract)
        if slot is None:
            return None
        return slot.version, packed_state.unpack(slot.data)

    def _forget_touched(self) -> None:
        """Drop the states cached during a transaction that was not written (they may fold
        events that never were); the states cached before it stay, as true as they were."""
        for contract in self._touched:
            self._cache.pop(contract, None)
            self._fresh.pop(contract, None)
            slot = self._packed.pop(contract, None)
            if slot is not None:
                self._packed_bytes -= len(slot.data)
        self._touched.clear()

    def _state(self, contract: str) -> ContractState:
        return self._current(contract)[1]

    # --- transactions ------------------------------------------------------------------------

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        """The store's write transaction (joined when one is open); on failure the states
        cached during it are forgotten (they may fold events that were never written)."""
        if self.store.in_transaction:
            with self.store.connection() as conn:
                yield conn
            return
        self._touched.clear()
        self._tx_today = None
        self._pending.clear_until = None  # another writer may have moved the schedule since
        try:
            with self.store.transaction() as conn:
                if self.store.chain_head() != self._last_head:
                    self._epoch += 1  # another writer appended: cached states are checked
                yield conn
                self._pending.write(conn)
                self._outbox.write(conn)
            self._last_head = self.store.committed_head
        except BaseException:
            self._pending = readstore.Pending()
            self._outbox.clear()
            self._forget_touched()
            self._epoch += 1  # whatever failed, the states kept are checked once more
            raise
        finally:
            self._touched.clear()
            self._tx_today = None

    @contextmanager
    def _schedule(self) -> Iterator[Connection]:
        """A connection for a question to the schedule: the open transaction's, the schedule
        rows it collected written first."""
        with self.store.connection() as conn:
            if self.store.in_transaction:
                self._pending.write_schedule(conn)
            yield conn

    @contextmanager
    def _reading(self) -> Iterator[Connection]:
        """A connection for a query of the collected tables (transfers, notices, refusals,
        held, deadlines): the open transaction's, its collected rows written first."""
        with self.store.connection() as conn:
            if self.store.in_transaction and self._pending:
                self._pending.write(conn)
            yield conn

    # --- writing -----------------------------------------------------------------------------

    def _append(self, batch: Batch, key: _Key | None = None) -> BatchResult:
        """Append ``batch`` atomically with its read models (a duplicate of ``key``'s act writes
        nothing); call inside :meth:`_transaction`."""
        parts = [p for p in batch if p.events]
        if not parts:
            return BatchResult((), duplicate=False)
        assert self.store.in_transaction, "appends run inside the ledger's transaction"
        result = self.store.append_many(
            [(p.stream, p.version, p.events) for p in parts],
            idempotency_key=None if key is None else key.key,
            request=None if key is None or key.key is None else key.request,
        )
        if result.duplicate and key is not None and key.key is not None:
            check_same_act(key.key, result.request, key.request)
        if log.isEnabledFor(logging.DEBUG if key is None else logging.INFO):
            _log_append(batch, key, result)
        if result.duplicate:
            return result
        assert result.recorded_at is not None
        recorded = readstore.recorded_text(result.recorded_at)
        with self.store.connection() as conn:
            latest: dt.date | None = None
            for part, written in zip(parts, result.results, strict=True):
                for offset, event in enumerate(part.events):
                    before = part.befores[offset] if part.befores else None
                    project_event(
                        conn,
                        self._pending,
                        part.stream,
                        written.first_position + offset,
                        event,
                        before,
                        recorded,
                        part.transfers[offset] if part.transfers else None,
                    )
                    if type(event) in MESSAGE_EVENTS:
                        terms = part.after.terms if part.after is not None else None
                        self._outbox.add(
                            part.stream, written.first_position + offset, event, terms, recorded
                        )
                    if type(event) not in OFF_THE_CLOCK and (latest is None or event.on > latest):
                        latest = event.on
                if part.contract is not None and part.after is not None:
                    self._remember(part.contract, written.last_version, part.after)
                    project_contract(
                        self._pending, part.contract, part.after, part.events[-1].on, recorded
                    )
                    self._keep_state(part, written.first_version, written.last_version)
            if latest is not None:
                self._raise_today(conn, latest)
        return result

    def _keep_state(self, part: Part, first: int, last: int) -> None:
        """The contract's state at the version an append of ``first..last`` keeps, if any
        (:mod:`escrow.store.snapshots`; the state after that event, from the fold)."""
        version = snapshots.kept_version(first, last)
        if version is None or part.contract is None:
            return
        offset = version - first
        if offset == len(part.events) - 1:
            state = part.after
        elif offset + 1 < len(part.befores):
            state = part.befores[offset + 1]
        else:  # pragma: no cover - every contract part carries the state before each event
            raise AssertionError(f"no state after version {version} of {part.stream}")
        assert state is not None
        self._pending.set_state(part.contract, version, state)

    # --- units of work -----------------------------------------------------------------------

    @contextmanager
    def unit_of_work(self) -> Iterator[None]:
        """Write every act of the block in one transaction when it ends: all of them, or none.

        For bulk imports and simulations: acts are decided as they come (a later act sees the
        earlier ones, the clock runs as usual), and the store commits once, not once per act.
        The block holds the store's write lock from start to end (other writers wait). If the
        block raises, nothing of it is written. Idempotency keys hold inside the block as well,
        and queries inside it see its acts. A unit inside a unit joins the outer one. Python's
        cyclic garbage collector is paused inside the block (the collector's scans of the many
        long-lived objects a fold makes cost ~30 % of a simulation); reference counting frees
        as usual.
        """
        if self._unit:
            yield
            return
        self._unit = True
        try:
            with collector_paused(), self._transaction():
                yield
        finally:
            self._unit = False

    def _delivered(self, key: _Key, on: dt.date | None) -> Receipt | None:
        """The receipt of an earlier delivery of ``key``'s act, None when the key is new (or
        there is none); IdempotencyKeyReused when it stood for another act."""
        if key.key is None:
            return None
        batch = self.store.delivered(key.key)
        if batch is None:
            return None
        check_same_act(key.key, batch.request, key.request)
        return Receipt(on or self.today, batch.first_position, batch.last_position, True)

    def _act(
        self, act: acts.Act, build: Callable[[dt.date], Batch], contract: str | None = None
    ) -> Receipt:
        """In one transaction: advance the clock to the act's day, decide and append. An act on
        ``contract`` loads it first, inside the transaction (UnknownContract before anything
        else; its events read once, on the transaction's own connection)."""
        receipts: list[Receipt] = []
        key = _key_of(act)

        def attempt() -> bool:
            with self._transaction():
                if contract is not None:
                    self._state(contract)
                earlier = self._delivered(key, act.on)
                if earlier is not None:
                    receipts.append(earlier)
                    return True
                day = act.on if act.on is not None else self.clock.today()
                check_supported_date(day, "the act's date")
                today = self._today()
                if today is not None and day < today:
                    raise ClockError(f"{day} is before the ledger's clock ({today})")
                self._advance(day)
                receipts.append(_receipt(day, self._append(build(day), key)))
            return True

        self._retrying(attempt)
        return receipts[-1]

    def _contract_batch(self, contract: str, command: cmd.Command, day: dt.date) -> Batch:
        version, state = self._current(contract)
        decided = decide_folded(state, command, day, self.calendar, self.rules)
        return [
            Part(
                CONTRACT + contract,
                version,
                decided.events,
                contract,
                decided.befores,
                decided.state,
                decided.transfers,
            )
        ]

    # --- the clock ---------------------------------------------------------------------------

    def _today(self) -> dt.date | None:
        """The ledger's clock (None before its first act); read once per transaction, whose
        write lock keeps every other writer from moving it."""
        if self._tx_today is not None and self.store.in_transaction:
            return self._tx_today[0]
        with self.store.connection() as conn:  # not a collected table: nothing to write first
            today = readstore.today(conn)
        if self.store.in_transaction:
            self._tx_today = (today,)
        return today

    def _raise_today(self, conn: Connection, day: dt.date) -> None:
        """Move the clock to ``day`` if it is later (no statement when the transaction knows
        it is not)."""
        known = self._tx_today
        if known is not None and known[0] is not None and day <= known[0]:
            return
        readstore.raise_today(conn, day)
        if known is not None:
            self._tx_today = (day,)

    @property
    def today(self) -> dt.date:
        """The ledger's business date: the latest date it has processed."""
        return self._today() or self.clock.today()

    def _advance(self, until: dt.date) -> None:
        """Everything due up to and including ``until``, earliest first: on a day, the notices
        to the authority (in the order of their account changes), then contracts by id. Takes
        rows from the ``schedule`` read model: costs what falls due, not the ledger's size."""
        while True:
            clear = self._pending.clear_until
            if clear is not None and until <= clear:
                return  # the schedule said so in this transaction, and nothing due came since
            with self._schedule() as conn:
                due = readstore.due_on_first_day(conn, until)
            if not due:
                self._pending.clear_until = until
                return
            first = due[0]
            if first.contract is None:
                assert first.account is not None and first.bank is not None
                notice = ev.AuthorityNoticeDue(
                    on=first.day,
                    account=first.account,
                    bank=first.bank,
                )
                self._append([Part(LEDGER, self.store.stream_version(LEDGER), [notice])], None)
                continue
            # The day's ticks are decided contract by contract (each concerns its own stream
            # alone) and appended together, in the same order: the same rows, an append per
            # TICKS_PER_APPEND contracts (each part holds its contract's states: bounded).
            ticks: Batch = []
            for item in due:
                assert item.contract is not None
                version, state = self._current(item.contract)
                if next_due(state) != item.day:
                    # A row that does not say what the contract's state does (``escrow
                    # verify`` reports it as drift): follow the state, never tick on its say.
                    last = self.store.load(CONTRACT + item.contract, after_version=version - 1)
                    recorded = readstore.recorded_text(last[-1].recorded_at)
                    self._pending.set_due(item.contract, next_due(state), recorded)
                    continue
                ticks += self._contract_batch(item.contract, cmd.Tick(), item.day)
                if len(ticks) >= TICKS_PER_APPEND:
                    self._append(ticks, None)
                    ticks = []
            self._append(ticks, None)

    def advance_to(self, day: dt.date) -> None:
        """Run the clock to ``day``: every lapse, reminder, release and settlement due by then."""
        day = arg.day(day, "day")
        check_supported_date(day, "the clock's date")

        def attempt() -> bool:
            with self._transaction():
                today = self._today()
                if today is not None and day < today:
                    raise ClockError(f"{day} is before the ledger's clock ({today})")
                self._advance(day)
                today = self._today()
                if today is None or day > today:
                    clock = ev.ClockAdvanced(on=day)
                    self._append([Part(LEDGER, self.store.stream_version(LEDGER), [clock])])
            return True

        self._retrying(attempt)

    def _retrying(self, attempt: Callable[[], bool]) -> None:
        """Run ``attempt``; on a concurrent append, wait a little and try again.

        Acts run under the store's write lock, so a conflict is rare (a writer that does not
        go through this ledger); at most :data:`MAX_RETRIES` tries, with an exponential backoff
        with full jitter between them (:func:`escrow.retry.backoff_delay`); the conflict that
        survives them is raised (the CLI exits 75, "try again later")."""
        for tries in range(MAX_RETRIES):
            try:
                attempt()
                return
            except ConcurrencyError as exc:
                if tries == MAX_RETRIES - 1 or self.store.in_transaction:
                    log.warning("still busy after %d tries, giving up: %s", tries + 1, exc)
                    raise
                self.conflicts_retried += 1
                delay = backoff_delay(tries)
                log.warning("concurrent append (%s): retry %d in %.3f s", exc, tries + 1, delay)
                time.sleep(delay)
            except EscrowError as exc:
                log.info("refused: %s", exc)
                raise

    def tick(self) -> dt.date:
        """Live mode: process what fell due up to the clock's today."""
        today = self.clock.today()
        self.advance_to(max(today, self.today))
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
        started = self._today()
        while True:
            with self._schedule() as conn:
                nxt = readstore.next_day(conn)
            if nxt is None or nxt > horizon:
                break
            self.advance_to(max(nxt, self.today))
        if limit is not None and limit > self.today:
            self.advance_to(limit)
        log.info("clock ran from %s to %s", started, self.today)
        return self.today

    # --- acts --------------------------------------------------------------------------------

    def handle(self, act: acts.Act) -> Receipt:
        """Do ``act`` (one of :mod:`escrow.acts`): the one entry for every act; the named
        methods below are thin wrappers that make the act and hand it here."""
        try:
            handler = _HANDLERS[type(act)]
        except KeyError:
            raise InputError(f"not an act the ledger knows: {type(act).__name__}") from None
        return handler(self, act)

    def _open(self, act: acts.OpenContract) -> Receipt:
        terms = act.terms

        def build(day: dt.date) -> Batch:
            with self.store.connection() as conn:
                existing = readstore.has_contract(conn, terms.id)
                filed = readstore.contract_for_filing(conn, terms.filing_no)
                suspended = readstore.suspended(conn, terms.enterprise)
            events = open_contract(
                cmd.OpenContract(terms),
                day,
                self.rules,
                custody_bank=self._bank("custody"),
                supervision_bank=self._bank("supervision"),
                suspended=suspended,
                existing=self._state(terms.id) if existing else None,
            )
            if filed is not None:
                raise InputError(f"filing number {terms.filing_no!r} is already in the ledger")
            opened = events[0]
            assert isinstance(opened, ev.ContractOpened)
            state = open_state(opened)
            return [Part(CONTRACT + terms.id, 0, list(events), terms.id, [None], state)]

        return self._act(act, build)

    def _contract_act(self, act: acts.Act, contract: str, command: cmd.Command) -> Receipt:
        return self._act(
            act, lambda day: self._contract_batch(contract, command, day), contract=contract
        )

    def _payment(self, act: acts.PayDeposit | acts.PayRent) -> Receipt:
        """A payment: dated ``on``, or booked today with ``on`` as its arrival when the clock
        has already passed ``on`` (a backdated bank notice)."""
        on, contract = act.on, act.contract
        check_supported_date(on if on is not None else self.clock.today(), "the payment's date")
        make = cmd.PayDeposit if isinstance(act, acts.PayDeposit) else cmd.PayRent
        receipts: list[Receipt] = []
        key = _key_of(act)

        def attempt() -> bool:
            with self._transaction():
                self._state(contract)  # UnknownContract before anything else
                earlier = self._delivered(key, on)
                if earlier is not None:
                    receipts.append(earlier)
                    return True
                today = self._today()
                if on is not None and today is not None and on < today:
                    day, arrived = today, on
                else:
                    day, arrived = (on if on is not None else self.clock.today()), None
                self._advance(day)
                command = make(act.amount, act.channel, arrived)
                result = self._append(self._contract_batch(contract, command, day), key)
                receipts.append(_receipt(day, result))
            return True

        self._retrying(attempt)
        return receipts[-1]

    def _return(self, act: acts.ReturnHome) -> Receipt:
        return self._contract_act(act, act.contract, cmd.ReturnHome(act.reason))

    def _propose(self, act: acts.ProposeRefund) -> Receipt:
        items = tuple(ev.Deduction(item=item, amount=amount) for item, amount in act.deductions)
        return self._contract_act(act, act.contract, cmd.ProposeRefund(act.fund, items))

    def _answer(self, act: acts.TenantAgree | acts.TenantDisagree) -> Receipt:
        agreed = isinstance(act, acts.TenantAgree)
        command = cmd.TenantAgree(act.fund) if agreed else cmd.TenantDisagree(act.fund)
        return self._contract_act(act, act.contract, command)

    def _resolve(self, act: acts.Resolve) -> Receipt:
        command = cmd.Resolve(act.fund, act.via, act.to_tenant, act.to_enterprise)
        return self._contract_act(act, act.contract, command)

    def _suspension(self, act: acts.SuspendReleases | acts.ResumeReleases) -> Receipt:
        enterprise = act.enterprise
        suspend = isinstance(act, acts.SuspendReleases)

        def build(day: dt.date) -> Batch:
            """Rule 13, atomically across the enterprise's contracts: the enterprise's event and
            every one of its contracts' held releases and pending instructions are appended in
            one transaction, decided under the store's write lock on the contracts the
            ``contracts`` read model lists for the enterprise then (a contract being opened
            concurrently waits for the lock, then sees the suspension)."""
            with self.store.connection() as conn:
                suspended = readstore.suspended(conn, enterprise)
                contracts = readstore.contracts_of(conn, enterprise)
            version = self.store.stream_version(ENTERPRISE + enterprise)
            command: cmd.Command
            if suspend:
                if suspended:
                    raise _already(enterprise)
                event: ev.Event = ev.ReleasesSuspended(on=day, enterprise=enterprise)
                command = cmd.SuspendReleases(enterprise)
            else:
                if not suspended:
                    raise _not_suspended(enterprise)
                event = ev.ReleasesResumed(on=day, enterprise=enterprise)
                command = cmd.ResumeReleases(enterprise)
            batch: Batch = [Part(ENTERPRISE + enterprise, version, [event])]
            for contract in contracts:
                batch += self._contract_batch(contract, command, day)
            return batch

        return self._act(act, build)

    def _change_account(self, act: acts.ChangeAccount) -> Receipt:
        account, bank = act.account, act.bank

        def build(day: dt.date) -> Batch:
            old = self._bank(account)
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
            batch: Batch = [Part(LEDGER, self.store.stream_version(LEDGER), [changed])]
            migrate = cmd.MigrateFunds(account, old, bank)
            with self.store.connection() as conn:
                contracts = readstore.contract_ids(conn)
            for contract in contracts:  # Art. 18 moves every contract's balance
                batch += self._contract_batch(contract, migrate, day)
            return batch

        return self._act(act, build)

    # --- the named acts: thin wrappers over handle() -----------------------------------------

    def open_contract(
        self, terms: ContractTerms, *, on: dt.date | None = None, idempotency_key: str | None = None
    ) -> Receipt:
        """File a contract with the ledger; the rule pack refuses one it does not govern."""
        return self.handle(acts.OpenContract(terms=terms, on=on, idempotency_key=idempotency_key))

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
        return self.handle(
            acts.PayDeposit(
                contract=contract,
                amount=amount,  # type: ignore[arg-type]  # checked and made a Decimal
                channel=channel,
                on=on,
                idempotency_key=idempotency_key,
            )
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
        return self.handle(
            acts.PayRent(
                contract=contract,
                amount=amount,  # type: ignore[arg-type]  # checked and made a Decimal
                channel=channel,
                on=on,
                idempotency_key=idempotency_key,
            )
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
        act = acts.ReturnHome(
            contract=contract, reason=reason, on=on, idempotency_key=idempotency_key
        )
        return self.handle(act)

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
        return self.handle(
            acts.ProposeRefund(
                contract=contract,
                fund=fund,
                deductions=deductions,  # type: ignore[arg-type]  # checked and normalised
                on=on,
                idempotency_key=idempotency_key,
            )
        )

    def tenant_agree(
        self,
        contract: str,
        fund: Fund,
        *,
        on: dt.date | None = None,
        idempotency_key: str | None = None,
    ) -> Receipt:
        return self.handle(
            acts.TenantAgree(contract=contract, fund=fund, on=on, idempotency_key=idempotency_key)
        )

    def tenant_disagree(
        self,
        contract: str,
        fund: Fund,
        *,
        on: dt.date | None = None,
        idempotency_key: str | None = None,
    ) -> Receipt:
        return self.handle(
            acts.TenantDisagree(
                contract=contract, fund=fund, on=on, idempotency_key=idempotency_key
            )
        )

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
        return self.handle(
            acts.Resolve(
                contract=contract,
                fund=fund,
                via=via,
                to_tenant=to_tenant,  # type: ignore[arg-type]  # checked and made a Decimal
                to_enterprise=to_enterprise,  # type: ignore[arg-type]
                on=on,
                idempotency_key=idempotency_key,
            )
        )

    def suspend_releases(
        self, enterprise: str, *, on: dt.date | None = None, idempotency_key: str | None = None
    ) -> Receipt:
        """Art. 20: the district authority holds payments from supervision to ``enterprise``."""
        return self.handle(
            acts.SuspendReleases(enterprise=enterprise, on=on, idempotency_key=idempotency_key)
        )

    def resume_releases(
        self, enterprise: str, *, on: dt.date | None = None, idempotency_key: str | None = None
    ) -> Receipt:
        """What was held is paid at once, with interest to the day before payment."""
        return self.handle(
            acts.ResumeReleases(enterprise=enterprise, on=on, idempotency_key=idempotency_key)
        )

    def change_account(
        self,
        account: Account,
        bank: str,
        *,
        on: dt.date | None = None,
        idempotency_key: str | None = None,
    ) -> Receipt:
        """Art. 18: move the custody or supervision account to ``bank``; every balance moves."""
        return self.handle(
            acts.ChangeAccount(account=account, bank=bank, on=on, idempotency_key=idempotency_key)
        )

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
        with self._transaction():
            earlier = self._delivered(key, on)
            if earlier is not None:
                return earlier
            today = self._today()
            if today is None or on > today:
                self.advance_to(on)  # the refused act happened on its date: the clock got there
            version = self.store.stream_version(LEDGER)
            return _receipt(on, self._append([Part(LEDGER, version, [refused])], key))

    # --- queries -----------------------------------------------------------------------------

    def _bank(self, account: Account) -> str:
        with self.store.connection() as conn:
            return readstore.ledger_value(conn, BANK + account) or INITIAL_BANK

    def contract_ids(self) -> list[str]:
        with self.store.connection() as conn:
            return readstore.contract_ids(conn)

    def has_contract(self, contract: str) -> bool:
        """Whether the ledger holds ``contract`` (one row of the contracts read model)."""
        contract = arg.contract(contract)
        with self.store.connection() as conn:
            return readstore.has_contract(conn, contract)

    def contract_for_filing(self, filing_no: str) -> str:
        filing_no = arg.filing_no(filing_no)
        with self.store.connection() as conn:
            found = readstore.contract_for_filing(conn, filing_no)
        if found is None:
            raise UnknownContract(f"no contract with filing number {filing_no!r}")
        return found

    def state_as_of(
        self,
        contract: str,
        as_of: dt.date | None = None,
        known_at: dt.datetime | None = None,
    ) -> ContractState:
        """The contract as it stood on business date ``as_of``, as known at ``known_at``.

        Bitemporal: events dated after ``as_of`` and events recorded after ``known_at`` are left
        out, so a backdated correction changes the past only from the time it was recorded.
        Reads the contract's own stream and nothing else.
        """
        contract = arg.contract(contract)
        as_of, known_at = arg.optional_day(as_of, "as_of"), arg.known_at(known_at)
        if known_at is None and (as_of is None or as_of >= self.today):
            return self._state(contract)
        stream = self.store.load(CONTRACT + contract)
        if not stream:
            raise UnknownContract(f"unknown contract {contract!r}")
        state: ContractState | None = None
        for stored in stream:
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
        """Every event with what it did to money and what it noticed: the whole history,
        folded again from the events (a rebuild's cost; for audits and tests)."""
        out = []
        for stored, before, _ in replayed(self.store):
            contract = (
                stored.stream[len(CONTRACT) :]
                if before is not None or (type(stored.event) is ev.ContractOpened)
                else None
            )
            transfers = transfers_of(before, stored.event) if before is not None else []
            out.append(
                Entry(
                    stored.position,
                    stored.stream,
                    stored.event,
                    stored.recorded_at,
                    tuple(transfers),
                    tuple(notices_of(contract, stored.event)),
                )
            )
        return out

    def transfers(
        self,
        contract: str | None = None,
        *,
        as_of: dt.date | None = None,
        known_at: dt.datetime | None = None,
    ) -> list[Transfer]:
        """Every money movement in the order executed (to ``as_of``, as known at ``known_at``)."""
        return list(self.iter_transfers(contract, as_of=as_of, known_at=known_at))

    def iter_transfers(
        self,
        contract: str | None = None,
        *,
        as_of: dt.date | None = None,
        known_at: dt.datetime | None = None,
    ) -> Generator[Transfer, None, None]:
        """:meth:`transfers`, read from the table as they are consumed (bounded memory). Close it
        (or read it to the end) before the ledger: it holds a connection while it is open."""
        contract = arg.optional_contract(contract)
        as_of, known_at = arg.optional_day(as_of, "as_of"), arg.known_at(known_at)
        with self._reading() as conn:
            yield from readstore.transfers(conn, contract, as_of, known_at)

    def notices(
        self,
        contract: str | None = None,
        *,
        as_of: dt.date | None = None,
        known_at: dt.datetime | None = None,
    ) -> list[Notice]:
        """What the clock noticed (reminders, missed deadlines, held releases…)."""
        return list(self.iter_notices(contract, as_of=as_of, known_at=known_at))

    def iter_notices(
        self,
        contract: str | None = None,
        *,
        as_of: dt.date | None = None,
        known_at: dt.datetime | None = None,
    ) -> Generator[Notice, None, None]:
        """:meth:`notices`, read from the table as they are consumed (bounded memory). Close it
        (or read it to the end) before the ledger: it holds a connection while it is open."""
        contract = arg.optional_contract(contract)
        as_of, known_at = arg.optional_day(as_of, "as_of"), arg.known_at(known_at)
        with self._reading() as conn:
            yield from readstore.notices(conn, contract, as_of, known_at)

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
        if known_at is None and (as_of is None or as_of >= self.today):
            if contract is not None:
                self._state(contract)  # UnknownContract
            with self._reading() as conn:
                now = readstore.deadlines(conn, contract)
            return sorted(now, key=lambda d: (d.date, d.contract, d.fund, d.kind))
        ids = [contract] if contract is not None else self.contract_ids()
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
        with self._reading() as conn:
            return [Refusal(*row) for row in readstore.refusals(conn)]

    def held(self) -> dict[str, dict[Fund, Decimal]]:
        return {c: {"deposit": d, "rent": r} for c, d, r in self.iter_held()}

    def iter_held(self) -> Iterator[tuple[str, Decimal, Decimal]]:
        """(contract, deposit, rent) held now, by contract id, as they are read."""
        with self._reading() as conn:
            yield from readstore.held(conn)

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def recorded_config(store: EventStoreLike) -> LedgerConfig | None:
    """The configuration a ledger was created with (its first event), None for an empty one."""
    first = store.load(LEDGER, upto_version=1)
    if not first:
        return None
    event = first[0].event
    if not isinstance(event, ev.LedgerConfigured):
        raise unfoldable(first[0])
    return LedgerConfig.from_event(event)


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


class _Key:
    """An act's idempotency key (None: the caller gave none) and the act it stands for (its
    canonical text, made when first asked for: an act without a key is logged, not stored)."""

    __slots__ = ("_make", "_request", "key")

    def __init__(self, key: str | None, request: str | Callable[[], str]) -> None:
        self.key = key
        self._request = request if isinstance(request, str) else None
        self._make = request

    @property
    def request(self) -> str:
        if self._request is None:
            assert not isinstance(self._make, str)
            self._request = self._make()
        return self._request


def _key_of(act: acts.Act) -> _Key:
    return _Key(act.idempotency_key, act.request)


def _log_append(batch: Batch, key: _Key | None, result: BatchResult) -> None:
    """Log one append: an act at INFO (its arguments at DEBUG), a clock tick at DEBUG."""
    streams = ", ".join(p.stream for p in batch if p.events)
    span = f"events {result.first_position}-{result.last_position}"
    if result.duplicate:
        span = "already recorded"
    if key is None:
        kinds = ", ".join(type(e).__name__ for p in batch for e in p.events)
        day = next((e.on for p in batch for e in p.events), None)
        log.debug("clock on %s: %s on %s (%s)", day, kinds, streams, span)
        return
    act = json.loads(key.request).get("act", "act")
    day = next((e.on for p in batch for e in p.events), None)
    if any(isinstance(e, ev.ActionRefused) for p in batch for e in p.events):
        log.info("%s on %s: the refusal recorded (%s)", act, day, span)
    else:
        log.info("%s on %s: %s (%s)", act, day, streams, span)
    log.debug("%s: %s", act, key.request)


def _receipt(day: dt.date, result: BatchResult) -> Receipt:
    return Receipt(day, result.first_position, result.last_position, result.duplicate)


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


_HANDLERS: dict[type[acts.Act], Callable[[Ledger, Any], Receipt]] = {
    acts.OpenContract: Ledger._open,
    acts.PayDeposit: Ledger._payment,
    acts.PayRent: Ledger._payment,
    acts.ReturnHome: Ledger._return,
    acts.ProposeRefund: Ledger._propose,
    acts.TenantAgree: Ledger._answer,
    acts.TenantDisagree: Ledger._answer,
    acts.Resolve: Ledger._resolve,
    acts.SuspendReleases: Ledger._suspension,
    acts.ResumeReleases: Ledger._suspension,
    acts.ChangeAccount: Ledger._change_account,
}
"""The handler of each act (:meth:`Ledger.handle`)."""
