"""The request bodies a process holds at once: bytes in flight, per process and per client.

A body is held in memory from when it is read until the response is made (a form's files
are bytes in the handler's hands). Authentication comes first (``lumiku.http.endpoint``),
but a signed-in client can still send many large bodies at once: each takes its size
(``Content-Length``, or the route's limit when none is sent) from this budget before a byte
is read, and gives it back when the response is made. A body that cannot get its share
within ``wait`` seconds is answered 503 ``SERVER_BUSY`` with ``Retry-After``. One client
(a user, or an address for anonymous routes) may hold at most ``per_client`` bytes, so one
account cannot take the whole budget from the others.

Waiting is asynchronous (no thread is held): the event loop polls every ``poll`` seconds.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from lumiku import errors
from lumiku.wording import plural

DEFAULT_TOTAL = 256 * 1024 * 1024
DEFAULT_PER_CLIENT = 32 * 1024 * 1024


class BodyBudget:
    """At most ``total`` body bytes held at once, ``per_client`` of them by one client."""

    def __init__(
        self,
        total: int = DEFAULT_TOTAL,
        *,
        per_client: int = DEFAULT_PER_CLIENT,
        wait: float = 5.0,
        poll: float = 0.02,
    ) -> None:
        if total < 1 or per_client < 1 or wait < 0:
            raise ValueError("the budgets are at least 1 byte and the wait at least 0 s")
        self.total = total
        self.per_client = min(per_client, total)
        self.wait = wait
        self.poll = poll
        self._lock = threading.Lock()  # event loops of several test clients may share it
        self._in_flight = 0
        self._by_client: dict[str, int] = {}

    @property
    def in_flight(self) -> int:
        """Return the body bytes held right now."""
        return self._in_flight

    def _take(self, size: int, client: str) -> bool:
        with self._lock:
            held = self._by_client.get(client, 0)
            if self._in_flight + size > self.total or held + size > self.per_client:
                return False
            self._in_flight += size
            self._by_client[client] = held + size
            return True

    def _give(self, size: int, client: str) -> None:
        with self._lock:
            self._in_flight -= size
            held = self._by_client[client] - size
            if held:
                self._by_client[client] = held
            else:
                del self._by_client[client]

    @asynccontextmanager
    async def hold(self, size: int, client: str) -> AsyncIterator[None]:
        """Hold ``size`` bytes for ``client`` for the block; raise ``ServerBusy`` if they do
        not come free within ``wait`` seconds. A body larger than a client's share takes the
        whole share."""
        size = max(0, min(size, self.per_client))
        deadline = time.monotonic() + self.wait
        while not self._take(size, client):
            if time.monotonic() >= deadline:
                retry_after = max(1, math.ceil(self.wait))
                raise errors.ServerBusy(
                    "The server is holding as many request bodies as its memory allows; "
                    f"retry in {plural(retry_after, 'second')}.",
                    retry_after=retry_after,
                )
            await asyncio.sleep(self.poll)
        try:
            yield
        finally:
            self._give(size, client)
