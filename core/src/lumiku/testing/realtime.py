"""A realtime publisher that records the events a plugin sends instead of delivering them."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

import attrs

__all__ = ["PublishedEvent", "RecordingPublisher"]


@attrs.frozen
class PublishedEvent:
    """One ``publish(user_id, event, data, namespace=...)`` call."""

    user_id: str
    event: str
    data: dict[str, Any]
    namespace: str


class RecordingPublisher:
    """A :class:`~lumiku.realtime.publisher.Publisher` that keeps every event, in order."""

    def __init__(self) -> None:
        self.events: list[PublishedEvent] = []
        self._lock = threading.Lock()

    def publish(self, user_id: str, event: str, data: Mapping[str, Any], *, namespace: str) -> None:
        """Record the event (safe from any thread, as publishers must be)."""
        with self._lock:
            self.events.append(PublishedEvent(user_id, event, dict(data), namespace))

    def to(self, user_id: str) -> list[PublishedEvent]:
        """Return the events sent to ``user_id``."""
        with self._lock:
            return [event for event in self.events if event.user_id == user_id]

    def names(self) -> list[str]:
        """Return the event names in the order they were published."""
        with self._lock:
            return [event.event for event in self.events]

    def clear(self) -> None:
        """Forget the recorded events."""
        with self._lock:
            self.events.clear()
