"""Money: exact decimal yuan, parsed strictly and rounded in one place.

Rule 17 of docs/rules.md (Art. 10, Art. 15 interest): amounts are exact decimals, interest is
rounded **half-up to the fen** (0.01 CNY), and floating point never touches money. Every amount
that enters escrow, from a scenario file or through the library, goes through
:func:`amount_of` (strings through :func:`parse_amount`); every rounding goes through
:func:`round_fen`.

Accepted text is *plain decimal yuan*: ASCII digits, optionally a ``.`` followed by one or two
digits (``"1234.50"``, ``"5000"``, ``"0.5"``, ``"007"``). Refused: signs (``-`` or ``+``),
exponents, NaN/Infinity, spaces, thousands separators (``,`` or ``_``), non-ASCII digits, more
than two decimals, and a bare ``.`` at either end (``"1."``, ``".5"``: write ``"1"`` / ``"0.5"``).

The library also takes a ``Decimal`` or an ``int`` (:func:`amount_of`): finite, a whole number of
fen, and normalised to two places (``Decimal("1E+2")`` and ``Decimal("100.0000")`` become
``Decimal("100.00")``). A ``float`` is refused, never converted (``0.1 + 0.2`` is not 0.30).

Every amount is at least zero and at most :data:`MAX_AMOUNT` (999,999,999,999.99 yuan, just
below 10^12): the ceiling of one payment, deposit, rent, deduction or resolution.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation

from escrow.errors import AmountError

__all__ = [
    "FEN",
    "MAX_AMOUNT",
    "ZERO",
    "amount_of",
    "check_amount",
    "fmt",
    "from_fen",
    "parse_amount",
    "round_fen",
    "to_fen",
]

ZERO = Decimal("0.00")
FEN = Decimal("0.01")
MAX_AMOUNT = Decimal("999999999999.99")
"""The largest amount escrow takes (files and library alike): just below 10^12 yuan."""

# Precision for every money computation: far more digits than any amount or product needs, so
# quantize never overflows and no result depends on the caller's decimal context.
_PRECISION = 60

_MONEY_CONTEXT = Context(prec=_PRECISION, rounding=ROUND_HALF_UP)
"""The context every money operation here names explicitly (never the caller's: a fresh
``localcontext`` per rounding cost four times the rounding itself). Its traps are the default
ones (invalid operation, division by zero, overflow); no operation here reads its flags."""

_PLAIN = re.compile(r"[0-9]+(?:\.[0-9]{1,2})?", re.ASCII)
_LOOSE_NUMBER = re.compile(r"[0-9]*\.?[0-9]*", re.ASCII)
_TOO_MANY_DECIMALS = re.compile(r"[0-9]+\.[0-9]{3,}", re.ASCII)
_BARE_POINT = re.compile(r"[0-9]+\.|\.[0-9]+", re.ASCII)
_NON_FINITE = {"nan", "snan", "inf", "infinity"}


def _show(text: str) -> str:
    """The input as quoted in an error message: repr (so one line), shortened if very long."""
    shown = repr(text)
    return shown if len(shown) <= 42 else shown[:40] + "…'"


def _problem(text: str) -> str:
    """Why ``text`` (a str that is not a plain amount) is refused."""
    if text == "":
        return "is empty"
    if any(ch.isspace() for ch in text):
        return "contains spaces"
    body = text[1:] if text[:1] in "+-" else text
    if body.lower() in _NON_FINITE:
        return "is not a finite number"
    if text.startswith("-") and any(ch.isdigit() for ch in body) and _LOOSE_NUMBER.fullmatch(body):
        return "is negative"
    if text.startswith("+"):
        return "has a '+' sign (write the plain amount)"
    if "e" in text.lower():
        try:
            Decimal(text)
        except InvalidOperation:
            return "is not a number"
        return "is not a plain decimal amount (no exponents)"
    if "," in text or "_" in text:
        return "has thousands separators (write the plain digits)"
    if not text.isascii():
        return "has non-ASCII characters (write digits 0-9)"
    if _TOO_MANY_DECIMALS.fullmatch(text):
        return "has more than two decimals"
    if _BARE_POINT.fullmatch(text):
        return "is not a plain decimal amount (write digits on both sides of '.', e.g. \"0.50\")"
    return "is not a number"


def parse_amount(text: object, *, where: str = "amount", allow_zero: bool = True) -> Decimal:
    """Parse plain decimal yuan (``"1234.50"``) into a Decimal with exactly two places.

    Raises :class:`AmountError` with a one-line message naming ``where`` and the problem.
    """
    if not isinstance(text, str):
        raise AmountError(f'{where}: must be a string like "1234.50", got {type(text).__name__}')
    if not _PLAIN.fullmatch(text):
        raise AmountError(f"{where}: {_show(text)} {_problem(text)}")
    value = Decimal(text)
    if value > MAX_AMOUNT:
        raise AmountError(f"{where}: {_show(text)} is too large (maximum {MAX_AMOUNT})")
    if not allow_zero and value == 0:
        raise AmountError(f"{where}: {_show(text)} must be more than zero")
    return round_fen(value)


def amount_of(value: object, where: str = "amount", *, allow_zero: bool = True) -> Decimal:
    """An amount given to escrow, as a Decimal with exactly two places: the one amount parser.

    Takes a string of plain decimal yuan (:func:`parse_amount`), an ``int`` or a ``Decimal``
    (:func:`check_amount`, then normalised: ``Decimal("1E+2")`` → ``Decimal("100.00")``).
    Refuses a ``float`` (never converted: ``1000.005`` and ``0.1 + 0.2`` are not amounts), a
    ``bool`` and anything else with :class:`AmountError`, one line naming ``where``.
    """
    if isinstance(value, str):
        return parse_amount(value, where=where, allow_zero=allow_zero)
    if isinstance(value, float):
        raise AmountError(
            f'{where}: {_show_value(value)} is a float; pass a Decimal or a string like "1234.50"'
            " (floats are not exact money)"
        )
    if isinstance(value, int) and not isinstance(value, bool):
        value = Decimal(value)
    if not isinstance(value, Decimal):
        raise AmountError(
            f'{where}: must be a Decimal, an int or a string like "1234.50",'
            f" got {type(value).__name__}"
        )
    amount = round_fen(check_amount(value, where, allow_zero=allow_zero))
    return amount if amount else ZERO  # Decimal("-0") is stored as "0.00", never "-0.00"


def _show_value(value: object) -> str:
    """A number as quoted in an error message: one line, shortened if very long."""
    if isinstance(value, Decimal) and value.is_finite() and value.adjusted() > 30:
        return f"{value:.3E}"
    shown = str(value)
    return shown if len(shown) <= 40 else shown[:38] + "…"


def check_amount(value: object, where: str = "amount", *, allow_zero: bool = True) -> Decimal:
    """An amount in a command: a finite Decimal of whole fen, not negative, at most the ceiling.

    AmountError (a named refusal) otherwise: ``Decimal("100.001")`` is not money a bank can pay.
    """
    if not isinstance(value, Decimal) or not value.is_finite():
        raise AmountError(f"{where}: {_show_value(value)} is not a finite Decimal amount")
    if value < 0:
        raise AmountError(f"{where}: {_show_value(value)} is negative")
    if value > MAX_AMOUNT:  # before any rounding: a huge exponent would overflow quantize
        raise AmountError(f"{where}: {_show_value(value)} is too large (maximum {MAX_AMOUNT})")
    if not allow_zero and value == 0:
        raise AmountError(f"{where}: must be more than zero")
    if round_fen(value) != value:
        shown = _show_value(value)
        raise AmountError(f"{where}: {shown} has more than two decimals (whole fen only)")
    return value


def round_fen(value: Decimal) -> Decimal:
    """Round half-up to the fen (0.01). The one rounding function of the project (rule 17).

    Independent of the global decimal context. ``Decimal("2.675")`` → ``Decimal("2.68")``.
    """
    if not isinstance(value, Decimal):
        raise TypeError(f"round_fen needs a Decimal, got {type(value).__name__}")
    if not value.is_finite():
        raise ValueError(f"cannot round {value} to the fen")
    return value.quantize(FEN, rounding=ROUND_HALF_UP, context=_MONEY_CONTEXT)


def fmt(value: Decimal) -> str:
    """Format an amount already at fen precision: ``"1234.50"``, ``"-3.00"``, ``"0.00"``.

    Raises ValueError for a value with sub-fen digits (``Decimal("1.005")``): rounding is
    :func:`round_fen`'s job, never a formatter's.
    """
    rounded = round_fen(value)
    if rounded != value:
        raise ValueError(f"{value} is not a whole number of fen; round it with round_fen first")
    if rounded == 0:
        rounded = ZERO  # never print "-0.00"
    return f"{rounded:f}"


def to_fen(value: Decimal) -> int:
    """Whole fen in an amount at fen precision: ``Decimal("12.34")`` → ``1234``."""
    rounded = round_fen(value)
    if rounded != value:
        raise ValueError(f"{value} is not a whole number of fen")
    return int(rounded.scaleb(2, _MONEY_CONTEXT))


def from_fen(fen: int) -> Decimal:
    """An amount from whole fen: ``1234`` → ``Decimal("12.34")``."""
    if not isinstance(fen, int) or isinstance(fen, bool):
        raise TypeError(f"from_fen needs an int, got {type(fen).__name__}")
    return Decimal(fen).scaleb(-2, _MONEY_CONTEXT)
