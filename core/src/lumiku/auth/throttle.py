"""Login throttling that slows guessing without letting a third party lock anyone out.

Three moving windows of failed attempts (15 minutes each), kept in an
:class:`~lumiku.auth.attempts.AttemptStore` (Redis across nodes and restarts, memory in
one process):

- **per account and address**: 5. Guessing one account from one address is slow, and an
  owner's own typos never lock anyone else out.
- **per address**: 20, across accounts. One address guessing many accounts stops.
- **per account**: 100, counted and enforced only for addresses that have **not** proved
  the password for that account within 30 days (signed up, signed in, or confirmed it for a
  profile change there: :meth:`LoginThrottle.remember`). A botnet guessing one account
  from many addresses stops; the owner, signing in from an address they used before, is not
  affected by guesses made elsewhere, nor by the per-address limit of a shared address (an
  office, a proxy) that someone else is guessing from. Keeping the owner out of addresses
  they have not used needs a sustained 100 guesses per 15 minutes from at least 20
  addresses (the pair window allows 5 each), not a handful of requests.

An attempt takes a slot in each of its windows when it starts (atomically, all or none), so
parallel guesses cannot overshoot; a success gives its slots back, forgives the pair's
failures and marks the pair as known. Unknown accounts are counted exactly like real
ones, so the throttle tells nothing about which exist. Refusals raise ``RateLimited`` with
the seconds until a slot frees (``Retry-After``).

Account keys are digests of the normalized email (no address sits in Redis); IPv6 addresses
count per /64, the block one subscriber usually holds. If the store fails (Redis went away),
the throttle counts in the ``fallback`` store when one is given (per process, said once in
the log); without a fallback it refuses logins with ``ServiceUnavailable`` rather than let
unlimited guesses through.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import math
import uuid
from collections.abc import Callable
from typing import Final, TypeVar

import attrs

from lumiku.auth.attempts import (
    AttemptStore,
    MemoryAttempts,
    RedisAttempts,
    open_attempt_store,
)
from lumiku.clock import Clock, utc_now
from lumiku.errors import RateLimited, ServiceUnavailable
from lumiku.wording import plural

__all__ = [
    "AttemptStore",
    "Limits",
    "LoginAttempt",
    "LoginThrottle",
    "MemoryAttempts",
    "RedisAttempts",
    "account_key",
    "email_key",
    "ip_key",
]

WINDOW_SECONDS: Final = 15 * 60
KNOWN_SECONDS: Final = 30 * 86400
UNKNOWN_ADDRESS: Final = "unknown"
T = TypeVar("T")

logger = logging.getLogger("lumiku.ratelimit")


@attrs.frozen
class Limits:
    """Failed attempts allowed per window (seconds), and how long a success is remembered."""

    per_pair: int = 5
    per_address: int = 20
    per_account: int = 100
    window_seconds: int = WINDOW_SECONDS
    known_seconds: int = KNOWN_SECONDS

    def __attrs_post_init__(self) -> None:
        if min(self.per_pair, self.per_address, self.per_account, self.window_seconds) < 1:
            raise ValueError("throttle limits and the window must be at least 1")


def email_key(email: str) -> str:
    """Return the counter identity of ``email``: a digest, so no address sits in Redis."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]


account_key = email_key


def ip_key(ip: str | None) -> str:
    """Return the counter identity of ``ip``: the address, or its /64 for IPv6."""
    if ip is None or not ip.strip():
        return UNKNOWN_ADDRESS
    try:
        address = ipaddress.ip_address(ip.strip())
    except ValueError:
        return ip.strip()[:64]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


@attrs.frozen
class LoginAttempt:
    """One started attempt: the windows it took a slot in, under one member id."""

    pair: str
    address: str
    account: str
    known: str
    member: str
    took: tuple[str, ...]


_MESSAGES: Final = (
    "Too many failed sign-in attempts for this account from your address",
    "Too many failed sign-in attempts from your address",
    "Too many failed sign-in attempts for this account from addresses it has not signed in "
    "from recently; signing in from one it has is not limited",
)


