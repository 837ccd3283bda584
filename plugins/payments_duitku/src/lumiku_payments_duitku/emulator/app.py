"""A Duitku emulator: the v2 API with the real signatures, a payment page, signed callbacks.

For tests (served over real HTTP with uvicorn) and for trying the whole flow in a browser
(``lumiku payments-duitku emulator``). It implements, under ``/webapi/api/merchant``:

- ``POST /v2/inquiry``: checks the merchant and ``MD5(merchantCode + merchantOrderId +
  paymentAmount + apiKey)``, refuses a merchantOrderId used before, stores the order and
  answers its ``reference`` and ``paymentUrl`` (this server's ``/pay/<reference>``);
- ``POST /transactionStatus``: checks ``MD5(merchantCode + merchantOrderId + apiKey)`` and
  answers ``00``/``01``/``02`` with the order's amount;
- ``POST /paymentmethod/getpaymentmethod``: checks ``SHA256(merchantcode + amount +
  datetime + apiKey)`` and lists a few channels.

``GET /pay/<reference>`` is a page where a person chooses pay or fail; the choice settles
the order, posts the signed callback to the order's ``callbackUrl`` and sends the browser
to its ``returnUrl``. Tests drive the same through ``pay``, ``fail``, ``expire`` and
``send_callback``, and play faults: ``inquiry_delay`` (the order is stored, the answer comes
late), ``unavailable`` (the next calls answer 503) and ``status_overrides`` (what
transactionStatus says of an order, whatever happened). Orders live in memory.
"""

from __future__ import annotations

import asyncio
import html
import json
import threading
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from lumiku_payments_duitku.emulator.orders import Order, OrderBook, callback_fields
from lumiku_payments_duitku.money import parse_rupiah
from lumiku_payments_duitku.signatures import (
    inquiry_signature,
    payment_methods_signature,
    signature_matches,
    status_signature,
)

API_PATH = "/webapi/api/merchant"
"""Where the API is served: a base URL for the plugin is ``<emulator URL>`` + this."""
_METHODS = (
    ("VC", "Credit Card (Visa / Master)", 0),
    ("I1", "BNI Virtual Account", 3000),
    ("SP", "QRIS ShopeePay", 0),
)
_INQUIRY_FIELDS = (
    "merchantCode",
    "paymentAmount",
    "paymentMethod",
    "merchantOrderId",
    "productDetails",
    "email",
    "callbackUrl",
    "returnUrl",
    "signature",
)


def _refuse(status: int, message: str) -> JSONResponse:
    return JSONResponse({"Message": message}, status_code=status)


