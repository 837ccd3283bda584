"""The HTTP client of Duitku's v2 API: inquiry, transactionStatus and getpaymentmethod.

Every call has a connect and a read timeout. What Duitku answers is sorted in two: an
answer (``InquiryResult``, ``StatusAnswer``, methods) or a refusal (``DuitkuRefused``: a
4xx, or an inquiry whose ``statusCode`` is not ``00``) is something Duitku decided; a
timeout, a transport error, a 5xx or an unreadable body is ``DuitkuUnavailable``: nobody
knows what happened, so the caller leaves the payment for the poller. The API key signs
requests and never appears in a log line, an exception or a repr. Endpoints, fields and
signatures: ``shared/reference/duitku.md``, "Calls".
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import attrs
import httpx

from lumiku_payments_duitku.money import parse_rupiah
from lumiku_payments_duitku.signatures import (
    inquiry_signature,
    payment_methods_signature,
    status_signature,
)

StatusCode = Literal["00", "01", "02"]
"""transactionStatus: ``00`` paid, ``01`` pending, ``02`` failed or expired."""
_STATUS_CODES = ("00", "01", "02")
_MESSAGE_LENGTH = 200


class DuitkuUnavailable(Exception):
    """Duitku did not give a usable answer (timeout, transport error, 5xx, unreadable)."""


class DuitkuRefused(Exception):
    """Duitku answered and refused the request; ``message`` is its reason."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@attrs.frozen
class Credentials:
    """A merchant's code and key (the key never in a repr)."""

    merchant_code: str
    api_key: str = attrs.field(repr=False)


@attrs.frozen
class InquiryRequest:
    """One payment to create: ``amount`` in whole rupiah, ``expiry_minutes`` to pay it."""

    merchant_order_id: str
    amount: int
    payment_method: str
    product_details: str
    email: str
    customer_name: str
    callback_url: str
    return_url: str
    expiry_minutes: int


@attrs.frozen
class InquiryResult:
    """Duitku's payment: its ``reference`` and where the buyer pays (``payment_url``)."""

    reference: str
    payment_url: str
    amount: int
    va_number: str | None = None
    qr_string: str | None = None


@attrs.frozen
class StatusAnswer:
    """What transactionStatus says of an order; ``amount`` in whole rupiah."""

    merchant_order_id: str
    code: StatusCode
    amount: int
    reference: str | None
    message: str


@attrs.frozen
class PaymentMethod:
    """A channel Duitku offers for an amount; ``total_fee`` in whole rupiah."""

    code: str
    name: str
    image: str
    total_fee: int


def _text(value: Any, limit: int = _MESSAGE_LENGTH) -> str:
    return " ".join(str(value).split())[:limit] if value is not None else ""


