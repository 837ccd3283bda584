"""LoginThrottle: per (account, address), per address, and per account from unfamiliar
addresses; a success gives slots back and makes the address familiar."""

from __future__ import annotations

import contextlib
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
import redis

from lumiku.auth import AttemptStore, Limits, LoginThrottle, MemoryAttempts, RedisAttempts
from lumiku.auth.throttle import email_key, ip_key
from lumiku.errors import RateLimited, ServiceUnavailable
from lumiku.testing import ManualClock

EMAIL = "ada@example.com"
HOME = "198.51.100.7"

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
    throttle.record_failure(throttle.begin_attempt(email, ip))


def succeed(throttle: LoginThrottle, email: str, ip: str | None) -> None:
    throttle.record_success(throttle.begin_attempt(email, ip))


def test_one_address_guessing_one_account_stops_after_five(make_storage: StorageFactory) -> None:
    throttle = LoginThrottle(make_storage())
    for _ in range(5):
        fail(throttle, EMAIL, "203.0.113.9")
    with pytest.raises(RateLimited) as caught:
        throttle.begin_attempt(EMAIL, "203.0.113.9")
    assert 0 < caught.value.retry_after <= 15 * 60
    assert caught.value.details == {"retryAfter": caught.value.retry_after}
    assert "from your address" in caught.value.message
    # Nobody else is affected: the owner elsewhere, other accounts from that address.
    throttle.begin_attempt(EMAIL, HOME)
    throttle.begin_attempt("someone.else@example.com", "203.0.113.9")


def test_the_owner_gets_in_from_a_known_address_while_guessed_from_everywhere(
    make_storage: StorageFactory,
) -> None:
    throttle = LoginThrottle(make_storage())
    succeed(throttle, EMAIL, HOME)  # the owner signed in from home before
    for n in range(200):  # a botnet: many addresses, a few guesses each
        with contextlib.suppress(RateLimited):
            fail(throttle, EMAIL, f"10.{n // 250}.{n % 250}.1")
    with pytest.raises(RateLimited) as caught:
        throttle.begin_attempt(EMAIL, "10.200.0.1")  # a new address is slowed
    assert "not signed in from recently" in caught.value.message
    succeed(throttle, EMAIL, HOME)  # the owner is not


def test_the_account_window_counts_only_unfamiliar_addresses(
    make_storage: StorageFactory,
) -> None:
    throttle = LoginThrottle(make_storage(), limits=Limits(per_account=3))
    succeed(throttle, EMAIL, HOME)
    for _ in range(4):  # the owner's own typos from home count in the pair window only
        fail(throttle, EMAIL, HOME)
    for n in range(3):
        fail(throttle, EMAIL, f"10.0.0.{n}")
    with pytest.raises(RateLimited):
        throttle.begin_attempt(EMAIL, "10.0.0.9")
    succeed(throttle, EMAIL, HOME)


def test_one_address_guessing_many_accounts_is_throttled(make_storage: StorageFactory) -> None:
    throttle = LoginThrottle(make_storage())
    for n in range(20):
        fail(throttle, f"user{n}@example.com", "203.0.113.9")
    with pytest.raises(RateLimited) as caught:
        throttle.begin_attempt("fresh@example.com", "203.0.113.9")
    assert caught.value.message.startswith("Too many failed sign-in attempts from your address")
    throttle.begin_attempt("fresh@example.com", "203.0.113.10")


def test_a_shared_address_being_guessed_from_does_not_lock_its_known_users(
    make_storage: StorageFactory,
) -> None:
    office = "192.0.2.10"
    throttle = LoginThrottle(make_storage())
    succeed(throttle, EMAIL, office)
    for n in range(30):
        with contextlib.suppress(RateLimited):
            fail(throttle, f"victim{n}@example.com", office)
    with pytest.raises(RateLimited):
        throttle.begin_attempt("newcomer@example.com", office)
    succeed(throttle, EMAIL, office)


def test_successes_do_not_count_against_an_address(make_storage: StorageFactory) -> None:
    throttle = LoginThrottle(make_storage())
    for n in range(40):
        succeed(throttle, f"user{n}@example.com", HOME)


def test_a_success_forgives_the_pair(make_storage: StorageFactory) -> None:
    throttle = LoginThrottle(make_storage())
    for _ in range(4):
        fail(throttle, EMAIL, None)
    succeed(throttle, EMAIL, None)
    for _ in range(5):
        fail(throttle, EMAIL, None)
    with pytest.raises(RateLimited):
        throttle.begin_attempt(EMAIL, None)


def test_a_familiar_address_is_forgotten_after_thirty_days(make_storage: StorageFactory) -> None:
    clock = ManualClock()
    throttle = LoginThrottle(make_storage(), limits=Limits(per_account=1), clock=clock)
    succeed(throttle, EMAIL, HOME)
    fail(throttle, EMAIL, "10.0.0.1")
    succeed(throttle, EMAIL, HOME)  # familiar: the full account window does not apply
    clock.advance(days=30)
    fail(throttle, EMAIL, "10.0.0.1")
    with pytest.raises(RateLimited):
        throttle.begin_attempt(EMAIL, HOME)  # no longer familiar, the account window is full


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


