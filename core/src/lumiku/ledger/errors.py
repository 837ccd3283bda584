"""Errors of the credit ledger, each a subclass of the core error it maps to over HTTP.

Running short of credits is the core's own ``lumiku.errors.InsufficientCredits``.
"""

from __future__ import annotations

from lumiku.errors import Conflict, NotFound, ValidationFailed
from lumiku.ledger.records import Reference
from lumiku.wording import plural


class InvalidLedgerRequest(ValidationFailed):
    """An argument of a ledger operation breaks a rule (amount, key, reason, cursor, ...)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message, details={"fields": {field: message}})
        self.field = field


class IdempotencyKeyReused(Conflict):
    """An idempotency key already recorded a different operation."""

    code = "IDEMPOTENCY_KEY_REUSED"

    def __init__(self, key: str, recorded: str) -> None:
        super().__init__(
            f"Idempotency key {key!r} was already used for {recorded}; a retry must repeat "
            "the same request, and a new request needs a new key.",
            details={"idempotencyKey": key},
        )
        self.key = key


class PurchaseAlreadyCredited(Conflict):
    """Another purchase entry, under another idempotency key, already credits this payment."""

    code = "PURCHASE_ALREADY_CREDITED"

    def __init__(self, reference: Reference) -> None:
        super().__init__(
            f"{reference.type} {reference.id!r} is already credited by a purchase entry "
            "recorded under another idempotency key; a payment is credited once. Credit it "
            "under one key per payment (a retry with that key returns the recorded entry).",
            details={"referenceType": reference.type, "referenceId": reference.id},
        )
        self.reference = reference


class BalanceCeiling(Conflict):
    """A credit would take a balance over the ceiling; nothing was changed."""

    code = "BALANCE_CEILING"

    def __init__(self, user_id: str, amount: int, balance: int, ceiling: int) -> None:
        room = max(ceiling - balance, 0)
        adding = plural(amount, "credit")
        if room == 0:
            message = (
                f"This account is at its ceiling of {ceiling:,} credits, so adding {adding} "
                "was refused; nothing was changed."
            )
        else:
            fit = "fits" if room == 1 else "fit"
            message = (
                f"Adding {adding} would take the balance of {plural(balance, 'credit')} past "
                f"the ceiling of {ceiling:,} credits an account may hold; nothing was changed. "
                f"At most {plural(room, 'more credit', 'more credits')} {fit}."
            )
        super().__init__(
            message,
            details={"userId": user_id, "balance": balance, "ceiling": ceiling, "room": room},
        )
        self.user_id = user_id


class UnknownAccount(NotFound):
    """Credits were sent to a user that does not exist."""

    def __init__(self, user_id: str) -> None:
        super().__init__(
            f"User {user_id!r} does not exist; create the user before granting credits.",
            details={"userId": user_id},
        )
        self.user_id = user_id


class EntryNotFound(NotFound):
    """No entry of the expected kind is recorded under an idempotency key."""

    def __init__(self, key: str, kind: str) -> None:
        super().__init__(
            f"No {kind} is recorded under key {key!r}; pass the key the {kind} was made with.",
            details={"idempotencyKey": key},
        )
        self.key = key


class HoldNotFound(NotFound):
    """No hold has this id."""

    def __init__(self, hold_id: str) -> None:
        super().__init__(
            f"Hold {hold_id!r} does not exist; pass the id that hold() returned.",
            details={"holdId": hold_id},
        )
        self.hold_id = hold_id


class HoldAlreadyResolved(Conflict):
    """The hold was resolved in a way that the requested operation cannot follow."""

    code = "HOLD_ALREADY_RESOLVED"

    def __init__(self, hold_id: str, status: str, captured: int, requested: str) -> None:
        super().__init__(
            f"Hold {hold_id!r} is already {status} (captured {plural(captured, 'credit')}), so it "
            f"cannot be {requested}; nothing was changed. Place a new hold to charge again.",
            details={"holdId": hold_id, "status": status, "captured": captured},
        )
        self.hold_id = hold_id
        self.status = status
        self.captured = captured


class CaptureExceedsHold(ValidationFailed):
    """A capture asked for more credits than the hold reserved."""

    def __init__(self, hold_id: str, requested: int, reserved: int) -> None:
        super().__init__(
            f"Cannot capture {plural(requested, 'credit')} from hold {hold_id!r}, which reserved "
            f"{reserved}; capture at most the reserved amount.",
            details={"fields": {"amount": f"at most {reserved}"}, "holdId": hold_id},
        )


class UncorrectableFinding(Conflict):
    """A reconciliation finding of this kind is not fixed by posting an entry."""

    def __init__(self, finding_id: int, kind: str) -> None:
        super().__init__(
            f"Finding {finding_id} is a {kind}, which no adjustment entry fixes; only "
            "balance_mismatch findings are corrected by entries. Expire or release the "
            "holds involved, then reconcile again.",
            details={"findingId": finding_id, "kind": kind},
        )


class DriftChanged(Conflict):
    """The account no longer drifts from its entries by what the finding recorded."""

    def __init__(self, finding_id: int, recorded: int, current: int) -> None:
        super().__init__(
            f"Finding {finding_id} recorded a difference of {plural(recorded, 'credit')}, but the "
            f"account now differs by {current}; run reconcile() again and correct the new "
            "finding.",
            details={"findingId": finding_id, "recorded": recorded, "current": current},
        )
