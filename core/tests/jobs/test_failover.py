"""Redis lost at runtime: jobs go to the in-process fallback instead of being refused."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import dramatiq

from lumiku.heldjobs import FailoverMarkers, MemoryMarkers
from lumiku.jobs import JobQueue, build_broker, declare_actor
from lumiku.jobs.worker import InProcessWorker
from lumiku.realtime.publisher import ServerPublisher
from lumiku.testing import drain

ran: list[str] = []


def job(tag: str) -> None:
    ran.append(tag)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _brokers() -> tuple[dramatiq.Broker, dramatiq.Broker, InProcessWorker]:
    primary = build_broker(f"redis://127.0.0.1:{_closed_port()}/0", namespace="failover")
    fallback = build_broker(None)
    for broker in (primary, fallback):
        declare_actor(broker, job, name="p.job", queue="p")
    worker = InProcessWorker(fallback, threads=1)
    return primary, fallback, worker


def test_while_redis_is_down_jobs_run_in_process() -> None:
    primary, fallback, worker = _brokers()
    queue = JobQueue(primary)
    queue.set_fallback(fallback, primary_up=lambda: False)
    queue.before_fallback(worker.start)
    try:
        queue.enqueue("p.job", tag="down")
        drain(fallback, fail_fast=True)
    finally:
        worker.stop()
        primary.close()
    assert queue.active_broker() is fallback
    assert "down" in ran


def test_a_redis_that_stops_answering_falls_back_at_once() -> None:
    primary, fallback, worker = _brokers()
    queue = JobQueue(primary)
    queue.set_fallback(fallback, primary_up=lambda: True)  # the watch has not noticed yet
    queue.before_fallback(worker.start)
    try:
        queue.enqueue("p.job", tag="unnoticed")
        drain(fallback, fail_fast=True)
    finally:
        worker.stop()
        primary.close()
    assert queue.active_broker() is primary
    assert "unnoticed" in ran


class _Markers(MemoryMarkers):
    def __init__(self, broken: bool = False) -> None:
        super().__init__()
        self.broken = broken

    def add(self, actor: str, job_id: str) -> None:
        if self.broken:
            import redis

            raise redis.ConnectionError("down")
        super().add(actor, job_id)


def test_markers_follow_the_message() -> None:
    primary, fallback = _Markers(), MemoryMarkers()
    up = {"value": True}
    markers = FailoverMarkers(primary, fallback, lambda: up["value"])
    markers.add("a", "in-redis")
    up["value"] = False
    markers.add("a", "in-memory")
    up["value"] = True
    primary.broken = True
    markers.add("a", "redis-failed")

    assert primary.missing("a", ["in-redis"]) == set()
    assert fallback.missing("a", ["in-memory", "redis-failed"]) == set()
    assert markers.missing("a", ["in-redis", "in-memory", "redis-failed", "lost"]) == {"lost"}
    markers.discard("a", "in-memory")
    assert markers.missing("a", ["in-memory"]) == {"in-memory"}


class _Server:
    def __init__(self) -> None:
        self.emits: list[dict[str, Any]] = []

    async def emit(self, event: str, data: Any, **options: Any) -> None:
        self.emits.append({"event": event, **options})


def test_events_stay_on_this_node_while_redis_is_away() -> None:
    server = _Server()
    local = {"value": False}

    async def publish_twice() -> None:
        publisher = ServerPublisher(
            server,  # type: ignore[arg-type]  # a fake server recording emits
            asyncio.get_running_loop(),
            local_only=lambda: local["value"],
        )
        publisher.publish("u1", "e", {}, namespace="/ns")
        local["value"] = True
        publisher.publish("u1", "e", {}, namespace="/ns")
        await asyncio.sleep(0.05)

    asyncio.run(publish_twice())
    assert [emit["ignore_queue"] for emit in server.emits] == [False, True]
