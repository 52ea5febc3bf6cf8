"""Errors as RFC 9457 problem details (``application/problem+json``).

``type`` is the refusal's class name (a relative URI reference, as RFC 9457 allows), ``title``
the first line of that class's docstring, ``detail`` the one-line message, ``status`` the HTTP
status and ``instance`` the request's path. The status says what RFC 9110 says it means:

- ``400`` the request cannot be read (a body that is not JSON, a header that is not one line);
- ``401`` no token, or one that is unknown or revoked; ``403`` a party whose role may never do
  this; ``404`` a contract, filing number, enterprise or webhook that is not there *or is not the
  party's* (a party never learns whether another party's contract exists);
- ``409`` a rule refuses the act in the ledger's present state (a ``RuleViolation``);
- ``422`` a request that is well formed but wrong: a field the model refuses, an amount with
  three decimals, a date outside the calendar, an ``Idempotency-Key`` sent again with another body.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from escrow import errors

MEDIA_TYPE = "application/problem+json"


class Problem(Exception):
    """A problem the service itself raises (not a refusal of the ledger)."""

    def __init__(
        self, status: int, type_: str, detail: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(detail)
        self.status, self.type, self.detail, self.headers = status, type_, detail, headers or {}


_TITLES = {
    "Unauthorized": "No valid bearer token was given.",
    "Forbidden": "This party's role may not do this.",
    "NotFound": "There is nothing here for this party.",
    "MalformedRequest": "The request cannot be read.",
    "ValidationError": "A field of the request is missing or not what it must be.",
    "MethodNotAllowed": "The resource does not take this method.",
    "WrongMode": "The service's clock mode does not allow this.",
    "ContentTooLarge": "The request body is larger than the service reads.",
    "MissingIdempotencyKey": "A write needs an Idempotency-Key header.",
    "FutureDate": "A live service books nothing after today.",
}


def status_of(error: errors.EscrowError) -> int:
    """The HTTP status of a refusal of the ledger."""
    if isinstance(error, errors.UnknownContract | errors.UnknownWebhook):
        return 404
    if isinstance(error, errors.RuleViolation):
        return 409
    if isinstance(error, errors.InputError):
        return 422
    if isinstance(error, errors.ConcurrencyError):
        return 409
    return 500


def problem_body(status: int, type_: str, detail: str, instance: str) -> dict[str, Any]:
    cls = getattr(errors, type_, None)
    title = _TITLES.get(type_)
    if title is None and isinstance(cls, type) and cls.__doc__:
        title = cls.__doc__.strip().splitlines()[0]
    return {
        "type": type_,
        "title": title or type_,
        "status": status,
        "detail": detail,
        "instance": instance,
    }


def problem_response(
    status: int, type_: str, detail: str, instance: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        problem_body(status, type_, detail, instance),
        status_code=status,
        media_type=MEDIA_TYPE,
        headers=headers,
    )


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _validation_detail(exc: RequestValidationError) -> tuple[int, str, str]:
    """A pydantic error list as one line: the first error, where it is."""
    first: dict[str, Any] = exc.errors()[0] if exc.errors() else {}
    if first.get("type") == "json_invalid":
        return 400, "MalformedRequest", "the body is not valid JSON"
    if tuple(first.get("loc", ())) == ("body",) and isinstance(first.get("input"), bytes):
        # FastAPI does not read a body as JSON without a JSON content type
        return 400, "MalformedRequest", "the body is not JSON: send it as application/json"
    where = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or "request"
    message = str(first.get("msg", "is not valid"))
    ctx = first.get("ctx", {})
    cause = ctx.get("error") if isinstance(ctx, dict) else None
    if isinstance(cause, errors.EscrowError):
        return status_of(cause), type(cause).__name__, _one_line(f"{where}: {cause}")
    return 422, "ValidationError", _one_line(f"{where}: {message}")


def install(app: FastAPI) -> None:
    """Answer every error of ``app`` as a problem document."""

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(exc.status, exc.type, exc.detail, request.url.path, exc.headers)

    @app.exception_handler(errors.EscrowError)
    async def _refusal(request: Request, exc: errors.EscrowError) -> JSONResponse:
        return problem_response(
            status_of(exc), type(exc).__name__, _one_line(str(exc)), request.url.path
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        status, type_, detail = _validation_detail(exc)
        return problem_response(status, type_, detail, request.url.path)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        type_ = {404: "NotFound", 405: "MethodNotAllowed", 401: "Unauthorized"}.get(
            exc.status_code, "HTTPError"
        )
        detail = exc.detail if isinstance(exc.detail, str) else json.dumps(exc.detail)
        headers = dict(exc.headers) if exc.headers else None
        return problem_response(
            exc.status_code, type_, _one_line(detail), request.url.path, headers
        )
