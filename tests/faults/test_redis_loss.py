"""Redis stopped (or frozen) under a running system of real processes, then back.

A ``lumiku serve`` node and a ``lumiku worker`` use a ``redis-server`` of the test's own.
The node boots while that Redis is down, so the ``lkt_waiter`` plugin (it needs Redis)
waits; when Redis starts, the node starts it without a restart. Then, with a load thread
sending requests that do not need Redis (health, profile, balance, a 1-credit spend, a
database-free route, sign-ins), Redis is stopped (or frozen with SIGSTOP: every command
then costs a timeout instead of a refusal):

- within 10 s ``/health/detailed`` says Redis and the plugins that need it are degraded
  (``lkt_waiter``: disabled);
- no request of the load gets a 5xx or no answer;
- a Pose Generator and an Avatar Creator generation submitted meanwhile run in the node
  (in process) and are charged exactly;

and when Redis is back (restarted empty, or thawed), the plugins serve again, a new
generation runs on the worker, every credit is accounted for and ``lumiku credits
reconcile`` finds nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from lumiku.testing import OPERATOR_HEADERS, PASSWORD, RedisProcess, sign_up
from lumiku.testing.pytest_plugin import test_backend

from .conftest import FINAL, PROBE, Load, Poser, Probe, System, library_poses, poser, until

pytestmark = [pytest.mark.slow, pytest.mark.redis]

AVATARS = "/api/apps/avatar-creator"
NOTICED_WITHIN = 10.0  # seconds: the bound for /health/detailed to say degraded


def detailed(url: str) -> dict[str, Any]:
    """Return ``/health/detailed``: the redis check's status and each plugin's state."""
    body = httpx.get(f"{url}/health/detailed", headers=OPERATOR_HEADERS, timeout=10).json()
    states = {plugin: report["state"] for plugin, report in body["plugins"].items()}
    return {"status": body["status"], "redis": body["checks"]["redis"]["status"], **states}


def degraded(view: dict[str, Any]) -> bool:
    """Return whether ``view`` (``detailed``) says what losing Redis should."""
    needing = ("redis", "pose_generator", "avatar_creator")
    return view["status"] == "degraded" and all(view[name] == "degraded" for name in needing)


def rendered_by(system: System) -> int:
    """Return the process id that rendered the last pose."""
    return int(system.lines("renders.log")[-1].split()[0])


def generate_poses(artist: Poser, system: System) -> dict[str, Any]:
    """Submit a one-pose generation and wait for its end; return its report."""
    queued = artist.generate(library_poses(system, 1))
    assert queued.status_code == 202, queued.text
    generation_id = queued.json()["generationId"]
    return dict(
        until(
            lambda: (report := artist.generation(generation_id))["status"] in FINAL and report,
            60,
            "the pose generation finished",
        )
    )


def generate_avatar(http: httpx.Client, headers: dict[str, str]) -> dict[str, Any]:
    """Create an Avatar Creator project, submit a generation (10 credits), wait for its end."""
    project = http.post(f"{AVATARS}/projects", json={"name": "Faults"}, headers=headers)
    assert project.status_code == 201, project.text
    body = {"name": "Made", "prompt": "a friendly person", "width": 512, "height": 512}
    queued = http.post(
        f"{AVATARS}/projects/{project.json()['id']}/avatars/generate",
        json={**body, "seed": 7},
        headers=headers,
    )
    assert queued.status_code == 202, queued.text
    generation_id = queued.json()["generation"]["id"]

    def report() -> dict[str, Any]:
        answer = http.get(f"{AVATARS}/generations/{generation_id}", headers=headers)
        return dict(answer.json())

    return dict(until(lambda: (r := report())["status"] in FINAL and r, 60, "the avatar"))


@pytest.mark.parametrize(
    "how",
    [
        "stopped",
        # A frozen Redis (SIGSTOP) costs timeouts rather than refusals; the SQLite suite
        # proves it, to keep the PostgreSQL suite's time (the database plays no part).
        pytest.param(
            "hung",
            marks=pytest.mark.skipif(test_backend() != "sqlite", reason="the SQLite suite's"),
        ),
    ],
)
def test_the_system_degrades_without_redis_and_recovers_when_it_returns(
    system: System, private_redis: Callable[..., RedisProcess], how: str
) -> None:
    redis = private_redis()
    redis.stop()  # down when the node boots: the plugin that needs it waits
    env = {"REDIS_ENABLED": "true", "REDIS_URL": redis.url}
    system.env.update(env)
    url, node = system.serve()
    assert detailed(url)["lkt_waiter"] == "disabled"
    assert system.lines("startups.log") == []

    # -- Redis comes: the waiting plugin is started, without a restart --
    redis.start()
    until(lambda: detailed(url)["lkt_waiter"] == "running", NOTICED_WITHIN + 5, "waiter up")
    until(lambda: system.lines("startups.log"), 10, "the waiter's startup hook ran")
    assert system.lines("startups.log") == [f"{node.pid} lkt_waiter"]
    worker = system.worker()
    with httpx.Client(base_url=url, timeout=30) as http:
        artist = poser(http, "artist")
        first = generate_poses(artist, system)
        assert first["status"] == "completed", first
        on_worker = rendered_by(system)
        assert on_worker != node.pid  # a worker process of `lumiku worker` rendered it

        # -- Redis stops under load --
        spender = sign_up(http, "spender")
        system.grant(spender.email, 10_000)
        sign_in = {"email": spender.email, "password": PASSWORD}
        probes = [
            Probe("health", "GET", "/health"),
            Probe("liveness", "GET", "/health/liveness"),
            Probe("readiness", "GET", "/health/readiness"),
            Probe("profile", "GET", "/api/auth/profile", spender.headers),
            Probe("balance", "GET", "/api/credits/balance", spender.headers),
            Probe("spend", "POST", f"{PROBE}/spend", spender.headers),
            Probe("ping", "GET", f"{PROBE}/ping"),
            # The login throttle counts in Redis, and in memory while Redis is away.
            Probe("login", "POST", "/api/auth/login", json=sign_in, every=10),
        ]
        with Load(url, probes) as load:
            until(lambda: load.counts["spend", 200] >= 3, 30, "spends before the loss")
            redis.stop() if how == "stopped" else redis.pause()
            lost_at = time.monotonic()
            until(lambda: degraded(detailed(url)), NOTICED_WITHIN, "/health/detailed degraded")
            noticed = time.monotonic() - lost_at
            assert detailed(url)["lkt_waiter"] == "disabled"
            gated = http.get("/api/apps/lkt-waiter/hello")
            assert gated.status_code == 503, gated.text

            # Generations submitted while Redis is away run in the node.
            meanwhile = generate_poses(artist, system)
            avatar = generate_avatar(http, artist.headers)
            assert meanwhile["status"] == "completed", meanwhile
            assert avatar["status"] == "completed", avatar
            assert rendered_by(system) == node.pid

            # -- Redis returns: restarted empty, or answering again --
            redis.start() if how == "stopped" else redis.resume()
            until(
                lambda: detailed(url)["lkt_waiter"] == "running" and detailed(url)["redis"] == "ok",
                NOTICED_WITHIN + 5,
                "the node sees Redis again",
            )
            assert http.get("/api/apps/lkt-waiter/hello").status_code == 200
            spends = load.counts["spend", 200]
            until(lambda: load.counts["spend", 200] > spends + 3, 30, "spends after")
        after = generate_poses(artist, system)
        assert after["status"] == "completed", after
        assert rendered_by(system) == on_worker  # the worker reconnected by itself
        balance = artist.balance()
        paid = spender.balance()

    counts = dict(load.counts)
    print(f"\nredis {how}, noticed after {noticed:.1f} s; {load.total()} requests: {counts}")
    assert load.failed() == {}, load.counts
    assert system.lines("startups.log") == [f"{node.pid} lkt_waiter"]  # started once
    # Three one-pose generations (30 each) and one avatar (10), nothing held.
    assert balance == {"balance": 100 - 3 * 30 - 10, "held": 0, "available": 0}
    left = 100 + 10_000 - load.counts["spend", 200]
    assert paid == {"balance": left, "held": 0, "available": left}
    assert "every balance matches" in system.reconcile()
    assert node.process.poll() is None
    assert worker.process.poll() is None
