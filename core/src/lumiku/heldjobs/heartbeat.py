"""Keep a claim alive while its worker lives: renew the lease every third of it."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import timedelta
from types import TracebackType

logger = logging.getLogger("lumiku.heldjobs")


class Heartbeat:
    """Call ``renew()`` every ``every`` on a daemon thread until stopped or the claim is lost.

    ``renew`` returns False when the claim is no longer ours (taken over, or failed by a
    delete): ``lost`` turns true and the job stops at its next item. A renewal that raises
    (the database blinked) is logged and tried again next beat; if the lease runs out
    meanwhile, the recovery may hand the job to another delivery, and this one finds its
    claim lost when it next writes.
    """

    def __init__(self, renew: Callable[[], bool], every: timedelta, *, name: str) -> None:
        self._renew = renew
        self._every = every.total_seconds()
        self._stop = threading.Event()
        self._lost = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"heartbeat-{name}", daemon=True)

    @property
    def lost(self) -> bool:
        """Return whether the claim was found lost."""
        return self._lost.is_set()

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=self._every + 5)

    def _beat(self) -> None:
        while not self._stop.wait(self._every):
            try:
                if not self._renew():
                    self._lost.set()
                    return
            except Exception:
                logger.warning("⚠️ a lease renewal failed; retrying next beat", exc_info=True)
