"""The account cache of the event-loop authentication, and the change feed that keeps it exact."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from lumiku.auth.change_feed import ChangeFeed
from lumiku.auth.gate import AccountCache
from lumiku.auth.models import User
from lumiku.auth.users import TokenOwner
from lumiku.db.tables import users
from lumiku.testing import runtime_of, sign_up
from lumiku.testing.pytest_plugin import test_backend

NOW = datetime(2026, 11, 30, tzinfo=UTC)


class Lease:
    """A lease the test turns on and off."""

    def __init__(self, fresh: bool = True) -> None:
        self.is_fresh = fresh

    def fresh(self) -> bool:
        return self.is_fresh


def owner(user_id: str = "u1", *, revoked: bool = False) -> TokenOwner:
    user = User(user_id, f"{user_id}@example.com", None, "user", NOW, NOW)
    return TokenOwner(user, NOW, revoked, "cv")


def test_the_cache_answers_only_while_its_lease_is_fresh() -> None:
    lease = Lease()
    cache = AccountCache(lease)
    cache.put("u1", "jti-1", owner(), cache.generation)
    assert cache.get("u1", "jti-1") == owner()
    assert cache.get("u1", "jti-2") is None  # another token of the user is checked once
    lease.is_fresh = False
    assert cache.get("u1", "jti-1") is None


def test_a_change_notice_drops_the_user_and_reads_under_way() -> None:
    cache = AccountCache(Lease())
    cache.put("u1", "jti-1", owner(), cache.generation)
    begun = cache.generation  # a read of u2 starts here...
    cache.forget("u1")  # ...a notice arrives while it runs...
    cache.put("u2", "jti-2", owner("u2"), begun)  # ...so what it read is not kept
    assert cache.get("u1", "jti-1") is None
    assert cache.get("u2", "jti-2") is None
    cache.put("u2", "jti-2", owner("u2"), cache.generation)
    cache.forget(None)
    assert cache.get("u2", "jti-2") is None


def test_a_revoked_token_and_an_unbound_cache_are_never_kept() -> None:
    cache = AccountCache(Lease())
    cache.put("u1", "jti-1", owner(revoked=True), cache.generation)
    assert cache.get("u1", "jti-1") is None
    unbound = AccountCache()
    unbound.put("u1", "jti-1", owner(), unbound.generation)
    assert unbound.get("u1", "jti-1") is None


def test_the_cache_holds_at_most_its_size() -> None:
    cache = AccountCache(Lease(), size=2)
    for index in range(3):
        cache.put(f"u{index}", "j", owner(f"u{index}"), cache.generation)
    assert cache.get("u0", "j") is None
    assert cache.get("u2", "j") is not None


def _wait_for(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


@pytest.mark.skipif(test_backend() != "postgresql", reason="the change feed is PostgreSQL's")
def test_the_feed_hears_every_change_to_an_account_and_holds_a_lease(
    make_app: Callable[..., Any],
) -> None:
    from starlette.testclient import TestClient

    app = make_app()
    runtime = runtime_of(app)
    assert runtime.reader is not None
    heard: list[str | None] = []
    feed = ChangeFeed(runtime.reader.conninfo, heard.append)
    feed.start()
    try:
        _wait_for(feed.fresh)
        with TestClient(app) as client:
            user = sign_up(client)
        heard.clear()
        with runtime.engine.begin() as connection:
            connection.execute(
                sa.update(users).where(users.c.id == user.user_id).values(name="renamed")
            )
        _wait_for(lambda: user.user_id in heard)
        _wait_for(feed.fresh)
    finally:
        feed.stop()
    assert not feed.fresh()
