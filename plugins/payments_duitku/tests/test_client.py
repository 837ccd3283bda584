"""The Duitku client sorts every answer: an answer, a refusal, or "nobody knows" (timeouts,
5xx, unreadable bodies), and never puts the key in an exception or a repr."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx
import pytest

from lumiku_payments_duitku.client import (
    Credentials,
    DuitkuClient,
    DuitkuRefused,
    DuitkuUnavailable,
    InquiryRequest,
)
from lumiku_payments_duitku.signatures import (
    inquiry_signature,
    payment_methods_signature,
    signature_matches,
    status_signature,
)

KEY = "732B39FC61796845775D2C4FB05332AF"
REQUEST = InquiryRequest(
    merchant_order_id="LMK-1",
    amount=100_000,
    payment_method="VC",
    product_details="Top-up",
    email="a@example.com",
    customer_name="a",
    callback_url="https://api.example.org/cb",
    return_url="https://app.example.org/done",
    expiry_minutes=60,
)


def client_answering(handler: Callable[[httpx.Request], httpx.Response]) -> DuitkuClient:
    return DuitkuClient(
        "https://duitku.test/webapi/api/merchant",
        Credentials("D0001", KEY),
        connect_timeout=1,
        read_timeout=1,
        transport=httpx.MockTransport(handler),
    )


def answer(status: int = 200, **body: Any) -> Callable[[httpx.Request], httpx.Response]:
    return lambda request: httpx.Response(status, json=body)


def test_requests_carry_duitkus_signatures() -> None:
    seen: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        seen.append({"path": request.url.path, **body})
        if request.url.path.endswith("/v2/inquiry"):
            return httpx.Response(
                200,
                json={"reference": "R1", "paymentUrl": "https://p", "amount": "100000",
                      "statusCode": "00"},
            )  # fmt: skip
        if request.url.path.endswith("/transactionStatus"):
            return httpx.Response(
                200, json={"merchantOrderId": "LMK-1", "statusCode": "01", "amount": "100000"}
            )
        return httpx.Response(200, json={"responseCode": "00", "paymentFee": []})

    client = client_answering(handler)
    client.inquiry(REQUEST)
    client.transaction_status("LMK-1")
    client.payment_methods(100_000, datetime(2026, 1, 2, 3, 4, 5))

    inquiry, status, methods = seen
    assert inquiry["path"] == "/webapi/api/merchant/v2/inquiry"
    assert inquiry["paymentAmount"] == 100_000
    assert inquiry["signature"] == inquiry_signature("D0001", "LMK-1", 100_000, KEY)
    assert status["signature"] == status_signature("D0001", "LMK-1", KEY)
    assert methods["datetime"] == "2026-01-02 03:04:05"
    assert methods["signature"] == payment_methods_signature(
        "D0001", 100_000, "2026-01-02 03:04:05", KEY
    )
    assert all(KEY not in json.dumps(call) for call in seen)


@pytest.mark.parametrize(
    ("handler", "error"),
    [
        (answer(503, Message="down"), DuitkuUnavailable),
        (lambda request: httpx.Response(200, text="<html>"), DuitkuUnavailable),
        (answer(statusCode="00", paymentUrl="https://p", amount="100000"), DuitkuUnavailable),
        (
            answer(statusCode="00", reference="", paymentUrl="https://p", amount="1"),
            DuitkuUnavailable,
        ),
        (answer(401, Message="Wrong signature"), DuitkuRefused),
        (answer(statusCode="-100", statusMessage="Payment channel not available"), DuitkuRefused),
    ],
    ids=["5xx", "not-json", "no-reference", "empty-reference", "4xx", "status-code"],
)
def test_inquiry_answers_are_sorted(handler: Any, error: type[Exception]) -> None:
    with pytest.raises(error) as raised:
        client_answering(handler).inquiry(REQUEST)
    assert KEY not in str(raised.value)


def test_a_timeout_or_a_dead_host_is_nobody_knows() -> None:
    def times_out(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    with pytest.raises(DuitkuUnavailable, match="no answer in time"):
        client_answering(times_out).inquiry(REQUEST)

    def refuses(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(DuitkuUnavailable, match="ConnectError"):
        client_answering(refuses).transaction_status("LMK-1")


@pytest.mark.parametrize(
    "body",
    [
        {"merchantOrderId": "LMK-1", "statusCode": "03", "amount": "100000"},
        {"merchantOrderId": "LMK-2", "statusCode": "00", "amount": "100000"},
        {"merchantOrderId": "LMK-1", "statusCode": "00", "amount": "100000.5"},
        {"merchantOrderId": "LMK-1", "statusCode": "00"},
    ],
    ids=["unknown-code", "another-order", "fraction", "no-amount"],
)
def test_an_unusable_status_answer_is_nobody_knows(body: dict[str, Any]) -> None:
    with pytest.raises(DuitkuUnavailable):
        client_answering(answer(**body)).transaction_status("LMK-1")


def test_a_status_answer_reads_whole_rupiah() -> None:
    status = client_answering(
        answer(merchantOrderId="LMK-1", statusCode="00", amount="100000.00", reference="R9")
    ).transaction_status("LMK-1")
    assert (status.code, status.amount, status.reference) == ("00", 100_000, "R9")


def test_the_key_is_not_in_the_credentials_repr() -> None:
    assert KEY not in repr(Credentials("D0001", KEY))


def test_signatures_compare_in_either_case_and_refuse_anything_else() -> None:
    expected = status_signature("D0001", "LMK-1", KEY)
    assert signature_matches(expected, expected.upper())
    assert not signature_matches(expected, expected[:-1])
    assert not signature_matches(expected, "é" * 32)
