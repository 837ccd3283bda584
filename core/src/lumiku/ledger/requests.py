"""Ledger operations as asked for, before they are written, and how a retry is recognised.

A request carries every parameter that identifies the operation. When its idempotency key
is found already recorded, the recorded row must match the request exactly: then it is a
retry and the recorded result is returned; otherwise the key was reused for a different
operation and ``IdempotencyKeyReused`` is raised.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

import attrs

from lumiku.ledger.errors import IdempotencyKeyReused
from lumiku.ledger.records import Entry, EntryKind, Hold, Reference
from lumiku.ledger.validation import MAX_REASON_LENGTH, RESERVED_KEY_PREFIX
from lumiku.wording import plural


def refund_key(spend_key: str) -> str:
    """Return the ledger's own key of the refund of the spend under ``spend_key``."""
    return f"{RESERVED_KEY_PREFIX}refund:{hashlib.sha256(spend_key.encode()).hexdigest()}"


def refund_reason(spend_reason: str) -> str:
    """Return the history line of a refund: ``Refund: <the spend's reason>``."""
    return f"Refund: {spend_reason}"[:MAX_REASON_LENGTH]


def _reference_params(reference: Reference | None) -> dict[str, str | None]:
    if reference is None:
        return {"reference_type": None, "reference_id": None}
    return {"reference_type": reference.type, "reference_id": reference.id}


def _recorded_as(user_id: str, requested_by: str, what: str) -> str:
    # A key another user recorded is not theirs to learn about.
    return what if user_id == requested_by else "another account's request"


@attrs.frozen
class EntryRequest:
    """A change of one account's balance, recorded as one entry; ``amount`` is signed."""

    user_id: str
    amount: int
    kind: EntryKind
    reason: str
    key: str
    plugin: str | None = None
    reference: Reference | None = None

    def params(self, now: datetime) -> dict[str, Any]:
        """Return the bound parameters of the statements that write this request."""
        return {
            "user": self.user_id,
            "amount": self.amount,
            "required": -self.amount,
            "kind": self.kind,
            "reason": self.reason,
            "key": self.key,
            "plugin": self.plugin,
            "now": now,
            **_reference_params(self.reference),
        }

    def recorded(self, entry_id: int, balance_after: int, created_at: datetime) -> Entry:
        """Return the entry this request wrote."""
        return Entry(
            id=entry_id,
            user_id=self.user_id,
            amount=self.amount,
            kind=self.kind,
            balance_after=balance_after,
            reason=self.reason,
            idempotency_key=self.key,
            created_at=created_at,
            reference=self.reference,
            plugin=self.plugin,
        )

    def replay(self, entry: Entry) -> Entry:
        """Return ``entry`` if this request is a retry of it, else raise."""
        same = (
            entry.user_id == self.user_id
            and entry.amount == self.amount
            and entry.kind == self.kind
            and entry.reason == self.reason
            and entry.plugin == self.plugin
            and entry.reference == self.reference
        )
        if not same:
            what = f"a {entry.kind} of {plural(abs(entry.amount), 'credit')} ({entry.reason!r})"
            raise IdempotencyKeyReused(self.key, _recorded_as(entry.user_id, self.user_id, what))
        return entry


@attrs.frozen
class HoldRequest:
    """A reservation of credits for pending work."""

    user_id: str
    amount: int
    reference: Reference
    key: str
    expires_in: timedelta
    plugin: str | None = None

    def params(self, hold_id: str, now: datetime) -> dict[str, Any]:
        """Return the bound parameters of the statements that write this request."""
        return {
            "id": hold_id,
            "user": self.user_id,
            "amount": self.amount,
            "required": self.amount,
            "key": self.key,
            "plugin": self.plugin,
            "now": now,
            "expires_at": now + self.expires_in,
            **_reference_params(self.reference),
        }

    def recorded(self, hold_id: str, now: datetime) -> Hold:
        """Return the hold this request placed."""
        return Hold(
            id=hold_id,
            user_id=self.user_id,
            amount=self.amount,
            captured=0,
            status="held",
            expires_at=now + self.expires_in,
            reference=self.reference,
            idempotency_key=self.key,
            created_at=now,
            plugin=self.plugin,
        )

    def replay(self, hold: Hold) -> Hold:
        """Return ``hold`` (as it is now) if this request is a retry of it, else raise."""
        same = (
            hold.user_id == self.user_id
            and hold.amount == self.amount
            and hold.reference == self.reference
            and hold.plugin == self.plugin
            and hold.expires_at - hold.created_at == self.expires_in
        )
        if not same:
            what = (
                f"a hold of {plural(hold.amount, 'credit')} for {hold.reference.type} "
                f"{hold.reference.id}"
            )
            raise IdempotencyKeyReused(self.key, _recorded_as(hold.user_id, self.user_id, what))
        return hold
