"""`lumiku users create` and `lumiku credits grant|reconcile|adjust`, run as the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from lumiku.db import create_engine
from lumiku.ledger.tables import credit_accounts

PASSWORD = "amber-violin-7-quartz"


def lumiku(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lumiku.cli.main", *args],
        env={**os.environ, **env, "LUMIKU_NEW_PASSWORD": PASSWORD},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_reconcile_finds_corruption_and_one_adjustment_fixes_it(
    lumiku_env: dict[str, str], make_app: Any, tmp_path: Path
) -> None:
    make_app([])  # migrates the database
    created = lumiku(lumiku_env, "users", "create", "ops@example.com")
    assert created.returncode == 0, created.stderr
    assert lumiku(lumiku_env, "credits", "grant", "ops@example.com", "25").returncode == 0
    clean = lumiku(lumiku_env, "credits", "reconcile")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "✅" in clean.stdout

    engine = create_engine(lumiku_env["DATABASE_URL"])
    with engine.begin() as conn:  # corrupt the balance behind the ledger's back
        conn.execute(sa.update(credit_accounts).values(balance=credit_accounts.c.balance + 7))
    found = lumiku(lumiku_env, "credits", "reconcile")
    assert found.returncode == 1
    assert "balance_mismatch" in found.stdout
    assert "difference +7" in found.stdout
    finding_id = found.stdout.split("finding ", 1)[1].split(":", 1)[0]

    fixed = lumiku(lumiku_env, "credits", "adjust", "--finding", finding_id, "--key", "fix-1")
    assert fixed.returncode == 0, fixed.stderr
    again = lumiku(lumiku_env, "credits", "adjust", "--finding", finding_id, "--key", "fix-1")
    assert again.returncode == 0, again.stderr  # the same key replays, nothing twice
    assert lumiku(lumiku_env, "credits", "reconcile").returncode == 0
    with engine.connect() as conn:
        balance = conn.execute(sa.select(credit_accounts.c.balance)).scalar_one()
    assert balance == 100 + 25 + 7
    engine.dispose()


def test_adjust_moves_a_balance_once_per_key(lumiku_env: dict[str, str], make_client: Any) -> None:
    client = make_client([])
    client.post("/api/auth/register", json={"email": "g@example.com", "password": PASSWORD})
    for _ in range(2):
        result = lumiku(
            lumiku_env,
            "credits",
            "adjust",
            "g@example.com",
            "-30",
            "--reason",
            "clawback",
            "--key",
            "claw-1",
        )
        assert result.returncode == 0, result.stderr
    token = client.post(
        "/api/auth/login", json={"email": "g@example.com", "password": PASSWORD}
    ).json()["token"]
    balance = client.get("/api/credits/balance", headers={"Authorization": f"Bearer {token}"})
    assert balance.json()["balance"] == 70
    assert lumiku(lumiku_env, "credits", "reconcile").returncode == 0


def test_unknown_email_is_an_error(lumiku_env: dict[str, str], make_app: Any) -> None:
    make_app([])  # migrates the database
    result = lumiku(lumiku_env, "credits", "grant", "nobody@example.com", "5")
    assert result.returncode == 1
    assert "no account" in result.stderr


def test_grants_past_the_ceiling_and_a_corrupted_row_are_reported_in_one_line(
    lumiku_env: dict[str, str], make_app: Any
) -> None:
    make_app([])  # migrates the database
    assert lumiku(lumiku_env, "users", "create", "rich@example.com").returncode == 0
    engine = create_engine(lumiku_env["DATABASE_URL"])
    with engine.begin() as conn:  # nearly full, as after many maximum grants
        conn.execute(sa.update(credit_accounts).values(balance=10**12 - 3))
        conn.execute(
            sa.text("UPDATE credit_entries SET amount = :full, balance_after = :full"),
            {"full": 10**12 - 3},
        )
    over = lumiku(lumiku_env, "credits", "grant", "rich@example.com", "4")
    assert over.returncode == 1
    assert over.stderr.strip().count("\n") == 0, over.stderr  # one line, no traceback
    assert "ceiling of 1,000,000,000,000 credits" in over.stderr
    assert "At most 3 more credits fit" in over.stderr
    too_big = lumiku(lumiku_env, "credits", "grant", "rich@example.com", str(2**63))
    assert too_big.returncode == 1
    assert "Traceback" not in too_big.stderr
    assert lumiku(lumiku_env, "credits", "grant", "rich@example.com", "3").returncode == 0
    assert lumiku(lumiku_env, "credits", "reconcile").returncode == 0

    if engine.dialect.name == "sqlite":  # a value SQLite kept from before the ceiling
        with engine.begin() as conn:
            conn.exec_driver_sql("PRAGMA ignore_check_constraints = ON")
            conn.execute(sa.text("UPDATE credit_accounts SET balance = 1.5e19"))
            conn.exec_driver_sql("PRAGMA ignore_check_constraints = OFF")
        found = lumiku(lumiku_env, "credits", "reconcile")
        assert found.returncode == 1, found.stderr
        assert "invalid_value" in found.stdout
        assert "credit_accounts.balance" in found.stdout
        assert "Traceback" not in found.stderr
    engine.dispose()
