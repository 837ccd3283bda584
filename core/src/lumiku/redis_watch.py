"""Watch Redis at runtime: losing it degrades the plugins that need it, regaining it
recovers them, without a restart."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import redis

if TYPE_CHECKING:
    from lumiku.bootstrap import Runtime

logger = logging.getLogger("lumiku")


class RedisWatch:
    """Ping Redis every ``interval`` seconds and flip the capability when it changes."""

    def __init__(self, runtime: Runtime, *, interval: float = 5.0) -> None:
        self.runtime = runtime
        self.interval = interval
        url = runtime.settings.redis.url
        self._client = (
            redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1) if url else None
        )
        self._first = True

    def ping(self) -> bool:
        """Return whether Redis answers."""
        if self._client is None:
            return False
        try:
            return bool(self._client.ping())
        except redis.RedisError:
            return False

    def check_now(self) -> bool:
        """Ping once and apply the result; log the operator's startup lines."""
        if self._client is None:
            self.runtime.redis_up = False
            self.runtime.registry.set_redis_available(False)
            return False
        up = self.ping()
        changed = up != self.runtime.redis_up or self._first
        self.runtime.redis_up = up
        self.runtime.metrics.redis_up.set(1 if up else 0)
        flipped = self.runtime.registry.set_redis_available(up)
        if changed:
            if up:
                logger.info("✅ Redis connected successfully")
            else:
                logger.error("❌ Redis is not answering: plugins that need it are degraded")
            for plugin_id in flipped:
                record = self.runtime.registry.records[plugin_id]
                logger.warning("⚠️ Plugin %s is now %s", plugin_id, record.describe())
        self._first = False
        return up

    async def run(self) -> None:
        """Check forever (until cancelled)."""
        while True:
            await asyncio.sleep(self.interval)
            await asyncio.to_thread(self.check_now)
