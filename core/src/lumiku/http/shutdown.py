"""Requests cut by a stopping server: a 503 in the common error shape, not uvicorn's 500.

On SIGTERM ``lumiku serve`` stops accepting and lets the requests in flight finish for
``SERVER_SHUTDOWN_TIMEOUT`` seconds; then uvicorn cancels their tasks. Uncaught, the
cancellation reaches uvicorn, which logs it as an application error with a traceback and
answers a plain-text 500. This wrapper answers the client that was cut 503
``SERVER_STOPPING`` with ``Retry-After`` and ``Connection: close`` (another node, or this one
restarted, will serve the retry) and logs one line.
"""

from __future__ import annotations

import asyncio
import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lumiku.http.errors import ErrorResponse, error_body

logger = logging.getLogger("lumiku.http")

RETRY_AFTER = 1
"""Seconds a client cut by a stopping server is asked to wait before retrying."""


class CutAtShutdown:
    """Answer 503 to an HTTP request whose task is cancelled before it started answering."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the request; if its task is cancelled before the response started, answer
        503 and end normally (the task is over either way)."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watching(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watching)
        except asyncio.CancelledError:
            if started:
                raise  # half an answer went out: only closing the connection is left
            logger.warning(
                "⚠️ %s %s was cut: the server is stopping and its shutdown deadline passed",
                scope.get("method", "?"),
                scope.get("path", "?"),
            )
            body = error_body(
                "SERVER_STOPPING",
                "The server stopped before this request finished; send it again.",
                {"retryAfter": RETRY_AFTER},
            )
            headers = {"Retry-After": str(RETRY_AFTER), "Connection": "close"}
            await ErrorResponse(body, 503, headers)(scope, receive, send)
