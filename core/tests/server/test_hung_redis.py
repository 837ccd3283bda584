"""A hung Redis (alive but silent: ``SIGSTOP``) costs a request at most about one timeout.

The login throttle and the rate limiter fall back to memory behind a circuit breaker, so
forty sign-ins at once do not hold the threadpool and unrelated reads keep answering.
"""

from __future__ import annotations

import concurrent.futures
import os
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx

from lumiku.testing.redis_server import RedisProcess

from .conftest import LiveServer

PASSWORD = "Hung-redis-pw-7f3kQ9xLm"
ACCOUNTS = 8  # five sign-ins each at once: within the throttle's five attempts per email


@contextmanager
def frozen(redis: RedisProcess) -> Iterator[None]:
    """Stop the Redis process (``SIGSTOP``): connections are accepted, nothing answers."""
    assert redis.process is not None
    os.kill(redis.process.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(redis.process.pid, signal.SIGCONT)


def timed(call: Callable[[], httpx.Response]) -> tuple[int, float]:
    started = time.perf_counter()
    status = call().status_code
    return status, time.perf_counter() - started


def test_logins_and_reads_stay_fast_while_redis_hangs(
    live_server: Callable[..., LiveServer], private_redis: Callable[..., RedisProcess]
) -> None:
    redis = private_redis()
    server = live_server(REDIS_ENABLED="true", REDIS_URL=redis.url)
    emails = [f"u{n}-{uuid.uuid4().hex[:8]}@example.test" for n in range(ACCOUNTS)]
    tokens = []
    for email in emails:
        response = httpx.post(
            f"{server.url}/api/auth/register",
            json={"email": email, "password": PASSWORD},
            timeout=30,
        )
        assert response.status_code == 201, response.text
        tokens.append(response.json()["token"])

    def login(index: int) -> tuple[int, float]:
        body = {"email": emails[index % ACCOUNTS], "password": PASSWORD}
        # Each sign-in from an address of its own (loopback is a trusted proxy by default),
        # as forty users would be: one address is allowed fewer attempts at once.
        headers = {"X-Forwarded-For": f"10.1.0.{index + 1}"}
        url = f"{server.url}/api/auth/login"
        return timed(lambda: httpx.post(url, json=body, headers=headers, timeout=60))

    def read(index: int) -> tuple[int, float]:
        headers = {"Authorization": f"Bearer {tokens[index % ACCOUNTS]}"}
        return timed(lambda: httpx.get(f"{server.url}/api/auth/profile", headers=headers))

    def burst() -> tuple[list[tuple[int, float]], list[tuple[int, float]]]:
        with concurrent.futures.ThreadPoolExecutor(48) as pool:
            logins = [pool.submit(login, n) for n in range(40)]
            time.sleep(0.05)  # the sign-ins are in flight when the reads come
            reads = [pool.submit(read, n) for n in range(8)]
            return [f.result() for f in logins], [f.result() for f in reads]

    # The same burst with Redis answering: what forty password hashes cost this machine.
    base_single = login(0)[1]
    base_logins, base_reads = burst()
    base_read = max(elapsed for _, elapsed in base_reads)
    with frozen(redis):  # the first sign-in pays one timeout, then the breaker is open
        single_status, single = login(0)
    time.sleep(5.5)  # Redis is back: the next command probes it and closes the breaker
    assert login(1)[0] == 200
    with frozen(redis):  # all forty in flight before the breaker opens: the worst case
        login_results, read_results = burst()
    slowest_read = max(elapsed for _, elapsed in read_results)
    slowest_login = max(elapsed for _, elapsed in login_results)
    print(
        f"\nRedis answering: one login {base_single:.2f} s; 40 concurrent logins, slowest "
        f"{max(e for _, e in base_logins):.2f} s; 8 reads during them, slowest {base_read:.2f} s"
        f"\nRedis stopped: one login {single:.2f} s; 40 concurrent logins, slowest "
        f"{slowest_login:.2f} s; 8 unrelated reads during them, slowest {slowest_read:.2f} s"
    )
    assert {status for status, _ in login_results} == {200}
    assert {status for status, _ in read_results} == {200}
    assert single_status == 200
    # A hung Redis costs about one timeout (1 s), not one per command (the issue saw
    # 15 s for a login and 13 s for the reads); the margins absorb a busy machine.
    assert single < base_single + 1.5
    assert slowest_read < base_read + 2.0
    time.sleep(5.5)
    assert login(2)[0] == 200
