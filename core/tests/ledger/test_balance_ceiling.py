"""Balances, amounts and holds stay whole numbers within the ceiling: the ledger refuses a
credit past it (``BalanceCeiling``), the database's CHECK constraints refuse any write
past it (migration ``0006_balance_ceiling``), and reconciliation reports whatever a
database still holds (a float, text, a number past 2^63) without crashing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from lumiku.credit_limits import BALANCE_CEILING, MAX_AMOUNT
from lumiku.db import migrate
from lumiku.ledger import Ledger
from lumiku.ledger.errors import BalanceCeiling, InvalidLedgerRequest
from lumiku.ledger.records import Reference
from lumiku.ledger.tables import credit_accounts, credit_entries, credit_holds

NOW = datetime(2026, 1, 1, tzinfo=UTC)
SOURCES = [migrate.core_source()]


@pytest.fixture
def ledger_engine(fresh_engine: sa.Engine) -> sa.Engine:
    """A database of this test's own: some tests migrate it down and back up."""
    return fresh_engine


def test_the_figures() -> None:
    assert MAX_AMOUNT == 10**9
    assert BALANCE_CEILING == 10**12
    assert BALANCE_CEILING * 9_000_000 < 2**63  # millions of full accounts still sum


@pytest.mark.parametrize("amount", [MAX_AMOUNT + 1, 2**31, 2**63, -(2**63)])
def test_one_operation_moves_at_most_max_amount(
    ledger: Ledger, user: str, key: Callable[[str], str], amount: int
) -> None:
    with pytest.raises(InvalidLedgerRequest):
        ledger.grant(user, amount, "too much", key("g"))


def test_grants_up_to_the_ceiling_and_not_one_credit_more(
    ledger: Ledger,
    user: str,
    key: Callable[[str], str],
    check: Callable[[str], tuple[int, int]],
) -> None:
    grants = BALANCE_CEILING // MAX_AMOUNT
    for index in range(grants):
        ledger.grant(user, MAX_AMOUNT, "maximum grant", key(f"g{index}"))
    assert check(user) == (BALANCE_CEILING, 0)
    attempts: list[Callable[[], object]] = [
        lambda: ledger.grant(user, 1, "one more", key("over-1")),
        lambda: ledger.grant(user, MAX_AMOUNT, "one more", key("over-max")),
        lambda: ledger.adjust(user, 1, "one more", key("over-adjust")),
    ]
    for attempt in attempts:
        with pytest.raises(BalanceCeiling) as caught:
            attempt()
        assert caught.value.code == "BALANCE_CEILING"
        assert caught.value.details["room"] == 0
    assert check(user) == (BALANCE_CEILING, 0)  # nothing was written
    # A retry of a recorded grant still replays; spending makes room again.
    assert ledger.grant(user, MAX_AMOUNT, "maximum grant", key("g0")).amount == MAX_AMOUNT
    ledger.spend(user, 5, "a spend", key("spend"))
    ledger.grant(user, 5, "fits again", key("fits"))
    assert check(user) == (BALANCE_CEILING, 0)
    assert ledger.reconcile() == []


def test_a_purchase_in_the_callers_transaction_is_refused_at_the_ceiling(
    ledger: Ledger, ledger_engine: sa.Engine, user: str, key: Callable[[str], str]
) -> None:
    with ledger_engine.begin() as connection:
        connection.execute(
            sa.insert(credit_accounts).values(
                user_id=user, balance=BALANCE_CEILING - 10, held=0, updated_at=NOW
            )
        )
    with pytest.raises(BalanceCeiling) as caught, ledger_engine.begin() as connection:
        ledger.grant(
            user,
            11,
            "package",
            key("p"),
            kind="purchase",
            reference=Reference("payment", "INV-1"),
            connection=connection,
        )
    assert caught.value.details == {
        "userId": user,
        "balance": BALANCE_CEILING - 10,
        "ceiling": BALANCE_CEILING,
        "room": 10,
    }


@pytest.mark.parametrize(
    ("table", "values"),
    [
        ("credit_accounts", {"balance": BALANCE_CEILING + 1, "held": 0}),
        ("credit_entries", {"amount": 1, "balance_after": BALANCE_CEILING + 1}),
        ("credit_entries", {"amount": -(BALANCE_CEILING + 1), "balance_after": 0}),
        ("credit_holds", {"amount": BALANCE_CEILING + 1, "captured": 0}),
    ],
)
def test_the_database_refuses_values_past_the_ceiling(
    ledger_engine: sa.Engine, user: str, table: str, values: dict[str, int]
) -> None:
    with ledger_engine.begin() as connection:
        connection.execute(
            sa.insert(credit_accounts).values(user_id=user, balance=0, held=0, updated_at=NOW)
        )
    statement: sa.Executable = (
        sa.update(credit_accounts).values(**values)
        if table == "credit_accounts"
        else sa.insert(_TABLES[table]).values(**_row_of(table, user), **values)
    )
    with pytest.raises(sa.exc.IntegrityError), ledger_engine.begin() as connection:
        connection.execute(statement)


_TABLES = {"credit_entries": credit_entries, "credit_holds": credit_holds}


def _row_of(table: str, user: str) -> dict[str, object]:
    if table == "credit_entries":
        return {
            "user_id": user,
            "kind": "grant",
            "reason": "x",
            "idempotency_key": f"k-{user}",
            "created_at": NOW,
        }
    if table == "credit_holds":
        return {
            "id": user,
            "user_id": user,
            "status": "held",
            "expires_at": NOW,
            "reference_type": "t",
            "reference_id": "1",
            "idempotency_key": f"h-{user}",
            "created_at": NOW,
        }
    return {}


