"""The EscrowError tree: every refusal escrow makes has a name.

Errors are raised where a rule is broken and caught only at the edges (CLI, scenario runner),
which turn them into a one-line message (and exit code 2 in the CLI). A refused command writes
nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pydantic import ValidationError


class EscrowError(Exception):
    """Base of every error escrow raises on purpose."""


class InputError(EscrowError, ValueError):
    """Malformed input: an amount, a date, a field or a file that cannot be read."""


class AmountError(InputError):
    """An amount that is not a plain decimal of yuan with at most two decimals."""


class IdentifierError(InputError):
    """An id or a one-line name that is empty, too long, or carries control characters."""


class CalendarError(InputError):
    """A workday-calendar override or query that makes no sense."""


class RateUnavailable(EscrowError):
    """No demand-deposit rate is known for the payout date (before the table's first row)."""


class UnknownRateTable(InputError):
    """A rate-table name that escrow does not ship."""


# --- store ------------------------------------------------------------------------------------


class StoreError(EscrowError):
    """The event store cannot do what was asked."""


class ConcurrencyError(StoreError):
    """Another writer appended to the stream first: the expected version is stale."""


class IdempotencyKeyReused(InputError):
    """An idempotency key delivered again with a different act: a key stands for one act."""


class IntegrityError(StoreError):
    """The stored events fail verification (hash chain, order or invariants)."""


# --- the supervision service -----------------------------------------------------------------


class UnknownWebhook(EscrowError):
    """The webhook is not registered (or was removed, or is another party's)."""


# --- rules ------------------------------------------------------------------------------------


class RuleViolation(EscrowError):
    """A command the rules forbid; it is refused and changes nothing."""


class ContractRefused(RuleViolation):
    """The rule pack does not accept this contract (e.g. it starts before 2024-10-01)."""


class UnknownContract(RuleViolation):
    """The contract (or filing number) is not in the ledger."""


class DuplicateContract(RuleViolation):
    """A contract with this id is already in the ledger."""


class TenancyEnded(RuleViolation):
    """The home has already been returned: the tenancy is over."""


class NoRefundWorkflow(RuleViolation):
    """There is no refund workflow for this fund (home not returned, or nothing was held)."""


class DeadlinePassed(RuleViolation):
    """The act comes after the deadline the rules set for it."""


class OpinionAlreadyGiven(RuleViolation):
    """The enterprise has already proposed its refund opinion for this fund."""


class DeductionsExceedHeld(RuleViolation):
    """The proposed deductions add up to more than the principal held."""


class NothingToAnswer(RuleViolation):
    """The tenant answers an opinion that does not exist or has no deductions to agree to."""


class AlreadyAnswered(RuleViolation):
    """The opinion's deductions are already settled (agreed, deemed agreed or disputed)."""


class NoDispute(RuleViolation):
    """A resolution for a fund that is not in dispute."""


class SplitMismatch(RuleViolation):
    """A resolution whose split does not add up to the disputed amount."""


class AlreadySuspended(RuleViolation):
    """Releases to this enterprise are already suspended."""


class NotSuspended(RuleViolation):
    """Releases to this enterprise are not suspended."""


class Overdraft(RuleViolation):
    """A posting would take a custody or supervision account below zero (Art. 8, Art. 12)."""


class ClockError(RuleViolation):
    """An act dated before the ledger's clock: business time only moves forward."""


# --- from a model's validation ----------------------------------------------------------------


def refusal_of(exc: ValidationError, what: str) -> EscrowError:
    """The refusal behind a pydantic ``ValidationError`` of a public model (``what``).

    The EscrowError a check raised inside the model when there is one (an AmountError stays
    an AmountError), else an :class:`InputError` naming the field: one line either way.
    """
    errors = exc.errors(include_url=False)
    if not errors:
        return InputError(f"{what}: invalid")
    error = errors[0]
    cause = (error.get("ctx") or {}).get("error")
    if isinstance(cause, EscrowError):
        return cause
    where = ".".join(str(part) for part in error["loc"])
    problem = str(error["msg"]).removeprefix("Value error, ")
    text = f"{what}: {where}: {problem}" if where else f"{what}: {problem}"
    return InputError("".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text))
