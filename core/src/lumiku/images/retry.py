"""When to try a provider again: exponential backoff and the server's own hints."""

from __future__ import annotations

import json
import math
import random
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import attrs


@attrs.frozen
class Backoff:
    """Delays between attempts: ``base * 2**attempt`` with jitter, never more than ``cap``."""

    base: float
    cap: float
    jitter: float = 0.0

    def delay(self, attempt: int, rng: random.Random, hint: float | None = None) -> float:
        """Return seconds to wait after failed ``attempt`` (0-based); a server ``hint`` wins.

        A hint is honoured as given, only capped; computed delays are spread by
        ``± jitter`` (a fraction) so workers that failed together do not retry together.
        """
        if hint is not None:
            return min(max(hint, 0.0), self.cap)
        delay = self.base * 2.0 ** min(attempt, 32)
        if self.jitter:
            delay *= 1.0 + rng.uniform(-self.jitter, self.jitter)
        return min(max(delay, 0.0), self.cap)


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Read a ``Retry-After`` header (seconds or an HTTP date) as seconds from now."""
    if not value:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return max(0.0, seconds) if math.isfinite(seconds) else None


def parse_estimated_time(body: bytes) -> float | None:
    """Read ``estimated_time`` (seconds until a model is loaded) from a JSON error body."""
    try:
        payload = json.loads(body)
    except ValueError:
        return None
    value = payload.get("estimated_time") if isinstance(payload, dict) else None
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return max(0.0, float(value))
    return None
