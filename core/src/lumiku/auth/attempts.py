"""Where the login throttle keeps its counts: moving windows of attempt times, and marks.

A window is a set of attempt times per key (POSIX seconds); an attempt at ``t`` is in the
window ending at ``now`` while ``t > now - window``. Several keys are taken together and
atomically (one Lua script in Redis, one lock in memory), so that two nodes racing for the
last slot cannot both get it, and a refused attempt takes no slot anywhere. Each attempt
is one ``member`` in every key it took, so a success can give its slots back.

A mark ("this account signed in from this address at ``t``") is a single value with an
expiry. Times come from the caller (the throttle's clock), so tests move time instead of
sleeping; Redis keys outlive their windows by a grace period for the same reason.

The Redis client is built in one place, :func:`redis_client`, with connect and read
timeouts: a hung Redis must not hold a sign-in for long.
"""

from __future__ import annotations

import bisect
import math
import threading
from collections.abc import Sequence
from typing import Final, Protocol

import redis

from lumiku.redis_clients import guarded_client

# Redis keys outlive their window by this much, so that a test's clock standing still while
# real time passes never loses counts; the windows themselves are cut by the clock.
_KEY_GRACE_SECONDS: Final = 60
REDIS_TIMEOUT_SECONDS: Final = 1.0


class AttemptStore(Protocol):
    """Moving windows of attempt times and expiring marks, by key."""

    errors: tuple[type[Exception], ...]
    """The exceptions that mean the store cannot be reached."""

    def take(
        self, keys: Sequence[str], limits: Sequence[int], now: float, window: float, member: str
    ) -> int:
        """Add ``member`` at ``now`` to every key if each has fewer than its limit; atomically.

        Return ``-1`` when taken, else the index of the first key that is full (nothing is
        added anywhere then).
        """
        ...

    def release(self, keys: Sequence[str], member: str) -> None:
        """Remove ``member`` from ``keys`` (an attempt that turned out not to be a failure)."""
        ...

    def times(self, key: str, now: float, window: float) -> list[float]:
        """Return the times of the attempts in the window, oldest first."""
        ...

    def clear(self, key: str) -> None:
        """Forget every attempt of ``key``."""
        ...

    def mark(self, key: str, now: float, ttl: float) -> None:
        """Record that ``key`` happened at ``now``; it is forgotten ``ttl`` seconds later."""
        ...

    def marked(self, key: str, now: float, ttl: float) -> bool:
        """Return whether ``key`` was marked within the last ``ttl`` seconds."""
        ...


class MemoryAttempts:
    """Attempt windows and marks in this process's memory."""

    errors: tuple[type[Exception], ...] = ()

    def __init__(self) -> None:
        self._windows: dict[str, list[tuple[float, str]]] = {}
        self._marks: dict[str, float] = {}
        self._lock = threading.Lock()

    def take(
        self, keys: Sequence[str], limits: Sequence[int], now: float, window: float, member: str
    ) -> int:
        """Add the attempt to every key if each has room (under this store's lock)."""
        with self._lock:
            for index, (key, limit) in enumerate(zip(keys, limits, strict=True)):
                if len(self._trimmed(key, now, window)) >= limit:
                    return index
            for key in keys:
                bisect.insort(self._windows[key], (now, member))
            return -1

    def release(self, keys: Sequence[str], member: str) -> None:
        """Remove the attempt from the keys."""
        with self._lock:
            for key in keys:
                entries = self._windows.get(key, [])
                entries[:] = [entry for entry in entries if entry[1] != member]

    def times(self, key: str, now: float, window: float) -> list[float]:
        """Return the attempt times in the window."""
        with self._lock:
            return [at for at, _ in self._trimmed(key, now, window)]

    def clear(self, key: str) -> None:
        """Forget the key."""
        with self._lock:
            self._windows.pop(key, None)

    def mark(self, key: str, now: float, ttl: float) -> None:
        """Remember the key at ``now``."""
        with self._lock:
            self._marks[key] = now

    def marked(self, key: str, now: float, ttl: float) -> bool:
        """Return whether the key was marked within ``ttl``."""
        with self._lock:
            at = self._marks.get(key)
            if at is not None and at <= now - ttl:
                del self._marks[key]
                return False
            return at is not None

    def _trimmed(self, key: str, now: float, window: float) -> list[tuple[float, str]]:
        entries = self._windows.setdefault(key, [])
        del entries[: bisect.bisect_right(entries, (now - window, "\uffff"))]
        return entries


