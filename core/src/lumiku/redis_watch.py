"""Watch Redis at runtime: losing it degrades the plugins that need it, regaining it
recovers them, without a restart."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import redis

from lumiku.metrics import Metrics
from lumiku.plugins.registry import PluginRegistry

logger = logging.getLogger("lumiku")

NOT_ANSWERING = "is not answering"
AUTH_REFUSED = "refused the password (authentication failed)"


def redis_problem(exc: redis.RedisError) -> str:
    """Return what went wrong, to follow "Redis ...": a refused password is not silence."""
    if isinstance(exc, redis.AuthenticationError):
        return AUTH_REFUSED
    return NOT_ANSWERING


class RedisWatch:
    """Ping Redis every ``interval`` seconds and tell the registry when it comes or goes."""

    def __init__(
        self,
        url: str | None,
        registry: PluginRegistry,
        metrics: Metrics,
        *,
        interval: float = 5.0,
    ) -> None:
        self.registry = registry
        self.metrics = metrics
        self.interval = interval
        self._client = (
            redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1) if url else None
        )
        self._first = True
        # What the last failed ping says, after "Redis " (``redis_problem``).
        self.problem = NOT_ANSWERING

    def ping(self) -> bool:
        """Return whether Redis answers; a failure sets ``problem``."""
        if self._client is None:
            return False
        try:
            return bool(self._client.ping())
        except redis.RedisError as exc:
            self.problem = redis_problem(exc)
            return False

    def check_now(self) -> bool:
        """Ping once and apply the result; log the operator's startup lines."""
        if self._client is None:
            self.registry.set_redis_available(False)
            return False
        up = self.ping()
        problem = None if up else self.problem
        changed = (
            up != self.registry.redis_available
            or (not up and problem != self.registry.redis_problem)
            or self._first
        )
        self.metrics.redis_up.set(1 if up else 0)
        flipped = self.registry.set_redis_available(up, problem or NOT_ANSWERING)
        if changed:
            if up:
                logger.info("✅ Redis connected successfully")
            else:
                logger.error("❌ Redis %s: plugins that need it are degraded", problem)
            for plugin_id in flipped:
                record = self.registry.records[plugin_id]
                logger.warning("⚠️ Plugin %s is now %s", plugin_id, record.describe())
        self._first = False
        return up

    async def run(self, on_change: Callable[[], Awaitable[object]] | None = None) -> None:
        """Check forever (until cancelled); await ``on_change()`` after Redis came or went."""
        while True:
            await asyncio.sleep(self.interval)
            before = self.registry.redis_available
            up = await asyncio.to_thread(self.check_now)
            if up != before and on_change is not None:
                await on_change()
