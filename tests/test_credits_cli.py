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
