"""Text from a scenario or a ledger, made safe to show: data, never markup or terminal control.

Ids, names, reasons and details come from files written by others. Before they reach the
terminal every control character (C0, DEL, C1: ESC and OSC sequences among them) and every
bidirectional-override character is shown as a visible escape (``\\x1b``), and before they reach
rich, markup is escaped (``[/red]`` prints as written instead of closing a style or crashing).
"""

from __future__ import annotations

import unicodedata

from rich.markup import escape

__all__ = ["markup_safe", "printable"]

_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _unsafe(ch: str) -> bool:
    return unicodedata.category(ch) in ("Cc", "Zl", "Zp") or ch in _BIDI


def printable(text: str) -> str:
    """``text`` on one line with every control or bidi character shown as its escape."""
    if text.isprintable() and not any(ch in _BIDI for ch in text):
        return text
    return "".join(ascii(ch)[1:-1] if _unsafe(ch) else ch for ch in text)


def markup_safe(text: str) -> str:
    """``text`` for a rich renderable: :func:`printable`, then with rich markup escaped."""
    return escape(printable(text))
