"""The HTTP/1.1 protocol ``lumiku serve`` runs: uvicorn's httptools protocol, with limits.

uvicorn reads any amount of request header and waits forever for a client that sends a byte
now and then. This protocol bounds what a connection can cost before the application sees
it (``ServerLimits``):

- **Header size.** The request line and headers together are at most ``max_header_bytes``
  (16 KiB); past that the answer is ``431`` and the connection is closed, whether the
  headers ended or are still arriving (a 100 MB header costs the server 16 KiB and one
  chunk).
- **Header timeout.** A connection has ``header_timeout`` seconds, from when it opens or its
  next request begins, to send the complete headers; then ``408`` and close (slowloris).
- **Body timeout.** A body has ``body_timeout`` seconds plus one second per
  ``body_min_rate`` bytes received so far (Apache's ``mod_reqtimeout`` rule), so a slow
  but steady upload finishes and a trickle is closed; the application sees the disconnect.
  Time while the server itself stops reading (the application has not asked for the body
  yet) does not count.
- **Concurrency.** Past ``max_concurrency`` open connections or running requests a new
  request gets ``503`` with ``Retry-After`` in the common error shape.

Every refusal is answered in the common error shape (``{"error": {...}}``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from lumiku.settings import ServerLimits

logger = logging.getLogger("lumiku.http")

_IDLE, _HEADERS, _BODY = "idle", "headers", "body"


def limits_of(config: Any) -> ServerLimits:
    """Return the limits a uvicorn config carries (``lumiku.http.serving``), else defaults."""
    limits = getattr(config, "lumiku_limits", None)
    return limits if isinstance(limits, ServerLimits) else ServerLimits()


class GuardedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with header size, read timeouts and a concurrency limit."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limits = limits_of(self.config)
        # Checked here instead, to answer in the common error shape with Retry-After.
        self.limit_concurrency = None
        self._phase = _IDLE
        self._header_bytes = 0
        self._refused = False
        self._refusal: bytes | None = None
        self._header_timer: asyncio.TimerHandle | None = None
        self._body_timer: asyncio.TimerHandle | None = None
        self._body_started = 0.0
        self._body_received = 0

    # -- connection ------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Accept the connection; its first request's headers are now on the clock."""
        super().connection_made(transport)
        self._arm_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        """Forget the connection and its timers."""
        self._cancel_timers()
        super().connection_lost(exc)

    def handle_websocket_upgrade(self) -> None:
        """Hand the connection to the WebSocket protocol, without this one's timers."""
        self._cancel_timers()
        super().handle_websocket_upgrade()

    def data_received(self, data: bytes) -> None:
        """Parse ``data``; refuse headers that grow past the limit before they end."""
        if self._refused:
            return
        super().data_received(data)
        if self._phase == _HEADERS and not self._refused:
            self._header_bytes += len(data)
            if self._header_bytes > self.limits.max_header_bytes:
                self._refuse_headers()

    # -- parser callbacks ------------------------------------------------------------------

    def on_message_begin(self) -> None:
        """Start a request: its headers are counted and timed."""
        super().on_message_begin()
        self._phase = _HEADERS
        self._header_bytes = 0
        self._arm_header_timer()

    def on_headers_complete(self) -> None:
        """Check the headers' size and the concurrency limit, then start the request."""
        self._cancel_header_timer()
        if self._refused:
            return
        size = len(self.url) + 12 + sum(len(name) + len(value) + 4 for name, value in self.headers)
        if size > self.limits.max_header_bytes:
            self._refuse_headers()
            return
        limit = self.limits.max_concurrency
        if len(self.connections) > limit or len(self.tasks) >= limit:
            logger.warning(
                "⚠️ Refused a request: %d connections are open (limit %d)",
                len(self.connections),
                limit,
            )
            self._refuse(
                503,
                "SERVER_BUSY",
                "The server is at its connection limit; retry in a moment.",
                {"limit": limit},
                retry_after=1,
            )
            return
        self._phase = _BODY
        self._body_started = time.monotonic()
        self._body_received = 0
        self._arm_body_timer(self.limits.body_timeout)
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        """Take a chunk of the body (counted toward the body's time allowance)."""
        if self._refused:
            return
        self._body_received += len(body)
        super().on_body(body)

    def on_message_complete(self) -> None:
        """End the request's body: no more body timeout."""
        self._phase = _IDLE
        self._cancel_body_timer()
        if self._refused:
            return
        super().on_message_complete()

    # -- timers ----------------------------------------------------------------------------

    def _arm_header_timer(self) -> None:
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(
                self.limits.header_timeout, self._on_header_timeout
            )

    def _arm_body_timer(self, delay: float) -> None:
        self._cancel_body_timer()
        self._body_timer = self.loop.call_later(max(0.05, delay), self._on_body_timer)

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _cancel_body_timer(self) -> None:
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None

    def _cancel_timers(self) -> None:
        self._cancel_header_timer()
        self._cancel_body_timer()

    def _on_header_timeout(self) -> None:
        self._header_timer = None
        if self.transport.is_closing():
            return
        if self._answering():
            # The next request's headers wait behind a response still being made; the
            # client is not late (yet).
            self._arm_header_timer()
            return
        self._refuse(
            408,
            "REQUEST_TIMEOUT",
            f"The request headers did not arrive within {self.limits.header_timeout:g} seconds.",
            {"timeout": self.limits.header_timeout},
        )

    def _on_body_timer(self) -> None:
        self._body_timer = None
        if self._phase != _BODY or self.transport.is_closing():
            return
        now = time.monotonic()
        if self.flow.read_paused:
            # The server is not reading (the application has not asked for the body yet):
            # the client cannot be late. Start its allowance again from now.
            self._body_started, self._body_received = now, 0
            self._arm_body_timer(self.limits.body_timeout)
            return
        limits = self.limits
        allowance = limits.body_timeout + self._body_received / limits.body_min_rate
        remaining = self._body_started + allowance - now
        if remaining > 0:
            self._arm_body_timer(remaining)
            return
        logger.info(
            "Closed a connection: its request body came slower than %d bytes/s "
            "(%d bytes in %.0f s)",
            limits.body_min_rate,
            self._body_received,
            now - self._body_started,
        )
        self.transport.close()

    def _answering(self) -> bool:
        """Return whether an earlier request on this connection is still being answered."""
        cycle = self.cycle
        return cycle is not None and not cycle.response_complete

    # -- refusals --------------------------------------------------------------------------

    def _refuse_headers(self) -> None:
        limit = self.limits.max_header_bytes
        self._refuse(
            431,
            "HEADERS_TOO_LARGE",
            f"The request line and headers are over the {limit} byte limit; send fewer or "
            "shorter headers (large values such as cookies or tokens go in the body).",
            {"limit": limit},
        )

    def _refuse(
        self,
        status: int,
        code: str,
        message: str,
        details: dict[str, Any],
        *,
        retry_after: int | None = None,
    ) -> None:
        """Answer ``status`` in the common error shape and close the connection.

        While an earlier (pipelined) request is still being answered, the refusal waits
        for that response to end (it would otherwise land inside it); reading stops.
        """
        self._refused = True
        self._cancel_timers()
        if self.transport.is_closing():
            return
        body = json.dumps({"error": {"code": code, "message": message, "details": details}})
        content = [STATUS_LINE[status]]
        for name, value in self.server_state.default_headers:
            content.extend([name, b": ", value, b"\r\n"])
        if retry_after is not None:
            content.append(b"retry-after: %d\r\n" % retry_after)
        content.extend(
            [
                b"content-type: application/json\r\n",
                b"content-length: %d\r\n" % len(body),
                b"connection: close\r\n\r\n",
                body.encode(),
            ]
        )
        self._refusal = b"".join(content)
        if self._answering():
            self.flow.pause_reading()
            return
        self._send_refusal()

    def _send_refusal(self) -> None:
        refusal, self._refusal = self._refusal, None
        if refusal is not None and not self.transport.is_closing():
            self.transport.write(refusal)
            self.transport.close()

    def on_response_complete(self) -> None:
        """After a response: send a refusal that waited for it, or go on as uvicorn does."""
        if self._refusal is not None:
            self.server_state.total_requests += 1
            self._send_refusal()
            return
        super().on_response_complete()
