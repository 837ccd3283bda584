"""LoginThrottle: 5 failures per email or IP in the window, then RateLimited."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
import redis

from lumiku.auth import AttemptStore, LoginThrottle, MemoryAttempts, RedisAttempts
from lumiku.auth.throttle import email_key, ip_key
from lumiku.errors import RateLimited, ServiceUnavailable
from lumiku.testing import ManualClock

EMAIL = "ada@example.com"

StorageFactory = Callable[[], AttemptStore]


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def make_storage(request: pytest.FixtureRequest) -> Iterator[StorageFactory]:
    """Yield a factory of fresh stores: in memory, or in Redis under a unique prefix."""
    if request.param == "memory":
        yield MemoryAttempts
        return
    url: str = request.getfixturevalue("redis_server")
    prefix = f"lumiku-test-{uuid.uuid4().hex}"
    yield lambda: RedisAttempts(url, prefix=prefix)
    client = redis.Redis.from_url(url)
    try:
        keys = list(client.scan_iter(f"{prefix}:*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


def fail(throttle: LoginThrottle, email: str, ip: str | None) -> None:
    throttle.begin_attempt(email, ip)
    throttle.record_failure(ip)


def test_email_locks_after_five_failures(make_storage: StorageFactory) -> None:
    throttle = LoginThrottle(make_storage())
    for attempt in range(5):
        fail(throttle, EMAIL, f"10.0.0.{attempt}")
    with pytest.raises(RateLimited) as caught:
        throttle.begin_attempt(EMAIL, "10.0.1.1")
    assert 0 < caught.value.retry_after <= 15 * 60
    assert caught.value.details == {"retryAfter": caught.value.retry_after}
    throttle.begin_attempt("someone.else@example.com", "10.0.1.1")


def test_email_is_compared_after_normalizing(make_storage: StorageFactory) -> None:
    throttle = LoginThrottle(make_storage())
    for variant in ("ada@example.com", "ADA@example.com", " Ada@Example.com ", "ada@EXAMPLE.COM"):
        fail(throttle, variant, None)
    fail(throttle, "ada@example.com", None)
    with pytest.raises(RateLimited):
        throttle.begin_attempt("AdA@example.com", None)


def test_ip_locks_after_five_failures_across_emails(make_storage: StorageFactory) -> None:
    throttle = LoginThrottle(make_storage())
    for attempt in range(5):
        fail(throttle, f"user{attempt}@example.com", "203.0.113.9")
    with pytest.raises(RateLimited) as caught:
        throttle.begin_attempt("fresh@example.com", "203.0.113.9")
    assert caught.value.retry_after > 0
    throttle.begin_attempt("fresh@example.com", "203.0.113.10")


def test_successes_do_not_count_against_an_ip(make_storage: StorageFactory) -> None:
    throttle = LoginThrottle(make_storage())
    for attempt in range(20):
        email = f"user{attempt}@example.com"
        throttle.begin_attempt(email, "198.51.100.7")
        throttle.record_success(email)


def test_success_resets_the_email_count(make_storage: StorageFactory) -> None:
    throttle = LoginThrottle(make_storage())
    for _ in range(4):
        fail(throttle, EMAIL, None)
    throttle.begin_attempt(EMAIL, None)
    throttle.record_success(EMAIL)
    for _ in range(5):
        fail(throttle, EMAIL, None)
    with pytest.raises(RateLimited):
        throttle.begin_attempt(EMAIL, None)


def test_lock_lifts_when_the_window_passes(make_storage: StorageFactory) -> None:
    clock = ManualClock()
    throttle = LoginThrottle(make_storage(), clock=clock)
    for _ in range(5):
        fail(throttle, EMAIL, "192.0.2.1")
    with pytest.raises(RateLimited) as caught:
        throttle.begin_attempt(EMAIL, "192.0.2.1")
    assert caught.value.retry_after == 15 * 60
    clock.advance(timedelta(minutes=15) - timedelta(seconds=1))
    with pytest.raises(RateLimited) as caught:
        throttle.begin_attempt(EMAIL, "192.0.2.1")
    assert caught.value.retry_after == 1
    clock.advance(seconds=1)
    throttle.begin_attempt(EMAIL, "192.0.2.1")


def test_a_moving_window_forgets_attempts_one_by_one(make_storage: StorageFactory) -> None:
    clock = ManualClock()
    throttle = LoginThrottle(make_storage(), clock=clock)
    for _ in range(5):
        fail(throttle, EMAIL, None)
        clock.advance(minutes=1)
    with pytest.raises(RateLimited) as caught:
        throttle.begin_attempt(EMAIL, None)
    assert caught.value.retry_after == 10 * 60  # attempts at 0..4 min, now 5: the first leaves

    clock.advance(minutes=10)
    fail(throttle, EMAIL, None)  # the freed slot
    with pytest.raises(RateLimited) as caught:
        throttle.begin_attempt(EMAIL, None)
    assert caught.value.retry_after == 60  # the second one, a minute later


def test_parallel_attempts_on_one_email_get_five_slots(make_storage: StorageFactory) -> None:
    throttle = LoginThrottle(make_storage())
    barrier = threading.Barrier(20)
    admitted: list[int] = []
    refused: list[int] = []

    def attempt(n: int) -> None:
        barrier.wait()
        try:
            throttle.begin_attempt(EMAIL, f"10.9.0.{n}")
        except RateLimited:
            refused.append(n)
        else:
            admitted.append(n)

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert (len(admitted), len(refused)) == (5, 15)


def test_namespaces_keep_counts_apart(make_storage: StorageFactory) -> None:
    storage = make_storage()
    first = LoginThrottle(storage, namespace="first")
    second = LoginThrottle(storage, namespace="second")
    for _ in range(5):
        fail(first, EMAIL, None)
    with pytest.raises(RateLimited):
        first.begin_attempt(EMAIL, None)
    second.begin_attempt(EMAIL, None)


def test_limits_are_configurable() -> None:
    throttle = LoginThrottle("memory://", max_failures=2, window_seconds=60)
    fail(throttle, EMAIL, None)
    fail(throttle, EMAIL, None)
    with pytest.raises(RateLimited):
        throttle.begin_attempt(EMAIL, None)
    with pytest.raises(ValueError, match="at least 1"):
        LoginThrottle("memory://", max_failures=0)


def test_an_async_storage_uri_is_refused() -> None:
    with pytest.raises(ValueError, match="async"):
        LoginThrottle("async+memory://")


@pytest.mark.redis
def test_a_redis_uri_is_accepted(redis_server: str) -> None:
    namespace = f"lumiku-test-{uuid.uuid4().hex}"
    throttle = LoginThrottle(redis_server, namespace=namespace, window_seconds=2)
    for _ in range(5):
        fail(throttle, EMAIL, None)
    with pytest.raises(RateLimited):
        throttle.begin_attempt(EMAIL, None)


def test_unreachable_storage_without_fallback_refuses_logins() -> None:
    throttle = LoginThrottle("redis://127.0.0.1:1/0?socket_connect_timeout=1")
    with pytest.raises(ServiceUnavailable, match="Redis"):
        throttle.begin_attempt(EMAIL, "192.0.2.1")


def test_unreachable_storage_falls_back_to_counting_in_memory(
    caplog: pytest.LogCaptureFixture,
) -> None:
    throttle = LoginThrottle(
        "redis://127.0.0.1:1/0?socket_connect_timeout=1", fallback=MemoryAttempts()
    )
    for _ in range(5):
        fail(throttle, EMAIL, "192.0.2.1")
    with pytest.raises(RateLimited):
        throttle.begin_attempt(EMAIL, "192.0.2.2")
    assert caplog.text.count("counting attempts in this process only") == 1


def test_keys_hide_emails_and_group_ipv6_by_64() -> None:
    assert EMAIL not in email_key(EMAIL)
    assert email_key(" ADA@example.com") == email_key(EMAIL)
    assert ip_key("2001:db8:1:2:aaaa::1") == ip_key("2001:db8:1:2:bbbb::2") == "2001:db8:1:2::/64"
    assert ip_key("2001:db8:1:3::1") != ip_key("2001:db8:1:2::1")
    assert ip_key("::ffff:192.0.2.1") == ip_key("192.0.2.1") == "192.0.2.1"
    assert ip_key(" not an ip ") == "not an ip"
