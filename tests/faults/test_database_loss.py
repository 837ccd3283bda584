"""PostgreSQL unreachable for a few seconds under a running ``lumiku serve``.

The node reaches the database through a TCP proxy the test controls (``TcpProxy``):
``cut()`` resets every connection and refuses new ones, as a crashed or restarting server
does; ``stall()`` lets no byte through, as a partitioned network does. Meanwhile a load
thread sends liveness probes, database-free requests and 1-credit spends, and a Pose
Generator generation runs.

With the cut, the generation runs on a ``lumiku worker`` (on a Redis of the test's own)
whose database is cut too; with the stall, in the node.

Readiness goes 503 and comes back; liveness stays 200; a request that needs the database
is 503 with ``Retry-After`` (never a 500); every credit is accounted for and ``lumiku
credits reconcile`` finds nothing. PostgreSQL only (SQLite is a file, not a server).
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy.engine import make_url

from lumiku.testing import TcpProxy, sign_up
from lumiku.testing.pytest_plugin import test_backend

from .conftest import FINAL, PROBE, Load, Probe, System, library_poses, poser, until

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        test_backend() != "postgresql", reason="a database server to lose: PostgreSQL only"
    ),
]

OUTAGE_SECONDS = 4.0


@pytest.fixture
def proxy(system: System) -> Iterator[TcpProxy]:
    """Yield a proxy in front of the test's PostgreSQL server."""
    url = make_url(system.env["DATABASE_URL"])
    with TcpProxy(url.host or "127.0.0.1", url.port or 5432) as running:
        yield running


def through(system: System, proxy: TcpProxy) -> str:
    """Return the test database's URL through ``proxy``."""
    url = make_url(system.env["DATABASE_URL"]).set(host="127.0.0.1", port=proxy.port)
    return url.render_as_string(hide_password=False)


def readiness(url: str) -> int:
    """Return the status of ``/health/readiness`` (0: no answer)."""
    try:
        return httpx.get(f"{url}/health/readiness", timeout=10).status_code
    except httpx.HTTPError:
        return 0


@pytest.mark.parametrize("fault", ["cut", "stall"])
def test_readiness_follows_the_database_and_no_credit_is_half_written(
    system: System, proxy: TcpProxy, fault: str, request: pytest.FixtureRequest
) -> None:
    # Three poses of 1.5 s each: the outage comes while the generation runs.
    system.env.update(DATABASE_URL=through(system, proxy), LKT_RENDER_SECONDS="1.5")
    # A delivery cut off from the database cannot give its claim back: the next one takes
    # the job over once the claim's lease (45 s by default) runs out.
    system.env.update(POSE_GENERATOR_LEASE_SECONDS="2")
    if fault == "cut":
        # The generation runs on a `lumiku worker` (on Redis), whose database goes too; with
        # the stall it runs in the node (Redis off).
        redis = request.getfixturevalue("private_redis")()
        system.env.update(REDIS_ENABLED="true", REDIS_URL=redis.url)
        system.worker()
    url, node = system.serve()
    with httpx.Client(base_url=url, timeout=30) as http:
        payer = sign_up(http, "payer")
        artist = poser(http, "artist")
        queued = artist.generate(library_poses(system, 3))
        assert queued.status_code == 202, queued.text
        generation_id = queued.json()["generationId"]
        until(lambda: system.lines("renders.log"), 60, "the generation rendered a pose")

        probes = [
            Probe("liveness", "GET", "/health/liveness"),
            Probe("ping", "GET", f"{PROBE}/ping"),
            Probe("spend", "POST", f"{PROBE}/spend", payer.headers),
        ]
        with Load(url, probes) as load:
            until(lambda: load.counts["spend", 200] >= 3, 30, "spends before the outage")
            getattr(proxy, fault)()
            lost_at = time.monotonic()
            until(lambda: readiness(url) == 503, 20, "readiness 503 while the database is away")
            noticed = time.monotonic() - lost_at
            time.sleep(OUTAGE_SECONDS)  # the outage lasts a few seconds, whatever the checks
            during = dict(load.counts)
            proxy.restore()
            back_at = time.monotonic()
            until(lambda: readiness(url) == 200, 30, "readiness 200 once the database is back")
            recovered = time.monotonic() - back_at
            after = load.counts["spend", 200]
            until(lambda: load.counts["spend", 200] > after + 3, 30, "spends after the outage")
        final = until(
            lambda: (report := artist.generation(generation_id))["status"] in FINAL and report,
            120,
            "the generation finished",
        )
        balance = artist.balance()
        paid = payer.balance()

    counts = load.counts
    print(
        f"\n{fault}: readiness 503 after {noticed:.1f} s, 200 {recovered:.1f} s after the "
        f"database returned; {load.total()} requests {dict(counts)}; during the outage {during}"
    )
    assert node.process.poll() is None
    # Liveness and database-free routes never failed; a spend was 200, or 503 while away.
    assert not [key for key in counts if key[0] in ("liveness", "ping") and key[1] != 200]
    assert {status for label, status in counts if label == "spend"} <= {200, 503}, counts
    if fault == "cut":  # a stalled one waits for the network instead
        assert counts["spend", 503] > 0, "no spend met the outage"
    # Each spend answered 200 took one credit; one answered 503 took none, or (its commit
    # reached the database, the answer did not) one: never a part of one.
    spent = 100 - paid["balance"]
    assert counts["spend", 200] <= spent <= counts["spend", 200] + counts["spend", 503]
    assert paid["held"] == 0
    # The generation took 30 credits for each pose it made, and holds none any more.
    made = system.scalar(
        "SELECT count(*) FROM generated_poses WHERE generation_id = :g", g=generation_id
    )
    assert made == final["posesCompleted"], final
    assert final["creditsCaptured"] == 30 * made, final
    assert balance == {"balance": 100 - 30 * made, "held": 0, "available": 100 - 30 * made}
    assert "every balance matches" in system.reconcile()
