"""Two ``lumiku serve`` nodes and two ``lumiku worker`` processes on one PostgreSQL database,
one Redis and one S3 bucket, as on two machines: every process is real, on its own port.

- A Socket.IO client on node A follows a Pose Generator generation submitted through node
  B and run by one of the workers (its events travel through Redis); the result image is
  downloaded from node A, streamed from the bucket (no node has it on its disk).
- 200 concurrent charged requests (a 1-credit spend each, on a plugin installed for the
  test: the shipped plugins' charged routes allow a few a minute per user), spread over
  both nodes, take exactly the 100 credits the account holds and never more; ``lumiku
  credits reconcile`` finds nothing.
- Each "machine" (node A with worker 1, node B with worker 2) shares a metrics directory:
  the jobs the workers ran are on the nodes' ``/metrics``.

The test has a database (a copy of the migrated template), a Redis server and a bucket of
its own, so runs side by side never meet; it stops only the processes it started. It runs
in the PostgreSQL suite only (SQLite is one machine's database).
"""

from __future__ import annotations

import os
import queue
import subprocess
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families

from lumiku.testing import (
    OPERATOR_HEADERS,
    LumikuProcess,
    LumikuProcesses,
    install_plugins,
    listening,
    lumiku_command,
    process_env,
    runtime_of,
    sign_up,
    wait_ready,
)
from lumiku.testing.pytest_plugin import test_backend
from lumiku.testing.s3_server import S3Server
from lumiku.testing.server import free_port

pytestmark = [
    pytest.mark.slow,
    pytest.mark.redis,
    pytest.mark.skipif(
        test_backend() != "postgresql", reason="several nodes share a PostgreSQL database"
    ),
]

POSES = "/api/apps/pose-generator"
SPENDER = "/api/apps/lkt-spender"
NAMESPACE = "/pose-generator"
SMALL = {"POSE_GENERATOR_IMAGE_WIDTH": "192", "POSE_GENERATOR_IMAGE_HEIGHT": "256"}
REQUESTS = 200
WELCOME = 100  # the account's credits: that many spends of 1 succeed

SPENDER_MODULE = '''
"""A plugin with one charged route and no rate limit, installed for the multi-node test."""

import uuid

import attrs

from lumiku import Call, PluginSpec, hookimpl, post


@attrs.frozen
class SpendResult:
    """The balance after the spend."""

    balance: int


class Hooks:
    @hookimpl
    def register_routes(self, ctx):
        def spend(call: Call[None, None]) -> SpendResult:
            key = f"lkt_spender:{call.user_id}:{uuid.uuid4().hex}"
            entry = ctx.ledger.spend(call.user_id, 1, "multi-node spend", key, plugin=ctx.id)
            return SpendResult(entry.balance_after)

        return [post("/spend", spend, response=SpendResult, auth="user")]


spec = PluginSpec(id="lkt_spender", hooks=Hooks())
'''


@pytest.fixture
def migrate(make_app: Callable[..., Any]) -> Iterator[Callable[..., Any]]:
    """Return ``migrate(**env)``: an app on the test's database, migrated; its engine is
    disposed after the test (the nodes are other processes)."""
    built: list[Any] = []

    def build(**env: str) -> Any:
        built.append(make_app(**env))
        return built[-1]

    yield build
    for app in built:
        runtime_of(app).engine.dispose()


