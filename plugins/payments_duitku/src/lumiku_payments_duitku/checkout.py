"""Create a payment: store it ``created``, ask Duitku for it (v2 inquiry), keep its link.

The payment row is committed before Duitku is called, so whatever happens next it is
known: Duitku's answer makes it ``pending`` with its ``reference`` and ``paymentUrl``; a
refusal makes it ``failed``; no answer (a timeout, a 5xx) makes it ``unknown`` and the
poller asks Duitku later (the order may exist there). The price and credits come from the
server's package table; the client only names a package.

The order id derives from the request's Idempotency-Key and attempt
(``RequestKey.stable_id``): a retry of a request that died finds the payment the first try
made instead of creating a second one.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import attrs
import sqlalchemy as sa

from lumiku_payments_duitku.client import (
    DuitkuClient,
    DuitkuRefused,
    DuitkuUnavailable,
    InquiryRequest,
)
from lumiku_payments_duitku.errors import (
    PaymentMethodRefused,
    PaymentProviderUnavailable,
    PaymentRefused,
    UnknownPackage,
)
from lumiku_payments_duitku.models import payments
from lumiku_payments_duitku.packages import Package, PackageTable
from lumiku_payments_duitku.payments import Payment, PaymentStore

IN_FLIGHT = timedelta(minutes=2)
"""How long the poller leaves a ``created`` payment alone: its inquiry may be running."""
_NAME_LENGTH = 20


@attrs.frozen
class CheckoutConfig:
    """Where Duitku sends the buyer and the result, and the defaults of a payment."""

    callback_url: str
    return_url: str
    expiry_minutes: int
    payment_method: str
    order_prefix: str
    poll_every: timedelta


def _customer_name(user: Any) -> str:
    name = (getattr(user, "name", None) or str(user.email).split("@", 1)[0]).strip()
    return " ".join(name.split())[:_NAME_LENGTH] or "Lumiku"


class Checkout:
    """Create payments of the packages in ``packages`` through ``client``."""

    def __init__(
        self,
        store: PaymentStore,
        client: DuitkuClient,
        packages: PackageTable,
        config: CheckoutConfig,
        logger: logging.Logger,
    ) -> None:
        self._store = store
        self._client = client
        self._packages = packages
        self._config = config
        self._logger = logger

    def order_id(self, request_key: Any) -> str:
        """Return the merchantOrderId of the payment this request attempt creates
        (``request_key`` is ``call.request_key``)."""
        token = request_key.stable_id("duitku_payment").replace("-", "")
        return f"{self._config.order_prefix}-{token}"

    def create(
        self, user: Any, package_id: str, payment_method: str | None, merchant_order_id: str
    ) -> Payment:
        """Create the payment of ``package_id`` for ``user`` and return it ``pending``.

        Raises ``UnknownPackage`` (422), ``PaymentMethodRefused`` (422: Duitku refused the
        ``payment_method`` the client chose with a 400; the payment ``failed``),
        ``PaymentRefused`` (503: any other refusal, the payment ``failed``) and
        ``PaymentProviderUnavailable`` (503, the payment ``unknown`` for the poller).
        """
        package = self._packages.get(package_id)
        if package is None:
            raise UnknownPackage(package_id, self._packages.ids)
        method = payment_method or self._config.payment_method
        existing = self._insert(user, package, method, merchant_order_id)
        if existing is not None:
            return existing
        request = InquiryRequest(
            merchant_order_id=merchant_order_id,
            amount=package.price,
            payment_method=method,
            product_details=f"{package.name} ({package.credits:,} {_credits(package.credits)})",
            email=str(user.email),
            customer_name=_customer_name(user),
            callback_url=self._config.callback_url,
            return_url=self._config.return_url,
            expiry_minutes=self._config.expiry_minutes,
        )
        try:
            result = self._client.inquiry(request)
        except DuitkuUnavailable as exc:
            self._left_unknown(merchant_order_id, str(exc))
            raise PaymentProviderUnavailable(
                "Duitku did not answer in time; no payment link was made. Try again: this "
                "payment is checked later and never charged without being credited.",
                merchant_order_id=merchant_order_id,
            ) from None
        except DuitkuRefused as exc:
            self._store.change(merchant_order_id, from_statuses=("created",), status="failed")
            if payment_method is not None and exc.status == 400:  # the client's choice
                self._logger.info("Duitku refused payment %s: %s", merchant_order_id, exc.message)
                raise PaymentMethodRefused(merchant_order_id, payment_method, exc.message) from None
            self._logger.warning("⚠️ Duitku refused payment %s: %s", merchant_order_id, exc.message)
            raise PaymentRefused(merchant_order_id, exc.message) from None
        if result.amount != package.price:
            self._store.change(merchant_order_id, from_statuses=("created",), status="failed")
            self._logger.error(
                "❌ Duitku recorded payment %s for %d rupiah instead of %d",
                merchant_order_id,
                result.amount,
                package.price,
            )
            raise PaymentRefused(merchant_order_id, "the amount it recorded is not the order's")
        try:
            self._store.change(
                merchant_order_id,
                from_statuses=("created",),
                status="pending",
                reference=result.reference,
                payment_url=result.payment_url,
                va_number=result.va_number,
                qr_string=result.qr_string,
                next_check_at=self._store.clock() + self._config.poll_every,
            )
        except sa.exc.IntegrityError:  # a reference another payment holds: not Duitku's
            self._left_unknown(merchant_order_id, "the reference is another payment's")
            raise PaymentProviderUnavailable(
                "Duitku's answer could not be stored; try again.",
                merchant_order_id=merchant_order_id,
            ) from None
        created = self._store.find(merchant_order_id)
        assert created is not None
        return created

    def _insert(
        self, user: Any, package: Package, method: str, merchant_order_id: str
    ) -> Payment | None:
        """Store the payment ``created``; return the one already stored under the id (a
        retry of a request that died), or ``None`` when this call stored it."""
        now = self._store.clock()
        row = {
            "merchant_order_id": merchant_order_id,
            "user_id": str(user.id),
            "package_id": package.id,
            "package_name": package.name,
            "amount": package.price,
            "credits": package.credits,
            "payment_method": method,
            "status": "created",
            "checks": 0,
            "next_check_at": now + IN_FLIGHT,
            "expires_at": now + timedelta(minutes=self._config.expiry_minutes),
            "created_at": now,
            "updated_at": now,
        }
        try:
            with self._store.engine.begin() as connection:
                connection.execute(sa.insert(payments).values(row))
        except sa.exc.IntegrityError:
            existing = self._store.find(merchant_order_id)
            if existing is None or existing.user_id != str(user.id):
                raise
            return self._replayed(existing)
        return None

    @staticmethod
    def _replayed(existing: Payment) -> Payment:
        if existing.payment_url and existing.status in ("pending", "paid"):
            return existing
        raise PaymentProviderUnavailable(
            "An earlier attempt of this request did not finish; try again.",
            merchant_order_id=existing.merchant_order_id,
        )

    def _left_unknown(self, merchant_order_id: str, why: str) -> None:
        self._store.change(
            merchant_order_id,
            from_statuses=("created",),
            status="unknown",
            next_check_at=self._store.clock() + self._config.poll_every,
        )
        self._logger.warning(
            "⚠️ payment %s is unknown (%s); the poller will ask Duitku", merchant_order_id, why
        )


def _credits(count: int) -> str:
    """Return "credit" or "credits" for ``count`` (the figure keeps its thousands comma)."""
    return "credit" if count == 1 else "credits"
