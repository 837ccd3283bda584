"""History lines people read: a capture says what the work was, never a hold id; a
correction says what happened, never a run id; lines written before read the same; the
402 says what the user tried; counts of one are singular."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from lumiku.charges import Charges
from lumiku.errors import InsufficientCredits
from lumiku.idempotency import RequestKey
from lumiku.ledger import InvalidLedgerRequest, Ledger, Reference
from lumiku.ledger.reasons import correction_reason, readable_reason, work_name
from lumiku.ledger.records import Entry
from lumiku.ledger.routes import entry_view
from lumiku.ledger.tables import credit_accounts
from lumiku.wording import plural

JOB = Reference("avatar_generation", "g1")
TEN_MINUTES = timedelta(minutes=10)


def test_a_capture_names_its_work_or_the_line_its_caller_gives(
    ledger: Ledger, funded: str, key: Callable[[str], str]
) -> None:
    first = ledger.hold(funded, 10, JOB, key("hold:1"), TEN_MINUTES)
    entry = ledger.capture(first.id).entry
    assert entry is not None
    assert entry.reason == "Avatar generation"
    assert first.id not in entry.reason

    second = ledger.hold(funded, 10, JOB, key("hold:2"), TEN_MINUTES)
    told = ledger.capture(second.id, 4, reason="Avatar generation 'Ana'").entry
    assert told is not None
    assert told.reason == "Avatar generation 'Ana'"
    # A retry replays the recorded capture.
    assert ledger.capture(second.id, 4, reason="Avatar generation 'Ana'").entry == told

    third = ledger.hold(funded, 10, JOB, key("hold:3"), TEN_MINUTES)
    with pytest.raises(InvalidLedgerRequest):
        ledger.capture(third.id, reason=" ")
    with pytest.raises(InvalidLedgerRequest):
        ledger.capture(third.id, reason="x" * 501)
    assert ledger.get_hold(third.id).is_open  # refused before anything changed


def test_a_correction_says_what_happened(
    ledger: Ledger, funded: str, ledger_engine: sa.Engine
) -> None:
    with ledger_engine.begin() as connection:
        connection.execute(
            sa.update(credit_accounts)
            .where(credit_accounts.c.user_id == funded)
            .values(balance=credit_accounts.c.balance + 1)
        )
    (finding,) = ledger.reconcile()
    entry = ledger.correct(finding, "reconcile:fix-1")
    assert entry.reason == "Balance correction: +1 credit found by an account check"
    assert finding.run_id not in entry.reason


def _entry(kind: str, reason: str, reference: Reference | None = JOB) -> Entry:
    return Entry(
        id=1,
        user_id="u",
        amount=-5 if kind == "capture" else 7,
        kind=kind,  # type: ignore[arg-type]
        balance_after=10,
        reason=reason,
        idempotency_key="k",
        created_at=datetime.now(UTC),
        reference=reference,
    )


@pytest.mark.parametrize(
    ("kind", "stored", "reference", "shown"),
    [
        (
            "capture",
            "capture of hold 3f2a0c1e-9d1b-4c55-a0a3-0e5b1c2d3e4f",
            JOB,
            "Avatar generation",
        ),
        (
            "capture",
            "capture of hold 3f2a0c1e",
            Reference("pose-generation", "p"),
            "Pose generation",
        ),
        ("capture", "capture of hold 3f2a0c1e", None, "Charged work"),
        (
            "adjustment",
            "reconciliation run 5b0c: the balance differed from the entries by -40 credits",
            None,
            "Balance correction: -40 credits found by an account check",
        ),
        ("capture", "Avatar generation 'Ana'", JOB, "Avatar generation 'Ana'"),
        ("spend", "capture of hold 3f2a0c1e", JOB, "Capture of hold 3f2a0c1e"),  # not ours
        ("grant", "granted by an operator", None, "Granted by an operator"),
        ("welcome", "welcome credits", None, "Welcome credits"),
        # An operator's own text is shown as written, never recased.
        ("grant", "idem test", None, "idem test"),
        ("grant", "eBay refund", None, "eBay refund"),
        ("adjustment", "manual fix, ticket 12", None, "manual fix, ticket 12"),
    ],
)
def test_lines_written_before_read_as_new_ones(
    kind: str, stored: str, reference: Reference | None, shown: str
) -> None:
    entry = _entry(kind, stored, reference)
    assert readable_reason(entry) == shown
    assert entry_view(entry).reason == shown  # what GET /api/credits/history shows


def test_work_names_and_corrections_read_as_words() -> None:
    assert work_name(Reference("avatar_generation", "1")) == "Avatar generation"
    assert work_name(Reference("_", "1")) == "Charged work"
    assert correction_reason(2) == "Balance correction: +2 credits found by an account check"
    assert correction_reason(-1) == "Balance correction: -1 credit found by an account check"


@pytest.mark.parametrize(
    ("count", "text"),
    [(0, "0 credits"), (1, "1 credit"), (2, "2 credits"), (-1, "-1 credit"), (-3, "-3 credits")],
)
def test_plural(count: int, text: str) -> None:
    assert plural(count, "credit") == text


def test_plural_with_its_own_form_and_sign() -> None:
    assert plural(2, "entry", "entries") == "2 entries"
    assert plural(1, "entry", "entries") == "1 entry"
    assert plural(1, "credit", signed=True) == "+1 credit"
    assert plural(0, "credit", signed=True) == "+0 credits"


def test_the_402_says_what_the_user_tried(
    ledger: Ledger, funded: str, key: Callable[[str], str]
) -> None:
    charges = Charges(ledger, "lkt", {"generateAvatar": 150, "upload": 500})
    request = RequestKey.fresh(funded)
    with (
        pytest.raises(InsufficientCredits) as raised,
        charges.spend(
            request,
            "upload",
            reason="Avatar upload 'Ana'",
            reference=JOB,
            purpose="upload an avatar",
        ),
    ):
        pass
    assert (
        raised.value.message == "Not enough credits to upload an avatar: 500 needed, 100 available."
    )
    assert raised.value.details == {"required": 500, "available": 100}

    with pytest.raises(InsufficientCredits) as held:
        charges.hold(
            request,
            "generateAvatar",
            amount=150,
            reference=JOB,
            expires_in=TEN_MINUTES,
            purpose="generate an avatar",
        )
    assert held.value.message == (
        "Not enough credits to generate an avatar: 150 needed, 100 available."
    )
    with pytest.raises(InsufficientCredits) as plain:
        ledger.spend(funded, 101, "upload", key("spend:1"))
    assert plain.value.message == "Not enough credits for this action: 101 needed, 100 available."