@pytest.fixture
def before_ceiling(ledger_engine: sa.Engine) -> sa.Engine:
    """The database at ``0005_purchase_once``, where values past the ceiling can be stored."""
    migrate.downgrade(ledger_engine, SOURCES, "core", "0005_purchase_once")
    return ledger_engine


def _corrupt(engine: sa.Engine, user: str, balance: object) -> None:
    """Store ``balance`` as the account's balance and the entry that explains it."""
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO credit_accounts (user_id, balance, held, updated_at) "
                "VALUES (:user, :balance, 0, :now)"
            ),
            {"user": user, "balance": balance, "now": NOW},
        )
        connection.execute(
            sa.text(
                "INSERT INTO credit_entries (user_id, amount, kind, balance_after, reason, "
                "idempotency_key, created_at) VALUES (:user, :balance, 'grant', :balance, "
                "'huge', :key, :now)"
            ),
            {"user": user, "balance": balance, "key": f"huge-{user}", "now": NOW},
        )


def _stored_values(engine: sa.Engine) -> list[object]:
    if engine.dialect.name == "sqlite":
        # Past 2^63, SQLite stores a float (credits lost); text is kept as text.
        return [2**63 - 1, float(2**64), "12abc", 2.5]
    return [2**63 - 1, BALANCE_CEILING + 1]


def test_reconcile_reports_any_stored_value_without_crashing(
    before_ceiling: sa.Engine, new_user: Callable[[], str]
) -> None:
    engine = before_ceiling
    good = new_user()
    Ledger(engine).grant(good, 40, "fine", f"fine-{good}")
    corrupted = {}
    for value in _stored_values(engine):
        user = new_user()
        _corrupt(engine, user, value)
        corrupted[user] = value
    second = new_user()  # two entries whose sum passes 2^63 on SQLite
    _corrupt(engine, second, 2**62)
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO credit_entries (user_id, amount, kind, balance_after, reason, "
                "idempotency_key, created_at) VALUES (:user, :amount, 'grant', 1, 'x', :key, "
                ":now)"
            ),
            {"user": second, "amount": 2**62, "key": f"more-{second}", "now": NOW},
        )
    findings = Ledger(engine).reconcile()
    invalid = [f for f in findings if f.kind == "invalid_value"]
    assert {f.user_id for f in invalid} == {*corrupted, second}
    assert good not in {f.user_id for f in findings}
    assert all(f.expected == 0 and f.actual == 0 for f in invalid)
    details = " ".join(f.detail for f in invalid)
    assert "credit_accounts.balance" in details
    assert "credit_entries.amount" in details
    assert "fix the row by hand" in details
    if engine.dialect.name == "sqlite":
        assert "(real)" in details
        assert "12abc (text)" in details


def test_the_upgrade_refuses_rows_past_the_ceiling_then_adds_the_constraints(
    before_ceiling: sa.Engine, new_user: Callable[[], str]
) -> None:
    engine = before_ceiling
    user = new_user()
    _corrupt(engine, user, _stored_values(engine)[1])
    fine = new_user()
    Ledger(engine).grant(fine, 40, "fine", f"fine-{fine}")
    with pytest.raises(RuntimeError, match=f"credit_accounts \\(user_id: {user}\\)"):
        migrate.upgrade(engine, SOURCES)
    with engine.begin() as connection:
        connection.execute(
            sa.text("UPDATE credit_accounts SET balance = 5 WHERE user_id = :user"),
            {"user": user},
        )
        connection.execute(
            sa.text("UPDATE credit_entries SET amount = 5, balance_after = 5 WHERE user_id = :u"),
            {"u": user},
        )
    migrate.upgrade(engine, SOURCES)
    assert migrate.at_head(engine, SOURCES)
    assert Ledger(engine).reconcile() == []  # every row was kept
    names = {c["name"] for c in sa.inspect(engine).get_check_constraints("credit_accounts")}
    assert {"ck_credit_accounts_funds", "ck_credit_accounts_ceiling"} <= names
    # Foreign keys still hold after SQLite's batch copy of the tables.
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as connection:
        connection.execute(
            sa.insert(credit_entries).values(
                user_id="no-such-account",
                amount=1,
                kind="grant",
                balance_after=1,
                reason="x",
                idempotency_key="orphan",
                created_at=NOW,
            )
        )


@pytest.mark.parametrize(
    ("amount", "balance", "expected"),
    [
        (1, BALANCE_CEILING, "This account is at its ceiling of 1,000,000,000,000 credits"),
        (5, BALANCE_CEILING, "so adding 5 credits was refused"),
        (1, BALANCE_CEILING, "so adding 1 credit was refused"),
        (2, BALANCE_CEILING - 1, "At most 1 more credit fits."),
        (3, BALANCE_CEILING - 2, "At most 2 more credits fit."),
        (1, BALANCE_CEILING - 0, "nothing was changed"),
        (2, 1, "the balance of 1 credit past"),
    ],
)
def test_the_ceiling_message_says_plainly_what_fits(
    amount: int, balance: int, expected: str
) -> None:
    message = BalanceCeiling("u", amount, balance, BALANCE_CEILING).message
    assert expected in message
    assert "0 more" not in message
    assert "1 credits" not in message
    assert "1 more credits" not in message
