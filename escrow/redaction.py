"""Database URLs and driver messages with their secrets masked, for messages and ``repr``.

Redaction by structure and by name, never by searching a text for the secret's value (which
garbled "connection failed … port 1" into "c***nnecti***n failed … p***rt 1" for a password
``o``): the URL's password through SQLAlchemy's own rendering, and every query parameter or
connection option whose name says it is a secret (``password``, ``passwd``, ``pwd``,
``sslpassword``, ``secret``, ``token``, ``api_key``, ``sslkey``…).
"""

from __future__ import annotations

import re
import urllib.parse

import sqlalchemy.exc as sa_exc
from sqlalchemy.engine import URL, make_url

__all__ = ["redact_text", "redact_url"]

_SECRET_NAME = re.compile(r"pass|pwd|secret|token|key|credential|auth", re.IGNORECASE)
"""A URL query parameter or connection option whose value is a secret (password, passwd,
sslpassword, pwd, secret, token, api_key, sslkey, …)."""

_HIDDEN = "***"


def redact_url(url: URL | str) -> str:
    """``url`` as text with its password and every secret-named query parameter shown as ***.

    Built with SQLAlchemy's own URL rendering (the password) and by parameter *name* (the
    query), never by searching the text for the secret's value.
    """
    if isinstance(url, str):
        try:
            parsed = make_url(url)
        except (sa_exc.ArgumentError, ValueError):
            return redact_text(url)
    else:
        parsed = url
    query = {
        name: (_HIDDEN if _SECRET_NAME.search(name) else value)
        for name, value in parsed.query.items()
    }
    # The rendering percent-encodes the query; show the mask (our own text) as written.
    text = parsed.set(query=query).render_as_string(hide_password=True)
    return text.replace("=" + urllib.parse.quote(_HIDDEN, safe=""), "=" + _HIDDEN)


_USERINFO = re.compile(r"(://[^:/@\s]*:)[^@\s]*@")
_SECRET_OPTION = re.compile(
    r"(\b[\w.-]*(?:pass|pwd|secret|token|key|credential|auth)[\w.-]*\s*=\s*)"
    r"('(?:[^'\\]|\\.)*'|\"[^\"]*\"|[^\s&;,]+)",
    re.IGNORECASE,
)


def redact_text(text: str) -> str:
    """``text`` (a URL SQLAlchemy refuses, or a driver's message) with every password of a URL
    (``://user:…@``) and every secret-named option (``password=…``, ``?token=…``) masked.

    By structure and name only: the rest of the message is left as it was."""
    return _SECRET_OPTION.sub(rf"\g<1>{_HIDDEN}", _USERINFO.sub(rf"\g<1>{_HIDDEN}@", text))
