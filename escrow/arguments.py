"""The library's arguments, checked at the public edge before the ledger reads or writes.

Each public act and query of :class:`escrow.Ledger` (and :func:`escrow.open_ledger`) passes its
arguments through these checks first, so that a bad argument raises an
:class:`~escrow.errors.EscrowError` subclass with a one-line message naming the argument, and
nothing is written: ids through :mod:`escrow.identifiers`, amounts through
:func:`escrow.money.amount_of` (the same rules as a scenario file), dates as ``datetime.date``
(a ``datetime`` is refused: it says more than a business day), recorded times as aware
datetimes, and the fixed vocabularies (fund, channel, reason, resolution, account) by value.
The domain behind the edge stays free of these checks.
"""

from __future__ import annotations

import datetime as dt
import difflib
import os
from collections.abc import Sequence
from decimal import Decimal
from typing import TypeVar, cast, get_args

from escrow.calendar import check_supported_date
from escrow.clock import Clock
from escrow.config import LedgerConfig
from escrow.domain.terms import Account, Channel, ContractTerms, Fund, Resolution, ReturnReason
from escrow.errors import EscrowError, IdentifierError, InputError
from escrow.identifiers import check_id, check_line
from escrow.money import amount_of

MAX_KEY_LENGTH = 500
"""Characters in an idempotency key, at most."""

_S = TypeVar("_S", bound=str)


def _kind(value: object) -> str:
    return "None" if value is None else type(value).__name__


def _show(value: object) -> str:
    shown = repr(value)
    return shown if len(shown) <= 42 else shown[:40] + "…'"


# --- ids and text ---------------------------------------------------------------------------


def contract(value: object, where: str = "contract") -> str:
    """A contract id."""
    return check_id(value, where)


def optional_contract(value: object, where: str = "contract") -> str | None:
    return None if value is None else check_id(value, where)


def enterprise(value: object, where: str = "enterprise") -> str:
    """An enterprise id."""
    return check_id(value, where)


def optional_enterprise(value: object, where: str = "enterprise") -> str | None:
    return None if value is None else check_id(value, where)


def filing_no(value: object) -> str:
    """A filing number (备案编号)."""
    return check_id(value, "filing_no")


def bank(value: object) -> str:
    """A bank (the new account's bank, Art. 18)."""
    return check_id(value, "bank")


def text(value: object, where: str) -> str:
    """One line of text (an action's name in a refusal)."""
    return check_line(value, where)


def idempotency_key(value: object) -> str | None:
    """None, or a one-line key of at most :data:`MAX_KEY_LENGTH` characters."""
    if value is None:
        return None
    where = "idempotency_key"
    if not isinstance(value, str):
        raise IdentifierError(f"{where}: must be a string or None, got {_kind(value)}")
    if not value:
        raise IdentifierError(f"{where}: must not be empty (pass None for no key)")
    if not value.isprintable():
        raise IdentifierError(f"{where}: must not contain line breaks or control characters")
    if len(value) > MAX_KEY_LENGTH:
        raise IdentifierError(f"{where}: is longer than {MAX_KEY_LENGTH} characters")
    return value


# --- vocabularies ---------------------------------------------------------------------------


def _choice(value: object, choices: tuple[_S, ...], where: str) -> _S:
    if isinstance(value, str) and value in choices:
        return value
    expected = " or ".join(repr(c) for c in choices)
    hint = ""
    if isinstance(value, str):
        close = difflib.get_close_matches(value.lower(), choices, n=1, cutoff=0.6)
        if close:
            hint = f" (did you mean {close[0]!r}?)"
    got = _show(value) if isinstance(value, str) else f"a {_kind(value)}"
    raise InputError(f"{where}: expected {expected}, got {got}{hint}")


_FUNDS = cast(tuple[Fund, ...], get_args(Fund))
_CHANNELS = cast(tuple[Channel, ...], get_args(Channel))
_REASONS = cast(tuple[ReturnReason, ...], get_args(ReturnReason))
_RESOLUTIONS = cast(tuple[Resolution, ...], get_args(Resolution))
_ACCOUNTS = cast(tuple[Account, ...], get_args(Account))


def fund(value: object) -> Fund:
    """``"deposit"`` or ``"rent"``."""
    return _choice(value, _FUNDS, "fund")


