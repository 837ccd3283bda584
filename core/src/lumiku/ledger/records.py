"""What the ledger hands back: frozen records of balances, entries, holds and findings.

They know nothing about SQL or JSON; ``rows.py`` builds them from result rows.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import attrs

EntryKind = Literal["welcome", "purchase", "grant", "spend", "capture", "refund", "adjustment"]
GrantKind = Literal["grant", "welcome", "purchase"]
HoldStatus = Literal["held", "captured", "released", "expired"]
FindingKind = Literal["balance_mismatch", "held_mismatch", "expired_hold", "duplicate_purchase"]


@attrs.frozen
class Reference:
    """What a movement of credits is for, e.g. ``Reference("avatar_generation", "42")``."""

    type: str
    id: str


@attrs.frozen
class Balance:
    """One account's credits: the balance, the part held for pending work, and the rest."""

    balance: int
    held: int
    available: int = attrs.field(init=False)

    @available.default
    def _available(self) -> int:
        return self.balance - self.held


@attrs.frozen
class Entry:
    """One line of an account's append-only history; ``amount`` is signed."""

    id: int
    user_id: str
    amount: int
    kind: EntryKind
    balance_after: int
    reason: str
    idempotency_key: str
    created_at: datetime
    reference: Reference | None = None
    plugin: str | None = None


@attrs.frozen
class Hold:
    """Credits reserved for pending work, until captured, released or expired."""

    id: str
    user_id: str
    amount: int
    captured: int
    status: HoldStatus
    expires_at: datetime
    reference: Reference
    idempotency_key: str
    created_at: datetime
    plugin: str | None = None
    resolved_at: datetime | None = None

    @property
    def is_open(self) -> bool:
        """Return whether the credits are still reserved."""
        return self.status == "held"


@attrs.frozen
class Capture:
    """A captured hold and the entry that charged it (``None`` when nothing was charged)."""

    hold: Hold
    entry: Entry | None


@attrs.frozen
class HistoryPage:
    """Entries newest first; pass ``next_cursor`` back for the page after (``None``: no more)."""

    entries: tuple[Entry, ...]
    next_cursor: str | None


@attrs.frozen
class Finding:
    """One inconsistency found by a reconciliation run; ``difference`` is actual - expected."""

    id: int
    run_id: str
    user_id: str
    kind: FindingKind
    expected: int
    actual: int
    difference: int
    detail: str
    created_at: datetime
