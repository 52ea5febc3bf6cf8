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
import random
from collections.abc import Callable
from decimal import Decimal
from typing import NamedTuple

from dateutil.relativedelta import relativedelta

from escrow import acts
from escrow.domain import events as ev
from escrow.domain.terms import ContractTerms
from escrow.errors import InputError
from escrow.money import ZERO, fmt
from escrow.runner import perform
from escrow.service import Ledger

START = dt.date(2024, 10, 8)

KEY_PREFIX = "simulate:"
"""Each act's idempotency key is ``simulate:SEED:CONTRACTS:MONTHS:N``, N its place in the
simulation's order (which the seed and the sizes fix): a second run, or one after a crash, does
each act once, and a database holding anything else is refused."""

ACTS_PER_UNIT = 1000
"""Acts written per transaction (:meth:`Ledger.unit_of_work`): one commit, one fsync, for each
thousand acts and everything the clock does between them."""

class _Opening(NamedTuple):
    """A contract to open, as plain values: its terms are made when it is opened (100,000
    pydantic models held through a whole simulation would cost ~100 MiB)."""

    id: str
    filing_no: str
    tenant: str
    enterprise: str
    start: dt.date
    end: dt.date
    monthly_rent: Decimal
    deposit: Decimal

    def act(self) -> acts.OpenContract:
        return acts.OpenContract(terms=ContractTerms(**self._asdict()), on=START)


Planned = tuple[dt.date, int, "acts.Act | _Opening"]
"""One act of the simulation: its day, its order on that day, and the act (an opening is made
into its act when it is done)."""

_ACT_NAMED: dict[str, type[acts.Act]] = {kind.name: kind for kind in acts.ACTS}


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


def _tenancy(rng: random.Random, i: int, months: int) -> tuple[_Opening, list[Planned]]:
    """One contract and what its parties do, drawn from ``rng``."""
    cid = f"C{i:06d}"
    start = START + dt.timedelta(days=rng.randrange(0, 28 * max(1, months // 2)))
    length = rng.choice((6, 12, 12, 24))
    end = start + relativedelta(months=length) - dt.timedelta(days=1)
    rent = Decimal(rng.randrange(2000, 12000, 100))
    deposit = rent * rng.choice((1, 1, 2))
    terms = _Opening(
        id=cid,
        filing_no=f"JZ-{i:08d}",
        tenant=f"T{i:06d}",
        enterprise=f"E{rng.randrange(0, 50):02d}",
        start=start,
        end=end,
        monthly_rent=rent,
        deposit=deposit,
    )
    planned: list[Planned] = []
    seq = 0

    def act(day: dt.date, name: str, **arguments: object) -> None:
        nonlocal seq
        made = _ACT_NAMED[name](contract=cid, on=day, **arguments)  # type: ignore[call-arg, arg-type]
        planned.append((day, seq, made))
        seq += 1

    if rng.random() < 0.3:
        first = (deposit / 2).quantize(Decimal("0.01"))
        act(start, "pay_deposit", amount=first)
        later = start + dt.timedelta(days=rng.randrange(1, 20))
        act(later, "pay_deposit", amount=deposit - first)
    else:
        act(start, "pay_deposit", amount=deposit, channel="ecny")
    prepaid = rng.randrange(1, 13)
    act(start, "pay_rent", amount=rent * prepaid)
    returned = end
    if rng.random() < 0.2:
        returned = start + dt.timedelta(days=rng.randrange(30, 28 * length))
    act(returned, "return_home", reason="expiry")
    behaviour = rng.random()
    if behaviour < 0.1:
        return terms, planned  # the enterprise lets its deadline pass
    opinion = returned + dt.timedelta(days=rng.randrange(0, 3))
    cut = (deposit * Decimal(rng.choice(("0", "0", "0.1", "0.3")))).quantize(Decimal("0.01"))
    deductions = [("cleaning", cut)] if cut else []
    act(opinion, "propose_refund", fund="deposit", deductions=deductions)
    if rng.random() < 0.5:
        act(opinion, "propose_refund", fund="rent", deductions=[])
    if cut:
        answer = rng.random()
        answered = opinion + dt.timedelta(days=rng.randrange(0, 8))
        if answer < 0.4:
            act(answered, "tenant_agree", fund="deposit")
        elif answer < 0.6:
            act(answered, "tenant_disagree", fund="deposit")
            resolved = answered + dt.timedelta(days=rng.randrange(5, 40))
            half = (cut / 2).quantize(Decimal("0.01"))
            act(
                resolved,
                "resolve",
                fund="deposit",
                via="mediation",
                to_tenant=half,
                to_enterprise=cut - half,
            )
    return terms, planned


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
    plan: list[Planned] = []
    for i in range(contracts):
        terms, tenancy = _tenancy(rng, i, months)
        plan.append((START, -contracts + i, terms))
        plan += [(day, i * 100 + seq, act) for day, seq, act in tenancy]
    for k in range(rng.randrange(1, 4)):
        enterprise = f"E{rng.randrange(0, 50):02d}"
        off = START + dt.timedelta(days=rng.randrange(30, 28 * max(2, months)))
        back = off + dt.timedelta(days=rng.randrange(10, 90))
        plan.append((off, 10**9 + 2 * k, acts.SuspendReleases(enterprise=enterprise, on=off)))
        plan.append((back, 10**9 + 2 * k + 1, acts.ResumeReleases(enterprise=enterprise, on=back)))
    plan.sort(key=lambda a: (a[0], a[1]))
    plan = [a for a in plan if a[0] <= until]
    label = simulation_label(contracts=contracts, months=months, seed=seed)
    prefix = f"{KEY_PREFIX}{seed}:{contracts}:{months}:"
    if ledger.contract_ids() and ledger.store.delivered(f"{prefix}0") is None:
        raise InputError(
            f"the database holds contracts that are not those of {label!r}"
            f" ({ledger.config.label or 'no label'}): simulate on another database"
        )
    for first in range(0, len(plan), ACTS_PER_UNIT):
        chunk = plan[first : first + ACTS_PER_UNIT]
        with ledger.unit_of_work():
            for n, (day, _, planned) in enumerate(chunk, first):
                act = planned.act() if isinstance(planned, _Opening) else planned
                perform(ledger, act, f"{prefix}{n}", day)
        done = first + len(chunk)
        plan[first:done] = [None] * len(chunk)  # type: ignore[list-item]  # let go of what was done
        del chunk
        if progress is not None:
            progress(done, len(plan))
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
