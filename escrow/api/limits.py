"""Bounds on what a request may make the service read: a body is at most :data:`MAX_BODY` bytes.

Checked on the ``Content-Length`` header before the body is read (``413 ContentTooLarge``); a
body sent without one (chunked) is counted as it arrives and cut off at the bound the same way.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from escrow.api.problems import MEDIA_TYPE, problem_body

MAX_BODY = 64 * 1024
"""The largest request body (bytes): a contract or an opinion with its deductions is far less."""


class BodyLimit:
    """ASGI middleware refusing request bodies over ``limit`` bytes with ``413``."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await self._refuse(scope, send)
            return
        seen = 0
        refused = False

        async def counted() -> Message:
            nonlocal seen, refused
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    refused = True
                    return {"type": "http.disconnect"}
            return message

        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            if refused and not started:
                return  # the app saw a disconnect: the refusal below answers instead
            started = started or message["type"] == "http.response.start"
            await send(message)

        await self.app(scope, counted, watched)
        if refused and not started:
            await self._refuse(scope, send)

    async def _refuse(self, scope: Scope, send: Send) -> None:
        body = problem_body(
            413,
            "ContentTooLarge",
            f"the request body is over {self.limit} bytes",
            str(scope.get("path", "")),
        )
        data = json.dumps(body).encode()
        headers = [
            (b"content-type", MEDIA_TYPE.encode()),
            (b"content-length", str(len(data)).encode()),
        ]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": data})
