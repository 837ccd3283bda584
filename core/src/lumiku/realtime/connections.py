"""A gauge of open, authenticated Socket.IO connections per namespace."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable


class ConnectionGauge:
    """Count open connections by namespace; the metrics endpoint reads :meth:`snapshot`."""

    def __init__(self, on_change: Callable[[str, int], None] | None = None) -> None:
        self._lock = threading.Lock()
        self._open: Counter[str] = Counter()
        self._on_change = on_change  # (namespace, +1 or -1): the process's metrics

    def opened(self, namespace: str) -> None:
        """Count a connection that was accepted on ``namespace``."""
        with self._lock:
            self._open[namespace] += 1
        if self._on_change is not None:
            self._on_change(namespace, 1)

    def closed(self, namespace: str) -> None:
        """Stop counting a connection of ``namespace`` that went away."""
        with self._lock:
            if self._open[namespace] <= 0:
                return
            self._open[namespace] -= 1
        if self._on_change is not None:
            self._on_change(namespace, -1)

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
