"""A seeded portfolio simulator: many tenancies through the real ledger.

Each tenancy draws its behaviour from a seeded generator: deposit in one or two lots, prepaid
rent of 1 to 12 months, early termination, an enterprise that proposes on time (with or without
deductions) or lets its deadline pass, a tenant who agrees, disagrees or stays silent, disputes
resolved by mediation, and enterprises whose releases are suspended for a while. The same seed
gives the same events and the same summary.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import gc
import random
from array import array
from collections.abc import Callable
from decimal import Decimal

from dateutil.relativedelta import relativedelta

from escrow import acts
from escrow.collector import collector_paused
from escrow.domain import events as ev
from escrow.domain.terms import Channel, ContractTerms, Fund
from escrow.errors import InputError
from escrow.money import ZERO, fmt
from escrow.runner import perform
from escrow.service import Ledger

START = dt.date(2024, 10, 8)

KEY_PREFIX = "simulate:"
"""Each act's idempotency key is ``simulate:SEED:CONTRACTS:MONTHS:N``, N its place in the
simulation's order (which the seed and the sizes fix): a second run, or one after a crash, does
each act once, and a database holding anything else is refused."""

UNIT_ACTS_FEWEST = 1000
UNIT_ACTS_MOST = 5000


def acts_per_unit(total: int) -> int:
    """Acts written per transaction (:meth:`Ledger.unit_of_work`) in a simulation of ``total``
    acts: a fiftieth of them, at least 1,000 and at most 5,000. One commit, one fsync, per unit
    and everything the clock does between its acts. A large ledger's acts touch pages all over
    its indexes (each contract's rows sit apart), and a larger unit writes a page it touches
    several times once: 100,000 contracts x 12 months (some 600,000 acts) took 310 s in units
    of 5,000 and 330 s in units of 1,000, with some 9 MiB more at its peak. A small simulation
    keeps units of 1,000 (its progress shown, and a crash undoing, no more than that)."""
    return min(UNIT_ACTS_MOST, max(UNIT_ACTS_FEWEST, total // 50))


class _Plan:
    """The simulation's acts as plain numbers, made into acts one at a time as they are done.

    One row per act in parallel arrays (kind, contract or enterprise number, two amounts in fen,
    a flag), and one sort key per act (its day, its order on that day, its row): about 60 bytes
    an act, where act objects with their Decimals and dates took about 310 (100,000 contracts
    over 12 months plan 600,000 acts: some 35 MiB instead of 190)."""

    def __init__(self) -> None:
        self.kind = array("B")
        self.who = array("l")
        self.first = array("q")
        self.second = array("q")
        self.flag = array("B")
        self.keys: list[int] = []

    def add(self, day: dt.date, order: int, kind: int, who: int, first: int = 0, second: int = 0,
            flag: int = 0) -> None:  # fmt: skip
        row = len(self.kind)
        self.kind.append(kind)
        self.who.append(who)
        self.first.append(first)
        self.second.append(second)
        self.flag.append(flag)
        self.keys.append((day.toordinal() << 96) | ((order + _ORDER_OFFSET) << 32) | row)

    def ordered(self, until: dt.date) -> tuple[array[int], array[int]]:
        """The acts in the order they are done (by day, then order), up to ``until``: their
        days (ordinals) and rows, in two arrays. The sort keys are let go (their ints took some
        25 MiB of the 100,000 x 12 simulation's heap for its whole run)."""
        last = until.toordinal()
        self.keys.sort()
        days, rows = array("l"), array("l")
        for key in self.keys:
            if key >> 96 > last:
                break
            days.append(key >> 96)
            rows.append(key & _ROW)
        self.keys = []
        return days, rows


_ORDER_OFFSET = 1 << 62
_ROW = (1 << 32) - 1
_OPEN, _DEPOSIT, _RENT, _RETURN, _PROPOSE, _AGREE, _DISAGREE, _RESOLVE, _SUSPEND, _RESUME = range(
    10
)
_FUNDS: tuple[Fund, Fund] = ("deposit", "rent")


def _fen(amount: Decimal) -> int:
    return int(amount.scaleb(2))


def _yuan(fen: int) -> Decimal:
    return Decimal(fen).scaleb(-2)


def _contract_id(i: int) -> str:
    return f"C{i:06d}"


def _act(plan: _Plan, row: int, day: dt.date) -> acts.Act:
    """The act of ``row``, on ``day``."""
    kind, who = plan.kind[row], plan.who[row]
    first, second, flag = plan.first[row], plan.second[row], plan.flag[row]
    if kind == _SUSPEND:
        return acts.SuspendReleases(enterprise=f"E{who:02d}", on=day)
    if kind == _RESUME:
        return acts.ResumeReleases(enterprise=f"E{who:02d}", on=day)
    cid = _contract_id(who)
    if kind == _OPEN:
        terms = ContractTerms(
            id=cid,
            filing_no=f"JZ-{who:08d}",
            tenant=f"T{who:06d}",
            enterprise=f"E{flag:02d}",
            start=dt.date.fromordinal(first >> 32),
            end=dt.date.fromordinal(first & _ROW),
            monthly_rent=_yuan(second >> 32),
            deposit=_yuan(second & _ROW),
        )
        return acts.OpenContract(terms=terms, on=START)
    if kind == _DEPOSIT:
        channel: Channel = "ecny" if flag else "bank"
        return acts.PayDeposit(contract=cid, amount=_yuan(first), channel=channel, on=day)
    if kind == _RENT:
        return acts.PayRent(contract=cid, amount=_yuan(first), on=day)
    if kind == _RETURN:
        return acts.ReturnHome(contract=cid, reason="expiry", on=day)
    fund = _FUNDS[flag]
    if kind == _PROPOSE:
        deductions = (("cleaning", _yuan(first)),) if first else ()
        return acts.ProposeRefund(contract=cid, fund=fund, deductions=deductions, on=day)
    if kind == _AGREE:
        return acts.TenantAgree(contract=cid, fund=fund, on=day)
    if kind == _DISAGREE:
        return acts.TenantDisagree(contract=cid, fund=fund, on=day)
    return acts.Resolve(
        contract=cid,
        fund=fund,
        via="mediation",
        to_tenant=_yuan(first),
        to_enterprise=_yuan(second),
        on=day,
    )


@dataclasses.dataclass
class Summary:
    contracts: int
    months: int
    seed: int
    clock: dt.date
    events: int
    transfers: int
    interest_paid: Decimal
    refunds: int
    refunds_on_time: int
    refunds_after_default: int
    deemed_agreements: int
    disputes: int
    refused: int
    held: Decimal

    def as_json(self) -> dict[str, object]:
        out = dataclasses.asdict(self)
        out["clock"] = self.clock.isoformat()
        out["interest_paid"] = fmt(self.interest_paid)
        out["held"] = fmt(self.held)
        return out


def _tenancy(rng: random.Random, i: int, months: int, plan: _Plan, contracts: int) -> None:
    """One contract and what its parties do, drawn from ``rng``, added to ``plan``."""
    start = START + dt.timedelta(days=rng.randrange(0, 28 * max(1, months // 2)))
    length = rng.choice((6, 12, 12, 24))
    end = start + relativedelta(months=length) - dt.timedelta(days=1)
    rent = Decimal(rng.randrange(2000, 12000, 100))
    deposit = rent * rng.choice((1, 1, 2))
    enterprise = rng.randrange(0, 50)
    dates = (start.toordinal() << 32) | end.toordinal()
    plan.add(START, -contracts + i, _OPEN, i, dates, (_fen(rent) << 32) | _fen(deposit), enterprise)
    seq = 0

    def act(day: dt.date, kind: int, first: int = 0, second: int = 0, flag: int = 0) -> None:
        nonlocal seq
        plan.add(day, i * 100 + seq, kind, i, first, second, flag)
        seq += 1

    if rng.random() < 0.3:
        first = (deposit / 2).quantize(Decimal("0.01"))
        act(start, _DEPOSIT, _fen(first))
        later = start + dt.timedelta(days=rng.randrange(1, 20))
        act(later, _DEPOSIT, _fen(deposit - first))
    else:
        act(start, _DEPOSIT, _fen(deposit), flag=1)  # e-CNY
    prepaid = rng.randrange(1, 13)
    act(start, _RENT, _fen(rent * prepaid))
    returned = end
    if rng.random() < 0.2:
        returned = start + dt.timedelta(days=rng.randrange(30, 28 * length))
    act(returned, _RETURN)
    behaviour = rng.random()
    if behaviour < 0.1:
        return  # the enterprise lets its deadline pass
    opinion = returned + dt.timedelta(days=rng.randrange(0, 3))
    cut = (deposit * Decimal(rng.choice(("0", "0", "0.1", "0.3")))).quantize(Decimal("0.01"))
    act(opinion, _PROPOSE, _fen(cut))
    if rng.random() < 0.5:
        act(opinion, _PROPOSE, flag=1)  # the rent fund, without deductions
    if cut:
        answer = rng.random()
        answered = opinion + dt.timedelta(days=rng.randrange(0, 8))
        if answer < 0.4:
            act(answered, _AGREE)
        elif answer < 0.6:
            act(answered, _DISAGREE)
            resolved = answered + dt.timedelta(days=rng.randrange(5, 40))
            half = (cut / 2).quantize(Decimal("0.01"))
            act(resolved, _RESOLVE, _fen(half), _fen(cut - half))


def simulate(
    ledger: Ledger,
    *,
    contracts: int,
    months: int,
    seed: int,
    progress: Callable[[int, int], None] | None = None,
) -> Summary:
    """Run ``contracts`` seeded tenancies for ``months`` months through ``ledger``."""
    rng = random.Random(seed)
    until = START + relativedelta(months=months)
    plan = _Plan()
    for i in range(contracts):
        _tenancy(rng, i, months, plan, contracts)
    for k in range(rng.randrange(1, 4)):
        enterprise = rng.randrange(0, 50)
        off = START + dt.timedelta(days=rng.randrange(30, 28 * max(2, months)))
        back = off + dt.timedelta(days=rng.randrange(10, 90))
        plan.add(off, 10**9 + 2 * k, _SUSPEND, enterprise)
        plan.add(back, 10**9 + 2 * k + 1, _RESUME, enterprise)
    days, rows = plan.ordered(until)
    label = simulation_label(contracts=contracts, months=months, seed=seed)
    prefix = f"{KEY_PREFIX}{seed}:{contracts}:{months}:"
    if ledger.contract_ids() and ledger.store.delivered(f"{prefix}0") is None:
        raise InputError(
            f"the database holds contracts that are not those of {label!r}"
            f" ({ledger.config.label or 'no label'}): simulate on another database"
        )
    total = len(rows)
    unit = acts_per_unit(total)
    # The collector stays paused from one unit of work to the next, not only inside each:
    # resumed between units, it scanned every live object (the plan, the cached and packed
    # states) once per unit: 0.98 s of a 20,000-contract simulation, 0.41 s paused. Between
    # units it collects the young generations only (what the unit allocated and still holds):
    # the unit's reference cycles go, as they did (RSS of 30,000 x 12: 206 MiB; 216 without).
    with collector_paused():
        for first in range(0, total, unit):
            last = min(first + unit, total)
            with ledger.unit_of_work():
                # one read for the unit's keys (none stored, unless the run is resumed)
                ledger.store.look_up_keys([f"{prefix}{n}" for n in range(first, last)])
                for n in range(first, last):
                    day = dt.date.fromordinal(days[n])
                    perform(ledger, _act(plan, rows[n], day), f"{prefix}{n}", day)
            gc.collect(1)
            if progress is not None:
                progress(last, total)
        with ledger.unit_of_work():
            ledger.run_until_idle(limit=until)
    return _summary(ledger, contracts, months, seed)


def simulation_label(*, contracts: int, months: int, seed: int) -> str:
    """The label of a simulation's ledger: a database holds one simulation, and only it."""
    return f"escrow simulate --contracts {contracts} --months {months} --seed {seed}"


def _summary(ledger: Ledger, contracts: int, months: int, seed: int) -> Summary:
    """The summary, from the read models and per-type counts (bounded memory)."""
    counts = ledger.store.count_by_type()
    transfers = refunds = 0
    interest = ZERO
    for t in ledger.iter_transfers():
        transfers += 1
        refunds += 1 if t.kind == "refund" else 0
        interest += t.interest
    defaults = counts.get(_type(ev.EnterpriseDeadlineMissed), 0)
    deemed = counts.get(_type(ev.DeemedAgreed), 0)
    disputes = sum(
        1
        for stored in ledger.store.load_type(_type(ev.TenantAnswered))
        if isinstance(stored.event, ev.TenantAnswered) and not stored.event.agreed
    )
    held = sum((d + r for _, d, r in ledger.iter_held()), ZERO)
    return Summary(
        contracts=contracts,
        months=months,
        seed=seed,
        clock=ledger.today,
        events=sum(counts.values()),
        transfers=transfers,
        interest_paid=interest,
        refunds=refunds,
        refunds_on_time=refunds - defaults,
        refunds_after_default=defaults,
        deemed_agreements=deemed,
        disputes=disputes,
        refused=len(ledger.refusals()),
        held=held,
    )


def _type(event_class: type[ev.Event]) -> str:
    """The stored type of an event class (its ``type`` discriminator)."""
    return str(event_class.model_fields["type"].default)
