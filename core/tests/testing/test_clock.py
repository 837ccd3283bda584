"""ManualClock: stands still until moved; the ledger's sweeper and the throttle follow it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from lumiku.auth import Limits, LoginThrottle
from lumiku.clock import NaiveDatetimeError
from lumiku.errors import RateLimited
from lumiku.ledger import Ledger, Reference
from lumiku.testing import ManualClock, PluginHarness, define_plugin, runtime_of

START = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def test_it_stands_still_until_advanced() -> None:
    clock = ManualClock(START)

    assert clock() == clock() == clock.now == START
    assert clock.advance(timedelta(minutes=15)) == START + timedelta(minutes=15)
    later = START + timedelta(minutes=15, seconds=30, milliseconds=5)
    assert clock.advance(seconds=30, milliseconds=5) == later
    assert clock() == later


def test_it_can_be_set_and_moved_back() -> None:
    clock = ManualClock(START)

    clock.now = START + timedelta(days=1)
    clock.advance(hours=-1)

    assert clock() == START + timedelta(hours=23)


def test_it_starts_now_by_default_and_refuses_naive_times() -> None:
    before = datetime.now(UTC)
    assert before <= ManualClock()() <= datetime.now(UTC)
    with pytest.raises(NaiveDatetimeError):
        ManualClock(datetime(2026, 1, 1))
    with pytest.raises(NaiveDatetimeError):
        ManualClock().now = datetime(2026, 1, 1)


def test_the_ledger_sweeper_releases_a_hold_once_its_time_has_passed(
    make_plugin_harness: Any,
) -> None:
    harness: PluginHarness = make_plugin_harness(define_plugin("lkt_clocked"))
    ledger: Ledger = harness.ledger
    user = harness.new_user(credits=20)
    ledger.hold(user, 8, Reference("job", "j1"), "lkt:j1", timedelta(minutes=10))

    harness.clock.advance(minutes=9, seconds=59)
    assert ledger.expire_holds() == 0
    harness.clock.advance(seconds=1)
    assert ledger.expire_holds() == 1
    assert ledger.balance(user).available == 20


def test_the_login_throttle_lifts_its_lock_when_the_clock_passes_the_window() -> None:
    clock = ManualClock(START)
    throttle = LoginThrottle("memory://", limits=Limits(per_pair=1, window_seconds=60), clock=clock)
    throttle.begin_attempt("ada@example.com", None)

    with pytest.raises(RateLimited) as caught:
        throttle.begin_attempt("ada@example.com", None)
    assert caught.value.retry_after == 60

    clock.advance(minutes=1)
    throttle.begin_attempt("ada@example.com", None)


def test_an_app_runs_on_the_clock_it_is_given(make_client: Any) -> None:
    clock = ManualClock(START)
    client = make_client([], clock=clock)
    response = client.post(
        "/api/auth/register", json={"email": "c@example.com", "password": "violet staple orchard"}
    )
    assert response.status_code == 201, response.text
    token = response.json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/auth/profile", headers=headers).status_code == 200

    clock.advance(days=30)  # far past the token's lifetime

    assert client.get("/api/auth/profile", headers=headers).status_code == 401
    user_id = response.json()["user"]["id"]
    [welcome] = runtime_of(client).ledger.history(user_id).entries
    assert welcome.created_at == START  # the ledger stamps with the app's clock
