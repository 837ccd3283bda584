"""Redis clients that cannot hang a request: timeouts on every socket, and a circuit breaker.

A Redis that is alive but silent (stopped by ``SIGSTOP``, a full network queue) accepts
connections and never answers. Without a read timeout each command waits for the operating
system's TCP timeouts; with one, each command still costs the whole timeout, and forty
sign-ins in a row cost forty timeouts and every threadpool thread.

``guarded_client(url)`` (and ``guarded_pool`` for libraries that take a pool) builds a
client whose connections time out after ``timeout`` seconds, and whose ``CircuitBreaker``
opens on the first timeout or connection error: for ``open_for`` seconds every command
fails at once with ``redis.ConnectionError``, so callers with a fallback (the login
throttle, the rate limiter) use it at no cost; then one command is let through to probe,
and its success closes the breaker.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import redis
from redis.connection import ConnectionPool

T = TypeVar("T")

DEFAULT_TIMEOUT = 0.5
"""Seconds a command or a connection attempt may take on a client of the request path."""
DEFAULT_OPEN_FOR = 5.0
"""Seconds the breaker stays open after a failure before it lets one command probe."""


class CircuitBreaker:
    """Closed while Redis answers; open for ``open_for`` seconds after a failure. Thread-safe.

    While open, ``allow()`` is false, except for one probe per ``open_for`` seconds (the
    thread that got it may run its whole command: connect, send, read).
    """

    def __init__(
        self, *, open_for: float = DEFAULT_OPEN_FOR, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.open_for = open_for
        self._clock = clock
        self._lock = threading.Lock()
        self._opened_at: float | None = None
        self._probe: tuple[int, float] | None = None

    @property
    def is_open(self) -> bool:
        """Return whether commands are being refused (a probe aside)."""
        return self._opened_at is not None

    def allow(self) -> bool:
        """Return whether a command may go to Redis now."""
        with self._lock:
            opened_at = self._opened_at
            if opened_at is None:
                return True
            now = self._clock()
            me = threading.get_ident()
            if self._probe is not None:
                thread, started = self._probe
                if thread == me:
                    return True
                if now - started < self.open_for:
                    return False
            if now - opened_at < self.open_for:
                return False
            self._probe = (me, now)
            return True

    def succeeded(self) -> None:
        """Record an answer from Redis: close the breaker."""
        if self._opened_at is None:
            return
        with self._lock:
            self._opened_at = None
            self._probe = None

    def failed(self) -> None:
        """Record a timeout or connection error: open (or re-open) the breaker."""
        with self._lock:
            self._opened_at = self._clock()
            self._probe = None


class _Guarded:
    """Mixed into a redis-py connection class: every socket operation asks the breaker."""

    breaker: CircuitBreaker

    def _guard(self, operation: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        if not self.breaker.allow():
            raise redis.ConnectionError(
                "Redis did not answer in time a moment ago; not asking it again for "
                f"{self.breaker.open_for:g} seconds"
            )
        try:
            return operation(*args, **kwargs)
        except (redis.TimeoutError, redis.ConnectionError):
            self.breaker.failed()
            raise

    def connect_check_health(self, *args: Any, **kwargs: Any) -> Any:
        """Connect (and say hello) unless the breaker is open."""
        return self._guard(super().connect_check_health, *args, **kwargs)  # type: ignore[misc]

    def send_packed_command(self, *args: Any, **kwargs: Any) -> Any:
        """Send a command unless the breaker is open."""
        return self._guard(super().send_packed_command, *args, **kwargs)  # type: ignore[misc]

    def read_response(self, *args: Any, **kwargs: Any) -> Any:
        """Read an answer; an answer closes the breaker."""
        response = self._guard(super().read_response, *args, **kwargs)  # type: ignore[misc]
        self.breaker.succeeded()
        return response


def guarded_pool(
    url: str,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    connect_timeout: float | None = None,
    breaker: CircuitBreaker | None = None,
    **options: Any,
) -> ConnectionPool:
    """Return a connection pool for ``url`` with socket timeouts and a circuit breaker.

    ``timeout`` is the read/write timeout and ``connect_timeout`` (default: ``timeout``)
    the connection timeout, in seconds; options in the URL's query win, as in redis-py.
    ``options`` go to ``ConnectionPool.from_url``.
    """
    pool = ConnectionPool.from_url(
        url,
        socket_timeout=timeout,
        socket_connect_timeout=timeout if connect_timeout is None else connect_timeout,
        **options,
    )
    base = pool.connection_class
    pool.connection_class = type(
        f"Guarded{base.__name__}", (_Guarded, base), {"breaker": breaker or CircuitBreaker()}
    )
    return pool


def guarded_client(
    url: str,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    connect_timeout: float | None = None,
    breaker: CircuitBreaker | None = None,
    **options: Any,
) -> redis.Redis:
    """Return a Redis client for ``url`` on a ``guarded_pool`` (which it owns and closes)."""
    pool = guarded_pool(
        url, timeout=timeout, connect_timeout=connect_timeout, breaker=breaker, **options
    )
    client = redis.Redis(connection_pool=pool)
    client.auto_close_connection_pool = True  # as Redis.from_url does: close() closes the pool
    return client


def with_timeout(client: redis.Redis, timeout: float) -> redis.Redis:
    """Return a client to ``client``'s server with ``timeout`` second socket timeouts.

    The connection class (and so a guarded client's breaker) is shared, so a timeout here
    opens the breaker the broker's commands ask too.
    """
    pool = client.connection_pool
    options = {
        **pool.connection_kwargs,
        "socket_timeout": timeout,
        "socket_connect_timeout": timeout,
    }
    quick = redis.Redis(
        connection_pool=ConnectionPool(connection_class=pool.connection_class, **options)
    )
    quick.auto_close_connection_pool = True
    return quick


def breaker_of(client: object) -> CircuitBreaker | None:
    """Return the circuit breaker of a guarded client (or of a ``with_timeout`` copy of one);
    ``None`` for any other client or object."""
    pool = getattr(client, "connection_pool", None)
    breaker = getattr(getattr(pool, "connection_class", None), "breaker", None)
    return breaker if isinstance(breaker, CircuitBreaker) else None