# Trim every window, refuse if one is full, else add the attempt to all: one script, so
# nodes racing for the last slot cannot both get it. ARGV: now, window, member, expiry ms,
# then one limit per key.
_TAKE = """
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
for i, key in ipairs(KEYS) do
    redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
    if redis.call('ZCARD', key) >= tonumber(ARGV[4 + i]) then
        return i
    end
end
for _, key in ipairs(KEYS) do
    redis.call('ZADD', key, now, ARGV[3])
    redis.call('PEXPIRE', key, ARGV[4])
end
return 0
"""


def redis_client(url: str) -> redis.Redis:
    """Return a client of ``url`` with connect and read timeouts (URL options win) and a
    circuit breaker: after one timeout, commands fail at once for a few seconds and the
    throttle counts in its fallback (``lumiku.redis_clients``)."""
    return guarded_client(url, timeout=REDIS_TIMEOUT_SECONDS)


class RedisAttempts:
    """Attempt windows in Redis sorted sets (member: the attempt's id, score: its time)."""

    errors: tuple[type[Exception], ...] = (redis.RedisError,)

    def __init__(self, client: redis.Redis | str, *, prefix: str = "") -> None:
        """Use ``client`` (or a ``redis://`` URL); every key starts with ``prefix``."""
        if isinstance(client, str):
            client = redis_client(client)
        self._client = client
        self._prefix = prefix
        self._take = client.register_script(_TAKE)

    def take(
        self, keys: Sequence[str], limits: Sequence[int], now: float, window: float, member: str
    ) -> int:
        """Add the attempt to every key if each has room (one Lua script)."""
        names = [self._key(key) for key in keys]
        args: list[float | int | str] = [now, window, member, _expiry_ms(window), *limits]
        blocked = int(self._take(keys=names, args=args))
        return blocked - 1

    def release(self, keys: Sequence[str], member: str) -> None:
        """Remove the attempt from the keys."""
        pipeline = self._client.pipeline()
        for key in keys:
            pipeline.zrem(self._key(key), member)
        pipeline.execute()

    def times(self, key: str, now: float, window: float) -> list[float]:
        """Return the attempt times in the window."""
        found: list[tuple[bytes, float]] = self._client.zrangebyscore(  # type: ignore[assignment]
            self._key(key), f"({now - window}", "+inf", withscores=True
        )
        return [float(score) for _, score in found]

    def clear(self, key: str) -> None:
        """Forget the key."""
        self._client.delete(self._key(key))

    def mark(self, key: str, now: float, ttl: float) -> None:
        """Remember the key at ``now`` (the Redis key expires after ``ttl`` plus grace)."""
        self._client.set(self._key(key), repr(now), px=_expiry_ms(ttl))

    def marked(self, key: str, now: float, ttl: float) -> bool:
        """Return whether the key was marked within ``ttl``."""
        value = self._client.get(self._key(key))
        if value is None:
            return False
        try:
            return float(value) > now - ttl
        except ValueError:
            return False

    def _key(self, key: str) -> str:
        return f"{self._prefix}:{key}" if self._prefix else key


def _expiry_ms(window: float) -> int:
    return math.ceil((window + _KEY_GRACE_SECONDS) * 1000)


def open_attempt_store(store: AttemptStore | str) -> AttemptStore:
    """Return ``store``, or build one from ``memory://`` or a ``redis://`` URL."""
    if not isinstance(store, str):
        return store
    scheme = store.partition("://")[0].lower()
    if scheme == "memory":
        return MemoryAttempts()
    if scheme in ("redis", "rediss", "unix"):
        return RedisAttempts(store)
    if scheme.startswith("async"):
        raise ValueError(f"{store!r} is an async storage; a sync one is needed")
    raise ValueError(f"{store!r} is not a throttle storage: use memory:// or a redis:// URL")
