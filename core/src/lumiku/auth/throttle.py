"""Login throttling: 5 failed attempts per email or per IP in 15 minutes, then 429.

Counts are moving windows of attempt times kept in an :class:`AttemptStore` (Redis across
nodes, or memory in one process), so the limit is "5 in any 15 minutes", not "5 per clock
quarter". The times come from the throttle's clock, so a test moves time instead of
sleeping through a window.

- **Per email**, an attempt is counted when it starts (an atomic "take a slot if one is
  free"), and a successful login clears the email's count. Parallel guesses against one
  account therefore get at most 5 password verifications in total, not 5 each.
- **Per IP**, only failures count (a shared office IP must not lock itself out by signing
  in), so the IP check is a read before the attempt and the count is taken after a
  failure. A burst of parallel requests from one IP against many emails can overshoot
  the IP limit by the burst's size once; every email still stops at 5.

Email addresses are stored hashed in the counters' keys; IPv6 addresses count per /64, the
block one subscriber usually holds. If the store fails (Redis went away), the throttle
keeps counting in the ``fallback`` store when one is given, which is the "per instance"
degraded mode of the design, and says so in the log; without a fallback it refuses logins
with ``ServiceUnavailable`` rather than letting unlimited guesses through.
"""

from __future__ import annotations

import bisect
import hashlib
import ipaddress
import logging
import math
import threading
import uuid
from collections.abc import Callable
from typing import Final, Protocol, TypeVar

import redis

from lumiku.clock import Clock, utc_now
from lumiku.errors import RateLimited, ServiceUnavailable
from lumiku.redis_clients import guarded_client

MAX_FAILURES: Final = 5
WINDOW_SECONDS: Final = 15 * 60
# Redis keys outlive their window by this much, so that a test's clock standing still while
# real time passes never loses counts; the windows themselves are cut by the clock.
_KEY_GRACE_SECONDS: Final = 60
T = TypeVar("T")

logger = logging.getLogger("lumiku.ratelimit")


def email_key(email: str) -> str:
    """Return the counter identity of ``email``: a digest, so no address sits in Redis."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]


def ip_key(ip: str) -> str:
    """Return the counter identity of ``ip``: the address, or its /64 for IPv6."""
    try:
        address = ipaddress.ip_address(ip.strip())
    except ValueError:
        return ip.strip()[:64]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


class AttemptStore(Protocol):
    """Moving windows of attempt times, one per key; times are POSIX seconds.

    An attempt at time ``t`` is in the window ending at ``now`` while ``t > now - window``.
    """

    errors: tuple[type[Exception], ...]
    """The exceptions that mean the store cannot be reached."""

    def take(self, key: str, now: float, limit: int, window: float) -> bool:
        """Add an attempt at ``now`` if fewer than ``limit`` are in the window; atomically."""
        ...

    def add(self, key: str, now: float, window: float) -> None:
        """Add an attempt at ``now``."""
        ...

    def times(self, key: str, now: float, window: float) -> list[float]:
        """Return the times of the attempts in the window, oldest first."""
        ...

    def clear(self, key: str) -> None:
        """Forget every attempt of ``key``."""
        ...


class MemoryAttempts:
    """Attempt windows in this process's memory."""

    errors: tuple[type[Exception], ...] = ()

    def __init__(self) -> None:
        self._times: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str, now: float, limit: int, window: float) -> bool:
        """Add an attempt if the window has room (under this store's lock)."""
        with self._lock:
            times = self._trimmed(key, now, window)
            if len(times) >= limit:
                return False
            bisect.insort(times, now)
            return True

    def add(self, key: str, now: float, window: float) -> None:
        """Add an attempt."""
        with self._lock:
            bisect.insort(self._trimmed(key, now, window), now)

    def times(self, key: str, now: float, window: float) -> list[float]:
        """Return the attempt times in the window."""
        with self._lock:
            return list(self._trimmed(key, now, window))

    def clear(self, key: str) -> None:
        """Forget the key."""
        with self._lock:
            self._times.pop(key, None)

    def _trimmed(self, key: str, now: float, window: float) -> list[float]:
        times = self._times.setdefault(key, [])
        del times[: bisect.bisect_right(times, now - window)]
        return times


# Trim the window, then add an attempt if it has room: one script, so two nodes racing for
# the last slot cannot both get it.
_TAKE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1] - ARGV[3])
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
    redis.call('ZADD', KEYS[1], ARGV[1], ARGV[4])
    redis.call('PEXPIRE', KEYS[1], ARGV[5])
    return 1
