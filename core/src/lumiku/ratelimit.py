"""Rate limits on top of the ``limits`` library: Redis-backed, in-memory when Redis is off.

When Redis fails at runtime the limiter falls back to per-instance memory instead of
failing requests, and goes back to Redis once it answers again.
"""

from __future__ import annotations

import logging
import time

import attrs
from limits import RateLimitItem, parse
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

logger = logging.getLogger("lumiku.ratelimit")


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
    """Count hits per key in moving windows."""

    def __init__(self, redis_url: str | None = None, *, namespace: str = "lumiku") -> None:
        self._memory = MovingWindowRateLimiter(MemoryStorage())
        self._redis: MovingWindowRateLimiter | None = None
        self._namespace = namespace
        if redis_url:
            storage = storage_from_string(
                redis_url,
                key_prefix=f"{namespace}:rl",
                socket_timeout=0.5,
                socket_connect_timeout=0.5,
            )
            assert isinstance(storage, Storage)
            self._redis = MovingWindowRateLimiter(storage)
        self._parsed: dict[str, RateLimitItem] = {}

    @property
    def distributed(self) -> bool:
        """Return whether limits are shared through Redis."""
        return self._redis is not None

    def _item(self, limit: str) -> RateLimitItem:
        item = self._parsed.get(limit)
        if item is None:
            item = self._parsed[limit] = parse(limit)
        return item

    def hit(self, limit: str, *keys: str) -> RateStatus:
        """Record one hit of ``keys`` against ``limit`` (e.g. ``"5/minute"``)."""
        item = self._item(limit)
        limiter = self._redis or self._memory
        try:
            allowed = limiter.hit(item, *keys)
            stats = limiter.get_window_stats(item, *keys)
        except Exception as exc:  # noqa: BLE001 - Redis down: fall back to this instance's memory
            logger.warning("⚠️ rate limits fall back to memory: %s", type(exc).__name__)
            limiter = self._memory
            allowed = limiter.hit(item, *keys)
            stats = limiter.get_window_stats(item, *keys)
        return RateStatus(allowed, item.amount, max(0, stats.remaining), int(stats.reset_time))

    def clear(self, limit: str, *keys: str) -> None:
        """Forget the hits of ``keys`` (a successful login resets its failures)."""
        item = self._item(limit)
        for limiter in (self._memory, self._redis):
            if limiter is None:
                continue
            try:
                limiter.clear(item, *keys)
            except Exception:  # noqa: BLE001, S112 - best effort on a store that is down
                continue

    def test(self, limit: str, *keys: str) -> RateStatus:
        """Return the status without recording a hit."""
        item = self._item(limit)
        limiter = self._redis or self._memory
        try:
            allowed = limiter.test(item, *keys)
            stats = limiter.get_window_stats(item, *keys)
        except Exception:  # noqa: BLE001 - Redis down: fall back to this instance's memory
            limiter = self._memory
            allowed = limiter.test(item, *keys)
            stats = limiter.get_window_stats(item, *keys)
        return RateStatus(allowed, item.amount, max(0, stats.remaining), int(stats.reset_time))
