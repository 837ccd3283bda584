"""Redis clients with timeouts and a circuit breaker; every network client has timeouts."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable

import pytest
import redis

from lumiku.auth.attempts import redis_client
from lumiku.jobs.broker import build_broker
from lumiku.ratelimit import RateLimiter
from lumiku.realtime.publisher import RedisPublisher
from lumiku.realtime.server import REDIS_OPTIONS
from lumiku.redis_clients import CircuitBreaker, guarded_client
from lumiku.redis_watch import RedisWatch
from lumiku.testing.redis_server import RedisProcess


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_breaker_opens_on_a_failure_and_lets_one_probe_through_later() -> None:
    clock = Clock()
    breaker = CircuitBreaker(open_for=5, clock=clock)
    assert breaker.allow()
    breaker.failed()
    assert breaker.is_open
    assert not breaker.allow()
    clock.now += 5
    assert breaker.allow()  # this thread probes
    assert breaker.allow()  # ... its whole command
    other: list[bool] = []
    thread = threading.Thread(target=lambda: other.append(breaker.allow()))
    thread.start()
    thread.join()
    assert other == [False]  # one probe at a time
    breaker.failed()  # the probe failed: open again
    assert not breaker.allow()
    clock.now += 5
    assert breaker.allow()
    breaker.succeeded()
    assert not breaker.is_open
    assert breaker.allow()


def test_a_probe_that_never_ends_does_not_keep_the_breaker_open() -> None:
    clock = Clock()
    breaker = CircuitBreaker(open_for=5, clock=clock)
    breaker.failed()
    clock.now += 5
    thread = threading.Thread(target=breaker.allow)  # probes, then vanishes
    thread.start()
    thread.join()
    assert not breaker.allow()
    clock.now += 5
    assert breaker.allow()


def test_a_hung_redis_costs_one_timeout_then_fails_at_once(
    private_redis: Callable[..., RedisProcess],
) -> None:
    server = private_redis()
    client = guarded_client(server.url, timeout=0.3)
    assert client.ping()
    assert server.process is not None
    os.kill(server.process.pid, signal.SIGSTOP)
    try:
        started = time.perf_counter()
        with pytest.raises(redis.TimeoutError):
            client.get("k")
        assert time.perf_counter() - started < 1.5
        started = time.perf_counter()
        with pytest.raises(redis.ConnectionError, match="not asking it again"):
            client.get("k")
        assert time.perf_counter() - started < 0.1
    finally:
        os.kill(server.process.pid, signal.SIGCONT)
    breaker = client.connection_pool.connection_class.breaker
    breaker._opened_at = time.monotonic() - 10  # as if open_for had passed
    assert client.ping()  # the probe closes the breaker
    assert not breaker.is_open
    client.close()


def _timeouts(client: redis.Redis) -> tuple[object, object]:
    kwargs = client.connection_pool.connection_kwargs
    return kwargs.get("socket_connect_timeout"), kwargs.get("socket_timeout")


def test_every_redis_client_has_connect_and_read_timeouts() -> None:
    url = "redis://127.0.0.1:1/0"
    broker = build_broker(url)
    assert _timeouts(broker.client) == (5, 10)  # type: ignore[attr-defined]
    limiter = RateLimiter(url)
    storage = limiter._limiter._primary.storage  # type: ignore[attr-defined]
    assert _timeouts(storage.storage) == (0.5, 0.5)
    throttle = redis_client(url)  # the login throttle's
    assert _timeouts(throttle) == (1.0, 1.0)
    assert hasattr(throttle.connection_pool.connection_class, "breaker")
    watch = RedisWatch(url, registry=None, metrics=None)  # type: ignore[arg-type]
    assert watch._client is not None
    assert _timeouts(watch._client) == (1, 1)
    publisher = RedisPublisher(url)
    assert publisher._manager.redis_options == {"socket_connect_timeout": 5, "socket_timeout": 5}
    # The servers' subscription waits for messages: a connect timeout, no read timeout.
    assert REDIS_OPTIONS["socket_connect_timeout"] == 5
    assert "socket_timeout" not in REDIS_OPTIONS


def test_the_image_provider_connects_within_seconds_and_reads_within_its_timeout() -> None:
    import httpx

    from lumiku.images import HuggingFaceConfig, HuggingFaceProvider, ImageRequest

    seen: dict[str, float] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen.update(request.extensions["timeout"])
        return httpx.Response(400, json={"error": "refused"})

    client = httpx.Client(transport=httpx.MockTransport(handler))
    config = HuggingFaceConfig(api_key="hf_" + "k" * 30, timeout=120.0, max_retries=0)
    provider = HuggingFaceProvider(config, client=client)
    with pytest.raises(Exception):  # noqa: B017, PT011 - the answer does not matter here
        provider.generate(ImageRequest(prompt="a cat", width=64, height=64, seed=1))
    assert seen == {"connect": 10.0, "read": 120.0, "write": 120.0, "pool": 10.0}