class DuitkuClient:
    """Talk to one merchant's Duitku v2 API at ``base_url`` (no trailing slash)."""

    def __init__(
        self,
        base_url: str,
        credentials: Credentials,
        *,
        connect_timeout: float,
        read_timeout: float,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._credentials = credentials
        timeout = httpx.Timeout(read_timeout, connect=connect_timeout, pool=connect_timeout)
        self._http = httpx.Client(
            base_url=base_url,
            timeout=timeout,
            transport=transport,
            headers={"Accept": "application/json"},
            follow_redirects=False,
        )

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def _post(self, path: str, body: dict[str, Any], what: str) -> dict[str, Any]:
        """POST ``body`` as JSON; return the JSON object Duitku answered with 2xx."""
        try:
            response = self._http.post(path, json=body)
        except httpx.TimeoutException as exc:
            raise DuitkuUnavailable(f"{what}: no answer in time ({type(exc).__name__})") from None
        except httpx.HTTPError as exc:
            raise DuitkuUnavailable(f"{what}: {type(exc).__name__}") from None
        if response.status_code >= 500:
            raise DuitkuUnavailable(f"{what}: Duitku answered {response.status_code}")
        try:
            data = response.json()
        except ValueError:
            data = None
        if 400 <= response.status_code < 500:
            reason = (
                data.get("Message") or data.get("statusMessage") if isinstance(data, dict) else None
            )
            raise DuitkuRefused(
                _text(reason or response.text or f"HTTP {response.status_code}"),
                status=response.status_code,
            )
        if not isinstance(data, dict):
            raise DuitkuUnavailable(f"{what}: the answer is not a JSON object")
        return data

    def inquiry(self, request: InquiryRequest) -> InquiryResult:
        """Create the payment at Duitku (v2 inquiry) and return where to pay it."""
        merchant = self._credentials.merchant_code
        body = {
            "merchantCode": merchant,
            "paymentAmount": request.amount,
            "paymentMethod": request.payment_method,
            "merchantOrderId": request.merchant_order_id,
            "productDetails": request.product_details,
            "email": request.email,
            "customerVaName": request.customer_name,
            "callbackUrl": request.callback_url,
            "returnUrl": request.return_url,
            "expiryPeriod": request.expiry_minutes,
            "signature": inquiry_signature(
                merchant, request.merchant_order_id, request.amount, self._credentials.api_key
            ),
        }
        data = self._post("/v2/inquiry", body, f"inquiry {request.merchant_order_id}")
        if data.get("statusCode") != "00":
            raise DuitkuRefused(_text(data.get("statusMessage") or "refused"), status=200)
        reference, url = _text(data.get("reference"), 255), _text(data.get("paymentUrl"), 2000)
        amount = parse_rupiah(data.get("amount"))
        if not reference or not url or amount is None:
            # A success without a reference or a link cannot be paid; nobody knows what
            # Duitku stored, so it is the poller's to resolve.
            raise DuitkuUnavailable(f"inquiry {request.merchant_order_id}: incomplete answer")
        return InquiryResult(
            reference=reference,
            payment_url=url,
            amount=amount,
            va_number=_text(data.get("vaNumber"), 64) or None,
            qr_string=_text(data.get("qrString"), 4000) or None,
        )

    def transaction_status(self, merchant_order_id: str) -> StatusAnswer:
        """Ask Duitku what became of an order (``DuitkuRefused`` when it knows none)."""
        merchant = self._credentials.merchant_code
        body = {
            "merchantCode": merchant,
            "merchantOrderId": merchant_order_id,
            "signature": status_signature(merchant, merchant_order_id, self._credentials.api_key),
        }
        data = self._post("/transactionStatus", body, f"transactionStatus {merchant_order_id}")
        code, amount = data.get("statusCode"), parse_rupiah(data.get("amount"))
        answered_for = data.get("merchantOrderId")
        if code not in _STATUS_CODES or amount is None or answered_for != merchant_order_id:
            raise DuitkuUnavailable(f"transactionStatus {merchant_order_id}: unusable answer")
        return StatusAnswer(
            merchant_order_id=merchant_order_id,
            code=code,
            amount=amount,
            reference=_text(data.get("reference"), 255) or None,
            message=_text(data.get("statusMessage")),
        )

    def payment_methods(self, amount: int, now: datetime) -> list[PaymentMethod]:
        """Return the channels Duitku offers for ``amount`` rupiah at ``now`` (Jakarta time)."""
        merchant = self._credentials.merchant_code
        moment = now.strftime("%Y-%m-%d %H:%M:%S")
        body = {
            "merchantcode": merchant,
            "amount": amount,
            "datetime": moment,
            "signature": payment_methods_signature(
                merchant, amount, moment, self._credentials.api_key
            ),
        }
        data = self._post("/paymentmethod/getpaymentmethod", body, "getpaymentmethod")
        methods = data.get("paymentFee")
        if data.get("responseCode") != "00" or not isinstance(methods, list):
            raise DuitkuRefused(_text(data.get("responseMessage") or "refused"), status=200)
        found = []
        for item in methods:
            if not isinstance(item, dict):
                continue
            fee = parse_rupiah(item.get("totalFee", 0))
            code = _text(item.get("paymentMethod"), 8)
            if code and fee is not None:
                found.append(
                    PaymentMethod(
                        code=code,
                        name=_text(item.get("paymentName"), 100),
                        image=_text(item.get("paymentImage"), 500),
                        total_fee=fee,
                    )
                )
        return found