def events_until_end(received: queue.Queue[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """Return the events up to the generation's last one."""
    events: list[tuple[str, Any]] = []
    while True:
        event, data = received.get(timeout=90)
        events.append((event, data))
        if event in ("generation:completed", "generation:failed"):
            return events


def scrape(url: str) -> Counter[tuple[str, ...]]:
    """Return the node's queue jobs by ``("jobs", queue, state)``, its spend requests by
    ``("requests", status class)`` and its spends by ``("spends", outcome)``."""
    text = httpx.get(f"{url}/metrics", headers=OPERATOR_HEADERS, timeout=30).text
    counts: Counter[tuple[str, ...]] = Counter()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels, number = sample.labels, int(sample.value)
            if sample.name == "lumiku_queue_jobs_total":
                counts["jobs", labels["queue"], labels["state"]] += number
            elif sample.name == "lumiku_http_request_duration_seconds_count":
                if labels["route"] == f"{SPENDER}/spend":
                    counts["requests", labels["status"]] += number
            elif sample.name == "lumiku_credit_transactions_total" and (
                labels["operation"] == "spend"
            ):
                counts["spends", labels["outcome"]] += number
    return counts


def install_spender(site: Path) -> str:
    """Write the spender plugin to ``site`` and install it there (an entry point); return
    the folder to put on the nodes' ``PYTHONPATH``."""
    site.mkdir()
    (site / "lkt_multinode_spender.py").write_text(SPENDER_MODULE)
    return install_plugins(
        site, "lkt-multinode-spender", {"lkt_spender": "lkt_multinode_spender:spec"}
    )


def test_two_nodes_and_two_workers_share_files_events_and_credits(
    lumiku_env: dict[str, str],
    migrate: Callable[..., Any],
    private_redis: Callable[..., Any],
    s3_env: dict[str, str],
    s3_server: S3Server,
    lumiku_processes: LumikuProcesses,
    tmp_path: Path,
) -> None:
    redis = private_redis()
    shared = {**s3_env, **SMALL, "REDIS_ENABLED": "true", "REDIS_URL": redis.url}
    app = migrate(**shared)  # migrates the test's database for the installed plugins
    engine = runtime_of(app).engine
    site = install_spender(tmp_path / "site")
    machines = {name: tmp_path / f"metrics-{name}" for name in ("a", "b")}
    urls: dict[str, str] = {}
    nodes: dict[str, LumikuProcess] = {}
    for name, directory in machines.items():
        directory.mkdir()
        env = process_env(lumiku_env, shared, pythonpath=site)
        env["PROMETHEUS_MULTIPROC_DIR"] = str(directory)
        port = free_port()
        urls[name] = f"http://127.0.0.1:{port}"
        nodes[name] = lumiku_processes.start(f"node-{name}", "serve", "--port", str(port), env=env)
        lumiku_processes.start(
            f"worker-{name}", "worker", "--processes", "1", "--threads", "2", env=env
        )
    for name, node in nodes.items():
        wait_ready(urls[name], node)
    node_a, node_b = urls["a"], urls["b"]

    with (
        httpx.Client(base_url=node_b, timeout=60) as via_b,
        httpx.Client(base_url=node_a, timeout=60) as via_a,
    ):
        # -- a generation submitted through B, followed on A, its image fetched from A --
        owner = sign_up(via_b, "owner", prefix=POSES)
        uploaded = owner.post("/uploads", files={"image": ("me.png", portrait(), "image/png")})
        assert uploaded.status_code == 201, uploaded.text
        body = {
            "projectName": "Two nodes",
            "avatarSource": "UPLOAD",
            "avatarImageUrl": uploaded.json()["imageUrl"],
        }
        project = owner.post("/projects", json=body)
        assert project.status_code == 201, project.text
        with engine.connect() as connection:
            poses = list(
                connection.execute(sa.text("SELECT id FROM pose_library ORDER BY id LIMIT 2"))
                .scalars()
                .all()
            )
        with listening(node_a, owner.token, NAMESPACE, timeout=30) as events_on_a:
            queued = owner.post(
                "/generate",
                json={
                    "projectId": project.json()["id"],
                    "generationType": "GALLERY_REFERENCE",
                    "selectedPoseIds": poses,
                },
            )
            assert queued.status_code == 202, queued.text
            generation_id = queued.json()["generationId"]
            events = events_until_end(events_on_a)

        names = [name for name, _ in events]
        assert names == ["generation:started"] + ["generation:progress"] * 2 + [
            "generation:completed"
        ], events
        assert all(data["generationId"] == generation_id for _, data in events)
        results = via_a.get(
            f"{POSES}/generations/{generation_id}/results", headers=owner.headers
        ).json()
        image = via_a.get(results["poses"][0]["imageUrl"])
        assert image.status_code == 200
        assert image.headers["content-type"] == "image/png"
        bucket = s3_server.client().list_objects_v2(Bucket=s3_env["LUMIKU_S3_BUCKET"])
        assert len(bucket.get("Contents", [])) == 1 + 2 * 2  # the upload; each pose, thumbnail
        assert not (Path(lumiku_env["LUMIKU_STORAGE_DIR"]) / "pose-generator").exists() or not [
            path
            for path in (Path(lumiku_env["LUMIKU_STORAGE_DIR"]) / "pose-generator").rglob("*")
            if path.is_file()
        ]

        # -- 200 concurrent charged requests over both nodes --
        payer = sign_up(via_a, "payer")
        statuses = spend_concurrently(node_a, node_b, payer.token)
        balance = payer.balance()

    assert statuses == {200: WELCOME, 402: REQUESTS - WELCOME}, statuses
    assert balance == {"balance": 0, "held": 0, "available": 0}
    with engine.connect() as connection:
        spent = connection.execute(
            sa.text("SELECT count(*), sum(amount) FROM credit_entries WHERE user_id = :user"),
            {"user": payer.user_id},
        ).one()
    assert tuple(spent) == (1 + WELCOME, 0)  # the welcome grant and 100 spends of 1

    reconcile = subprocess.run(
        [*lumiku_command(), "credits", "reconcile"],
        env={**os.environ, **lumiku_env, **shared},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert reconcile.returncode == 0, reconcile.stdout + reconcile.stderr
    assert "every balance matches" in reconcile.stdout

    on_a, on_b = scrape(node_a), scrape(node_b)
    both = on_a + on_b
    # The generation ran on one worker: its machine's node reports it, and only once.
    assert both["jobs", "pose_generator", "processed"] == 1
    # Each node counted the requests it served; together, all of them.
    assert (on_a["requests", "2xx"], on_a["requests", "4xx"]) != (0, 0)
    assert (on_b["requests", "2xx"], on_b["requests", "4xx"]) != (0, 0)
    assert (both["requests", "2xx"], both["requests", "4xx"]) == (WELCOME, REQUESTS - WELCOME)
    assert (both["spends", "ok"], both["spends", "insufficient"]) == (
        WELCOME,
        REQUESTS - WELCOME,
    )
    print(
        f"\nnodes 2, workers 2, requests {REQUESTS}: {dict(statuses)}; "
        f"metrics of machine A {dict(on_a)}, of machine B {dict(on_b)}"
    )


def spend_concurrently(node_a: str, node_b: str, token: str) -> Counter[int]:
    """Send ``REQUESTS`` spends at once, alternating nodes; return the statuses."""
    headers = {"Authorization": f"Bearer {token}"}

    def spend(number: int) -> int:
        base = node_a if number % 2 else node_b
        with httpx.Client(base_url=base, timeout=120) as client:
            return client.post(f"{SPENDER}/spend", headers=headers).status_code

    with ThreadPoolExecutor(max_workers=32) as pool:
        return Counter(pool.map(spend, range(REQUESTS)))


def portrait() -> bytes:
    """Return a 256 x 256 PNG (the Pose Generator's smallest avatar)."""
    import io

    from PIL import Image

    picture = Image.new("RGB", (256, 256), (40, 120, 200))
    picture.paste((150, 100, 70), (85, 64, 170, 128))
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()
