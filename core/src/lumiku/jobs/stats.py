"""Job counters by queue and state, kept in memory for the metrics endpoint to export."""

from __future__ import annotations

import enum
import threading
from collections import Counter
from collections.abc import Callable


class JobState(enum.StrEnum):
    """What happened to a job: the label values of the ``jobs by state`` metric."""

    ENQUEUED = "enqueued"
    PROCESSED = "processed"
    RETRIED = "retried"
    FAILED = "failed"


class JobStats:
    """Count jobs by queue and state, and the workers running in this process.

    Worker threads update it concurrently, so every access takes a lock. Counts only grow
    (Prometheus counters); ``workers`` goes up and down (a gauge).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[tuple[str, JobState]] = Counter()
        self._workers = 0
        # Told of every count too: the process's metrics (lumiku.metrics), set at boot.
        self.observer: Callable[[str, str], None] | None = None

    def record(self, state: JobState, *, queue: str) -> None:
        """Count one job of ``queue`` reaching ``state`` (and tell the ``observer``)."""
        with self._lock:
            self._counts[queue, state] += 1
        if self.observer is not None:
            self.observer(queue, state.value)

    def count(self, state: JobState, *, queue: str | None = None) -> int:
        """Return how many jobs reached ``state``, on one queue or on all of them."""
        with self._lock:
            return sum(n for (q, s), n in self._counts.items() if s is state and queue in (None, q))

    def snapshot(self) -> dict[tuple[str, JobState], int]:
        """Return a copy of every count, keyed by ``(queue, state)``."""
        with self._lock:
            return dict(self._counts)

    @property
    def workers(self) -> int:
        """Return how many workers consume this process's broker right now."""
        with self._lock:
            return self._workers

    def worker_started(self) -> None:
        """Count a worker that started consuming."""
        with self._lock:
            self._workers += 1

    def worker_stopped(self) -> None:
        """Count a worker that stopped consuming."""
        with self._lock:
            self._workers = max(0, self._workers - 1)
