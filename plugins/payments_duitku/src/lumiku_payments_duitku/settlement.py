"""Apply what Duitku's transactionStatus says to a payment: the one place that credits.

The callback and the poller both end here, with an answer from transactionStatus (never
with the callback's own ``resultCode``, nor with the browser's return URL, which anyone
can forge). ``00`` with the order's exact amount credits: in one transaction the payment
is marked ``paid`` (a conditional update from a status that can still be credited) and
the purchase entry is posted with key ``topup:<merchantOrderId>``, so both happen or
neither does. A second delivery finds the payment ``paid`` and changes nothing; the
ledger holds at most one purchase entry per payment whatever happens. ``00`` with another
amount credits nothing and puts the payment in ``review``; so does ``00`` for a payment
whose credits would take the account past the balance ceiling (``BalanceCeiling``: the
transaction is rolled back, then the payment is moved to ``review`` with an event
``balance_ceiling``, for an operator). ``02`` fails it (``expired`` once
past its expiry); ``01`` leaves it pending. A ``00`` after local expiry still credits: the
money was taken (``shared/reference/duitku.md``, "Rules that matter").
"""

from __future__ import annotations

import logging
from typing import Any

import attrs

from lumiku import BalanceCeiling, PurchaseAlreadyCredited, Reference, plural
from lumiku_payments_duitku.client import StatusAnswer
from lumiku_payments_duitku.models import CREDITABLE_STATUSES, OPEN_STATUSES
from lumiku_payments_duitku.payments import Payment, PaymentStore

PURCHASE_REFERENCE = "duitku_payment"
"""The ledger reference type of a Duitku payment's purchase entry (its id: merchantOrderId)."""


def purchase_key(merchant_order_id: str) -> str:
    """Return the ledger idempotency key of the purchase entry of a payment."""
    return f"topup:{merchant_order_id}"


@attrs.frozen
class Outcome:
    """The payment's status after an answer was applied; ``credited``: this call credited."""

    merchant_order_id: str
    status: str
    credited: bool = False


class Settlement:
    """Credit, fail or keep pending the payments Duitku answered for.

    ``ledger`` is the core ledger (an attribute, so that a test can hand in a ledger that
    fails on purpose).
    """

    def __init__(
        self, store: PaymentStore, ledger: Any, plugin_id: str, logger: logging.Logger
    ) -> None:
        self._store = store
        self.ledger = ledger
        self._plugin_id = plugin_id
        self._logger = logger

    def apply(self, payment: Payment, answer: StatusAnswer) -> Outcome:
        """Apply ``answer`` (for ``payment``) and return the outcome."""
        if answer.code == "00":
            return self._paid(payment, answer)
        if answer.code == "02":
            expired = self._store.clock() >= payment.expires_at
            status = "expired" if expired else "failed"
            self._store.change(
                payment.merchant_order_id,
                from_statuses=OPEN_STATUSES,
                status=status,
                result_code="02",
                next_check_at=None,
            )
        else:
            self._store.change(
                payment.merchant_order_id,
                from_statuses=OPEN_STATUSES,
                status="pending",
                result_code="01",
            )
        return self._current(payment.merchant_order_id)

    def _current(self, merchant_order_id: str, *, credited: bool = False) -> Outcome:
        found = self._store.find(merchant_order_id)
        status = found.status if found is not None else "unknown"
        return Outcome(merchant_order_id, status, credited)

    def _paid(self, payment: Payment, answer: StatusAnswer) -> Outcome:
        order = payment.merchant_order_id
        if answer.amount != payment.amount:
            if self._store.change(order, from_statuses=CREDITABLE_STATUSES, status="review"):
                self._logger.error(
                    "❌ Duitku reports payment %s paid with %d rupiah, the order is %d: "
                    "nothing credited, the payment is in review",
                    order,
                    answer.amount,
                    payment.amount,
                )
            return self._current(order)
        try:
            credited = self._mark_paid_and_credit(payment)
        except BalanceCeiling as exc:
            return self._review_over_ceiling(payment, exc)
        if credited:
            self._logger.info(
                "✅ payment %s paid: %s to user %s",
                order,
                plural(payment.credits, "credit"),
                payment.user_id,
            )
        return self._current(order, credited=credited)

    def _review_over_ceiling(self, payment: Payment, exc: BalanceCeiling) -> Outcome:
        """Put a paid payment whose credits do not fit under the ceiling in review."""
        order = payment.merchant_order_id
        if self._store.change(
            order, from_statuses=CREDITABLE_STATUSES, status="review", next_check_at=None
        ):
            self._logger.error(
                "❌ payment %s is paid but its %s would take user %s past the balance "
                "ceiling: nothing credited, the payment is in review",
                order,
                plural(payment.credits, "credit"),
                payment.user_id,
            )
            self._store.record_event(
                order,
                source="settlement",
                outcome="balance_ceiling",
                fields={"credits": payment.credits, "reason": exc.code},
            )
        return self._current(order)

    def _mark_paid_and_credit(self, payment: Payment) -> bool:
        """Mark ``payment`` paid and post its purchase entry in one transaction; return
        whether this call did (``False``: it was already paid, or in review). Raise
        ``BalanceCeiling`` (nothing written) when the credits do not fit the account."""
        order = payment.merchant_order_id
        with self._store.engine.begin() as connection:
            marked = self._store.transition(
                connection,
                order,
                from_statuses=CREDITABLE_STATUSES,
                values={
                    "status": "paid",
                    "paid_at": self._store.clock(),
                    "result_code": "00",
                    "next_check_at": None,
                },
            )
            if not marked:
                return False
            try:
                self.ledger.grant(
                    payment.user_id,
                    payment.credits,
                    f"Duitku payment {order}: {payment.package_name}",
                    purchase_key(order),
                    kind="purchase",
                    reference=Reference(PURCHASE_REFERENCE, order),
                    plugin=self._plugin_id,
                    connection=connection,
                )
            except PurchaseAlreadyCredited:
                # Credited under another key (never by this code): the payment is paid,
                # and it is not credited twice. Reconciliation shows the odd key.
                self._logger.error("❌ payment %s was already credited under another key", order)
        return True
