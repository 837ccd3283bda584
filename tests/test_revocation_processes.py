"""Two ``lumiku serve`` processes on one database: a token that stops being valid is refused
by both as soon as the request that revoked it has answered.

Each process caches what it checked of a token's account (``lumiku.auth.gate``); these
tests warm both caches first, then revoke through one process and ask the other at once:

- a logout (the token's ``jti`` is revoked);
- a password change (every token issued before it dies; the new one works);
- a deleted account (a row deleted by hand, then what a deleting request does before it
  answers: ``lumiku.auth.change_feed.settle`` on PostgreSQL, nothing on SQLite).

They run on SQLite and on PostgreSQL, with the embedded default (no Redis) and with Redis.
"""

from __future__ import annotations

import functools
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from lumiku.auth.change_feed import settle
from lumiku.db.engine import is_sqlite
from lumiku.db.tables import users
from lumiku.testing import runtime_of, sign_up
from lumiku.testing.processes import lumiku_command, wait_process_ready
from lumiku.testing.server import free_port

pytestmark = [pytest.mark.slow]

BALANCE = "/api/credits/balance"
WARM_UPS = 5  # requests per process before the revocation: the caches hold the account


@pytest.fixture
def two_servers(
    lumiku_env: dict[str, str], make_app: Callable[..., Any], tmp_path: Path
) -> Iterator[Callable[..., tuple[str, str, sa.Engine]]]:
    """Return ``start(**env)``: migrate the test's database, serve it from two processes;
    yields their URLs and an engine on the database. Stops the processes it started."""
    started: list[subprocess.Popen[bytes]] = []
    apps: list[Any] = []

    def start(**extra: str) -> tuple[str, str, sa.Engine]:
        apps.append(make_app(LUMIKU_WELCOME_CREDITS="0", **extra))  # migrates the database
        env = {**os.environ, **lumiku_env, "LUMIKU_WELCOME_CREDITS": "0", **extra}
        urls = []
        for name in ("a", "b"):
            port = free_port()
            log = tmp_path / f"serve-{name}.log"
            with log.open("wb") as sink:
                process = subprocess.Popen(
                    [*lumiku_command(), "serve", "--port", str(port)],
                    env=env,
                    stdout=sink,
                    stderr=subprocess.STDOUT,
                )
            started.append(process)
            urls.append(f"http://127.0.0.1:{port}")
            wait_process_ready(
                urls[-1], process, functools.partial(log.read_text, errors="replace")
            )
        return urls[0], urls[1], runtime_of(apps[-1]).engine

    yield start
    for process in started:
        process.terminate()
    for process in started:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
    for app in apps:
        runtime_of(app).engine.dispose()


def _status(url: str, token: str) -> int:
    response = httpx.get(url + BALANCE, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    return response.status_code


def _warm(urls: tuple[str, str], token: str) -> None:
    for url in urls:
        for _ in range(WARM_UPS):
            assert _status(url, token) == 200


@pytest.mark.parametrize("redis", ["embedded", "redis"])
def test_revoked_tokens_are_refused_by_every_process_at_once(
    two_servers: Callable[..., tuple[str, str, sa.Engine]], redis: str, private_redis: Any
) -> None:
    env = {"REDIS_ENABLED": "false"}
    if redis == "redis":
        # A Redis of this test's own: the servers use the default key names, and the shared
        # one's sign-up limits (per address, per hour) count every other test's sign-ups.
        env = {"REDIS_ENABLED": "true", "REDIS_URL": private_redis().url}
    a, b, engine = two_servers(**env)
    with (
        httpx.Client(base_url=a, timeout=30) as via_a,
        httpx.Client(base_url=b, timeout=30) as via_b,
    ):
        # A logout on A: the token is refused on B (and A) at once.
        ana = sign_up(via_a, "ana")  # type: ignore[arg-type]  # an httpx client works too
        _warm((a, b), ana.token)
        assert via_a.post("/api/auth/logout", headers=ana.headers).status_code == 204
        assert (_status(b, ana.token), _status(a, ana.token)) == (401, 401)

        # A password change on B: the old token is refused on A at once, the new one works.
        bo = sign_up(via_b, "bo")  # type: ignore[arg-type]
        _warm((a, b), bo.token)
        changed = via_b.put(
            "/api/auth/profile",
            headers=bo.headers,
            json={"currentPassword": bo.password, "newPassword": "Another-Quartz-Lantern-4821"},
        )
        assert changed.status_code == 200, changed.text
        assert (_status(a, bo.token), _status(b, bo.token)) == (401, 401)
        new_token = changed.json()["token"]
        assert (_status(a, new_token), _status(b, new_token)) == (200, 200)

        # A deleted account: refused everywhere once the deletion has settled.
        cy = sign_up(via_a, "cy")  # type: ignore[arg-type]
        _warm((a, b), cy.token)
        with engine.begin() as connection:
            connection.execute(sa.delete(users).where(users.c.id == cy.user_id))
        if not is_sqlite(engine):
            settle()  # what a request deleting an account does before it answers
        assert (_status(a, cy.token), _status(b, cy.token)) == (401, 401)
