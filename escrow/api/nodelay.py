"""TCP_NODELAY on every connection ``escrow serve`` accepts.

With ``--workers`` above 1, uvicorn binds the listening socket itself and leaves its ``proto`` at
0; the sockets it accepts inherit that, and asyncio only switches Nagle's algorithm off
(``TCP_NODELAY``) on sockets whose ``proto`` is TCP's (uvicorn issue #3149, open). A response is
written in two parts, the head and the body: with Nagle on, the body waits for the client's
delayed acknowledgement, about 40 ms on Linux, on every request of a keep-alive connection after
the first. This protocol (uvicorn's own, as ``--http auto`` picks it) switches it off on each
connection, whatever the number of workers.
"""

from __future__ import annotations

import asyncio
import socket
from contextlib import suppress

from uvicorn.protocols.http.auto import AutoHTTPProtocol


def no_delay(transport: asyncio.BaseTransport) -> None:
    """Switch Nagle's algorithm off on ``transport``'s TCP socket (nothing on other sockets)."""
    sock = transport.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        with suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class NoDelayHTTPProtocol(AutoHTTPProtocol):  # type: ignore[misc,valid-type]
    """uvicorn's HTTP protocol, with ``TCP_NODELAY`` set as each connection is made."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        no_delay(transport)
        super().connection_made(transport)
