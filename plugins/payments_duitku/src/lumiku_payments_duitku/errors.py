"""The plugin's errors, each a subclass of the core error that gives its HTTP status."""

from __future__ import annotations

from lumiku import BadRequest, Conflict, Forbidden, NotFound, ServiceUnavailable, ValidationFailed


class PaymentNotFound(NotFound):
    """No payment with this id belongs to the caller."""

    code = "PAYMENT_NOT_FOUND"

    def __init__(self, merchant_order_id: str) -> None:
        super().__init__(
            f"Payment {merchant_order_id!r} does not exist or is not yours; list your "
            "payments with GET /api/payments.",
            details={"merchantOrderId": merchant_order_id},
        )


class UnknownPackage(ValidationFailed):
    """The client chose a package id that is not on sale."""

    def __init__(self, package_id: str, known: list[str]) -> None:
        rule = f"is not a package on sale; choose one of {', '.join(known)}"
        super().__init__(
            f"Package {package_id!r} {rule} (GET /api/payments/packages).",
            details={"fields": {"packageId": rule}},
        )


class PaymentProviderUnavailable(ServiceUnavailable):
    """Duitku did not answer usably; the payment, if any, is left for the poller."""

    code = "PAYMENT_PROVIDER_UNAVAILABLE"

    def __init__(self, message: str, *, merchant_order_id: str | None = None) -> None:
        details = {} if merchant_order_id is None else {"merchantOrderId": merchant_order_id}
        super().__init__(message, details=details)


class PaymentRefused(ServiceUnavailable):
    """Duitku refused to create the payment for a reason of the server's (its credentials,
    its default channel, its package table): an outage of payments until an operator acts."""

    code = "PAYMENT_REFUSED"

    def __init__(self, merchant_order_id: str, reason: str) -> None:
        super().__init__(
            f"Duitku refused the payment: {reason}. Choose another payment method or try "
            "again later.",
            details={"merchantOrderId": merchant_order_id, "reason": reason},
        )


class PaymentMethodRefused(ValidationFailed):
    """Duitku refused the payment method the client chose (a channel this merchant does not
    offer for this amount): the client's choice, so a 422 on ``paymentMethod``, not a 5xx."""

    code = "PAYMENT_METHOD_REFUSED"

    def __init__(self, merchant_order_id: str, payment_method: str, reason: str) -> None:
        rule = (
            f"Duitku refused payment method {payment_method!r}: {reason}; choose one of "
            "GET /api/payments/methods, or leave it out for the default"
        )
        super().__init__(
            f"{rule}.",
            details={"fields": {"paymentMethod": rule}, "merchantOrderId": merchant_order_id},
        )


class InvalidSignature(Forbidden):
    """A callback's signature is not the merchant's."""

    code = "INVALID_SIGNATURE"

    def __init__(self) -> None:
        super().__init__(
            "The callback's signature does not match MD5(merchantCode + amount + "
            "merchantOrderId + key); it was not sent by Duitku for this merchant."
        )


class UnknownMerchant(Forbidden):
    """A callback names another merchant."""

    code = "UNKNOWN_MERCHANT"

    def __init__(self) -> None:
        super().__init__("The callback's merchantCode is not this server's merchant.")


class CallbackSourceRefused(Forbidden):
    """A callback came from an address outside the configured allow-list."""

    code = "CALLBACK_SOURCE_REFUSED"

    def __init__(self) -> None:
        super().__init__(
            "Callbacks are accepted from Duitku's addresses only (DUITKU_CALLBACK_IPS)."
        )


class UnknownOrder(NotFound):
    """A correctly signed callback names an order this server never created."""

    code = "UNKNOWN_ORDER"

    def __init__(self, merchant_order_id: str) -> None:
        super().__init__(
            f"No payment {merchant_order_id!r} was created here.",
            details={"merchantOrderId": merchant_order_id},
        )


class InvalidAmount(BadRequest):
    """A callback's amount is not whole rupiah."""

    def __init__(self) -> None:
        super().__init__(
            "The callback's amount is not a whole number of rupiah.", code="INVALID_AMOUNT"
        )


class AmountMismatch(Conflict):
    """A callback's amount differs from the stored order's."""

    code = "AMOUNT_MISMATCH"

    def __init__(self, merchant_order_id: str) -> None:
        super().__init__(
            f"The callback's amount differs from order {merchant_order_id!r}; nothing was "
            "credited.",
            details={"merchantOrderId": merchant_order_id},
        )