class DuitkuEmulator:
    """An emulated Duitku merchant account: ``app`` is its ASGI application."""

    def __init__(self, merchant_code: str, api_key: str, *, callback_timeout: float = 10.0):
        self.merchant_code = merchant_code
        self._api_key = api_key
        self._callback_timeout = callback_timeout
        self.orders = OrderBook(merchant_code)
        self.inquiry_delay = 0.0
        self.unavailable = 0
        self.status_overrides: dict[str, str] = {}
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self._lock = threading.Lock()
        self.app = Starlette(
            routes=[
                Route(f"{API_PATH}/v2/inquiry", self._inquiry, methods=["POST"]),
                Route(f"{API_PATH}/transactionStatus", self._status, methods=["POST"]),
                Route(
                    f"{API_PATH}/paymentmethod/getpaymentmethod", self._methods, methods=["POST"]
                ),
                Route("/pay/{reference}", self._page, methods=["GET", "POST"]),
            ]
        )

    def __repr__(self) -> str:
        return f"DuitkuEmulator({self.merchant_code!r}, {len(self.orders.all())} orders)"

    # -- the API ---------------------------------------------------------------------------

    async def _read(self, request: Request, name: str) -> dict[str, Any] | Response:
        try:
            body = json.loads(await request.body())
        except ValueError:
            return _refuse(400, "The body is not JSON")
        if not isinstance(body, dict):
            return _refuse(400, "The body is not a JSON object")
        with self._lock:
            self.calls.append((name, body))
            if self.unavailable > 0:
                self.unavailable -= 1
                return _refuse(503, "Service Unavailable")
        return body

    def _signed(self, given: Any, expected: str) -> bool:
        return isinstance(given, str) and signature_matches(expected, given)

    async def _inquiry(self, request: Request) -> Response:
        body = await self._read(request, "inquiry")
        if isinstance(body, Response):
            return body
        missing = [name for name in _INQUIRY_FIELDS if name not in body]
        if missing:
            return _refuse(400, f"Missing {', '.join(missing)}")
        amount = body["paymentAmount"]
        if type(amount) is not int or amount <= 0:
            return _refuse(400, "paymentAmount must be a positive integer")
        if body["merchantCode"] != self.merchant_code:
            return _refuse(401, "Merchant not found")
        order_id = str(body["merchantOrderId"])
        expected = inquiry_signature(self.merchant_code, order_id, amount, self._api_key)
        if not self._signed(body["signature"], expected):
            return _refuse(401, "Wrong signature")
        if body["paymentMethod"] not in {code for code, _, _ in _METHODS}:
            return _refuse(400, f"Payment channel {body['paymentMethod']} not available")
        order = self.orders.add(
            {
                "merchant_order_id": order_id,
                "amount": amount,
                "payment_method": body["paymentMethod"],
                "product_details": str(body["productDetails"]),
                "email": str(body["email"]),
                "callback_url": str(body["callbackUrl"]),
                "return_url": str(body["returnUrl"]),
            },
            int(body.get("expiryPeriod") or 60),
        )
        if order is None:
            return _refuse(400, "Duplicate merchantOrderId")
        if self.inquiry_delay:
            await asyncio.sleep(self.inquiry_delay)  # stored at Duitku, answered too late
        base = str(request.base_url).rstrip("/")
        return JSONResponse(
            {
                "merchantCode": self.merchant_code,
                "reference": order.reference,
                "paymentUrl": f"{base}/pay/{order.reference}",
                "vaNumber": "8808" + order.reference[-8:] if order.payment_method == "I1" else "",
                "qrString": f"QR:{order.reference}" if order.payment_method == "SP" else "",
                "amount": str(amount),
                "statusCode": "00",
                "statusMessage": "SUCCESS",
            }
        )

    async def _status(self, request: Request) -> Response:
        body = await self._read(request, "transactionStatus")
        if isinstance(body, Response):
            return body
        if body.get("merchantCode") != self.merchant_code:
            return _refuse(401, "Merchant not found")
        order_id = str(body.get("merchantOrderId", ""))
        expected = status_signature(self.merchant_code, order_id, self._api_key)
        if not self._signed(body.get("signature"), expected):
            return _refuse(401, "Wrong signature")
        order = self.orders.get(order_id)
        if order is None:
            return _refuse(400, "Transaction not found")
        code = self.status_overrides.get(order_id) or self.orders.status_of(order)
        messages = {"00": "SUCCESS", "01": "PROCESS", "02": "FAILED"}
        return JSONResponse(
            {
                "merchantOrderId": order_id,
                "reference": order.reference,
                "amount": str(order.amount),
                "fee": "0.00",
                "statusCode": code,
                "statusMessage": messages.get(code, "UNKNOWN"),
            }
        )

    async def _methods(self, request: Request) -> Response:
        body = await self._read(request, "getpaymentmethod")
        if isinstance(body, Response):
            return body
        amount, moment = body.get("amount"), body.get("datetime")
        if body.get("merchantcode") != self.merchant_code:
            return _refuse(401, "Merchant not found")
        if type(amount) is not int or not isinstance(moment, str):
            return _refuse(400, "amount and datetime are required")
        try:
            datetime.strptime(moment, "%Y-%m-%d %H:%M:%S")  # Jakarta local time: no zone
        except ValueError:
            return _refuse(400, "datetime must be Y-m-d H:i:s")
        expected = payment_methods_signature(self.merchant_code, amount, moment, self._api_key)
        if not self._signed(body.get("signature"), expected):
            return _refuse(401, "Wrong signature")
        fees = [
            {"paymentMethod": code, "paymentName": name, "paymentImage": "", "totalFee": str(fee)}
            for code, name, fee in _METHODS
        ]
        return JSONResponse(
            {"paymentFee": fees, "responseCode": "00", "responseMessage": "SUCCESS"}
        )

    # -- the payment page ------------------------------------------------------------------

    async def _page(self, request: Request) -> Response:
        order = self.orders.by_reference(request.path_params["reference"])
        if order is None:
            return HTMLResponse("<h1>No such payment</h1>", status_code=404)
        if request.method == "GET":
            return HTMLResponse(_page_html(order, self.orders.status_of(order)))
        form = await request.form()
        action = str(form.get("action", ""))
        if action not in ("pay", "fail", "expire"):
            return HTMLResponse("<h1>Choose pay or fail</h1>", status_code=400)
        await asyncio.to_thread(self.settle, order.merchant_order_id, action)
        query = urlencode(
            {
                "merchantOrderId": order.merchant_order_id,
                "resultCode": order.result_code,
                "reference": order.reference,
            }
        )
        separator = "&" if "?" in order.return_url else "?"
        return RedirectResponse(f"{order.return_url}{separator}{query}", status_code=303)

    # -- what tests drive ------------------------------------------------------------------

    def settle(
        self, merchant_order_id: str, action: str, *, callback: bool = True
    ) -> httpx.Response | None:
        """Pay, fail or expire an order; post its callback unless ``callback`` is false."""
        status = {"pay": "00", "fail": "02", "expire": "02"}[action]
        self.orders.settle(merchant_order_id, status)
        return self.send_callback(merchant_order_id) if callback else None

    def pay(self, merchant_order_id: str, *, callback: bool = True) -> httpx.Response | None:
        """Pay the order (as the buyer would) and post the callback."""
        return self.settle(merchant_order_id, "pay", callback=callback)

    def fail(self, merchant_order_id: str, *, callback: bool = True) -> httpx.Response | None:
        """Fail the order and post the callback."""
        return self.settle(merchant_order_id, "fail", callback=callback)

    def expire(self, merchant_order_id: str, *, callback: bool = True) -> httpx.Response | None:
        """Expire the order and post the callback."""
        return self.settle(merchant_order_id, "expire", callback=callback)

    def callback_form(
        self, merchant_order_id: str, result_code: str | None = None
    ) -> dict[str, str]:
        """Return the signed fields of the order's callback (as Duitku would post them)."""
        order = self.orders.get(merchant_order_id)
        if order is None:
            raise KeyError(f"the emulator has no order {merchant_order_id!r}")
        return callback_fields(order, self.merchant_code, self._api_key, result_code)

    def send_callback(
        self,
        merchant_order_id: str,
        *,
        result_code: str | None = None,
        fields: Mapping[str, str] | None = None,
        url: str | None = None,
    ) -> httpx.Response:
        """Post the order's signed callback (``fields`` replace some) to its callbackUrl."""
        order = self.orders.get(merchant_order_id)
        if order is None:
            raise KeyError(f"the emulator has no order {merchant_order_id!r}")
        form = {**self.callback_form(merchant_order_id, result_code), **(fields or {})}
        return httpx.post(url or order.callback_url, data=form, timeout=self._callback_timeout)

    def order(self, merchant_order_id: str) -> Order:
        """Return the order ``merchant_order_id`` (``KeyError`` when there is none)."""
        order = self.orders.get(merchant_order_id)
        if order is None:
            raise KeyError(f"the emulator has no order {merchant_order_id!r}")
        return order

    def calls_to(self, name: str) -> list[dict[str, Any]]:
        """Return the bodies of the calls to ``inquiry``, ``transactionStatus`` or
        ``getpaymentmethod``, oldest first."""
        with self._lock:
            return [body for called, body in self.calls if called == name]


def _page_html(order: Order, status: str) -> str:
    e = html.escape
    state = {"00": "paid", "01": "waiting for payment", "02": "failed or expired"}[status]
    buttons = (
        '<button name="action" value="pay">Pay</button> '
        '<button name="action" value="fail">Fail</button>'
        if status == "01"
        else ""
    )
    rupiah = f"{parse_rupiah(order.amount) or 0:,}".replace(",", ".")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Duitku emulator</title></head>
<body style="font-family: sans-serif; max-width: 32rem; margin: 3rem auto">
<h1>Duitku emulator</h1>
<p><strong>{e(order.product_details)}</strong></p>
<p>Order {e(order.merchant_order_id)} &middot; reference {e(order.reference)}</p>
<p>Amount: Rp {rupiah} &middot; channel {e(order.payment_method)} &middot; {e(state)}</p>
<form method="post">{buttons}</form>
<p><small>Not a real payment: this page stands in for Duitku in development.</small></p>
</body></html>"""
