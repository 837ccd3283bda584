"""Charged work: what a plugin uses to make users pay for work, exactly once.

Synchronous work (an upload, a paid edit) is paid by a *spend* that is undone if the work
fails::

    with ctx.charges.spend(call, "uploadAvatar", reason="Avatar upload 'Ana'",
                           reference=Reference("avatar", avatar_id)) as charge:
        insert_the_avatar(...)          # raises: the spend is refunded, exactly once
    charge.amount, ctx.charges.available(call.user_id)

Queued work holds the cost at submit and captures all or part of it from the job; the held
jobs kit (``lumiku.heldjobs``) does that with :meth:`Charges.hold`.

The plugin never builds a ledger key nor counts retries: keys derive from the request's
``RequestKey`` (its ``Idempotency-Key`` and the attempt the idempotency record gives it):

- a retry after a crash runs the same attempt, so its spend or hold replays the recorded
  one: never charged twice;
- a retry after a failure whose charges were all undone runs the next attempt, so it is
  charged again, once, for the work it then does;
- two concurrent requests with one key: the second is refused (409) while the first runs.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator, Mapping
from datetime import timedelta
from typing import Protocol

import attrs

from lumiku.errors import InsufficientCredits
from lumiku.idempotency import RequestKey
from lumiku.ledger.records import Entry, Hold, Reference
from lumiku.ledger.service import Ledger

logger = logging.getLogger("lumiku.charges")


class HasRequestKey(Protocol):
    """Anything that carries a request's key: a ``Call``, or the ``RequestKey`` itself."""

    @property
    def request_key(self) -> RequestKey:
        """Return the key and attempt of the request."""
        ...


class AttemptCounter(Protocol):
    """Moves a key's attempt on (the idempotency store implements it)."""

    def advance(self, request_key: RequestKey) -> None:
        """Start the next attempt of ``request_key`` (its ``attempt`` grows by one)."""


@attrs.frozen
class Charge:
    """A charge made for synchronous work: ``amount`` credits, recorded as ``entry``.

    ``entry`` is ``None`` when the action is free (a cost of 0: nothing is written).
    """

    amount: int
    entry: Entry | None


def _key_of(source: HasRequestKey | RequestKey) -> RequestKey:
    return source if isinstance(source, RequestKey) else source.request_key


class Charges:
    """Spend, hold and release credits for one plugin's actions (``ctx.charges``).

    ``costs`` are the plugin's credit costs after deployer overrides (``ctx.credits``).
    """

    def __init__(
        self,
        ledger: Ledger,
        owner: str,
        costs: Mapping[str, int],
        attempts: AttemptCounter | None = None,
    ) -> None:
        self._ledger = ledger
        self._owner = owner
        self._costs = costs
        self._attempts = attempts

    def cost(self, action: str) -> int:
        """Return the credit cost of ``action``; raise ``KeyError`` naming unknown actions."""
        try:
            return self._costs[action]
        except KeyError:
            raise KeyError(f"{self._owner!r} declares no credit cost for {action!r}") from None

    def available(self, user_id: str) -> int:
        """Return the user's available credits (balance minus what is held)."""
        return self._ledger.balance(user_id).available

    @contextlib.contextmanager
    def spend(
        self,
        source: HasRequestKey | RequestKey,
        action: str,
        *,
        reason: str,
        reference: Reference,
        amount: int | None = None,
        purpose: str | None = None,
    ) -> Iterator[Charge]:
        """Charge ``action`` (or ``amount``) for the work done in the ``with`` block.

        ``reason`` is the user's history line ("Avatar upload 'Ana'"); ``purpose`` says
        what the user is doing, as a verb phrase ("upload an avatar"), for the 402
        ("Not enough credits to upload an avatar: 2 needed, 1 available."). The spend is
        taken before the block runs (``InsufficientCredits``, 402, when the user cannot
        afford it: the block does not run). If the block raises, the spend is refunded
        exactly once and the exception goes on. A cost of 0 writes nothing.
        """
        key = _key_of(source)
        cost = self.cost(action) if amount is None else amount
        if cost == 0:
            yield Charge(0, None)
            return
        ledger_key = key.ledger_key(self._owner, action)
        try:
            entry = self._ledger.spend(
                key.user_id, cost, reason, ledger_key, plugin=self._owner, reference=reference
            )
        except InsufficientCredits as exc:
            raise exc.for_purpose(purpose) from None
        key.open_charges += 1
        try:
            yield Charge(cost, entry)
        except BaseException:
            self._refund(key, ledger_key)
            raise

    def _refund(self, key: RequestKey, ledger_key: str) -> None:
        try:
            self._ledger.refund(ledger_key)
        except Exception:
            # The charge stands: the retry runs the same attempt and its spend replays, so
            # the user still pays once for the work that finally succeeds.
            logger.exception("❌ the spend %s could not be refunded", ledger_key)
            return
        key.open_charges -= 1

    def hold(
        self,
        source: HasRequestKey | RequestKey,
        action: str,
        *,
        amount: int,
        reference: Reference | Callable[[], Reference],
        expires_in: timedelta,
        purpose: str | None = None,
    ) -> Hold:
        """Reserve ``amount`` credits for queued work named by ``reference``; return the hold.

        A retry of the same attempt gets the hold the first try placed. If that hold is no
        longer open (it expired before the retry came), the request moves to its next
        attempt and places a new one. ``reference`` may be a callable, called for each
        attempt (when the work's id derives from the attempt). Raise ``InsufficientCredits``
        (402) when short, told with ``purpose`` ("generate an avatar") when given.
        """
        key = _key_of(source)
        while True:
            try:
                hold = self._ledger.hold(
                    key.user_id,
                    amount,
                    reference() if callable(reference) else reference,
                    key.ledger_key(self._owner, action),
                    expires_in,
                    plugin=self._owner,
                )
            except InsufficientCredits as exc:
                raise exc.for_purpose(purpose) from None
            if hold.is_open:
                key.open_charges += 1
                return hold
            self._next_attempt(key)

    def _next_attempt(self, key: RequestKey) -> None:
        if key.from_client and self._attempts is not None:
            self._attempts.advance(key)
        else:
            key.attempt += 1

    def release(self, source: HasRequestKey | RequestKey, hold_id: str) -> bool:
        """Give an open hold back; return whether it is back with the user now.

        A failure is logged, not raised: the sweeper gives the credits back when the hold
        expires, and the request keeps its attempt (the hold still stands).
        """
        key = _key_of(source)
        try:
            hold = self._ledger.release(hold_id)
        except Exception:
            logger.exception("❌ hold %s could not be released", hold_id)
            return False
        if hold.status in ("released", "expired"):
            key.open_charges = max(0, key.open_charges - 1)
            return True
        return False
