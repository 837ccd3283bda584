"""Checks on the arguments of ledger operations, before anything touches the database."""

from __future__ import annotations

from datetime import timedelta

from lumiku.credit_limits import MAX_AMOUNT
from lumiku.ledger.errors import InvalidLedgerRequest
from lumiku.ledger.records import Reference

# Keys the ledger derives for its own entries (a capture's entry) start with this prefix;
# refusing it from callers keeps the two from ever colliding.
RESERVED_KEY_PREFIX = "ledger:"
MAX_KEY_LENGTH = 200
MAX_REASON_LENGTH = 500


def check_amount(amount: object, *, allow_zero: bool = False, signed: bool = False) -> int:
    """Return ``amount`` if it is a whole number of credits in range, else raise."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise InvalidLedgerRequest(
            "amount", f"amount must be a whole number of credits, got {amount!r}"
        )
    if abs(amount) > MAX_AMOUNT:
        raise InvalidLedgerRequest("amount", f"amount must be at most {MAX_AMOUNT} credits")
    if amount == 0 and not allow_zero:
        raise InvalidLedgerRequest("amount", "amount must not be zero")
    if amount < 0 and not signed:
        raise InvalidLedgerRequest("amount", f"amount must be positive, got {amount}")
    return amount


def check_key(key: object) -> str:
    """Return ``key`` if it can serve as an idempotency key, else raise."""
    if not isinstance(key, str) or not key.strip():
        raise InvalidLedgerRequest("key", "idempotency key must be a non-empty string")
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidLedgerRequest(
            "key", f"idempotency key must be at most {MAX_KEY_LENGTH} characters"
        )
    if key.startswith(RESERVED_KEY_PREFIX):
        raise InvalidLedgerRequest(
            "key", f"idempotency keys starting with {RESERVED_KEY_PREFIX!r} are the ledger's own"
        )
    return key


def check_reason(reason: object) -> str:
    """Return ``reason`` if it is a non-empty description of allowed length, else raise."""
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidLedgerRequest("reason", "reason must say what the credits are for")
    if len(reason) > MAX_REASON_LENGTH:
        raise InvalidLedgerRequest(
            "reason", f"reason must be at most {MAX_REASON_LENGTH} characters"
        )
    return reason


def check_label(name: str, value: object, max_length: int) -> str:
    """Return ``value`` if it is a non-empty string of at most ``max_length``, else raise."""
    if not isinstance(value, str) or not value or len(value) > max_length:
        raise InvalidLedgerRequest(
            name, f"{name} must be a non-empty string of at most {max_length} characters"
        )
    return value


def check_reference(reference: object) -> Reference:
    """Return ``reference`` if it is a ``Reference`` with usable parts, else raise."""
    if not isinstance(reference, Reference):
        raise InvalidLedgerRequest(
            "reference", 'reference must be a Reference, e.g. Reference("generation", "42")'
        )
    check_label("reference.type", reference.type, 64)
    check_label("reference.id", reference.id, 255)
    return reference


def check_duration(expires_in: object) -> timedelta:
    """Return ``expires_in`` if it is a positive ``timedelta``, else raise."""
    if not isinstance(expires_in, timedelta) or expires_in <= timedelta(0):
        raise InvalidLedgerRequest("expires_in", "expires_in must be a positive timedelta")
    return expires_in
