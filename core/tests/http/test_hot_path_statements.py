"""The regression guard of the hot path: what an authenticated read costs the database.

Counted, not timed: an authenticated ``GET /api/credits/balance`` runs at most two
statements from the event loop (the token's account, unless the account cache answers on
PostgreSQL; the balance), and nothing through the SQLAlchemy engine: no pool checkout, no
``BEGIN``, ``COMMIT`` or ``ROLLBACK``. More means a round trip crept back onto every
request of every client (``docs/decisions.md``, "Hot path").
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from starlette.testclient import TestClient

from lumiku.testing import runtime_of, sign_up

REQUESTS = 10
STATEMENTS_PER_READ = 2


def _count_engine_work(engine: Any, counts: Counter[str]) -> None:
    def statement(*_args: Any) -> None:
        counts["statement"] += 1

    def transaction(*_args: Any) -> None:
        counts["transaction"] += 1

    def checkout(*_args: Any) -> None:
        counts["checkout"] += 1

    event.listen(engine, "before_cursor_execute", statement)
    event.listen(engine, "begin", transaction)
    event.listen(engine.pool, "checkout", checkout)


def test_an_authenticated_balance_read_costs_two_loop_statements_at_most(
    make_app: Callable[..., Any],
) -> None:
    app = make_app()
    runtime = runtime_of(app)
    assert runtime.reader is not None
    with TestClient(app) as client:
        user = sign_up(client)
        assert user.balance()["balance"] >= 0  # warm: the first request may fill caches
        counts: Counter[str] = Counter()
        _count_engine_work(runtime.engine, counts)
        before = runtime.reader.statements
        for _ in range(REQUESTS):
            response = client.get("/api/credits/balance", headers=user.headers)
            assert response.status_code == 200, response.text
        loop_statements = runtime.reader.statements - before
    assert counts == Counter(), f"the engine was used on the hot path: {dict(counts)}"
    assert REQUESTS <= loop_statements <= REQUESTS * STATEMENTS_PER_READ


def test_a_refused_token_costs_no_statement(make_app: Callable[..., Any]) -> None:
    app = make_app()
    runtime = runtime_of(app)
    assert runtime.reader is not None
    with TestClient(app) as client:
        before = runtime.reader.statements
        forged = {"Authorization": "Bearer not.a.token"}
        assert client.get("/api/credits/balance", headers=forged).status_code == 401
        assert runtime.reader.statements == before
