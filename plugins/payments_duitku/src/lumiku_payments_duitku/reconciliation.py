"""The plugin's reconciliation check, run with ``lumiku credits reconcile``.

Every paid payment has exactly one purchase entry, of its credits, on its owner's account;
no purchase entry of a Duitku payment exists without the payment being paid; and a
payment in ``review`` (Duitku reported another amount, or the credits would pass the
balance ceiling) is reported until an operator settles it. Marking paid and crediting
happen in one transaction, so each statement below (one per direction, one snapshot each)
finds nothing unless something went around this plugin. A second entry for one payment is
impossible (the ledger's unique index); the ledger's own ``duplicate_purchase`` check would
report a database that lost it.
"""

from __future__ import annotations

import sqlalchemy as sa

from lumiku import Discrepancy, ReconciliationCheck, plural, purchase_entries
from lumiku_payments_duitku.models import payments
from lumiku_payments_duitku.settlement import PURCHASE_REFERENCE


def check_purchases(connection: sa.Connection) -> list[Discrepancy]:
    """Return the payments and purchase entries that disagree."""
    entries = purchase_entries(PURCHASE_REFERENCE)
    matched = entries.c.reference_id == payments.c.merchant_order_id
    order, paid = payments.c.merchant_order_id, payments.c.status == "paid"
    found: list[Discrepancy] = []
    uncredited = (
        sa.select(payments.c.user_id, order, payments.c.credits)
        .select_from(payments.outerjoin(entries, matched))
        .where(paid, entries.c.reference_id.is_(None))
        .order_by(order)
    )
    for row in connection.execute(uncredited):
        found.append(
            Discrepancy(
                row.user_id,
                "paid_without_purchase",
                int(row.credits),
                0,
                f"payment {row.merchant_order_id} is paid but no purchase entry credits it",
            )
        )
    wrong = (
        sa.select(
            payments.c.user_id,
            order,
            payments.c.credits,
            entries.c.amount,
            entries.c.user_id.label("credited_user"),
        )
        .select_from(payments.join(entries, matched))
        .where(
            paid,
            sa.or_(entries.c.amount != payments.c.credits, entries.c.user_id != payments.c.user_id),
        )
        .order_by(order)
    )
    for pair in connection.execute(wrong):
        found.append(
            Discrepancy(
                pair.user_id,
                "purchase_differs",
                int(pair.credits),
                int(pair.amount) if pair.credited_user == pair.user_id else 0,
                f"payment {pair.merchant_order_id} of {plural(int(pair.credits), 'credit')} is "
                f"credited {plural(int(pair.amount), 'credit')} to user {pair.credited_user}",
            )
        )
    orphans = (
        sa.select(entries.c.user_id, entries.c.reference_id, entries.c.amount, payments.c.status)
        .select_from(entries.outerjoin(payments, matched))
        .where(sa.or_(payments.c.merchant_order_id.is_(None), payments.c.status != "paid"))
        .order_by(entries.c.reference_id)
    )
    for orphan in connection.execute(orphans):
        state = "does not exist" if orphan.status is None else f"is {orphan.status}"
        found.append(
            Discrepancy(
                orphan.user_id,
                "purchase_without_payment",
                0,
                int(orphan.amount),
                f"a purchase entry credits payment {orphan.reference_id}, which {state}",
            )
        )
    in_review = sa.select(payments.c.user_id, order, payments.c.credits).where(
        payments.c.status == "review"
    )
    for held in connection.execute(in_review.order_by(order)):
        found.append(
            Discrepancy(
                held.user_id,
                "payment_in_review",
                int(held.credits),
                0,
                f"payment {held.merchant_order_id} is in review: Duitku reported it paid with "
                "another amount, or its credits would pass the account's balance ceiling (see "
                "its events); nothing was credited: check it in the Duitku dashboard and "
                "settle it with `lumiku credits adjust`",
            )
        )
    return found


def reconciliation_checks() -> dict[str, ReconciliationCheck]:
    """Return the plugin's checks by name (``payments_duitku.purchases``)."""
    return {"purchases": check_purchases}
