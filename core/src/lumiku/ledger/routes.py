"""``/api/credits`` (balance, history), ``/api/admin/credits/grant`` and
``/api/admin/credits/findings`` (the stored reconciliation findings)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Protocol

import attrs
from starlette.routing import BaseRoute

from lumiku.http.declare import get, post
from lumiku.http.endpoint import Call
from lumiku.http.fields import field
from lumiku.ledger.reasons import readable_reason
from lumiku.ledger.records import Entry, Finding
from lumiku.pages import PageQuery

if TYPE_CHECKING:
    from lumiku.ledger.hot_reads import LedgerReads
    from lumiku.ledger.service import Ledger


@attrs.frozen
class BalanceView:
    """The caller's credits: ``available`` = ``balance`` - ``held`` (reserved for pending jobs)."""

    balance: int
    held: int
    available: int


@attrs.frozen
class EntryView:
    """One line of the history; ``amount`` is signed."""

    id: int
    amount: int
    kind: str
    balance_after: int
    reason: str
    plugin: str | None
    reference_type: str | None
    reference_id: str | None
    created_at: dt.datetime


@attrs.frozen
class HistoryView:
    """Entries newest first; pass ``nextCursor`` as ``cursor`` for older ones."""

    entries: list[EntryView]
    next_cursor: str | None


@attrs.frozen
class GrantBody:
    """Credits an admin gives a user."""

    user_id: str = field(min_length=1, max_length=36)
    amount: int = field(ge=1, le=1_000_000)
    reason: str = field(min_length=1, max_length=200)


@attrs.frozen
class GrantView:
    """The entry written and the user's new balance."""

    entry: EntryView
    balance: BalanceView


@attrs.frozen
class FindingView:
    """One inconsistency a reconciliation run found; ``difference`` = ``actual`` - ``expected``.

    ``source`` is ``ledger`` for the ledger's checks (``kind``: ``balance_mismatch``,
    ``held_mismatch``, ``overdue_hold``, ...) or ``<plugin id>.<check>`` for a plugin's.
    ``userId`` is empty for a check that failed as a whole (``check_failed``).
    """

    id: int
    run_id: str
    source: str
    kind: str
    user_id: str
    expected: int
    actual: int
    difference: int
    detail: str
    created_at: dt.datetime


@attrs.frozen
class FindingPageView:
    """Findings newest first; pass ``nextCursor`` as ``cursor`` for older ones."""

    findings: list[FindingView]
    next_cursor: str | None


def finding_view(finding: Finding) -> FindingView:
    """Return the wire form of a finding."""
    return FindingView(
        finding.id,
        finding.run_id,
        finding.source,
        finding.kind,
        finding.user_id,
        finding.expected,
        finding.actual,
        finding.difference,
        finding.detail,
        finding.created_at,
    )


def entry_view(entry: Entry) -> EntryView:
    """Return the wire form of an entry."""
    reference = entry.reference
    return EntryView(
        entry.id,
        entry.amount,
        entry.kind,
        entry.balance_after,
        readable_reason(entry),
        entry.plugin,
        reference.type if reference else None,
        reference.id if reference else None,
        entry.created_at,
    )


class KnownUsers(Protocol):
    """Finds an account or raises ``NotFound`` (the auth service does)."""

    def get_profile(self, user_id: str) -> object:
        """Return the account of ``user_id``."""
        ...


def credit_routes(
    ledger: Ledger, users: KnownUsers, reads: LedgerReads | None = None
) -> list[BaseRoute]:
    """Return the credit routes; ``users`` tells whether a grant's recipient exists.

    The balance and the history are read from the event loop (``reads``; by default
    through ``ledger`` in a worker thread).
    """
    if reads is None:
        from lumiku.ledger.hot_reads import LedgerReads

        reads = LedgerReads(ledger, None)
    hot = reads

    async def balance(call: Call[None, None]) -> BalanceView:
        """Return the caller's balance, held and available credits."""
        b = await hot.balance(call.user_id)
        return BalanceView(b.balance, b.held, b.available)

    async def history(call: Call[None, PageQuery]) -> HistoryView:
        """Return the caller's credit history, newest first, paginated."""
        page = await hot.history(call.user_id, call.query.cursor, call.query.limit)
        return HistoryView([entry_view(e) for e in page.entries], page.next_cursor)

    def grant(call: Call[GrantBody, None]) -> GrantView:
        """Give credits to a user (admin). Send an Idempotency-Key to make retries safe."""
        users.get_profile(call.body.user_id)  # 404 for an unknown user
        # Keyed on the request alone, not its attempt: a grant is never undone, so every
        # retry of one Idempotency-Key replays the same entry.
        entry = ledger.grant(
            call.body.user_id,
            call.body.amount,
            call.body.reason,
            f"admin-grant:{call.request_key.token}",
        )
        b = ledger.balance(call.body.user_id)
        return GrantView(entry_view(entry), BalanceView(b.balance, b.held, b.available))

    def findings(call: Call[None, PageQuery]) -> FindingPageView:
        """List the stored reconciliation findings, newest first (admin)."""
        page = ledger.findings(call.query.cursor, call.query.limit)
        return FindingPageView([finding_view(f) for f in page.findings], page.next_cursor)

    tags = ("credits",)
    return [
        get("/api/credits/balance", balance, auth="user", response=BalanceView, tags=tags),
        get(
            "/api/credits/history",
            history,
            operation_id="listHistory",
            auth="user",
            query=PageQuery,
            response=HistoryView,
            tags=tags,
        ),
        post(
            "/api/admin/credits/grant",
            grant,
            operation_id="grantCredits",
            auth="admin",
            body=GrantBody,
            response=GrantView,
            status=201,
            idempotent=True,
            tags=("admin", *tags),
            errors=(404,),  # no such user
        ),
        get(
            "/api/admin/credits/findings",
            findings,
            operation_id="listReconciliationFindings",
            auth="admin",
            query=PageQuery,
            response=FindingPageView,
            tags=("admin", *tags),
        ),
    ]
