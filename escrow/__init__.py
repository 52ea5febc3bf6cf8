"""escrow: the books of Beijing rental deposit custody and rent supervision.

An event-sourced ledger of 京建法〔2024〕8号: tenants' deposits in custody, prepaid rent in
supervision, refund negotiations on the official Chinese workday calendar, interest at the
demand-deposit rate. Open a ledger with :func:`open_ledger` and act on it through
:class:`Ledger`; refusals raise a named :class:`EscrowError` and write nothing. Every error
class escrow raises is exported here.
"""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from escrow.config import LedgerConfig
    from escrow.delivery import Receipt
    from escrow.domain.terms import ContractTerms
    from escrow.errors import (
        AlreadyAnswered,
        AlreadySuspended,
        AmountError,
        CalendarError,
        ClockError,
        ConcurrencyError,
        ContractRefused,
        DeadlinePassed,
        DeductionsExceedHeld,
        DuplicateContract,
        EscrowError,
        IdempotencyKeyReused,
        IdentifierError,
        InputError,
        IntegrityError,
        NoDispute,
        NoRefundWorkflow,
        NothingToAnswer,
        NotSuspended,
        OpinionAlreadyGiven,
        Overdraft,
        RateUnavailable,
        RuleViolation,
        SplitMismatch,
        StoreError,
        TenancyEnded,
        UnknownContract,
        UnknownRateTable,
        UnknownWebhook,
    )
    from escrow.scenario import ScenarioError
    from escrow.service import Ledger, open_ledger

__version__ = "0.1.0"

# The library logs under ``escrow.`` (acts, refusals, retries, clock runs, store opens) and never
# prints: without a handler of the application's, nothing reaches stderr.
logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "AlreadyAnswered",
    "AlreadySuspended",
    "AmountError",
    "CalendarError",
    "ClockError",
    "ConcurrencyError",
    "ContractRefused",
    "ContractTerms",
    "DeadlinePassed",
    "DeductionsExceedHeld",
    "DuplicateContract",
    "EscrowError",
    "IdempotencyKeyReused",
    "IdentifierError",
    "InputError",
    "IntegrityError",
    "Ledger",
    "LedgerConfig",
    "NoDispute",
    "NoRefundWorkflow",
    "NotSuspended",
    "NothingToAnswer",
    "OpinionAlreadyGiven",
    "Overdraft",
    "RateUnavailable",
    "Receipt",
    "RuleViolation",
    "ScenarioError",
    "SplitMismatch",
    "StoreError",
    "TenancyEnded",
    "UnknownContract",
    "UnknownRateTable",
    "UnknownWebhook",
    "__version__",
    "open_ledger",
]

# The public names load on first use (PEP 562): `import escrow` stays light, and
# `escrow --version` answers without loading the ledger.
_HOME = {
    "LedgerConfig": "escrow.config",
    "ContractTerms": "escrow.domain.terms",
    "Ledger": "escrow.service",
    "open_ledger": "escrow.service",
    "Receipt": "escrow.delivery",
    "ScenarioError": "escrow.scenario",
}


def __getattr__(name: str) -> Any:
    if name in __all__ and name != "__version__":
        value = getattr(importlib.import_module(_HOME.get(name, "escrow.errors")), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'escrow' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
