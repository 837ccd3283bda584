"""Rate limits on top of the ``limits`` library: Redis-backed, in-memory when Redis is off.

``FallbackLimiter`` is the mechanism: a moving-window limiter on a primary storage that
counts in a fallback storage (this process's memory) while the primary fails, says so once
in the log, and goes back when the primary answers again. ``RateLimiter`` (route limits) is
built on it; the login throttle (``lumiku.auth.throttle``) keeps its own windows on the
same policy, because it reads time from an injected clock.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

import attrs
from limits import RateLimitItem, parse
from limits.errors import StorageError
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from lumiku.errors import ServiceUnavailable
from lumiku.redis_clients import guarded_pool

logger = logging.getLogger("lumiku.ratelimit")
T = TypeVar("T")


def open_storage(storage: Storage | str, **options: Any) -> Storage:
    """Return ``storage``, or build one from a URI such as ``memory://`` or ``redis://...``."""
    if isinstance(storage, Storage):
        return storage
    built = storage_from_string(storage, wrap_exceptions=True, **options)
    if not isinstance(built, Storage):
        raise ValueError(f"{storage!r} is an async storage; a sync one is needed")
    return built


def _storage_errors(storage: Storage) -> tuple[type[BaseException], ...]:
    base = storage.base_exceptions
    return (StorageError, *(base if isinstance(base, tuple) else (base,)))


class FallbackLimiter:
    """Run limiter actions on ``primary``, on ``fallback`` while ``primary`` fails.

    Without a fallback a failing primary raises ``ServiceUnavailable`` with
    ``unavailable_message``, for limits that must not be lifted (the login throttle).
    """

    def __init__(
        self,
        primary: Storage,
        *,
        fallback: Storage | None,
        name: str,
        unavailable_message: str = "",
    ) -> None:
        self._primary = MovingWindowRateLimiter(primary)
        self._fallback = None if fallback is None else MovingWindowRateLimiter(fallback)
        self._errors = _storage_errors(primary)
        self._name = name
        self._unavailable_message = unavailable_message or f"The {name} storage is unreachable."
        self._degraded = False

    def run(self, action: Callable[[MovingWindowRateLimiter], T]) -> T:
        """Return ``action(limiter)`` on the storage that works right now."""
        try:
            result = action(self._primary)
        except self._errors as exc:
            if self._fallback is None:
                raise ServiceUnavailable(self._unavailable_message) from exc
            if not self._degraded:
                self._degraded = True
                logger.warning(
                    "⚠️ %s storage unavailable (%s); counting attempts in this process only "
                    "until it is back",
                    self._name,
                    type(exc).__name__,
                )
            return action(self._fallback)
        if self._degraded:
            self._degraded = False
            logger.info("✅ %s storage is back; counting there again", self._name)
        return result


@attrs.frozen
class RateStatus:
    """The state of one limit after a hit."""

    allowed: bool
    limit: int
    remaining: int
    reset_at: int

    @property
    def retry_after(self) -> int:
        """Return seconds until the window frees a slot (at least 1)."""
        return max(1, self.reset_at - int(time.time()))

    def headers(self) -> dict[str, str]:
        """Return the ``X-RateLimit-*`` headers."""
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset_at),
        }


class RateLimiter:
    """Count hits per key in moving windows (route limits)."""

    def __init__(self, redis_url: str | None = None, *, namespace: str = "lumiku") -> None:
        if redis_url:
            # Timeouts and a circuit breaker: a hung Redis costs one request one timeout,
            # then the limits count in memory until it answers again.
            primary = open_storage(
                redis_url, key_prefix=f"{namespace}:rl", connection_pool=guarded_pool(redis_url)
            )
            self._limiter = FallbackLimiter(primary, fallback=MemoryStorage(), name="rate limit")
        else:
            self._limiter = FallbackLimiter(MemoryStorage(), fallback=None, name="rate limit")
        self.distributed = bool(redis_url)
        """Whether limits are shared through Redis."""
        self._parsed: dict[str, RateLimitItem] = {}

    def _item(self, limit: str) -> RateLimitItem:
        item = self._parsed.get(limit)
        if item is None:
            item = self._parsed[limit] = parse(limit)
        return item

    def _status(self, limit: str, keys: tuple[str, ...], *, record: bool) -> RateStatus:
        item = self._item(limit)

        def act(limiter: MovingWindowRateLimiter) -> RateStatus:
            allowed = limiter.hit(item, *keys) if record else limiter.test(item, *keys)
            stats = limiter.get_window_stats(item, *keys)
            return RateStatus(allowed, item.amount, max(0, stats.remaining), int(stats.reset_time))

        return self._limiter.run(act)

    def hit(self, limit: str, *keys: str) -> RateStatus:
        """Record one hit of ``keys`` against ``limit`` (e.g. ``"5/minute"``)."""
        return self._status(limit, keys, record=True)

    def test(self, limit: str, *keys: str) -> RateStatus:
        """Return the status without recording a hit."""
        return self._status(limit, keys, record=False)

    def clear(self, limit: str, *keys: str) -> None:
        """Forget the hits of ``keys``."""
        item = self._item(limit)
        self._limiter.run(lambda limiter: limiter.clear(item, *keys))
