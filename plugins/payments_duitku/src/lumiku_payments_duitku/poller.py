"""The poller: ask Duitku about open payments (``created``, ``pending``, ``unknown``).

It is the safety net under the callback: a callback lost, refused or never sent, and an
inquiry that timed out while Duitku created the order, are resolved here through the same
``Settlement``. It runs as the schedule ``payments_duitku.poll`` on every web node; each
run claims due payments with a conditional update of ``next_check_at`` (a payment two runs
both see is asked about by one), and applying an answer twice changes nothing anyway.

A payment is asked about every ``poll_every``, backing off (x2 per check, at most
``MAX_INTERVAL``) and keeps being asked until a day after it expired (a late ``00`` still
credits); then, unpaid, it is ``expired``.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import attrs
import sqlalchemy as sa

from lumiku_payments_duitku.client import DuitkuClient, DuitkuRefused, DuitkuUnavailable
from lumiku_payments_duitku.models import OPEN_STATUSES, payments
from lumiku_payments_duitku.payments import Payment, PaymentStore, payment_from
from lumiku_payments_duitku.settlement import Settlement

LATE_WINDOW = timedelta(days=1)
"""How long after its expiry an unpaid payment is still asked about."""
MAX_INTERVAL = timedelta(minutes=30)
BATCH = 50


@attrs.define
class PollReport:
    """What one run did: payments asked about, and how they ended (``errors``: payments
    whose handling raised, logged; the run went on with the others)."""

    checked: int = 0
    paid: int = 0
    closed: int = 0
    unanswered: int = 0
    errors: int = 0


class Poller:
    """Resolve open payments through transactionStatus."""

    def __init__(
        self,
        store: PaymentStore,
        client: DuitkuClient,
        settlement: Settlement,
        poll_every: timedelta,
        logger: logging.Logger,
    ) -> None:
        self._store = store
        self._client = client
        self._settlement = settlement
        self._poll_every = poll_every
        self._logger = logger

    def interval(self, checks: int) -> timedelta:
        """Return the wait before the next check of a payment checked ``checks`` times."""
        wait: timedelta = self._poll_every * 2 ** min(checks, 10)
        return min(wait, MAX_INTERVAL)

    def run(self) -> PollReport:
        """Ask about every due payment (at most ``BATCH``); return what happened."""
        report = PollReport()
        for payment in self._claim(self._store.clock()):
            report.checked += 1
            try:
                self._resolve(payment, report)
            except Exception:  # one payment's fault must not strand the rest of the batch
                report.errors += 1
                self._logger.exception(
                    "❌ poll of payment %s failed; it is asked about again at its next check",
                    payment.merchant_order_id,
                )
        if report.checked:
            self._logger.info("payments polled: %s", attrs.asdict(report))
        return report

    def _claim(self, now: datetime) -> list[Payment]:
        """Return the due payments this run took, each pushed to its next check."""
        due = (
            sa.select(payments.c.merchant_order_id, payments.c.checks)
            .where(payments.c.status.in_(OPEN_STATUSES), payments.c.next_check_at <= now)
            .order_by(payments.c.next_check_at)
            .limit(BATCH)
        )
        claimed: list[Payment] = []
        with self._store.engine.begin() as connection:
            for order, checks in connection.execute(due).all():
                taken = connection.execute(
                    sa.update(payments)
                    .where(
                        payments.c.merchant_order_id == order,
                        payments.c.status.in_(OPEN_STATUSES),
                        payments.c.next_check_at <= now,  # another run took it meanwhile
                    )
                    .values(
                        checks=payments.c.checks + 1,
                        next_check_at=now + self.interval(int(checks)),
                        updated_at=now,
                    )
                    .returning(*payments.c)
                ).mappings()
                claimed.extend(payment_from(row) for row in taken)
        return claimed

    def _resolve(self, payment: Payment, report: PollReport) -> None:
        order = payment.merchant_order_id
        try:
            answer = self._client.transaction_status(order)
        except (DuitkuUnavailable, DuitkuRefused) as exc:
            report.unanswered += 1
            self._logger.warning("⚠️ poll of payment %s: %s", order, exc)
            self._give_up_if_late(payment, report)
            return
        outcome = self._settlement.apply(payment, answer)
        self._store.record_event(
            order,
            source="poll",
            outcome=outcome.status,
            fields=attrs.asdict(answer),
            result_code=answer.code,
        )
        if outcome.credited:
            report.paid += 1
        elif outcome.status not in OPEN_STATUSES:
            report.closed += 1
        else:
            self._give_up_if_late(payment, report)

    def _give_up_if_late(self, payment: Payment, report: PollReport) -> None:
        if self._store.clock() < payment.expires_at + LATE_WINDOW:
            return
        if self._store.change(
            payment.merchant_order_id,
            from_statuses=OPEN_STATUSES,
            status="expired",
            next_check_at=None,
        ):
            report.closed += 1
            self._logger.info("payment %s expired unpaid", payment.merchant_order_id)
