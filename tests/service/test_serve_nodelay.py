"""Every connection `escrow serve` accepts has Nagle's algorithm off, with several workers too.

`escrow serve --workers N` (N > 1) serves on a socket uvicorn binds itself (proto 0): asyncio then
leaves TCP_NODELAY off on the sockets it accepts, and every keep-alive request after the first
waited ~40 ms for the client's delayed ACK (4 workers: a tenant's balance in 48 ms instead of
2.4 ms). These tests run uvicorn's worker path in this process, on the socket uvicorn binds for
its workers, and look at the accepted socket itself.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI

from escrow.cli_service import HTTP_PROTOCOL


def _app() -> FastAPI:
    app = FastAPI()

    @app.get("/nothing")
    async def nothing() -> dict[str, Any]:
        return {}

    return app


async def _accepted_no_delay(http: str) -> list[int]:
    """TCP_NODELAY of each socket the server accepted, served with ``http`` as the worker of
    ``--workers N`` serves (``Server.serve`` on the socket ``Config.bind_socket`` made)."""
    config = uvicorn.Config(_app(), host="127.0.0.1", port=0, http=http, log_level="warning")
    sock = config.bind_socket()
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            await asyncio.sleep(0.01)
        port = sock.getsockname()[1]
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            for _ in range(2):  # one keep-alive connection
                assert (await client.get("/nothing")).status_code == 200
            states = server.server_state.connections
            found = []
            for connection in states:
                accepted = connection.transport.get_extra_info("socket")
                found.append(accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
    finally:
        server.should_exit = True
        await task
        sock.close()
    return found


def test_the_worker_socket_leaves_nagle_on_with_uvicorns_own_protocol() -> None:
    # The fault this guards against, shown on uvicorn itself: if uvicorn fixes it (#3149), this
    # test fails and the protocol of escrow.api.nodelay can go.
    assert asyncio.run(_accepted_no_delay("auto")) == [0]


def test_escrow_serve_switches_nagle_off_on_every_connection() -> None:
    assert asyncio.run(_accepted_no_delay(HTTP_PROTOCOL)) == [1]
