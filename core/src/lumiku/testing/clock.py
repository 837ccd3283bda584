"""A clock that stands still until a test moves it: no test sleeps to wait for time to pass.

Anything that takes a :data:`lumiku.clock.Clock` accepts it: the ledger (hold expiry and
the sweeper), the auth service, its tokens and its login throttle, and an app built with
``make_app(clock=...)``::

    clock = ManualClock()
    ledger = Ledger(engine, clock)
    hold = ledger.hold(user_id, 10, ..., expires_in=timedelta(minutes=10))
    clock.advance(minutes=11)
    assert ledger.expire_holds() == 1
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

from lumiku.clock import require_aware, utc_now

__all__ = ["ManualClock"]


class ManualClock:
    """Return the same moment on every call until :meth:`advance` or :attr:`now` moves it.

    It starts at ``start`` (an aware datetime), by default the moment it was made, so that
    rows it stamps sit next to rows stamped by code on the real clock. Safe from any thread.
    """

    def __init__(self, start: datetime | None = None) -> None:
        self._now = require_aware(start, what="the clock's start") if start else utc_now()
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        """Return the clock's current moment (what services read)."""
        with self._lock:
            return self._now

    @property
    def now(self) -> datetime:
        """Return the current moment."""
        return self()

    @now.setter
    def now(self, moment: datetime) -> None:
        """Jump to ``moment`` (an aware datetime; backwards too, to test clock skew)."""
        moment = require_aware(moment, what="the clock's new time")
        with self._lock:
            self._now = moment

    def advance(self, delta: timedelta | None = None, /, **parts: float) -> datetime:
        """Move by ``delta`` or by ``timedelta(**parts)``; return the new moment.

        ``clock.advance(timedelta(minutes=15))`` and ``clock.advance(minutes=15)`` do the
        same; a negative step moves back, to test a clock that steps back.
        """
        step = (delta or timedelta()) + timedelta(**parts)
        with self._lock:
            self._now += step
            return self._now

    def __repr__(self) -> str:
        return f"ManualClock({self().isoformat()})"
