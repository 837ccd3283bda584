"""Payments as stored: the record, reads (one, a user's page), and the raw event log.

Every state change of a payment is a conditional ``UPDATE ... WHERE status IN (...)``, so
concurrent deliveries, the poller and a user's request each change a payment at most once
and never move it out of ``paid`` or ``review``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import attrs
import sqlalchemy as sa

from lumiku import Page, PageQuery, fetch_page, newest_first
from lumiku_payments_duitku.errors import PaymentNotFound
from lumiku_payments_duitku.models import payment_events, payments

Clock = Callable[[], datetime]
_EVENT_FIELDS_LENGTH = 16_000


@attrs.frozen
class Payment:
    """One payment of a package: ``amount`` rupiah for ``credits`` credits."""

    merchant_order_id: str
    user_id: str
    package_id: str
    package_name: str
    amount: int
    credits: int
    payment_method: str
    status: str
    reference: str | None
    payment_url: str | None
    va_number: str | None
    qr_string: str | None
    result_code: str | None
    checks: int
    next_check_at: datetime | None
    expires_at: datetime
    paid_at: datetime | None
    created_at: datetime
    updated_at: datetime


def payment_from(row: Mapping[Any, Any]) -> Payment:
    """Build a ``Payment`` from a full ``duitku_payments`` row."""
    values = {field.name: row[field.name] for field in attrs.fields(Payment)}
    for name in ("amount", "credits", "checks"):
        values[name] = int(values[name])
    return Payment(**values)


class PaymentStore:
    """Read payments and append raw events, on ``engine`` with ``clock``'s time."""

    def __init__(self, engine: sa.Engine, clock: Clock) -> None:
        self.engine = engine
        self.clock = clock

    def find(self, merchant_order_id: str) -> Payment | None:
        """Return the payment ``merchant_order_id``, whoever owns it, or ``None``."""
        with self.engine.connect() as connection:
            return self.read(connection, merchant_order_id)

    @staticmethod
    def read(connection: sa.Connection, merchant_order_id: str) -> Payment | None:
        """Return the payment ``merchant_order_id`` as ``connection`` sees it."""
        row = (
            connection.execute(
                sa.select(payments).where(payments.c.merchant_order_id == merchant_order_id)
            )
            .mappings()
            .first()
        )
        return None if row is None else payment_from(row)

    def owned(self, merchant_order_id: str, user_id: str) -> Payment:
        """Return the caller's payment; ``PaymentNotFound`` (404) for anyone else's."""
        payment = self.find(merchant_order_id)
        if payment is None or payment.user_id != user_id:
            raise PaymentNotFound(merchant_order_id)
        return payment

    def page(self, user_id: str, query: PageQuery) -> Page[Payment]:
        """Return a page of the user's payments, newest first."""
        select = sa.select(payments).where(payments.c.user_id == user_id)
        order = newest_first(payments.c.created_at, payments.c.merchant_order_id)
        with self.engine.connect() as connection:
            page = fetch_page(connection, select, query, order)
        return Page([payment_from(row) for row in page.rows], page.next_cursor)

    def record_event(
        self,
        merchant_order_id: str | None,
        *,
        source: str,
        outcome: str,
        fields: Mapping[str, Any],
        result_code: str | None = None,
        client_ip: str | None = None,
    ) -> int:
        """Append one raw event (committed before this returns); return its id.

        ``fields`` is stored as JSON, as received; it never holds the API key (neither a
        callback nor a status answer carries it).
        """
        text = json.dumps(dict(fields), ensure_ascii=False, sort_keys=True, default=str)
        with self.engine.begin() as connection:
            return int(
                connection.execute(
                    sa.insert(payment_events)
                    .values(
                        merchant_order_id=(merchant_order_id or None) and merchant_order_id[:50],
                        source=source,
                        result_code=(result_code or None) and result_code[:8],
                        outcome=outcome[:32],
                        fields=text[:_EVENT_FIELDS_LENGTH],
                        client_ip=(client_ip or None) and client_ip[:64],
                        created_at=self.clock(),
                    )
                    .returning(payment_events.c.id)
                ).scalar_one()
            )

    def events(self, merchant_order_id: str) -> list[dict[str, Any]]:
        """Return the events recorded about ``merchant_order_id``, oldest first."""
        with self.engine.connect() as connection:
            rows = connection.execute(
                sa.select(payment_events)
                .where(payment_events.c.merchant_order_id == merchant_order_id)
                .order_by(payment_events.c.id)
            ).mappings()
            return [dict(row) for row in rows]

    def transition(
        self,
        connection: sa.Connection,
        merchant_order_id: str,
        *,
        from_statuses: tuple[str, ...],
        values: Mapping[str, Any],
    ) -> bool:
        """Change the payment if its status is one of ``from_statuses``; return whether it did."""
        result = connection.execute(
            sa.update(payments)
            .where(
                payments.c.merchant_order_id == merchant_order_id,
                payments.c.status.in_(from_statuses),
            )
            .values(**values, updated_at=self.clock())
        )
        return bool(result.rowcount)

    def change(
        self, merchant_order_id: str, *, from_statuses: tuple[str, ...], **values: Any
    ) -> bool:
        """``transition`` in a transaction of its own."""
        with self.engine.begin() as connection:
            return self.transition(
                connection, merchant_order_id, from_statuses=from_statuses, values=values
            )
