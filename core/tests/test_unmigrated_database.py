"""A server whose core migrations are not applied says it is down, answers 503 in the common
shape, and never logs a statement's parameters (a password hash, an email)."""

from __future__ import annotations

import logging
from typing import Any

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from lumiku.db import create_engine
from lumiku.testing import OPERATOR_HEADERS, PASSWORD
from lumiku.testing.app import build_test_app

EMAIL = "zz@example.com"


@pytest.fixture
def unmigrated(lumiku_env: dict[str, str], database_url: str) -> Any:
    """Yield a client of an app whose database has no tables (nothing migrated)."""
    assert lumiku_env["DATABASE_URL"] == database_url  # created, empty
    app = build_test_app(lumiku_env, plugins=[], migrate_database=False)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def test_health_and_readiness_say_down_while_core_migrations_are_pending(
    unmigrated: TestClient,
) -> None:
    for path in ("/health", "/health/readiness"):
        answer = unmigrated.get(path)
        assert answer.status_code == 503, path
        assert answer.json() == {"status": "down"}  # the reason is for operators only
    assert unmigrated.get("/health/liveness").status_code == 200
    detailed = unmigrated.get("/health/detailed", headers=OPERATOR_HEADERS)
    assert detailed.status_code == 503
    assert detailed.json()["checks"]["database"]["detail"].startswith("MIGRATIONS_PENDING")


def test_routes_answer_503_and_the_log_holds_no_parameters(
    unmigrated: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    body = {"email": EMAIL, "password": PASSWORD}
    for path in ("/api/auth/register", "/api/auth/login"):
        answer = unmigrated.post(path, json=body)
        assert answer.status_code == 503, (path, answer.text)
        error = answer.json()["error"]
        assert error["code"] == "SERVICE_UNAVAILABLE"
        assert error["details"]["dependency"] == "database"
        assert int(answer.headers["Retry-After"]) > 0
        assert EMAIL not in answer.text
        assert "SELECT" not in answer.text.upper()
    logged = "\n".join(
        [record.getMessage() for record in caplog.records] + [caplog.text]  # tracebacks included
    )
    assert "could not serve" in logged
    for secret in ("$argon2", EMAIL, PASSWORD, "[parameters"):
        assert secret not in logged


def test_engines_hide_statement_parameters(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        with pytest.raises(sa.exc.DBAPIError) as caught, engine.begin() as connection:
            connection.execute(
                sa.text("INSERT INTO no_such_table (secret) VALUES (:secret)"),
                {"secret": "$argon2id$v=19$hidden"},
            )
        assert "$argon2id" not in str(caught.value)
        assert "hidden due to hide_parameters" in str(caught.value)
    finally:
        engine.dispose()