end
return 0
"""


class RedisAttempts:
    """Attempt windows in Redis sorted sets (member: a unique id, score: the time)."""

    errors: tuple[type[Exception], ...] = (redis.RedisError,)

    def __init__(self, client: redis.Redis | str, *, prefix: str = "") -> None:
        """Use ``client`` (or a ``redis://`` URL); every key starts with ``prefix``."""
        if isinstance(client, str):
            # Timeouts and a circuit breaker keep a hung Redis from holding a sign-in.
            client = guarded_client(client)
        self._client = client
        self._prefix = prefix
        self._take = client.register_script(_TAKE)

    def take(self, key: str, now: float, limit: int, window: float) -> bool:
        """Add an attempt if the window has room (one Lua script)."""
        expiry = _expiry_ms(window)
        taken = self._take(keys=[self._key(key)], args=[now, limit, window, _member(now), expiry])
        return bool(taken)

    def add(self, key: str, now: float, window: float) -> None:
        """Add an attempt."""
        name = self._key(key)
        pipeline = self._client.pipeline()
        pipeline.zremrangebyscore(name, "-inf", now - window)
        pipeline.zadd(name, {_member(now): now})
        pipeline.pexpire(name, _expiry_ms(window))
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

    def _key(self, key: str) -> str:
        return f"{self._prefix}:{key}" if self._prefix else key


def _member(now: float) -> str:
    return f"{now!r}:{uuid.uuid4().hex}"


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


class LoginThrottle:
    """Count failed logins per email and per IP and refuse attempts past the limit."""

    def __init__(
        self,
        storage: AttemptStore | str = "memory://",
        *,
        max_failures: int = MAX_FAILURES,
        window_seconds: int = WINDOW_SECONDS,
        namespace: str = "lumiku-login",
        fallback: AttemptStore | None = None,
        clock: Clock = utc_now,
    ) -> None:
        """Count in ``storage`` (a store or its URL) at ``clock``'s time.

        ``namespace`` prefixes every key; ``fallback`` counts while ``storage`` fails.
        """
        if max_failures < 1 or window_seconds < 1:
            raise ValueError("max_failures and window_seconds must be at least 1")
        self._store = open_attempt_store(storage)
        self._fallback = fallback
        self._degraded = False
        self._namespace = namespace
        self._clock = clock
        self.max_failures = max_failures
        self.window_seconds = window_seconds

    def begin_attempt(self, email: str, ip: str | None) -> None:
        """Start a login attempt: raise ``RateLimited`` if the email or the IP is locked.

        The attempt takes one of the email's slots at once; ``record_success`` frees them.
        """
        now = self._now()
        if ip is not None:
            ip_identity = self._key("ip", ip_key(ip))
            self._refuse_unless(
                lambda store: (
                    len(store.times(ip_identity, now, self.window_seconds)) < self.max_failures
                ),
                ip_identity,
                now,
            )
        email_identity = self._key("email", email_key(email))
        self._refuse_unless(
            lambda store: store.take(email_identity, now, self.max_failures, self.window_seconds),
            email_identity,
            now,
        )

    def record_failure(self, ip: str | None) -> None:
        """Count a failed attempt against ``ip`` (the email's was counted when it began)."""
        if ip is not None:
            ip_identity = self._key("ip", ip_key(ip))
            now = self._now()
            self._run(lambda store: store.add(ip_identity, now, self.window_seconds))

    def record_success(self, email: str) -> None:
        """Record a successful login: the email's failures are forgiven."""
        email_identity = self._key("email", email_key(email))
        self._run(lambda store: store.clear(email_identity))

    def _key(self, kind: str, identity: str) -> str:
        return f"{self._namespace}:{kind}:{identity}"

    def _now(self) -> float:
        return self._clock().timestamp()

    def _refuse_unless(
        self, allowed: Callable[[AttemptStore], bool], identity: str, now: float
    ) -> None:
        if self._run(allowed):
            return
        times = self._run(lambda store: store.times(identity, now, self.window_seconds))
        # The lock lifts when enough attempts leave the window to bring it under the limit.
        freed_by = times[max(0, len(times) - self.max_failures)] if times else now
        retry_after = max(1, math.ceil(freed_by + self.window_seconds - now))
        raise RateLimited(
            f"Too many failed sign-in attempts; try again in {retry_after} seconds "
            "with the right password.",
            retry_after=retry_after,
        )

    def _run(self, action: Callable[[AttemptStore], T]) -> T:
        """Return ``action(store)``; on a store failure, use the fallback or refuse."""
        try:
            result = action(self._store)
        except self._store.errors as exc:
            if self._fallback is None:
                raise ServiceUnavailable(
                    "Sign-in is unavailable because the login throttle's storage cannot be "
                    "reached; check Redis and try again."
                ) from exc
            if not self._degraded:
                self._degraded = True
                logger.warning(
                    "⚠️ Login throttle storage unavailable (%s); counting attempts in this "
                    "process only until it is back",
                    type(exc).__name__,
                )
            return action(self._fallback)
        if self._degraded:
            self._degraded = False
            logger.info("✅ Login throttle storage is back; counting there again")
        return result
