"""The process-wide image decoding budget: how many pixels may be decoded at once.

A 4096x4096 upload is 138 KB on the wire and 64 MiB decoded; 36 at once took a process to
3.9 GB. Every decode of an upload (``check_image``, ``make_thumbnail`` of bytes) first takes
its pixel count from the budget and gives it back when its full-size pixels are released.
A decode that cannot get its share within ``wait`` seconds raises ``DecodingBusy`` (503
``IMAGE_DECODING_BUSY`` with ``Retry-After``). When the last decode of a burst ends, free
memory is handed back to the system (``lumiku.memory.release_memory``).

No one caller takes the whole budget: while a caller (``decoding_owner``: the HTTP layer
names the signed-in user, or the client address of an anonymous call) has a decode in
flight, its further decodes may bring it to at most half of the budget, so another
caller's upload still gets its share. A caller's first decode is never held back by this
rule (a decode larger than half the budget runs, alone for that caller).

The budget is per process, like the memory it protects: ``process_budget()`` is the one the
checks use unless given another; ``lumiku serve`` and ``lumiku worker`` size it from the
settings (``IMAGE_DECODE_BUDGET_MEGAPIXELS``, ``IMAGE_DECODE_WAIT``).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from lumiku.memory import release_memory
from lumiku.storage.errors import DecodingBusy
from lumiku.wording import plural

DEFAULT_BUDGET_PIXELS = 34_000_000
"""About two 4096x4096 images (16.8 megapixels each)."""
DEFAULT_WAIT = 5.0

_OWNER: ContextVar[str | None] = ContextVar("lumiku_decoding_owner", default=None)


@contextmanager
def decoding_owner(owner: str | None) -> Iterator[None]:
    """Name the caller (``"user:<id>"``, ``"address:<ip>"``) whose decodes run in the block.

    Decodes outside any owner (jobs, commands) are bounded by the whole budget only.
    The name follows the context into ``run_in_threadpool`` threads.
    """
    token = _OWNER.set(owner)
    try:
        yield
    finally:
        _OWNER.reset(token)


def current_decoding_owner() -> str | None:
    """Return the owner ``decoding_owner`` names here (``None`` outside any)."""
    return _OWNER.get()


class DecodingBudget:
    """At most ``pixels`` pixels decoded at once in this process; ``wait`` seconds to queue.

    A decode larger than the whole budget runs alone. One owner (see ``decoding_owner``)
    holds at most half the budget once it has a decode in flight. Thread-safe.
    """

    def __init__(
        self,
        pixels: int = DEFAULT_BUDGET_PIXELS,
        *,
        wait: float = DEFAULT_WAIT,
        on_idle: Callable[[], object] = release_memory,
    ) -> None:
        self._condition = threading.Condition()
        self._in_flight = 0
        self._by_owner: dict[str, int] = {}
        self._on_idle = on_idle
        self.pixels = pixels
        self.wait = wait
        self.configure(pixels, wait=wait)

    def configure(self, pixels: int, *, wait: float) -> None:
        """Set the budget's size (pixels, at least 1) and how long a decode may queue (s)."""
        if pixels < 1 or wait < 0:
            raise ValueError("the budget is at least 1 pixel and the wait at least 0 seconds")
        with self._condition:
            self.pixels = pixels
            self.wait = wait
            self._condition.notify_all()

    @property
    def in_flight(self) -> int:
        """Return the pixels being decoded right now."""
        return self._in_flight

    def held_by(self, owner: str) -> int:
        """Return the pixels ``owner`` is decoding right now."""
        return self._by_owner.get(owner, 0)

    def _fits(self, cost: int, owner: str | None) -> bool:
        if self._in_flight + cost > self.pixels:
            return False
        owned = self._by_owner.get(owner, 0) if owner is not None else 0
        return owned == 0 or owned + cost <= max(1, self.pixels // 2)

    @contextmanager
    def hold(self, pixels: int, *, owner: str | None = None) -> Iterator[None]:
        """Hold ``pixels`` of the budget for the block; raise ``DecodingBusy`` if they do
        not come free within ``wait`` seconds.

        ``owner`` defaults to the one ``decoding_owner`` names; an owner with a decode in
        flight waits while this one would take it past half the budget.
        """
        owner = owner if owner is not None else _OWNER.get()
        with self._condition:
            cost = max(1, min(pixels, self.pixels))
            deadline = time.monotonic() + self.wait
            while not self._fits(cost, owner):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise self._busy()
                self._condition.wait(remaining)
            self._in_flight += cost
            if owner is not None:
                self._by_owner[owner] = self._by_owner.get(owner, 0) + cost
        try:
            yield
        finally:
            with self._condition:
                self._in_flight -= cost
                if owner is not None:
                    left = self._by_owner[owner] - cost
                    if left:
                        self._by_owner[owner] = left
                    else:
                        del self._by_owner[owner]
                idle = self._in_flight == 0
                self._condition.notify_all()
            if idle:
                self._on_idle()

    def _busy(self) -> DecodingBusy:
        retry_after = max(1, math.ceil(self.wait))
        return DecodingBusy(
            "The server is decoding as many images as its memory allows; retry in "
            f"{plural(retry_after, 'second')}.",
            retry_after=retry_after,
            details={"budgetPixels": self.pixels},
        )


_PROCESS_BUDGET = DecodingBudget()


def process_budget() -> DecodingBudget:
    """Return this process's budget (configured at startup from the settings)."""
    return _PROCESS_BUDGET
