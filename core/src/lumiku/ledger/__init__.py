"""The credit ledger: integer credits, append-only entries, holds, and reconciliation.

Build one ``Ledger`` per engine in the bootstrap and pass it down; the semantics of each
operation are in ``lumiku.ledger.service``.
"""

from lumiku.ledger.errors import (
    CaptureExceedsHold,
    DriftChanged,
    HoldAlreadyResolved,
    HoldNotFound,
    IdempotencyKeyReused,
    InvalidLedgerRequest,
    PurchaseAlreadyCredited,
    UncorrectableFinding,
    UnknownAccount,
)
from lumiku.ledger.records import (
    Balance,
    Capture,
    Entry,
    Finding,
    HistoryPage,
    Hold,
    Reference,
)
from lumiku.ledger.service import Ledger

__all__ = [
    "Balance",
    "Capture",
    "CaptureExceedsHold",
    "DriftChanged",
    "Entry",
    "Finding",
    "HistoryPage",
    "Hold",
    "HoldAlreadyResolved",
    "HoldNotFound",
    "IdempotencyKeyReused",
    "InvalidLedgerRequest",
    "Ledger",
    "PurchaseAlreadyCredited",
    "Reference",
    "UncorrectableFinding",
    "UnknownAccount",
]
