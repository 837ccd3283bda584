"""The one place where errors become HTTP responses, all in the shape
``{"error": {"code", "message", "details"}}``."""

from __future__ import annotations

import json
import logging
import sqlite3
from typing import Any

import psycopg
import sqlalchemy as sa
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response

from lumiku import errors
from lumiku.db.loop_reads import ReadTimedOut

logger = logging.getLogger("lumiku.http")

STATUS_BY_ERROR: dict[type[errors.LumikuError], int] = {
    errors.BadRequest: 400,
    errors.Unauthorized: 401,
    errors.InsufficientCredits: 402,
    errors.Forbidden: 403,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.PayloadTooLarge: 413,
    errors.UnsupportedMedia: 415,
    errors.ValidationFailed: 422,
    errors.RateLimited: 429,
    errors.ServiceUnavailable: 503,
}

ERROR_CODES: dict[int, str] = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    402: "INSUFFICIENT_CREDITS",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    409: "CONFLICT",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    422: "VALIDATION_ERROR",
    429: "RATE_LIMITED",
    503: "SERVICE_UNAVAILABLE",
}
"""The statuses of the error tree, with the default ``code`` of each."""

_HTTP_CODES = {**ERROR_CODES, 405: "METHOD_NOT_ALLOWED"}


class ErrorResponse(JSONResponse):
    """A JSON response whose text is always written: characters UTF-8 cannot encode (a lone
    surrogate echoed from a request) become ``?`` instead of failing the response."""

    def render(self, content: Any) -> bytes:
        """Return ``content`` as compact UTF-8 JSON."""
        text = json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        return text.encode("utf-8", errors="replace")


def status_for(error: errors.LumikuError) -> int:
    """Return the HTTP status of ``error`` (its nearest mapped base class, else 500)."""
    for cls in type(error).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return 500


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    """Return the common error shape."""
    return {"error": {"code": code, "message": message, "details": details or {}}}


def error_response(error: errors.LumikuError) -> JSONResponse:
    """Render a domain error, with ``Retry-After`` or ``WWW-Authenticate`` where they apply."""
    status = status_for(error)
    headers: dict[str, str] = {}
    retry_after = getattr(error, "retry_after", None)
    if isinstance(retry_after, int):  # RateLimited, and a 503 that knows when to come back
        headers["Retry-After"] = str(retry_after)
    if isinstance(error, errors.Unauthorized):
        headers["WWW-Authenticate"] = "Bearer"
    if status == 500:
        logger.error("unmapped domain error %s: %s", type(error).__name__, error.message)
        return ErrorResponse(error_body("INTERNAL_ERROR", "Internal server error"), status_code=500)
    return ErrorResponse(error_body(error.code, error.message, error.details), status, headers)


CLIENT_CLOSED_REQUEST = 499
"""The status logged and counted for a request whose client hung up (nginx's convention);
the client never sees it."""


def client_gone_response(request: Request | None, *, where: str = "") -> Response:
    """Log a client that hung up mid-request (at info, no traceback) and answer 499."""
    method = request.method if request is not None else "?"
    path = request.url.path if request is not None else where
    logger.info("client disconnected during %s %s; the request was dropped", method, path)
    return Response(status_code=CLIENT_CLOSED_REQUEST)


DATABASE_RETRY_AFTER = 5
"""Seconds a client is asked to wait after the database could not serve its request."""

# Errors that say the database cannot serve any request right now, not that this request
# is wrong: unreachable, timed out, locked, or without the tables (migrations not applied).
_DATABASE_DOWN = (
    sa.exc.OperationalError,
    sa.exc.InterfaceError,
    sa.exc.DisconnectionError,
    sa.exc.TimeoutError,
    # The reads run from the event loop (lumiku.db.loop_reads) use the drivers directly.
    psycopg.OperationalError,
    psycopg.InterfaceError,
    sqlite3.OperationalError,
    ReadTimedOut,
)
_MISSING_SCHEMA = ("UndefinedTable", "UndefinedColumn")


def database_unavailable(exc: BaseException) -> bool:
    """Return whether ``exc`` means the database cannot serve requests right now (it is
    unreachable or busy, or the schema is missing: "no such table"), rather than a bug."""
    if isinstance(exc, _DATABASE_DOWN):
        return True
    if isinstance(exc, sa.exc.ProgrammingError):
        return type(exc.orig).__name__ in _MISSING_SCHEMA
    return False


def _database_unavailable_response(exc: BaseException, where: str) -> JSONResponse:
    # One line, no traceback: the cause is the database's state, not the code. The
    # statement's parameters are never in it (engines hide them), nor is it in the answer.
    orig = getattr(exc, "orig", None)
    cause = str(orig if orig is not None else exc).strip().splitlines()
    logger.error(
        "❌ the database could not serve %s: %s: %s",
        where,
        type(orig if orig is not None else exc).__name__,
        cause[0][:200] if cause else "",
    )
    body = error_body(
        "SERVICE_UNAVAILABLE",
        "The database is unavailable right now; try again in a few seconds.",
        {"dependency": "database", "retryAfter": DATABASE_RETRY_AFTER},
    )
    return ErrorResponse(body, 503, {"Retry-After": str(DATABASE_RETRY_AFTER)})


def internal_error_response(exc: BaseException, *, where: str) -> JSONResponse:
    """Log an unexpected exception with its place and answer 500 without a traceback.

    A database that cannot serve (unreachable, locked, its tables missing) is answered 503
    ``SERVICE_UNAVAILABLE`` with ``Retry-After`` instead, logged in one line.
    """
    if database_unavailable(exc):
        return _database_unavailable_response(exc, where)
    logger.error("unexpected error in %s: %s", where, type(exc).__name__, exc_info=exc)
    return ErrorResponse(
        error_body("INTERNAL_ERROR", "Internal server error; the error was logged."), 500
    )


async def http_exception_handler(_request: Request, exc: Exception) -> Response:
    """Render Starlette's HTTP exceptions (unknown route, wrong method) in the common shape."""
    assert isinstance(exc, HTTPException)
    code = _HTTP_CODES.get(exc.status_code, "HTTP_ERROR")
    message = "No route matches this path" if exc.status_code == 404 else str(exc.detail)
    return ErrorResponse(
        error_body(code, message), status_code=exc.status_code, headers=exc.headers
    )


async def lumiku_error_handler(_request: Request, exc: Exception) -> Response:
    """Render a domain error raised outside a declared endpoint."""
    assert isinstance(exc, errors.LumikuError)
    return error_response(exc)


async def unexpected_error_handler(request: Request, exc: Exception) -> Response:
    """Render anything else as a 500 in the common shape (a client that hung up: 499)."""
    if isinstance(exc, ClientDisconnect):
        return client_gone_response(request)
    return internal_error_response(exc, where=request.url.path)
