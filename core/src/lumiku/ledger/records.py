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
"""The kinds of the ledger's own checks; a plugin's checks name their own kinds."""


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
class FindingPage:
    """Stored findings newest first; pass ``next_cursor`` back for older ones (``None``: none)."""

    findings: tuple[Finding, ...]
    next_cursor: str | None


@attrs.frozen
class HistoryPage:
    """Entries newest first; pass ``next_cursor`` back for the page after (``None``: no more)."""

    entries: tuple[Entry, ...]
    next_cursor: str | None


@attrs.frozen
class Finding:
    """One inconsistency found by a reconciliation run; ``difference`` is actual - expected.

    ``source`` is ``ledger`` for the ledger's own checks (``kind`` is a ``FindingKind``) and
    ``<plugin id>.<check>`` for a check a plugin contributes (``kind`` is the plugin's, or
    ``check_failed`` when the check raised; then ``user_id`` is empty).
    """

    id: int
    run_id: str
    user_id: str
    kind: str
    expected: int
    actual: int
    difference: int
    detail: str
    created_at: datetime
    source: str = "ledger"


@attrs.frozen
class Discrepancy:
    """What a reconciliation check reports: figures of one account that disagree.

    ``kind`` is snake_case, at most 32 characters (``paid_without_purchase``); ``expected``
    and ``actual`` are whole numbers in the check's unit (credits, entries, payments);
    ``detail`` says what is off and names the records involved (at most 1000 characters
    are stored). ``user_id`` is the account concerned.
    """

    user_id: str
    kind: str
    expected: int
    actual: int
    detail: str
