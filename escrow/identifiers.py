"""Ids and one-line names: how contracts, parties, filings, banks and deductions are called.

One validator for the scenario files and the library alike. An **id** (contract, filing number
备案编号, tenant, enterprise, bank) is a non-empty string of at most :data:`MAX_ID_LENGTH`
characters, without spaces at either end and without line breaks or control characters: no C0
(``\\x00``-``\\x1f``, so no ESC and no ESC/OSC terminal sequence), no DEL, no C1
(``\\x80``-``\\x9f``), no bidi overrides or zero-width characters (what ``str.isprintable``
refuses). A **line** (a scenario's name, a deduction item) is non-blank text under the same
character rule, of at most :data:`MAX_LINE_LENGTH` characters. These strings end up in reports,
terminals and logs: what is refused here can never steer a terminal or break a line there.
"""

from __future__ import annotations

from escrow.errors import IdentifierError

__all__ = [
    "MAX_ID_LENGTH",
    "MAX_LINE_LENGTH",
    "check_id",
    "check_line",
    "id_problem",
    "line_problem",
]

MAX_ID_LENGTH = 100
"""Characters in an id, at most."""

MAX_LINE_LENGTH = 1000
"""Characters in a one-line name or deduction item, at most."""


def _show(text: str) -> str:
    """``text`` as quoted in a message: repr (one line, controls escaped), shortened."""
    shown = repr(text)
    return shown if len(shown) <= 42 else shown[:40] + "…'"


def id_problem(value: str) -> str | None:
    """Why ``value`` is not an id (None when it is one)."""
    if not value:
        return "must not be empty"
    if value != value.strip():
        return f"{_show(value)} has spaces at either end"
    if not value.isprintable():
        return "must not contain line breaks or control characters"
    if len(value) > MAX_ID_LENGTH:
        return f"is longer than {MAX_ID_LENGTH} characters"
    return None


def line_problem(value: str) -> str | None:
    """Why ``value`` is not one line of non-blank text (None when it is one)."""
    if not value.strip():
        return "must not be empty"
    if not value.isprintable():
        return "must be one line (no line breaks or control characters)"
    if len(value) > MAX_LINE_LENGTH:
        return f"is longer than {MAX_LINE_LENGTH} characters"
    return None


def _kind(value: object) -> str:
    return "None" if value is None else type(value).__name__


def check_id(value: object, where: str) -> str:
    """``value`` if it is an id; :class:`IdentifierError` (one line, naming ``where``) if not."""
    if not isinstance(value, str):
        raise IdentifierError(f"{where}: must be a string, got {_kind(value)}")
    problem = id_problem(value)
    if problem is not None:
        raise IdentifierError(f"{where}: {problem}")
    return value


def check_line(value: object, where: str) -> str:
    """``value`` if it is one line of text; :class:`IdentifierError` (one line) if not."""
    if not isinstance(value, str):
        raise IdentifierError(f"{where}: must be a string, got {_kind(value)}")
    problem = line_problem(value)
    if problem is not None:
        raise IdentifierError(f"{where}: {problem}")
    return value
