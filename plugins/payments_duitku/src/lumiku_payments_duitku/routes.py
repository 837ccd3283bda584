"""The plugin's endpoints under ``/api/payments``.

| route | who | answers |
| --- | --- | --- |
| ``GET /packages`` | anyone | the package table |
| ``GET /methods?packageId=`` | user | Duitku's channels for the package's price |
| ``POST /`` | user, Idempotency-Key | 201 the payment, with its ``paymentUrl`` |
| ``GET /`` | user | the caller's payments, paginated |
| ``GET /{merchantOrderId}`` | the owner | the payment (anyone else: 404) |
| ``POST /callback`` | Duitku (signed form) | 200 once recorded |

Handlers look the services up per call (``services_for``), so that a test can replace one.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from starlette.routing import BaseRoute

from lumiku import Call, PageQuery, PluginContext, RateLimit, get, post
from lumiku_payments_duitku.callbacks import CallbackForm
from lumiku_payments_duitku.client import DuitkuRefused, DuitkuUnavailable
from lumiku_payments_duitku.errors import PaymentProviderUnavailable, UnknownPackage
from lumiku_payments_duitku.services import CALLBACK_PATH, services_for
from lumiku_payments_duitku.views import (
    CallbackReceived,
    CreatePayment,
    MethodList,
    MethodsQuery,
    PackageList,
    PaymentPage,
    PaymentView,
    method_view,
    package_view,
    payment_view,
)

JAKARTA = timezone(timedelta(hours=7), "WIB")
"""getpaymentmethod's ``datetime`` is local time in Jakarta."""
CALLBACK_BODY_LIMIT = 16 * 1024


def build_routes(ctx: PluginContext) -> list[BaseRoute]:
    """Return the routes of the plugin mounted on ``ctx``."""

    def list_packages(_call: Call[None, None]) -> PackageList:
        """List the credit packages on sale."""
        return PackageList([package_view(p) for p in services_for(ctx).packages])

    def list_methods(call: Call[None, MethodsQuery]) -> MethodList:
        """List the payment channels Duitku offers for a package."""
        services = services_for(ctx)
        package = services.packages.get(call.query.package_id)
        if package is None:
            raise UnknownPackage(call.query.package_id, services.packages.ids)
        try:
            methods = services.client.payment_methods(
                package.price, datetime.now(UTC).astimezone(JAKARTA)
            )
        except (DuitkuUnavailable, DuitkuRefused) as exc:
            raise PaymentProviderUnavailable(
                f"Duitku's payment methods could not be read ({exc}); try again later."
            ) from None
        return MethodList([method_view(method) for method in methods])

    def create_payment(call: Call[CreatePayment, None]) -> PaymentView:
        """Create a payment of a package and return where to pay it (201)."""
        checkout = services_for(ctx).checkout
        order = checkout.order_id(call.request_key)
        payment = checkout.create(call.user, call.body.package_id, call.body.payment_method, order)
        return payment_view(payment)

    def list_payments(call: Call[None, PageQuery]) -> PaymentPage:
        """List the caller's payments, newest first."""
        page = services_for(ctx).store.page(call.user_id, call.query)
        return PaymentPage([payment_view(p) for p in page.rows], page.next_cursor)

    def get_payment(call: Call[None, None]) -> PaymentView:
        """Show one of the caller's payments."""
        order = call.path["merchant_order_id"]
        return payment_view(services_for(ctx).store.owned(order, call.user_id))

    def receive_callback(call: Call[CallbackForm, None]) -> CallbackReceived:
        """Receive Duitku's callback (form-encoded, signed)."""
        outcome = services_for(ctx).callbacks.receive(call.body, call.client_ip)
        return CallbackReceived(outcome.merchant_order_id, outcome.status)

    user_limit = (RateLimit("20/minute", per="user", scope="payments_create"),)
    return [
        get("/packages", list_packages, response=PackageList),
        get("/methods", list_methods, query=MethodsQuery, response=MethodList, auth="user"),
        post(
            CALLBACK_PATH,
            receive_callback,
            form=CallbackForm,
            extra_fields="ignore",
            max_body=CALLBACK_BODY_LIMIT,
            response=CallbackReceived,
            errors=(400, 403, 404, 409),
        ),
        post(
            "/",
            create_payment,
            body=CreatePayment,
            response=PaymentView,
            status=201,
            auth="user",
            idempotent=True,
            rate_limits=user_limit,
        ),
        get("/", list_payments, query=PageQuery, response=PaymentPage, auth="user"),
        get(
            "/{merchant_order_id}",
            get_payment,
            response=PaymentView,
            auth="user",
            errors=(404,),
        ),
    ]
