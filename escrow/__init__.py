"""escrow: the books of Beijing rental deposit custody and rent supervision.

An event-sourced ledger of 京建法〔2024〕8号: tenants' deposits in custody, prepaid rent in
supervision, refund negotiations on the official Chinese workday calendar, interest at the
demand-deposit rate. Open a ledger with :func:`open_ledger` and act on it through
:class:`Ledger`; refusals raise a named :class:`EscrowError` and write nothing. Every error
class escrow raises is exported here.
"""

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
)
from escrow.scenario import ScenarioError
from escrow.service import Ledger, open_ledger

__version__ = "0.1.0"

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
    "__version__",
    "open_ledger",
]
