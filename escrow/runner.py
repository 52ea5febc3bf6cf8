"""Run a scenario file through a ledger: contracts, then actions by date, then the clock.

Each act's idempotency key stands for its place in the scenario (a contract's id, an action's
position in the file) and the ledger records the act with it. Re-running a scenario on a
database that holds part of it (after a crash, or after appending actions or editing the name
or description) does each act once and ends with the same report as an uninterrupted run; a
recorded act the file changed or removed is refused with one line, before anything is written.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any, TextIO, TypeVar

from escrow import acts
from escrow.clock import Clock
from escrow.config import LedgerConfig
from escrow.domain.terms import ContractTerms
from escrow.errors import InputError, RuleViolation
from escrow.report import build_report, write_report
from escrow.scenario import (
    ActionSpec,
    ChangeAccountAction,
    ContractSpec,
    PayDepositAction,
    PayRentAction,
    ProposeRefundAction,
    ResolveAction,
    ResumeReleasesAction,
    ReturnHomeAction,
    Scenario,
    SuspendReleasesAction,
    TenantAgreeAction,
    TenantDisagreeAction,
)
from escrow.service import Ledger, open_ledger

_T = TypeVar("_T")

KEY_PREFIX = "scenario:"
"""Idempotency keys of scenario acts: ``scenario:contract:ID`` and ``scenario:action:N``."""


class ScenarioMismatch(InputError):
    """A scenario run on a ledger whose recorded acts it contradicts (changed or removed)."""


def ledger_config(scenario: Scenario) -> LedgerConfig:
    """The ledger configuration a scenario asks for (rule pack, parameters, rates, calendar)."""
    p = scenario.parameters
    return LedgerConfig(
        label=scenario.name,
        rules=scenario.rules,
        day_basis=p.day_basis if p.day_basis is not None else 360,
        settle_on_working_days=(
            p.settle_on_working_days if p.settle_on_working_days is not None else True
        ),
        deducted_interest_to=p.deducted_interest_to or "recipient",
        rate_table=scenario.rate_table,
        rates=tuple((r.effective, r.annual_percent) for r in scenario.rates),
        extra_holidays=tuple(scenario.calendar.extra_holidays),
        extra_workdays=tuple(scenario.calendar.extra_workdays),
    )


def scenario_act(action: ActionSpec) -> acts.Act:
    """The act (:mod:`escrow.acts`) a scenario action is, on its date, without a key."""
    on = action.date
    match action:
        case PayDepositAction():
            return acts.PayDeposit(
                contract=action.contract, amount=action.amount, channel=action.channel, on=on
            )
        case PayRentAction():
            return acts.PayRent(
                contract=action.contract, amount=action.amount, channel=action.channel, on=on
            )
        case ReturnHomeAction():
            return acts.ReturnHome(contract=action.contract, reason=action.reason, on=on)
        case ProposeRefundAction():
            deductions = tuple((d.item, d.amount) for d in action.deductions)
            return acts.ProposeRefund(
                contract=action.contract, fund=action.fund, deductions=deductions, on=on
            )
        case TenantAgreeAction():
            return acts.TenantAgree(contract=action.contract, fund=action.fund, on=on)
        case TenantDisagreeAction():
            return acts.TenantDisagree(contract=action.contract, fund=action.fund, on=on)
        case ResolveAction():
            return acts.Resolve(
                contract=action.contract,
                fund=action.fund,
                via=action.via,
                to_tenant=action.to_tenant,
                to_enterprise=action.to_enterprise,
                on=on,
            )
        case SuspendReleasesAction():
            return acts.SuspendReleases(enterprise=action.enterprise, on=on)
        case ResumeReleasesAction():
            return acts.ResumeReleases(enterprise=action.enterprise, on=on)
        case ChangeAccountAction():
            return acts.ChangeAccount(account=action.account, bank=action.bank, on=on)


def perform(
    ledger: Ledger, act: acts.Act, key: str, on: dt.date, *, contract: str | None = None
) -> bool:
    """Do ``act`` with the idempotency key ``key``; True when it was done.

    A refusal is recorded on ``on`` under the same key, as the same act (its request), so that
    delivering the act again is recognised whether it was done or refused.
    """
    try:
        ledger.handle(act.keyed(key))
        return True
    except RuleViolation as error:
        named, enterprise = getattr(act, "contract", None), getattr(act, "enterprise", None)
        ledger.record_refusal(
            on=on,
            action=act.name,
            contract=named if isinstance(named, str) else contract,
            enterprise=enterprise if isinstance(enterprise, str) else None,
            error=error,
            idempotency_key=key,
            request=act.request(),
        )
        return False


def _contract_terms(spec: ContractSpec) -> ContractTerms:
    return ContractTerms(
        id=spec.id,
        filing_no=spec.filing_no,
        tenant=spec.tenant,
        enterprise=spec.enterprise,
        start=spec.start,
        end=spec.end,
        monthly_rent=spec.monthly_rent,
        deposit=spec.deposit,
        affordable=spec.affordable,
    )


def _contract_key(contract_id: str) -> str:
    return f"{KEY_PREFIX}contract:{contract_id}"


def _action_key(index: int) -> str:
    return f"{KEY_PREFIX}action:{index}"


def _place(key: str) -> str:
    """Where a key's act stands in a scenario file, for messages."""
    kind, _, where = key[len(KEY_PREFIX) :].partition(":")
    return f"contract {where}" if kind == "contract" else f"action #{int(where) + 1}"