class LoginThrottle:
    """Decide whether a sign-in attempt may run, and record how it ended."""

    def __init__(
        self,
        storage: AttemptStore | str = "memory://",
        *,
        limits: Limits | None = None,
        namespace: str = "lumiku-login",
        fallback: AttemptStore | None = None,
        clock: Clock = utc_now,
    ) -> None:
        """Count in ``storage`` (a store or its URL) at ``clock``'s time.

        ``namespace`` prefixes every key; ``fallback`` counts while ``storage`` fails.
        """
        self._store = open_attempt_store(storage)
        self._fallback = fallback
        self._degraded = False
        self._namespace = namespace
        self._clock = clock
        self.limits = limits or Limits()

    def begin_attempt(self, email: str, ip: str | None) -> LoginAttempt:
        """Start an attempt for ``email`` (normalized) from ``ip``; raise ``RateLimited``.

        The attempt holds a slot in each of its windows until :meth:`record_success` gives
        them back; a failure (:meth:`record_failure`) keeps them.
        """
        now = self._now()
        account, address = email_key(email), ip_key(ip)
        attempt = LoginAttempt(
            pair=self._key("pair", f"{account}:{address}"),
            address=self._key("ip", address),
            account=self._key("account", account),
            known=self._key("known", f"{account}:{address}"),
            member=f"{now!r}:{uuid.uuid4().hex}",
            took=(),
        )
        limits = self.limits
        known = self._run(lambda store: store.marked(attempt.known, now, limits.known_seconds))
        keys = [attempt.pair] if known else [attempt.pair, attempt.address, attempt.account]
        counts = [limits.per_pair, limits.per_address, limits.per_account][: len(keys)]
        blocked = self._run(
            lambda store: store.take(keys, counts, now, limits.window_seconds, attempt.member)
        )
        if blocked >= 0:
            self._refuse(keys[blocked], counts[blocked], _MESSAGES[blocked], now)
        return attrs.evolve(attempt, took=tuple(keys))

    def record_failure(self, attempt: LoginAttempt) -> None:
        """Record that ``attempt`` failed: its slots stay taken until the window passes."""

    def record_success(self, attempt: LoginAttempt) -> None:
        """Record that ``attempt`` succeeded: give its slots back and remember the pair."""
        now = self._now()
        others = [key for key in attempt.took if key != attempt.pair]

        def succeed(store: AttemptStore) -> None:
            store.clear(attempt.pair)
            store.release(others, attempt.member)
            store.mark(attempt.known, now, self.limits.known_seconds)

        self._run(succeed)

    def remember(self, email: str, ip: str | None) -> None:
        """Record that ``ip`` proved the password of ``email`` by other means than a
        sign-in (the account was created there, or its password or email changed there):
        the pair becomes familiar and its failures are forgiven.

        The action it follows has already succeeded, so a store that cannot be reached
        (and no fallback) is logged, not raised.
        """
        now = self._now()
        account, address = email_key(email), ip_key(ip)
        pair = self._key("pair", f"{account}:{address}")
        known = self._key("known", f"{account}:{address}")

        def mark(store: AttemptStore) -> None:
            store.clear(pair)
            store.mark(known, now, self.limits.known_seconds)

        try:
            self._run(mark)
        except ServiceUnavailable:
            logger.warning("⚠️ Login throttle storage unavailable; an address was not remembered")

    def _key(self, kind: str, identity: str) -> str:
        return f"{self._namespace}:{kind}:{identity}"

    def _now(self) -> float:
        return self._clock().timestamp()

    def _refuse(self, key: str, limit: int, message: str, now: float) -> None:
        window = self.limits.window_seconds
        times = self._run(lambda store: store.times(key, now, window))
        # The refusal lifts when enough attempts leave the window to bring it under the limit.
        freed_by = times[max(0, len(times) - limit)] if times else now
        retry_after = max(1, math.ceil(freed_by + window - now))
        raise RateLimited(
            f"{message}; try again in {plural(retry_after, 'second')}.", retry_after=retry_after
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
