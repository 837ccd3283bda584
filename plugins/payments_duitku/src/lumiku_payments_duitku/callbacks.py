"""Duitku's callback: verify it, record it, confirm it with transactionStatus, settle.

Duitku posts ``application/x-www-form-urlencoded`` fields (``shared/reference/duitku.md``,
"Calls"); the form class below declares them, and fields Duitku may add are ignored. In
order: the source address (when an allow-list is configured), the signature over the raw
strings (constant time), the merchant code; then the event is recorded as received, the
order and its exact amount are checked, and transactionStatus decides: the callback's own
``resultCode`` is never trusted. Answers: 200 once recorded (duplicates and replays
included, changing nothing); 403 for a bad source, signature or merchant; 404 for an order
this server never made; 400/409 for an amount that is not the order's; 503 when Duitku's
status cannot be read, so that Duitku sends the callback again.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
from typing import Any

import attrs

from lumiku import field
from lumiku_payments_duitku.client import DuitkuClient, DuitkuRefused, DuitkuUnavailable
from lumiku_payments_duitku.errors import (
    AmountMismatch,
    CallbackSourceRefused,
    InvalidAmount,
    InvalidSignature,
    PaymentProviderUnavailable,
    UnknownMerchant,
    UnknownOrder,
)
from lumiku_payments_duitku.money import parse_rupiah
from lumiku_payments_duitku.payments import PaymentStore
from lumiku_payments_duitku.settlement import Outcome, Settlement
from lumiku_payments_duitku.signatures import callback_signature, signature_matches

Networks = tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]


@attrs.frozen
class CallbackForm:
    """What Duitku posts when a payment's state changes (urlencoded; amounts are text)."""

    merchant_code: str = field(min_length=1, max_length=64)
    amount: str = field(min_length=1, max_length=32)
    merchant_order_id: str = field(min_length=1, max_length=50)
    result_code: str = field(min_length=1, max_length=8)
    signature: str = field(min_length=1, max_length=128)
    reference: str = field(default="", max_length=255)
    product_detail: str = field(default="", max_length=1000)
    additional_param: str = field(default="", max_length=1000)
    payment_code: str = field(default="", max_length=16)
    merchant_user_id: str = field(default="", max_length=255)
    publisher_order_id: str = field(default="", max_length=255)
    sp_user_hash: str = field(default="", max_length=255)
    settlement_date: str = field(default="", max_length=64)
    issuer_code: str = field(default="", max_length=64)


@attrs.frozen
class CallbackCredentials:
    """The merchant the callbacks must be for, and where they may come from."""

    merchant_code: str
    api_key: str = attrs.field(repr=False)
    allowed_sources: Networks = ()


def _in(address: str, networks: Networks) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


class Callbacks:
    """Receive Duitku's callbacks for one merchant."""

    def __init__(
        self,
        credentials: CallbackCredentials,
        store: PaymentStore,
        client: DuitkuClient,
        settlement: Settlement,
        logger: logging.Logger,
    ) -> None:
        self._credentials = credentials
        self._store = store
        self._client = client
        self._settlement = settlement
        self._logger = logger

    def receive(self, form: CallbackForm, client_ip: str) -> Outcome:
        """Verify, record and settle one callback; raise the error that answers a bad one."""
        self._verify(form, client_ip)
        order = form.merchant_order_id
        fields: dict[str, Any] = attrs.asdict(form)

        def record(outcome: str) -> None:
            self._store.record_event(
                order,
                source="callback",
                outcome=outcome,
                fields=fields,
                result_code=form.result_code,
                client_ip=client_ip,
            )

        payment = self._store.find(order)
        amount = parse_rupiah(form.amount)
        if payment is None:
            record("unknown_order")
            raise UnknownOrder(order)
        if amount is None:
            record("invalid_amount")
            raise InvalidAmount()
        if amount != payment.amount:
            record("amount_mismatch")
            self._logger.error(
                "❌ signed callback for payment %s states %d rupiah, the order is %d",
                order,
                amount,
                payment.amount,
            )
            raise AmountMismatch(order)
        record("received")
        if payment.status in ("paid", "review"):
            return Outcome(order, payment.status)  # a duplicate: already settled
        try:
            answer = self._client.transaction_status(order)
        except DuitkuUnavailable as exc:
            self._logger.warning("⚠️ callback for %s: %s; Duitku will resend", order, exc)
            raise PaymentProviderUnavailable(
                "Duitku's transaction status could not be read; send the callback again.",
                merchant_order_id=order,
            ) from None
        except DuitkuRefused as exc:
            self._logger.error(
                "❌ callback for %s: transactionStatus refused (%s); left as %s",
                order,
                exc.message,
                payment.status,
            )
            return Outcome(order, payment.status)
        outcome = self._settlement.apply(payment, answer)
        self._store.record_event(
            order,
            source="status",
            outcome=outcome.status,
            fields=attrs.asdict(answer),
            result_code=answer.code,
        )
        return outcome

    def _verify(self, form: CallbackForm, client_ip: str) -> None:
        credentials = self._credentials
        if credentials.allowed_sources and not _in(client_ip, credentials.allowed_sources):
            self._logger.warning("⚠️ callback from %s refused: not a Duitku address", client_ip)
            raise CallbackSourceRefused()
        expected = callback_signature(
            form.merchant_code, form.amount, form.merchant_order_id, credentials.api_key
        )
        if not signature_matches(expected, form.signature):
            self._logger.warning(
                "⚠️ callback for %r from %s refused: bad signature",
                form.merchant_order_id,
                client_ip,
            )
            raise InvalidSignature()
        if not hmac.compare_digest(
            form.merchant_code.encode("utf-8"), credentials.merchant_code.encode("utf-8")
        ):
            self._logger.warning("⚠️ callback from %s refused: another merchant", client_ip)
            raise UnknownMerchant()
