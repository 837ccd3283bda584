"""A gauge of open, authenticated Socket.IO connections per namespace."""

from __future__ import annotations

import threading
from collections import Counter


class ConnectionGauge:
    """Count open connections by namespace; the metrics endpoint reads :meth:`snapshot`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: Counter[str] = Counter()

    def opened(self, namespace: str) -> None:
        """Count a connection that was accepted on ``namespace``."""
        with self._lock:
            self._open[namespace] += 1

    def closed(self, namespace: str) -> None:
        """Stop counting a connection of ``namespace`` that went away."""
        with self._lock:
            self._open[namespace] = max(0, self._open[namespace] - 1)

    def value(self, namespace: str | None = None) -> int:
        """Return the open connections of one namespace, or of all of them."""
        with self._lock:
            if namespace is not None:
                return self._open[namespace]
            return sum(self._open.values())

    def snapshot(self) -> dict[str, int]:
        """Return the open connections of every namespace seen so far."""
        with self._lock:
            return dict(self._open)