def channel(value: object) -> Channel:
    """``"bank"`` or ``"ecny"``."""
    return _choice(value, _CHANNELS, "channel")


def reason(value: object) -> ReturnReason | None:
    """None, ``"expiry"`` or ``"termination"``."""
    return None if value is None else _choice(value, _REASONS, "reason")


def resolution(value: object) -> Resolution:
    """``"negotiation"``, ``"mediation"``, ``"arbitration"`` or ``"court"``."""
    return _choice(value, _RESOLUTIONS, "via")


def account(value: object) -> Account:
    """``"custody"`` or ``"supervision"``."""
    return _choice(value, _ACCOUNTS, "account")


# --- money ----------------------------------------------------------------------------------


def amount(value: object, where: str = "amount") -> Decimal:
    """An amount (see :func:`escrow.money.amount_of`): a float is an AmountError."""
    return amount_of(value, where)


def deductions(value: object) -> tuple[tuple[str, Decimal], ...]:
    """Itemised deductions: a sequence of ``(item, amount)`` pairs."""
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        raise InputError(
            f"deductions: expected a sequence of (item, amount) pairs, got {_kind(value)}"
        )
    items: list[tuple[str, Decimal]] = []
    for i, pair in enumerate(value):
        where = f"deductions[{i}]"
        if isinstance(pair, str | bytes) or not isinstance(pair, Sequence) or len(pair) != 2:
            raise InputError(f"{where}: expected an (item, amount) pair, got {_kind(pair)}")
        item = check_line(pair[0], f"{where}.item")
        items.append((item, amount_of(pair[1], f"{where}.amount")))
    return tuple(items)


# --- time -----------------------------------------------------------------------------------


def day(value: object, where: str) -> dt.date:
    """A business date: a ``datetime.date`` (not a ``datetime``) within the supported dates."""
    if isinstance(value, dt.datetime):
        raise InputError(f"{where}: expected a date, got a datetime (pass its .date())")
    if not isinstance(value, dt.date):
        raise InputError(f"{where}: expected a datetime.date, got {_kind(value)}")
    check_supported_date(value, where)
    return value


def optional_day(value: object, where: str) -> dt.date | None:
    return None if value is None else day(value, where)


def known_at(value: object) -> dt.datetime | None:
    """None, or a timezone-aware datetime (when the ledger knew it)."""
    if value is None:
        return None
    if not isinstance(value, dt.datetime):
        raise InputError(f"known_at: expected a timezone-aware datetime, got {_kind(value)}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise InputError("known_at: the datetime has no timezone (give tzinfo, e.g. UTC)")
    return value


def act(on: object, key: object) -> tuple[dt.date | None, str | None]:
    """An act's ``on`` (None: the clock's today) and ``idempotency_key``."""
    return optional_day(on, "on"), idempotency_key(key)


# --- whole objects --------------------------------------------------------------------------


def terms(value: object) -> ContractTerms:
    """Contract terms: a :class:`ContractTerms` (which checks its own fields)."""
    if not isinstance(value, ContractTerms):
        raise InputError(f"terms: expected ContractTerms, got {_kind(value)}")
    return value


def error(value: object) -> EscrowError:
    """The refusal recorded by :meth:`escrow.Ledger.record_refusal`."""
    if not isinstance(value, EscrowError):
        raise InputError(f"error: expected an EscrowError, got {_kind(value)}")
    return value


def store_url(value: object) -> str:
    """Where a ledger lives: a SQLite path (``str`` or ``pathlib.Path``) or a database URL."""
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str):
        raise InputError(f"url: expected a path or a database URL, got {_kind(value)}")
    if not value.strip():
        raise InputError("url: must not be empty")
    if "\x00" in value or not value.isprintable():
        raise InputError("url: must not contain line breaks or control characters")
    return value


def config(value: object) -> LedgerConfig | None:
    """None or a :class:`LedgerConfig`."""
    if value is not None and not isinstance(value, LedgerConfig):
        raise InputError(f"config: expected a LedgerConfig or None, got {_kind(value)}")
    return value


def clock(value: object) -> Clock | None:
    """None or a clock (something with ``now()`` and ``today()``)."""
    if value is None:
        return None
    if not (callable(getattr(value, "now", None)) and callable(getattr(value, "today", None))):
        raise InputError(f"clock: expected a Clock (now() and today()), got {_kind(value)}")
    return cast(Clock, value)
