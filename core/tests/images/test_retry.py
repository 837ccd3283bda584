"""Backoff delays and the server hints that override them."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from lumiku.images.retry import Backoff, parse_estimated_time, parse_retry_after


def test_delays_double_until_the_cap() -> None:
    backoff = Backoff(base=2.0, cap=10.0)
    rng = random.Random(0)
    assert [backoff.delay(n, rng) for n in range(4)] == [2.0, 4.0, 8.0, 10.0]


def test_jitter_spreads_delays_within_its_fraction() -> None:
    backoff = Backoff(base=4.0, cap=100.0, jitter=0.25)
    delays = {backoff.delay(0, random.Random(seed)) for seed in range(20)}
    assert len(delays) > 1
    assert all(3.0 <= delay <= 5.0 for delay in delays)


def test_a_server_hint_wins_but_is_capped() -> None:
    backoff = Backoff(base=2.0, cap=30.0, jitter=0.5)
    assert backoff.delay(3, random.Random(0), hint=7.5) == 7.5
    assert backoff.delay(0, random.Random(0), hint=600.0) == 30.0


def test_retry_after_reads_seconds_and_http_dates() -> None:
    now = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("12") == 12.0
    assert parse_retry_after("Wed, 01 Jan 2025 12:00:30 GMT", now=now) == 30.0
    assert parse_retry_after("Wed, 01 Jan 2025 11:00:00 GMT", now=now) == 0.0


@pytest.mark.parametrize("value", [None, "", "soon", "nan"])
def test_unreadable_retry_after_is_ignored(value: str | None) -> None:
    assert parse_retry_after(value) is None


def test_estimated_time_comes_from_a_json_error_body() -> None:
    assert parse_estimated_time(b'{"error": "loading", "estimated_time": 20.5}') == 20.5
    assert parse_estimated_time(b'{"error": "loading"}') is None
    assert parse_estimated_time(b'{"estimated_time": true}') is None
    assert parse_estimated_time(b"\xff\xfe not json") is None
    assert parse_estimated_time(b"[1, 2]") is None
