"""The emulator checks Duitku's signatures as Duitku does, so the plugin's are proven right
against it; its CLI command serves it for local development."""

from __future__ import annotations

import hashlib
import socket
from typing import Any

import httpx

from lumiku_payments_duitku.signatures import (
    callback_signature,
    inquiry_signature,
    status_signature,
)

KEY = "732B39FC61796845775D2C4FB05332AF"


def inquiry(emulated: Any, **changes: Any) -> httpx.Response:
    body = {
        "merchantCode": "D0001",
        "paymentAmount": 10_000,
        "paymentMethod": "VC",
        "merchantOrderId": "12345",
        "productDetails": "test",
        "email": "a@example.com",
        "customerVaName": "a",
        "callbackUrl": "http://127.0.0.1:9/cb",
        "returnUrl": "http://127.0.0.1:9/done",
        "expiryPeriod": 10,
        "signature": inquiry_signature("D0001", "12345", 10_000, KEY),
    }
    body.update(changes)
    return httpx.post(f"{emulated.api_url}/v2/inquiry", json=body, timeout=5)


def test_inquiry_checks_merchant_signature_and_order_id(emulated: Any) -> None:
    assert inquiry(emulated, signature="0" * 32).json() == {"Message": "Wrong signature"}
    assert inquiry(emulated, merchantCode="D9").status_code == 401
    assert inquiry(emulated, paymentAmount="10000").status_code == 400
    created = inquiry(emulated)
    assert created.json()["statusCode"] == "00"
    assert inquiry(emulated).json() == {"Message": "Duplicate merchantOrderId"}


def test_status_checks_its_signature_and_knows_its_orders(emulated: Any) -> None:
    inquiry(emulated)
    url = f"{emulated.api_url}/transactionStatus"
    good = {"merchantCode": "D0001", "merchantOrderId": "12345"}
    signed = {**good, "signature": status_signature("D0001", "12345", KEY)}
    assert httpx.post(url, json={**good, "signature": "x"}, timeout=5).status_code == 401
    assert httpx.post(url, json=signed, timeout=5).json()["statusCode"] == "01"
    emulated.emulator.pay("12345", callback=False)
    paid = httpx.post(url, json=signed, timeout=5).json()
    assert (paid["statusCode"], paid["amount"]) == ("00", "10000")
    unknown = {**good, "merchantOrderId": "nope"}
    unknown["signature"] = status_signature("D0001", "nope", KEY)
    assert httpx.post(url, json=unknown, timeout=5).status_code == 400


def test_its_callbacks_carry_the_reference_signature(emulated: Any) -> None:
    inquiry(emulated)
    fields = emulated.emulator.callback_form("12345", "00")
    assert fields["amount"] == "10000"
    assert fields["signature"] == "4104f20a70c933113c66c004fe25a9f1"  # the test vector
    assert fields["signature"] == callback_signature("D0001", "10000", "12345", KEY)
    assert fields["signature"] != hashlib.md5(b"D00011000012345").hexdigest()  # noqa: S324


def test_the_page_shows_the_order_and_refuses_an_unknown_one(emulated: Any) -> None:
    created = inquiry(emulated).json()
    page = httpx.get(created["paymentUrl"], timeout=5)
    assert "Rp 10.000" in page.text
    assert httpx.get(f"{emulated.url}/pay/nothing", timeout=5).status_code == 404
    bad = httpx.post(created["paymentUrl"], data={"action": "steal"}, timeout=5)
    assert bad.status_code == 400


def test_the_cli_offers_the_emulator_command(monkeypatch: Any, capsys: Any) -> None:
    from lumiku.cli.main import build_parser

    monkeypatch.setenv("DUITKU_MERCHANT_CODE", "D0001")
    monkeypatch.setenv("DUITKU_API_KEY", KEY)
    monkeypatch.setenv("LUMIKU_ENV", "test")
    args = build_parser().parse_args(["payments-duitku", "emulator", "--port", "8999"])
    assert (args.port, args.func.__name__) == (8999, "run_emulator")
    monkeypatch.delenv("DUITKU_API_KEY")
    assert args.func(args) == 2
    assert "set DUITKU_MERCHANT_CODE and DUITKU_API_KEY" in capsys.readouterr().err


def test_the_emulator_on_a_taken_port_says_so_and_claims_nothing(
    monkeypatch: Any, capsys: Any
) -> None:
    from lumiku.cli.main import build_parser

    monkeypatch.setenv("DUITKU_MERCHANT_CODE", "D0001")
    monkeypatch.setenv("DUITKU_API_KEY", KEY)
    monkeypatch.setenv("LUMIKU_ENV", "test")
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        args = build_parser().parse_args(["payments-duitku", "emulator", "--port", str(port)])
        assert args.func(args) == 1
    out = capsys.readouterr()
    assert "✅" not in out.out + out.err
    assert out.err.startswith(f"❌ cannot listen on 127.0.0.1:{port}: ")
