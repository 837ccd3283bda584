"""What the routes take and answer: request bodies, queries and views (camelCase on the wire)."""

from __future__ import annotations

from datetime import datetime

import attrs

from lumiku import field
from lumiku_payments_duitku.client import PaymentMethod
from lumiku_payments_duitku.packages import Package
from lumiku_payments_duitku.payments import Payment


@attrs.frozen
class CreatePayment:
    """Buy a package: the client names it; the price and credits are the server's."""

    package_id: str = field(
        min_length=1, max_length=64, description="A package id from GET /packages"
    )
    payment_method: str | None = field(
        default=None,
        pattern=r"[A-Z0-9]{2}",
        description="A Duitku channel code (VC, I1, SP...); default: the server's",
    )
    # Ignored, but bounded like every integer a request carries.
    price: int | None = field(
        default=None, ge=0, le=2**63 - 1, description="Ignored: the package table decides"
    )
    credits: int | None = field(
        default=None, ge=0, le=2**63 - 1, description="Ignored: the package table decides"
    )


@attrs.frozen
class MethodsQuery:
    """The package whose payment methods to list."""

    package_id: str = field(min_length=1, max_length=64)


@attrs.frozen
class PackageView:
    """A package on sale: ``price`` rupiah buys ``credits`` credits."""

    id: str
    name: str
    price: int
    credits: int


@attrs.frozen
class PackageList:
    """The packages on sale, in the order to show them."""

    packages: list[PackageView]


@attrs.frozen
class PaymentView:
    """A payment: where to pay it (``paymentUrl``) and what it is for.

    ``status``: created, pending, unknown, paid, failed, expired or review. ``amount`` is
    whole rupiah. ``reference`` and ``paymentUrl`` are null until Duitku gave them.
    """

    merchant_order_id: str
    package_id: str
    amount: int
    credits: int
    status: str
    reference: str | None
    payment_url: str | None
    va_number: str | None
    payment_method: str
    expires_at: datetime
    created_at: datetime
    paid_at: datetime | None


@attrs.frozen
class PaymentPage:
    """The caller's payments, newest first; pass ``nextCursor`` as ``cursor`` for more."""

    payments: list[PaymentView]
    next_cursor: str | None


@attrs.frozen
class CallbackReceived:
    """The callback was recorded; ``status`` is the payment's after it."""

    merchant_order_id: str
    status: str


@attrs.frozen
class MethodView:
    """A payment channel Duitku offers for the package; ``totalFee`` in rupiah."""

    payment_method: str
    name: str
    image: str
    total_fee: int


@attrs.frozen
class MethodList:
    """The channels Duitku offers for a package's price."""

    methods: list[MethodView]


def package_view(package: Package) -> PackageView:
    """Return the wire view of ``package``."""
    return PackageView(package.id, package.name, package.price, package.credits)


def payment_view(payment: Payment) -> PaymentView:
    """Return the wire view of ``payment`` (never its owner or internal bookkeeping)."""
    return PaymentView(
        merchant_order_id=payment.merchant_order_id,
        package_id=payment.package_id,
        amount=payment.amount,
        credits=payment.credits,
        status=payment.status,
        reference=payment.reference,
        payment_url=payment.payment_url,
        va_number=payment.va_number,
        payment_method=payment.payment_method,
        expires_at=payment.expires_at,
        created_at=payment.created_at,
        paid_at=payment.paid_at,
    )


def method_view(method: PaymentMethod) -> MethodView:
    """Return the wire view of a payment channel."""
    return MethodView(method.code, method.name, method.image, method.total_fee)
