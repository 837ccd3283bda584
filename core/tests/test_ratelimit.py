"""Rate limits: in memory, in Redis, and falling back to memory when Redis is away."""

from __future__ import annotations

import uuid

import pytest

from lumiku.ratelimit import RateLimiter


def test_memory_limiter_counts_per_key() -> None:
    limiter = RateLimiter(None)
    statuses = [limiter.hit("2/minute", "route", "user:a").allowed for _ in range(3)]
    assert statuses == [True, True, False]
    assert limiter.hit("2/minute", "route", "user:b").allowed
    status = limiter.hit("2/minute", "route", "user:a")
    assert status.remaining == 0
    assert status.limit == 2
    assert status.retry_after >= 1
    assert not limiter.distributed


@pytest.mark.redis
def test_redis_limiter_is_shared_between_instances(redis_server: str) -> None:
    namespace = f"test-{uuid.uuid4().hex[:8]}"
    first = RateLimiter(redis_server, namespace=namespace)
    second = RateLimiter(redis_server, namespace=namespace)
    assert first.distributed
    assert first.hit("3/minute", "route", "ip:1").allowed
    assert second.hit("3/minute", "route", "ip:1").allowed
    assert first.hit("3/minute", "route", "ip:1").allowed
    assert not second.hit("3/minute", "route", "ip:1").allowed
    first.clear("3/minute", "route", "ip:1")
    assert second.hit("3/minute", "route", "ip:1").allowed


def test_unreachable_redis_falls_back_to_memory() -> None:
    limiter = RateLimiter("redis://127.0.0.1:1/0", namespace="nowhere")
    statuses = [limiter.hit("2/minute", "route", "user:a").allowed for _ in range(3)]
    assert statuses == [True, True, False]
    assert limiter.test("2/minute", "route", "user:a").allowed is False
