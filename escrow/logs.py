"""Where the command line sends the library's log records: stderr, as text or as JSON lines.

The library logs under the ``escrow`` logger and never prints (see :mod:`escrow`). The CLI's
``--log-level`` and ``--log-json`` install one handler on that logger: a line per record, either
``LEVEL logger: message`` or one JSON object (``time``, ``level``, ``logger``, ``message``).
Messages may carry ids from a scenario file: the text form shows control characters as escapes,
the JSON form as JSON escapes, so a record is always one line.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import TextIO

from escrow.terminal import printable

__all__ = ["LEVELS", "JsonLines", "configure_logging", "stop_logging"]

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")

_installed: logging.Handler | None = None
"""The handler the last :func:`configure_logging` installed (replaced, never stacked)."""


class JsonLines(logging.Formatter):
    """One JSON object per record: ``time`` (UTC, ISO 8601), ``level``, ``logger``, ``message``."""

    def format(self, record: logging.LogRecord) -> str:
        data = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False)


class _OneLine(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return printable(super().format(record).replace("\n", " "))


def configure_logging(level: str, as_json: bool, stream: TextIO) -> None:
    """Send ``escrow.*`` records of ``level`` and above to ``stream``, as text or JSON lines."""
    global _installed
    logger = logging.getLogger("escrow")
    if _installed is not None:
        logger.removeHandler(_installed)
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        JsonLines() if as_json else _OneLine("escrow: %(levelname)s %(name)s: %(message)s")
    )
    logger.addHandler(handler)
    logger.setLevel(level)
    _installed = handler


def stop_logging() -> None:
    """Remove the handler :func:`configure_logging` installed (at the end of a command)."""
    global _installed
    if _installed is not None:
        logging.getLogger("escrow").removeHandler(_installed)
        _installed.flush()
        _installed = None
