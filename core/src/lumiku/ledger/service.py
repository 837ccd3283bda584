"""The credit ledger service: every change of a user's credits goes through ``Ledger``.

Money model. An account has a ``balance`` and a ``held`` part reserved for queued work;
``available = balance - held``. Every change of the balance is one append-only entry, so
the balance always equals the sum of the account's entries. Accounts are created by the
first credit (a grant); spending from an account that does not exist yet is refused as
``InsufficientCredits`` with ``available=0``.

Idempotency. Every operation that writes takes an idempotency key (``ledger:`` keys are
the ledger's own). Keys are unique across all accounts, one space for entries
(spend/grant/adjust/correct) and one for holds: build them so that they cannot collide,
e.g. ``f"avatar_creator:upload:{user_id}:{header}"``. A repeated key with the same
parameters is a retry, also when it runs concurrently with the first call: it writes
nothing and returns the recorded result (a spend returns its entry as first written, a
hold returns the hold as it is now). The same key with any different parameter raises
``IdempotencyKeyReused`` (409). A retry is recognised even when the account could no
longer afford the operation. ``find_entry(key)`` reads the entry recorded under a key
without writing anything.

Holds resolve exactly once. ``capture``, ``release`` and the sweeper (``expire_holds``)
each change the status with ``UPDATE ... WHERE status = 'held'``; the first one wins and
the others are answered from what was recorded:

=================  ===================  ===================  =========================
call               hold is captured     hold is released     hold is expired
=================  ===================  ===================  =========================
capture(n)         same n: recorded     HoldAlreadyResolved  HoldAlreadyResolved
                   result; other n:     (409, nothing        (409, nothing charged)
                   HoldAlreadyResolved  charged)
release()          HoldAlreadyResolved  the hold (no-op)     the hold (no-op): expiry
                   (409; refund with                         already gave the credits
                   an adjustment)                            back
expire_holds()     skipped              skipped              skipped (counted once)
=================  ===================  ===================  =========================

A hold past ``expires_at`` that the sweeper has not reached yet can still be captured or
released: the sweeper decides expiry, so a capture racing it has exactly one winner.
``capture(hold_id, 0)`` resolves the hold as captured for nothing and writes no entry;
a capture of ``n`` writes one ``capture`` entry of ``-n`` and releases the rest.

Reconciliation. ``reconcile`` stores and returns findings (balance vs entries, held vs
open holds, overdue holds, payments credited twice, and what the checks plugins contribute
report). A balance changed behind the ledger's
back is corrected only by an entry: ``correct`` posts an ``adjustment`` of exactly the
drift so that the entries explain the balance again; to take the drifted credits back as
well, follow it with a negative ``adjust``.

Errors: ``lumiku.errors.InsufficientCredits`` (402) and the classes in
``lumiku.ledger.errors``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, TypeVar, cast

import sqlalchemy as sa

from lumiku.clock import Clock, require_aware, utc_now
from lumiku.errors import InsufficientCredits, LumikuError, NotFound
from lumiku.ledger.errors import EntryNotFound, HoldNotFound, InvalidLedgerRequest
from lumiku.ledger.history import read_findings, read_page
from lumiku.ledger.holds import Holds
from lumiku.ledger.movements import Movements
from lumiku.ledger.reconciliation import Reconciliation, ReconciliationCheck
from lumiku.ledger.records import (
    Balance,
    Capture,
    Entry,
    Finding,
    FindingPage,
    GrantKind,
    HistoryPage,
    Hold,
    Reference,
)
from lumiku.ledger.requests import EntryRequest, HoldRequest, refund_key, refund_reason
from lumiku.ledger.rows import find_entry, find_hold, finding_from, read_balance
from lumiku.ledger.settlement import Settlement
from lumiku.ledger.store import Store
from lumiku.ledger.tables import reconciliation_findings
from lumiku.ledger.validation import (
    check_amount,
    check_duration,
    check_key,
    check_label,
    check_reason,
    check_reference,
)

_GRANT_KINDS = ("grant", "welcome", "purchase")


def _user(user_id: object) -> str:
    return check_label("user_id", user_id, 36)


def _plugin(plugin: object) -> str | None:
    return None if plugin is None else check_label("plugin", plugin, 64)


def _reference(reference: object) -> Reference | None:
    return None if reference is None else check_reference(reference)


ChangeListener = Callable[[str], None]
"""Called with a user id after an operation changed (or replayed a change of) that user's
credits, once the change is committed (in a caller's transaction: when its connection is
back in the pool); it must be quick and never raise (it runs on the caller's thread, or in
the pool's check-in): hand the work to another thread."""
Observer = Callable[[str, str, int], None]
"""Called with ``(operation, outcome, count)`` after each mutating operation (for metrics):
``count`` is 1, except for ``expire``, where it is the number of holds expired."""
F = TypeVar("F", bound=Callable[..., Any])


def _observed(operation: str) -> Callable[[F], F]:
    """Report the outcome of ``operation`` (ok, insufficient, conflict, error) to the observer."""

    def decorate(method: F) -> F:
        @functools.wraps(method)
        def wrapper(self: Ledger, *args: Any, **kwargs: Any) -> Any:
            try:
                result = method(self, *args, **kwargs)
            except InsufficientCredits:
                self._observe(operation, "insufficient")
                raise
            except LumikuError:
                self._observe(operation, "rejected")
                raise
            except Exception:
                self._observe(operation, "error")
                raise
            self._observe(operation, "ok")
            self._announce(result, kwargs.get("connection"))
            return result

        return cast(F, wrapper)

    return decorate


class Ledger:
    """Credits of every user: spend, hold and settle, grant, adjust, read and reconcile."""

    def __init__(
        self,
        engine: sa.Engine,
        clock: Clock | None = None,
        *,
        observer: Observer | None = None,
        on_change: ChangeListener | None = None,
    ) -> None:
        self._observer = observer
        self._on_change = on_change
        self._committed_key = f"lumiku.ledger.changed:{id(self)}"
        if on_change is not None:
            # SQLAlchemy's "commit" event comes before the commit itself: the users of a
            # caller's transaction are told when its connection goes back to the pool,
            # after the commit, so whoever they tell reads what was committed.
            sa.event.listen(engine, "checkin", self._announce_committed)
        self._store = Store.build(engine, clock or utc_now)
        self._movements = Movements(self._store)
        self._holds = Holds(self._store)
        self._settlement = Settlement(self._store)
        self._reconciliation = Reconciliation(self._store)

    def _observe(self, operation: str, outcome: str, count: int = 1) -> None:
        if self._observer is not None:
            self._observer(operation, outcome, count)

    def _announce(self, result: object, connection: object) -> None:
        """Tell the change listener whose credits ``result`` changed: now, or when the
        caller's ``connection`` commits (never for a transaction rolled back)."""
        listener = self._on_change
        if listener is None:
            return
        record = result.hold if isinstance(result, Capture) else result
        user_id = getattr(record, "user_id", None) if isinstance(record, Entry | Hold) else None
        if not user_id:
            return  # expiry sweeps and reads name no single account
        if isinstance(connection, sa.Connection) and connection.in_transaction():
            committed: set[str] = connection.info.setdefault(self._committed_key, set())

            def on_commit(_connection: sa.Connection) -> None:
                committed.add(user_id)

            sa.event.listen(connection, "commit", on_commit, once=True)
        else:
            listener(user_id)

    def _announce_committed(self, _dbapi_connection: object, record: Any) -> None:
        """Tell the listener the users whose changes the returned connection committed."""
        committed = record.info.pop(self._committed_key, None) if record is not None else None
        if committed and self._on_change is not None:
            for user_id in sorted(committed):
                self._on_change(user_id)

    @_observed("spend")
    def spend(
        self,
        user_id: str,
        amount: int,
        reason: str,
        key: str,
        *,
        plugin: str | None = None,
        reference: Reference | None = None,
    ) -> Entry:
        """Take ``amount`` available credits at once and return the ``spend`` entry.

        Raise ``InsufficientCredits`` when fewer are available (holds count as spent).
        """
        request = EntryRequest(
            user_id=_user(user_id),
            amount=-check_amount(amount),
            kind="spend",
            reason=check_reason(reason),
            key=check_key(key),
            plugin=_plugin(plugin),
            reference=_reference(reference),
        )
        return self._movements.debit(request)

    @_observed("grant")
    def grant(
        self,
        user_id: str,
        amount: int,
        reason: str,
        key: str,
        *,
        kind: GrantKind = "grant",
        reference: Reference | None = None,
        plugin: str | None = None,
        connection: sa.Connection | None = None,
    ) -> Entry:
        """Add ``amount`` credits (a grant, welcome or purchase) and return the entry.

        The account is created on its first credit. A purchase names the payment it
        credits as ``reference`` (``InvalidLedgerRequest`` without one), and a payment is
        credited once: the database holds one purchase entry per reference. Granting it
        again under the same ``key`` returns the recorded entry; under another key it
        raises ``PurchaseAlreadyCredited`` (409) and changes nothing.

        With ``connection`` (in a transaction on the ledger's database, e.g. from
        ``engine.begin()``), the entry is written in the caller's transaction, inside a
        savepoint: it commits or rolls back with the caller's own writes, so marking a
        payment paid and crediting it happen together or not at all. A refused grant
        leaves that transaction usable.
        """
        if kind not in _GRANT_KINDS:
            raise InvalidLedgerRequest("kind", f"kind must be one of {', '.join(_GRANT_KINDS)}")
        if kind == "purchase" and reference is None:
            raise InvalidLedgerRequest(
                "reference",
                "a purchase names the payment it credits: pass reference=Reference(type, id)",
            )
        request = EntryRequest(
            user_id=_user(user_id),
            amount=check_amount(amount),
            kind=kind,
            reason=check_reason(reason),
            key=check_key(key),
            plugin=_plugin(plugin),
            reference=_reference(reference),
        )
        if connection is not None:
            return self._movements.credit_within(connection, request)
        return self._movements.credit(request)

    @_observed("adjust")
    def adjust(self, user_id: str, amount: int, reason: str, key: str) -> Entry:
        """Move the balance by the signed ``amount`` and record an ``adjustment`` entry.

        A negative adjustment cannot take more than the available credits
        (``InsufficientCredits``): the balance never drops below what is held.
        """
        request = EntryRequest(
            user_id=_user(user_id),
            amount=check_amount(amount, signed=True),
            kind="adjustment",
            reason=check_reason(reason),
            key=check_key(key),
        )
        if request.amount > 0:
            return self._movements.credit(request)
        return self._movements.debit(request)

    @_observed("refund")
    def refund(self, spend_key: str) -> Entry:
        """Give back the credits of the spend recorded under ``spend_key``; return the entry.

        The amount, account, plugin and reference are the spend's own, read from its entry,
        so a refund can never be of the wrong amount; the refund is keyed on the spend, so
        it happens at most once however often it is called (a retry returns the recorded
        refund). Raise ``EntryNotFound`` when no spend is recorded under the key.
        """
        spend = self.find_entry(spend_key)
        if spend is None or spend.kind != "spend":
            raise EntryNotFound(spend_key, "spend")
        request = EntryRequest(
            user_id=spend.user_id,
            amount=-spend.amount,
            kind="refund",
            reason=refund_reason(spend.reason),
            key=refund_key(spend_key),
            plugin=spend.plugin,
            reference=spend.reference,
        )
        return self._movements.credit(request)

    @_observed("hold")
    def hold(
        self,
        user_id: str,
        amount: int,
        reference: Reference,
        key: str,
        expires_in: timedelta,
        *,
        plugin: str | None = None,
    ) -> Hold:
        """Reserve ``amount`` available credits for the work ``reference`` names.

        The hold lasts until captured, released, or swept by ``expire_holds`` after
        ``expires_in``. Raise ``InsufficientCredits`` when fewer are available.
        """
        request = HoldRequest(
            user_id=_user(user_id),
            amount=check_amount(amount),
            reference=check_reference(reference),
            key=check_key(key),
            expires_in=check_duration(expires_in),
            plugin=_plugin(plugin),
        )
        return self._holds.place(request)

    @_observed("capture")
    def capture(
        self,
        hold_id: str,
        amount: int | None = None,
        *,
        reason: str | None = None,
        connection: sa.Connection | None = None,
    ) -> Capture:
        """Charge ``amount`` credits of an open hold (all when ``None``), release the rest.

        ``reason`` is the history line of the entry ("Avatar generation 'Ana'"); by default
        it names the work the hold was for ("Avatar generation"). Retrying with the same
        amount returns the recorded capture; see the module docstring for every other
        outcome. With ``connection`` (in a transaction on the ledger's database) the capture
        is written in the caller's transaction, inside a savepoint: a job's final status and
        its charge commit together. A refused capture leaves that transaction usable.
        """
        if amount is not None:
            check_amount(amount, allow_zero=True)
        checked = None if reason is None else check_reason(reason)
        return self._settlement.capture(
            check_label("hold_id", hold_id, 36), amount, checked, connection=connection
        )

    @_observed("release")
    def release(self, hold_id: str, *, connection: sa.Connection | None = None) -> Hold:
        """Give an open hold's credits back; a released or expired hold is returned as is.

        ``connection``: as for ``capture``.
        """
        return self._settlement.release(check_label("hold_id", hold_id, 36), connection=connection)

    def expire_holds(self, now: datetime | None = None) -> int:
        """Expire every open hold whose expiry is at or before ``now``; return how many.

        This is the sweeper's body: run it periodically. Each hold expires once, even with
        several sweepers running. The observer counts each hold expired (``expire``,
        ``ok``), not the run; a run that fails counts one ``error``.
        """
        try:
            expired = self._settlement.expire(
                self._store.now() if now is None else require_aware(now)
            )
        except LumikuError:
            self._observe("expire", "rejected")
            raise
        except Exception:
            self._observe("expire", "error")
            raise
        self._observe("expire", "ok", expired)
        return expired

    def get_hold(self, hold_id: str, *, connection: sa.Connection | None = None) -> Hold:
        """Return the hold with ``hold_id`` as it is now; raise ``HoldNotFound`` if none.

        With ``connection`` (on the ledger's database) it is read there, in the caller's
        transaction: no connection of its own, no extra round trips.
        """
        checked = check_label("hold_id", hold_id, 36)
        if connection is not None:
            hold = find_hold(connection, checked)
        else:
            with self._store.statements() as own:
                hold = find_hold(own, checked)
        if hold is None:
            raise HoldNotFound(hold_id)
        return hold

    def find_entry(self, key: str) -> Entry | None:
        """Return the entry recorded under idempotency ``key``, or ``None`` when there is none.

        Read-only: it writes nothing and reports no metric. It lets a caller learn whether
        an operation it keyed has happened before it keys the next one; for instance a
        plugin that refunds a failed spend with a grant under a key derived from the
        spend's can tell, on a retry, that the spend was refunded and must be charged again
        under a new key (a repeated ``spend`` would only return the refunded entry).
        """
        with self._store.statements() as connection:
            return find_entry(connection, check_key(key))

    def balance(self, user_id: str) -> Balance:
        """Return the user's balance, held and available credits (zeros before any credit)."""
        with self._store.reads() as connection:
            return read_balance(connection, _user(user_id))

    def history(self, user_id: str, cursor: str | None = None, limit: int = 20) -> HistoryPage:
        """Return a page of the user's entries, newest first; pass ``next_cursor`` for more."""
        with self._store.reads() as connection:
            return read_page(connection, _user(user_id), cursor, limit)

    def reconcile(
        self,
        *,
        expiry_grace: timedelta = timedelta(0),
        checks: Mapping[str, ReconciliationCheck] | None = None,
    ) -> list[Finding]:
        """Check every account against its entries and holds; store and return findings.

        A hold counts as overdue once it is ``expiry_grace`` past its expiry, which leaves
        the sweeper time to run. ``checks`` (name -> check, e.g. the plugins' from
        ``register_reconciliation_checks``) run after the ledger's own; what they report
        is stored with the check's name as ``source``, and a check that raises is reported
        as a ``check_failed`` finding while the others run.
        """
        return self._reconciliation.run(self._store.now() - expiry_grace, checks)

    def findings(self, cursor: str | None = None, limit: int = 20) -> FindingPage:
        """Return a page of the stored reconciliation findings, newest first."""
        with self._store.statements() as connection:
            return read_findings(connection, cursor, limit)

    def get_finding(self, finding_id: int) -> Finding:
        """Return a stored reconciliation finding; raise ``NotFound`` when there is none."""
        with self._store.statements() as connection:
            row = (
                connection.execute(
                    sa.select(reconciliation_findings).where(
                        reconciliation_findings.c.id == finding_id
                    )
                )
                .mappings()
                .one_or_none()
            )
        if row is None:
            raise NotFound(
                f"No reconciliation finding {finding_id}; run `lumiku credits reconcile`."
            )
        return finding_from(row)

    def correct(self, finding: Finding, key: str) -> Entry:
        """Post an ``adjustment`` entry that makes the entries explain a drifted balance.

        The entry's amount is ``finding.difference`` and the balance does not move: the
        balance is what the user has seen and spent from. To take drifted credits back
        as well, follow with ``adjust(user_id, -finding.difference, ...)``. Raise
        ``DriftChanged`` when the account no longer differs by that amount (already
        corrected under another key, or changed since), and ``UncorrectableFinding`` for
        findings other than ``balance_mismatch``. Retrying with the same key returns the
        recorded entry.
        """
        return self._reconciliation.correct(finding, check_key(key))
