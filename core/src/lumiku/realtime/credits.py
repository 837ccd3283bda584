"""The core's Socket.IO namespace ``/credits``: ``credits:balance`` after every change.

A client connects to ``/credits`` with its access token in ``auth.token`` (as to a plugin's
namespace) and receives ``credits:balance`` ``{balance, held, available}`` (integers,
credits) each time the ledger changes its account: a spend, a hold and its capture or
release, a grant, a purchase credited by a payment callback, an adjustment. The values are
read after the change is committed; changes close together may be announced once, with the
latest values. Delivery is best effort, like every realtime event: ``GET
/api/credits/balance`` is the truth. A hold released by the expiry sweeper is not announced.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Protocol

from lumiku.realtime.namespace import AuthenticatedNamespace
from lumiku.realtime.publisher import Publisher

logger = logging.getLogger("lumiku.realtime")

CREDITS_NAMESPACE = "/credits"
BALANCE_EVENT = "credits:balance"


class CreditsNamespace(AuthenticatedNamespace):
    """``/credits``: signed-in users receive their own ``credits:balance`` events."""


class BalanceFigures(Protocol):
    """A user's credits as the ledger reads them (``lumiku.ledger.Balance``)."""

    @property
    def balance(self) -> int:
        """Credits on the account."""
        ...

    @property
    def held(self) -> int:
        """Credits reserved for queued work."""
        ...

    @property
    def available(self) -> int:
        """``balance`` - ``held``."""
        ...


class BalanceAnnouncer:
    """Publish a user's balance to their ``/credits`` sockets after the ledger changed it.

    ``changed(user_id)`` (the ledger's change listener) only records the id and wakes a
    daemon thread, so a spend pays no read nor publish; the thread reads each recorded
    account once (``read_balance``) and publishes it. Reading or publishing failures are
    logged, never raised.
    """

    def __init__(self, read_balance: Callable[[str], BalanceFigures], publisher: Publisher) -> None:
        self._read_balance = read_balance
        self._publisher = publisher
        self._pending: set[str] = set()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._closed = False

    def changed(self, user_id: str) -> None:
        """Record that ``user_id``'s credits changed; announce them soon."""
        with self._lock:
            if self._closed:
                return
            self._pending.add(user_id)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="lumiku-balance-events", daemon=True
                )
                self._thread.start()
        self._wake.set()

    def close(self, timeout: float = 5.0) -> None:
        """Announce what is pending, then stop the thread."""
        with self._lock:
            self._closed = True
            thread = self._thread
        self._wake.set()
        if thread is not None:
            thread.join(timeout)

    def announce(self, user_id: str) -> None:
        """Read ``user_id``'s credits and publish ``credits:balance`` to their sockets."""
        try:
            figures = self._read_balance(user_id)
        except Exception:  # noqa: BLE001 - an event is best effort; the API has the balance
            logger.warning("Reading the balance of user %s to announce it failed", user_id)
            return
        payload = {
            "balance": figures.balance,
            "held": figures.held,
            "available": figures.available,
        }
        self._publisher.publish(user_id, BALANCE_EVENT, payload, namespace=CREDITS_NAMESPACE)

    def _run(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            with self._lock:
                pending, self._pending = self._pending, set()
                closed = self._closed
            for user_id in sorted(pending):
                self.announce(user_id)
            if closed:
                return