def _check_resumable(
    ledger: Ledger, scenario: Scenario, acts: dict[str, str], name: str
) -> set[str]:
    """Refuse, before writing anything, a scenario that contradicts what the ledger recorded.

    Every act a scenario file asks for is keyed by its place (a contract by its id, an action
    by its position in the file), and the ledger keeps the act with the key. Running the file
    again finds each recorded act at its place unchanged (then it is not done twice) and does
    the acts not recorded yet (appended actions, or what a crash cut off). A recorded act that
    the file changed or no longer has, and contracts the file does not open, mean the file no
    longer tells the ledger's history: the run is refused. A contract is the same when its terms
    are: the day it was opened on follows the run (an earlier ``--until`` opens it sooner).
    Returns the keys already recorded.
    """
    recorded = ledger.store.requests(KEY_PREFIX)
    for key in sorted(recorded, key=lambda k: (len(k), k)):
        request = recorded[key]
        if key not in acts:
            raise ScenarioMismatch(
                f"{name}: the ledger recorded {_shown(request)} as {_place(key)} of its scenario,"
                " which this file no longer has: run it on a new database"
            )
        if request is not None and _as_filed(key, request) != _as_filed(key, acts[key]):
            raise ScenarioMismatch(
                f"{name}: {_place(key)} is {_shown(acts[key])}, but the ledger recorded"
                f" {_shown(request)} for it: run the changed scenario on a new database"
            )
    opened = {c.id for c in scenario.contracts}
    held = ledger.contract_ids()
    strangers = [c for c in held if c not in opened]
    if strangers:
        raise ScenarioMismatch(
            f"{name}: the ledger holds contract {strangers[0]}, which this scenario does not"
            f" open ({len(strangers)} such): it was made by something else; run on a new database"
        )
    unrecorded = [c for c in held if _contract_key(c) not in recorded]
    if unrecorded:
        raise ScenarioMismatch(
            f"{name}: the ledger holds contract {unrecorded[0]} but no scenario run recorded it"
            " (the library or an older escrow opened it): run this scenario on a new database"
        )
    return set(recorded)


def _as_filed(key: str, request: str) -> str:
    """What must not change at a key's place: a contract's terms, or an action as a whole."""
    if not key.startswith(f"{KEY_PREFIX}contract:"):
        return request
    body = json.loads(request)
    return json.dumps(body.get("terms"), sort_keys=True)


def _shown(request: str | None) -> str:
    """A recorded act as one short line: ``pay_rent(contract=C7, amount=15000.00, …)``."""
    if request is None:
        return "an act"
    body = json.loads(request)
    act = body.pop("act", "act")
    parts = ", ".join(f"{k}={v}" for k, v in body.items() if k != "terms")
    if "terms" in body:
        parts = ", ".join(f"{k}={v}" for k, v in body["terms"].items()) + f", on={body.get('on')}"
    return f"{act}({parts})"


def run_scenario(
    scenario: Scenario,
    url: str,
    *,
    until: dt.date | None = None,
    clock: Clock | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Run ``scenario`` on the ledger at ``url`` and return its report (docs/report-format.md).

    Run again on the same ledger, the scenario resumes: acts already recorded are recognised by
    their place and not done again, new ones are done (see :func:`_check_resumable`).
    """
    return _run(
        scenario, url, until, clock, progress, lambda ledger: build_report(ledger, scenario.name)
    )


def run_scenario_json(
    scenario: Scenario,
    out: TextIO,
    url: str,
    *,
    until: dt.date | None = None,
    clock: Clock | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> None:
    """:func:`run_scenario`, writing the report to ``out`` as JSON as it reads it from the
    read models (bounded memory, whatever the size of the ledger)."""

    def write(ledger: Ledger) -> None:
        with ledger.store.connection() as conn:
            write_report(out, conn, scenario.name, ledger.today)

    _run(scenario, url, until, clock, progress, write)


def _run(
    scenario: Scenario,
    url: str,
    until: dt.date | None,
    clock: Clock | None,
    progress: Callable[[int, int], None] | None,
    finish: Callable[[Ledger], _T],
) -> _T:
    """Run ``scenario`` on the ledger at ``url``, then ``finish`` (the report) on it.

    Run again on the same ledger, the scenario resumes: acts already recorded are recognised by
    their place and not done again, new ones are done (see :func:`_check_resumable`).
    """
    stop = until if until is not None else scenario.until
    timeline = scenario.timeline()
    first = min([c.start for c in scenario.contracts] + [a.date for _, a in timeline])
    if stop is not None:
        first = min(first, stop)  # the clock never passes the stop, contracts included
    terms = [_contract_terms(spec) for spec in scenario.contracts]
    openings = {_contract_key(t.id): acts.OpenContract(terms=t, on=first) for t in terms}
    actions = {_action_key(index): scenario_act(action) for index, action in timeline}
    requests = {key: act.request() for key, act in (openings | actions).items()}
    with open_ledger(url, ledger_config(scenario), clock=clock) as ledger:
        recorded = _check_resumable(ledger, scenario, requests, scenario.name)
        for t in terms:
            key = _contract_key(t.id)
            if key in recorded:
                continue  # opened (or refused) by an earlier run of this scenario
            perform(ledger, openings[key], key, t.start, contract=t.id)
        total = len(timeline)
        for done, (index, action) in enumerate(timeline, 1):
            if stop is not None and action.date > stop:
                break
            key = _action_key(index)
            perform(ledger, actions[key], key, action.date)
            if progress is not None:
                progress(done, total)
        ledger.run_until_idle(limit=stop)
        return finish(ledger)
