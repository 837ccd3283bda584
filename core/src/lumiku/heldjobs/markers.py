"""Which held jobs have a message in the broker: how a lost message is noticed.

When a job is queued, its id goes into a set kept next to the messages: in Redis for the
Redis broker (``<namespace>:held-jobs:<actor>``), in memory for the in-process one. The
set and the messages live and die together: Redis restarted empty (it persists nothing
here) loses both, and an in-process queue dies with its process along with its set. So a
job that is ``pending`` while its id is missing from the set has lost its message, and the
recovery queues it again. Ids leave the set when the job finishes.

The markers are bookkeeping on the request path (a submit marks, a failed submit forgets),
so on Redis they use a client with the request path's timeouts (``DEFAULT_TIMEOUT``) that
shares the broker's circuit breaker: a Redis down or hung costs a submit about one such
timeout, after which the broker's own enqueue fails at once and goes to the fallback.
``discard`` never raises (an id left behind only makes the recovery skip a job it would
not queue anyway, the job being finished).
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any, Protocol

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker

from lumiku.redis_clients import DEFAULT_TIMEOUT, with_timeout

logger = logging.getLogger("lumiku.jobs")


class QueuedMarkers(Protocol):
    """A set of job ids per actor whose message is queued."""

    def add(self, actor: str, job_id: str) -> None:
        """Mark ``job_id`` as having a message for ``actor``."""

    def discard(self, actor: str, job_id: str) -> None:
        """Forget ``job_id`` (its job finished); never raises."""

    def missing(self, actor: str, job_ids: Iterable[str]) -> set[str]:
        """Return which of ``job_ids`` have no message marked."""


class MemoryMarkers:
    """Markers of an in-process broker: they die with the process, as its messages do."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ids: defaultdict[str, set[str]] = defaultdict(set)

    def add(self, actor: str, job_id: str) -> None:
        """Mark ``job_id``."""
        with self._lock:
            self._ids[actor].add(job_id)

    def discard(self, actor: str, job_id: str) -> None:
        """Forget ``job_id``."""
        with self._lock:
            self._ids[actor].discard(job_id)

    def missing(self, actor: str, job_ids: Iterable[str]) -> set[str]:
        """Return the ids not marked."""
        with self._lock:
            return {job_id for job_id in job_ids if job_id not in self._ids[actor]}


class RedisMarkers:
    """Markers in the broker's Redis, under the broker's namespace."""

    def __init__(self, client: Any, namespace: str) -> None:
        self._client = client
        self._namespace = namespace

    def _key(self, actor: str) -> str:
        return f"{self._namespace}:held-jobs:{actor}"

    def add(self, actor: str, job_id: str) -> None:
        """Mark ``job_id``."""
        self._client.sadd(self._key(actor), job_id)

    def discard(self, actor: str, job_id: str) -> None:
        """Forget ``job_id``; a Redis that does not answer is logged, never raised."""
        try:
            self._client.srem(self._key(actor), job_id)
        except redis.RedisError as exc:
            logger.warning(
                "⚠️ %s: job %s stays marked as queued (Redis: %s); harmless, it is finished",
                actor,
                job_id,
                type(exc).__name__,
            )

    def missing(self, actor: str, job_ids: Iterable[str]) -> set[str]:
        """Return the ids not marked (one round trip)."""
        wanted = list(job_ids)
        if not wanted:
            return set()
        present = self._client.smismember(self._key(actor), wanted)
        return {job_id for job_id, here in zip(wanted, present, strict=True) if not here}


class FailoverMarkers:
    """Markers of a Redis broker with an in-process fallback (Redis lost at runtime).

    A job queued while Redis is away (or unreachable) is marked in memory, where its
    message is; ``missing`` is what neither set holds. While Redis cannot be read,
    ``missing`` raises, and the recovery queues again only jobs untouched for long.
    """

    def __init__(
        self, primary: QueuedMarkers, fallback: QueuedMarkers, primary_up: Callable[[], bool]
    ) -> None:
        self._primary = primary
        self._fallback = fallback
        self._primary_up = primary_up

    def add(self, actor: str, job_id: str) -> None:
        """Mark ``job_id`` where its message goes."""
        if self._primary_up():
            try:
                self._primary.add(actor, job_id)
                return
            except redis.RedisError:
                pass  # the queue falls back to this process as well
        self._fallback.add(actor, job_id)

    def discard(self, actor: str, job_id: str) -> None:
        """Forget ``job_id`` in both sets (Redis only if it answers); never raises."""
        self._fallback.discard(actor, job_id)
        self._primary.discard(actor, job_id)

    def missing(self, actor: str, job_ids: Iterable[str]) -> set[str]:
        """Return the ids marked in neither set."""
        return self._fallback.missing(actor, self._primary.missing(actor, job_ids))


def markers_for(broker: dramatiq.Broker, *, timeout: float = DEFAULT_TIMEOUT) -> QueuedMarkers:
    """Return the markers that live and die with ``broker``'s messages.

    For a Redis broker, the markers' client connects like the broker's (same server,
    same circuit breaker when the broker's client is guarded) with ``timeout`` seconds
    for connecting and for each command.
    """
    if isinstance(broker, RedisBroker):
        return RedisMarkers(with_timeout(broker.client, timeout), broker.namespace)
    return MemoryMarkers()
