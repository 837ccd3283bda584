"""Fixtures for the job tests: a Redis key namespace of their own, removed afterwards."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import redis


@pytest.fixture
def redis_namespace(redis_server: str) -> Iterator[str]:
    """Yield a unique key prefix on the test Redis; delete every key under it after."""
    namespace = f"lumiku-test-{uuid.uuid4().hex[:12]}"
    yield namespace
    client = redis.Redis.from_url(redis_server)
    try:
        keys = list(client.scan_iter(match=f"{namespace}*", count=500))
        if keys:
            client.delete(*keys)
    finally:
        client.close()
