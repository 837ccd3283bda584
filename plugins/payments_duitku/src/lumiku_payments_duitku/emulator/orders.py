"""The emulator's orders, kept in memory, and the signed callbacks Duitku would send.

Statuses follow transactionStatus (``00`` paid, ``01`` pending, ``02`` failed or expired);
callbacks carry ``resultCode`` ``00`` (paid) or ``01`` (failed), with the fields and the
signature of ``shared/reference/duitku.md`` ("Calls").
"""

from __future__ import annotations

import secrets
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs

from lumiku_payments_duitku.signatures import callback_signature


@attrs.define
class Order:
    """One order Duitku holds: ``amount`` rupiah, status ``00``/``01``/``02``."""

    merchant_order_id: str
    reference: str
    amount: int
    payment_method: str
    product_details: str
    email: str
    callback_url: str
    return_url: str
    expires_at: datetime
    status: str = "01"
    settled_at: datetime | None = None

    @property
    def result_code(self) -> str:
        """Return the callback ``resultCode`` of the order's status (``00`` or ``01``)."""
        return "00" if self.status == "00" else "01"


class OrderBook:
    """The orders of one emulated merchant; safe to use from several threads."""

    def __init__(self, merchant_code: str) -> None:
        self.merchant_code = merchant_code
        self._orders: dict[str, Order] = {}
        self._lock = threading.Lock()

    def add(self, values: dict[str, Any], expiry_minutes: int) -> Order | None:
        """Store a new order; ``None`` when its merchantOrderId was used before."""
        with self._lock:
            if values["merchant_order_id"] in self._orders:
                return None
            order = Order(
                reference=f"{self.merchant_code}{secrets.token_hex(8).upper()}",
                expires_at=datetime.now(UTC) + timedelta(minutes=expiry_minutes),
                **values,
            )
            self._orders[order.merchant_order_id] = order
            return order

    def get(self, merchant_order_id: str) -> Order | None:
        """Return the order ``merchant_order_id``, if any."""
        with self._lock:
            return self._orders.get(merchant_order_id)

    def by_reference(self, reference: str) -> Order | None:
        """Return the order whose Duitku ``reference`` this is, if any."""
        with self._lock:
            return next((o for o in self._orders.values() if o.reference == reference), None)

    def all(self) -> list[Order]:
        """Return every order, oldest first."""
        with self._lock:
            return list(self._orders.values())

    def settle(self, merchant_order_id: str, status: str) -> Order:
        """Set the order's status (``00`` paid, ``02`` failed or expired) and return it."""
        with self._lock:
            order = self._orders[merchant_order_id]
            order.status = status
            order.settled_at = datetime.now(UTC)
            return order

    def status_of(self, order: Order) -> str:
        """Return the order's transactionStatus code (an unpaid order past expiry is ``02``)."""
        if order.status == "01" and datetime.now(UTC) >= order.expires_at:
            return "02"
        return order.status


def callback_fields(
    order: Order, merchant_code: str, api_key: str, result_code: str | None = None
) -> dict[str, str]:
    """Return the form fields of the callback Duitku sends for ``order``, signed."""
    amount = str(order.amount)
    return {
        "merchantCode": merchant_code,
        "amount": amount,
        "merchantOrderId": order.merchant_order_id,
        "productDetail": order.product_details,
        "additionalParam": "",
        "paymentCode": order.payment_method,
        "resultCode": result_code or order.result_code,
        "merchantUserId": order.email,
        "reference": order.reference,
        "signature": callback_signature(merchant_code, amount, order.merchant_order_id, api_key),
        "publisherOrderId": f"PUB{order.reference}",
        "spUserHash": "",
        "settlementDate": (order.settled_at or datetime.now(UTC)).strftime("%Y-%m-%d"),
        "issuerCode": "",
    }
