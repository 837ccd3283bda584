"""Login throttling: 5 failed attempts per email or per IP in 15 minutes, then 429.

Counts live in a ``limits`` storage (Redis across nodes, or memory in one process) with the
moving-window strategy, so the limit is "5 in any 15 minutes", not "5 per clock quarter".

- **Per email**, an attempt is counted when it starts (an atomic "take a slot if one is
  free"), and a successful login clears the email's count. Parallel guesses against one
  account therefore get at most 5 password verifications in total, not 5 each.
- **Per IP**, only failures count (a shared office IP must not lock itself out by signing
  in), so the IP check is a read before the attempt and the count is taken after a
  failure. A burst of parallel requests from one IP against many emails can overshoot
  the IP limit by the burst's size once; every email still stops at 5.

Email addresses are stored hashed in the counters' keys; IPv6 addresses count per /64, the
block one subscriber usually holds. If the storage fails (Redis went away), the throttle
keeps counting in the ``fallback`` storage when one is given, which is the "per instance"
degraded mode of the design, and says so in the log; without a fallback it refuses logins
with ``ServiceUnavailable`` rather than letting unlimited guesses through.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import time
from collections.abc import Callable
from typing import Final, TypeVar

from limits import RateLimitItem, RateLimitItemPerSecond
from limits.storage import Storage
from limits.strategies import MovingWindowRateLimiter

from lumiku.errors import RateLimited
from lumiku.ratelimit import FallbackLimiter, open_storage

MAX_FAILURES: Final = 5
WINDOW_SECONDS: Final = 15 * 60
T = TypeVar("T")


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


class LoginThrottle:
    """Count failed logins per email and per IP and refuse attempts past the limit."""

    def __init__(
        self,
        storage: Storage | str,
        *,
        max_failures: int = MAX_FAILURES,
        window_seconds: int = WINDOW_SECONDS,
        namespace: str = "lumiku-login",
        fallback: Storage | None = None,
    ) -> None:
        """Count in ``storage`` (a storage or its URI); ``namespace`` prefixes every key."""
        if max_failures < 1 or window_seconds < 1:
            raise ValueError("max_failures and window_seconds must be at least 1")
        self._limiter = FallbackLimiter(
            open_storage(storage),
            fallback=fallback,
            name="Login throttle",
            unavailable_message=(
                "Sign-in is unavailable because the login throttle's storage cannot be "
                "reached; check Redis and try again."
            ),
        )
        self._item: RateLimitItem = RateLimitItemPerSecond(
            max_failures, window_seconds, namespace=namespace
        )
        self.max_failures = max_failures
        self.window_seconds = window_seconds

    def begin_attempt(self, email: str, ip: str | None) -> None:
        """Start a login attempt: raise ``RateLimited`` if the email or the IP is locked.

        The attempt takes one of the email's slots at once; ``record_success`` frees them.
        """
        if ip is not None:
            ip_identity = ("ip", ip_key(ip))
            self._refuse_unless(lambda limiter: limiter.test(self._item, *ip_identity), ip_identity)
        email_identity = ("email", email_key(email))
        self._refuse_unless(
            lambda limiter: limiter.hit(self._item, *email_identity), email_identity
        )

    def record_failure(self, ip: str | None) -> None:
        """Count a failed attempt against ``ip`` (the email's was counted when it began)."""
        if ip is not None:
            ip_identity = ("ip", ip_key(ip))
            self._run(lambda limiter: limiter.hit(self._item, *ip_identity))

    def record_success(self, email: str) -> None:
        """Record a successful login: the email's failures are forgiven."""
        email_identity = ("email", email_key(email))
        self._run(lambda limiter: limiter.clear(self._item, *email_identity))

    def _refuse_unless(
        self, allowed: Callable[[MovingWindowRateLimiter], bool], identity: tuple[str, str]
    ) -> None:
        if self._run(allowed):
            return
        stats = self._run(lambda limiter: limiter.get_window_stats(self._item, *identity))
        retry_after = max(1, math.ceil(stats.reset_time - time.time()))
        raise RateLimited(
            f"Too many failed sign-in attempts; try again in {retry_after} seconds "
            "with the right password.",
            retry_after=retry_after,
        )

    def _run(self, action: Callable[[MovingWindowRateLimiter], T]) -> T:
        return self._limiter.run(action)