def test_a_refused_attempt_takes_no_slot(make_storage: StorageFactory) -> None:
    throttle = LoginThrottle(make_storage(), limits=Limits(per_address=2, per_account=3))
    fail(throttle, "a@example.com", "203.0.113.9")
    fail(throttle, "b@example.com", "203.0.113.9")
    for _ in range(10):  # refused by the address window: the account window stays empty
        with pytest.raises(RateLimited):
            throttle.begin_attempt(EMAIL, "203.0.113.9")
    fail(throttle, EMAIL, "203.0.113.10")
    fail(throttle, EMAIL, "203.0.113.10")
    fail(throttle, EMAIL, "203.0.113.11")
    with pytest.raises(RateLimited):
        throttle.begin_attempt(EMAIL, "203.0.113.12")


@pytest.mark.parametrize("where", ["one address", "many addresses"])
def test_parallel_attempts_cannot_overshoot(make_storage: StorageFactory, where: str) -> None:
    throttle = LoginThrottle(make_storage(), limits=Limits(per_account=10))
    barrier = threading.Barrier(30)
    admitted: list[int] = []

    def attempt(n: int) -> None:
        barrier.wait()
        ip = "10.9.0.1" if where == "one address" else f"10.9.0.{n}"
        try:
            throttle.begin_attempt(EMAIL, ip)
        except RateLimited:
            return
        admitted.append(n)

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(admitted) == (5 if where == "one address" else 10)


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
    throttle = LoginThrottle("memory://", limits=Limits(per_pair=2, window_seconds=60))
    fail(throttle, EMAIL, None)
    fail(throttle, EMAIL, None)
    with pytest.raises(RateLimited):
        throttle.begin_attempt(EMAIL, None)
    with pytest.raises(ValueError, match="at least 1"):
        Limits(per_pair=0)


def test_an_async_storage_uri_is_refused() -> None:
    with pytest.raises(ValueError, match="async"):
        LoginThrottle("async+memory://")


@pytest.mark.redis
def test_two_throttles_on_one_redis_agree(redis_server: str) -> None:
    """Two nodes (or a node before and after a restart) share the counts."""
    namespace = f"lumiku-test-{uuid.uuid4().hex}"
    limits = Limits(per_account=10)
    first = LoginThrottle(redis_server, namespace=namespace, limits=limits)
    second = LoginThrottle(redis_server, namespace=namespace, limits=limits)
    for throttle in (first, second, first, second, first):
        fail(throttle, EMAIL, "203.0.113.9")
    with pytest.raises(RateLimited):
        second.begin_attempt(EMAIL, "203.0.113.9")
    succeed(first, EMAIL, HOME)
    restarted = LoginThrottle(redis_server, namespace=namespace, limits=limits)
    for n in range(5):  # 5 of the account's 10 were taken from 203.0.113.9
        fail(restarted, EMAIL, f"10.1.0.{n}")
    with pytest.raises(RateLimited):
        restarted.begin_attempt(EMAIL, "10.1.0.99")
    succeed(second, EMAIL, HOME)  # familiar on every node


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
        throttle.begin_attempt(EMAIL, "192.0.2.1")
    assert caplog.text.count("counting attempts in this process only") == 1


def test_keys_hide_emails_and_group_ipv6_by_64() -> None:
    assert EMAIL not in email_key(EMAIL)
    assert email_key(" ADA@example.com") == email_key(EMAIL)
    assert ip_key("2001:db8:1:2:aaaa::1") == ip_key("2001:db8:1:2:bbbb::2") == "2001:db8:1:2::/64"
    assert ip_key("2001:db8:1:3::1") != ip_key("2001:db8:1:2::1")
    assert ip_key("::ffff:192.0.2.1") == ip_key("192.0.2.1") == "192.0.2.1"
    assert ip_key(" not an ip ") == "not an ip"
    assert ip_key(None) == ip_key("") == "unknown"


def test_the_account_window_needs_a_hundred_guesses_from_twenty_addresses(
    make_storage: StorageFactory,
) -> None:
    throttle = LoginThrottle(make_storage())
    assert throttle.limits == Limits(per_pair=5, per_address=20, per_account=100)
    for n in range(99):  # 20 addresses, 5 each (the pair window), but one short
        fail(throttle, EMAIL, f"198.18.0.{n // 5}")
    succeed(throttle, EMAIL, "192.0.2.99")  # an address the owner never used still works
    for n in range(100):
        with contextlib.suppress(RateLimited):
            fail(throttle, EMAIL, f"198.18.1.{n // 5}")
    with pytest.raises(RateLimited, match="not signed in from recently"):
        throttle.begin_attempt(EMAIL, "192.0.2.100")


def test_remember_makes_an_address_familiar_and_forgives_its_failures(
    make_storage: StorageFactory,
) -> None:
    throttle = LoginThrottle(make_storage(), limits=Limits(per_account=5))
    for _ in range(4):
        fail(throttle, EMAIL, HOME)
    throttle.remember(EMAIL, HOME)  # signed up (or changed the password) from there
    for n in range(10):
        with contextlib.suppress(RateLimited):
            fail(throttle, EMAIL, f"198.18.0.{n}")
    with pytest.raises(RateLimited):
        throttle.begin_attempt(EMAIL, "198.18.0.99")
    for _ in range(4):  # the pair's earlier failures were forgiven
        fail(throttle, EMAIL, HOME)
    succeed(throttle, EMAIL, HOME)


def test_remember_without_its_storage_is_logged_not_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    throttle = LoginThrottle("redis://127.0.0.1:1/0?socket_connect_timeout=1")
    throttle.remember(EMAIL, HOME)
    assert "not remembered" in caplog.text
