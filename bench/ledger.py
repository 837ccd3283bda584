"""Spends per second through ``Ledger.spend`` against a raw psycopg baseline, on PostgreSQL.

Run: ``.venv/bin/python bench/ledger.py``. It creates and drops its own database. The
baseline is what a careful hand-written spend costs: on its own connection per thread, one
transaction with the conditional ``UPDATE ... RETURNING`` and the entry ``INSERT``. Both
run with 16 threads, on one hot account and on 16 separate accounts, in the same run; the
ratio ledger / baseline is what to compare across machines (target: >= 0.7).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import psycopg
import sqlalchemy as sa
from psycopg.rows import TupleRow

from lumiku.db import create_engine, migrate
from lumiku.db.tables import users
from lumiku.ledger import Ledger
from lumiku.testing.databases import temporary_postgres_database

THREADS = 16
WARMUP = 0.5
DURATION = 2.0
ROUNDS = 3
BALANCE = 10**12

Spend = Callable[[str], None]

DEBIT = (
    "UPDATE credit_accounts SET balance = balance - %(amount)s, updated_at = %(now)s "
    "WHERE user_id = %(user)s AND balance - held >= %(amount)s RETURNING balance"
)
ENTRY = (
    "INSERT INTO credit_entries (user_id, amount, kind, balance_after, reference_type, "
    "reference_id, plugin, reason, idempotency_key, created_at) VALUES (%(user)s, "
    "-%(amount)s, 'spend', %(balance)s, NULL, NULL, NULL, %(reason)s, %(key)s, %(now)s)"
)


def _create_users(engine: sa.Engine, count: int) -> list[str]:
    now = datetime.now(UTC)
    ids = [str(uuid.uuid4()) for _ in range(count)]
    with engine.begin() as connection:
        connection.execute(
            sa.insert(users),
            [
                {
                    "id": user_id,
                    "email": f"{user_id}@bench.test",
                    "password_hash": "x",
                    "role": "user",
                    "tokens_valid_after": now,
                    "created_at": now,
                    "updated_at": now,
                }
                for user_id in ids
            ],
        )
    return ids


def _throughput(make_spender: Callable[[], Spend], accounts: list[str]) -> float:
    """Run one spender per thread on its account; return spends per second after warmup."""
    counts = [0] * THREADS
    stop = threading.Event()
    ready = threading.Barrier(THREADS + 1)

    def work(index: int) -> None:
        spend = make_spender()
        account = accounts[index]
        ready.wait()
        while not stop.is_set():
            spend(account)
            counts[index] += 1

    threads = [threading.Thread(target=work, args=(index,)) for index in range(THREADS)]
    for thread in threads:
        thread.start()
    ready.wait()
    time.sleep(WARMUP)
    started, before = time.perf_counter(), sum(counts)
    time.sleep(DURATION)
    done, elapsed = sum(counts) - before, time.perf_counter() - started
    stop.set()
    for thread in threads:
        thread.join()
    return done / elapsed


def _baseline(conninfo: str, connections: list[psycopg.Connection[TupleRow]]) -> Spend:
    connection: psycopg.Connection[TupleRow] = psycopg.connect(conninfo)
    connections.append(connection)

    def spend(user_id: str) -> None:
        params = {
            "user": user_id,
            "amount": 1,
            "now": datetime.now(UTC),
            "reason": "bench",
            "key": uuid.uuid4().hex,
        }
        with connection.transaction(), connection.cursor() as cursor:
            cursor.execute(DEBIT, params)
            row = cursor.fetchone()
            if row is None:
                raise RuntimeError("insufficient credits")
            cursor.execute(ENTRY, {**params, "balance": row[0]})

    return spend


@contextmanager
def _baseline_spenders(conninfo: str) -> Iterator[Callable[[], Spend]]:
    connections: list[psycopg.Connection[TupleRow]] = []
    try:
        yield lambda: _baseline(conninfo, connections)
    finally:
        for connection in connections:
            connection.close()


def _ledger_spender(ledger: Ledger) -> Spend:
    def spend(user_id: str) -> None:
        ledger.spend(user_id, 1, "bench", uuid.uuid4().hex)

    return spend


def main() -> None:
    """Measure both cases and print spends per second and the ratios."""
    with temporary_postgres_database(prefix="lumiku_bench") as url:
        engine = create_engine(url, pool_size=THREADS)
        try:
            migrate.upgrade(engine, [migrate.core_source()])
            ledger = Ledger(engine)
            ids = _create_users(engine, THREADS)
            for user_id in ids:
                ledger.grant(user_id, BALANCE, "bench credits", f"bench:{user_id}")
            conninfo = url.replace("postgresql+psycopg://", "postgresql://")
            cases = {"one hot account": [ids[0]] * THREADS, "16 accounts": ids}
            print(f"spends/s, {THREADS} threads, best of {ROUNDS} x {DURATION:.0f} s")
            for name, accounts in cases.items():
                baseline = ledger_rate = 0.0
                for _ in range(ROUNDS):
                    with _baseline_spenders(conninfo) as spenders:
                        baseline = max(baseline, _throughput(spenders, accounts))
                    ledger_rate = max(
                        ledger_rate, _throughput(lambda: _ledger_spender(ledger), accounts)
                    )
                print(
                    f"{name:>16}: baseline {baseline:7.0f}  ledger {ledger_rate:7.0f}  "
                    f"ratio {ledger_rate / baseline:.2f}"
                )
        finally:
            engine.dispose()


if __name__ == "__main__":
    main()
