"""Run a scenario file through a ledger: contracts, then actions by date, then the clock.

Each action's idempotency key is derived from the scenario's content and the action's position,
so re-running a scenario on a database that already holds part of it (after a crash) applies
each action once and ends with the same report as an uninterrupted run.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from escrow.clock import Clock
from escrow.config import LedgerConfig
from escrow.domain.terms import ContractTerms
from escrow.errors import RuleViolation
from escrow.report import build_report
from escrow.scenario import (
    ActionSpec,
    ChangeAccountAction,
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


def apply_action(ledger: Ledger, action: ActionSpec, key: str) -> None:
    """Do one scenario action on the ledger (raises a RuleViolation when refused)."""
    on = action.date
    match action:
        case PayDepositAction():
            ledger.pay_deposit(
                action.contract, action.amount, channel=action.channel, on=on, idempotency_key=key
            )
        case PayRentAction():
            ledger.pay_rent(
                action.contract, action.amount, channel=action.channel, on=on, idempotency_key=key
            )
        case ReturnHomeAction():
            ledger.return_home(action.contract, reason=action.reason, on=on, idempotency_key=key)
        case ProposeRefundAction():
            deductions = [(d.item, d.amount) for d in action.deductions]
            ledger.propose_refund(
                action.contract, action.fund, deductions, on=on, idempotency_key=key
            )
        case TenantAgreeAction():
            ledger.tenant_agree(action.contract, action.fund, on=on, idempotency_key=key)
        case TenantDisagreeAction():
            ledger.tenant_disagree(action.contract, action.fund, on=on, idempotency_key=key)
        case ResolveAction():
            ledger.resolve(
                action.contract,
                action.fund,
                via=action.via,
                to_tenant=action.to_tenant,
                to_enterprise=action.to_enterprise,
                on=on,
                idempotency_key=key,
            )
        case SuspendReleasesAction():
            ledger.suspend_releases(action.enterprise, on=on, idempotency_key=key)
        case ResumeReleasesAction():
            ledger.resume_releases(action.enterprise, on=on, idempotency_key=key)
        case ChangeAccountAction():
            ledger.change_account(action.account, action.bank, on=on, idempotency_key=key)


def run_scenario(
    scenario: Scenario,
    url: str,
    *,
    until: dt.date | None = None,
    clock: Clock | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Run ``scenario`` on the ledger at ``url`` and return its report (docs/report-format.md)."""
    stop = until if until is not None else scenario.until
    key = scenario.scenario_key()
    timeline = scenario.timeline()
    first = min([c.start for c in scenario.contracts] + [a.date for _, a in timeline])
    if stop is not None:
        first = min(first, stop)  # the clock never passes the stop, contracts included
    with open_ledger(url, ledger_config(scenario), clock=clock) as ledger:
        for i, spec in enumerate(scenario.contracts):
            terms = ContractTerms(
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
            contract_key = f"{key}:contract:{i}"
            try:
                ledger.open_contract(terms, on=first, idempotency_key=contract_key)
            except RuleViolation as error:
                ledger.record_refusal(
                    on=spec.start,
                    action="open_contract",
                    contract=spec.id,
                    error=error,
                    idempotency_key=contract_key,
                )
        total = len(timeline)
        for done, (index, action) in enumerate(timeline, 1):
            if stop is not None and action.date > stop:
                break
            action_key = f"{key}:{index}"
            try:
                apply_action(ledger, action, action_key)
            except RuleViolation as error:
                ledger.record_refusal(
                    on=action.date,
                    action=action.action,
                    contract=getattr(action, "contract", None),
                    enterprise=getattr(action, "enterprise", None),
                    error=error,
                    idempotency_key=action_key,
                )
            if progress is not None:
                progress(done, total)
        ledger.run_until_idle(limit=stop)
        return build_report(ledger, scenario.name)
