"""Pose Generator jobs against a bare Dramatiq actor, through Redis, measured in one run.

Run: ``.venv/bin/python bench/jobs.py`` (PostgreSQL at ``LUMIKU_TEST_POSTGRES_URL`` and
``redis-server`` on the PATH; it starts its own Redis on a free port and creates and drops
its own database). The app is served by uvicorn with Socket.IO; workers are separate
processes (``lumiku worker`` for the plugin, ``bench/jobs.py baseline-worker`` for the
baseline); a Socket.IO client receives the events.

1. Latency: submit (``POST /generate``, one pose) to the first ``generation:progress`` at
   the client, with one worker; baseline: enqueue of a bare actor that publishes one
   Socket.IO event, to its arrival. p50 and p99 of each; target: p50 under 20 ms above
   the baseline. Poses are small (192x256) so the render does not hide the framework.
2. Throughput: poses rendered per second with two workers (8 generations of 6 poses at the
   default 768x1024); baseline: a bare actor that renders the same pose (same provider,
   avatar and keypoints), stores it and its thumbnail and publishes one event, 48
   messages. Framework overhead per pose = (plugin time per pose per worker - the
   provider's pure render time of the same pose, measured in this run by calling it
   directly on the same request) / that render time (target: under 10 %). The baseline's
   time per pose (render, thumbnail, two unsynced file writes, one event) is printed too,
   and the CPU time per pose of the worker processes (every thread, from /proc) against the
   pure render's: on a loaded machine wall times swing with other processes, CPU much less.
3. The latency's breakdown (medians, from the client's clock and the job's timestamps):
   HTTP submit, queue wait (row created to claimed), claim (claimed to item started),
   render + store (item started to counted, less the pure render at that size measured
   here), record + publish (item counted to the event at the client).
"""

from __future__ import annotations

import asyncio
import os
import queue
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

LATENCY_ROUNDS, GENERATIONS, POSES, SMALL, USERS = 40, 8, 6, ("192", "256"), 4
NS = "/pose-generator"
LUMIKU = str(Path(sys.executable).parent / "lumiku")


# -- processes ------------------------------------------------------------------------------


@contextmanager
def redis_server() -> Iterator[str]:
    """Run a redis-server of our own on a free port; yield its URL."""
    from lumiku.testing import free_port

    port = free_port()
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    try:
        import redis

        client = redis.Redis(port=port)
        for _ in range(100):
            try:
                client.ping()
                break
            except redis.RedisError:
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


@contextmanager
def processes(*commands: list[str], env: dict[str, str]) -> Iterator[list[int]]:
    """Run worker processes for the block (yield their pids); stop them after."""
    started = [subprocess.Popen(command, env=env) for command in commands]
    try:
        time.sleep(2.5)  # spawn, import and start consuming
        yield [process.pid for process in started]
    finally:
        for process in started:
            process.terminate()
        for process in started:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def cpu_seconds(roots: list[int]) -> float:
    """Return the CPU time (user + system, s) of processes ``roots`` and their descendants."""
    ticks, total, pids = os.sysconf("SC_CLK_TCK"), 0.0, list(roots)
    while pids:
        pid = pids.pop()
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks
            for task in Path(f"/proc/{pid}/task").iterdir():
                pids += [int(child) for child in (task / "children").read_text().split()]
        except OSError:
            continue
    return total


def lumiku_worker(count: int) -> list[str]:
    """Return the command of ``count`` plugin worker processes of one thread."""
    return [
        LUMIKU, "worker", "--processes", str(count),
        "--threads", "1", "--queues", "pose_generator",
    ]  # fmt: skip


# -- the baseline worker (a separate process) -----------------------------------------------


def baseline_worker() -> None:
    """Consume the baseline's two bare actors until terminated."""
    import signal

    import dramatiq

    from lumiku.jobs.broker import boot_process, build_broker, declare_actor
    from lumiku.jobs.supervisor import IDLE_WAKEUP_MS
    from lumiku.realtime.publisher import RedisPublisher

    redis_url = os.environ["REDIS_URL"]
    broker = build_broker(redis_url, namespace="bench-baseline")
    publisher = RedisPublisher(redis_url)
    storage = Path(os.environ["LUMIKU_STORAGE_DIR"]) / "baseline"
    storage.mkdir(parents=True, exist_ok=True)
    render = _renderer()

    def publish(user_id: str, tag: str) -> None:
        publisher.publish(user_id, "bench:event", {"tag": tag}, namespace=NS)

    def render_one(user_id: str, tag: str) -> None:
        png, thumb = render()
        (storage / f"{tag}.png").write_bytes(png)
        (storage / f"{tag}.jpg").write_bytes(thumb)
        publisher.publish(user_id, "bench:event", {"tag": tag}, namespace=NS)

    declare_actor(broker, publish, name="bench.publish", queue="bench")
    declare_actor(broker, render_one, name="bench.render", queue="bench")
    boot_process(broker)
    worker = dramatiq.Worker(broker, worker_threads=1, worker_timeout=IDLE_WAKEUP_MS)
    worker.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stop.wait()
    worker.stop()


def _avatar() -> bytes:
    from lumiku.images.local import LocalImageProvider
    from lumiku.images.provider import ImageRequest

    request = ImageRequest(prompt="portrait", width=512, height=512, seed=7)
    return LocalImageProvider().generate(request).data


def _renderer(size: tuple[int, int] = (768, 1024), *, thumb: bool = True) -> Any:
    """Return a function rendering one pose as the plugin does: (png, thumb or b"")."""
    import sqlalchemy as sa

    from lumiku.db import create_engine
    from lumiku.images.local import LocalImageProvider
    from lumiku_pose_generator.models import pose_library
    from lumiku_pose_generator.poses import find_poses
    from lumiku_pose_generator.render import render_pose, thumbnail

    engine = create_engine(os.environ["DATABASE_URL"])
    with engine.connect() as connection:
        pose_id = connection.execute(sa.select(pose_library.c.id).limit(1)).scalar_one()
        pose = find_poses(connection, [pose_id])[pose_id]
    engine.dispose()
    provider, avatar = LocalImageProvider(), _avatar()

    def render() -> tuple[bytes, bytes]:
        rendered = render_pose(
            provider, prompt=pose.name, keypoints=pose.keypoints, avatar=avatar,
            size=size, seed=11, background=None,
        )  # fmt: skip
        return rendered.png, thumbnail(rendered, 400) if thumb else b""

    return render


# -- the client side ------------------------------------------------------------------------


class Listener:
    """A Socket.IO client on its own event loop; events land in a queue with their time."""

    def __init__(self, url: str, token: str) -> None:
        import socketio

        self.events: queue.Queue[tuple[float, str, Any]] = queue.Queue()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._client = socketio.AsyncClient(reconnection=False)

        async def on_any(event: str, data: Any) -> None:
            self.events.put((time.perf_counter(), event, data))

        self._client.on("*", on_any, namespace=NS)
        connect = self._client.connect(
            url, namespaces=[NS], auth={"token": token}, transports=["websocket"]
        )
        asyncio.run_coroutine_threadsafe(connect, self._loop).result(timeout=15)

    def wait(self, event: str, match: Any = None, timeout: float = 120) -> tuple[float, Any]:
        """Return (time, data) of the next ``event`` whose data satisfies ``match``."""
        deadline = time.monotonic() + timeout
        while True:
            at, name, data = self.events.get(timeout=max(0.01, deadline - time.monotonic()))
            if name == event and (match is None or match(data)):
                return at, data

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self._client.disconnect(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)


def _user(http: Any, ledger: Any, prefix: str, n: int) -> dict[str, Any]:
    """Register a user with credits and a project; return its id, token, headers, project."""
    email = f"bench-{n}-{time.time_ns()}@example.com"
    body = {"email": email, "password": "violet staple orchard kettle", "name": f"b{n}"}
    signed = http.post("/api/auth/register", json=body).json()
    user_id, token = signed["user"]["id"], signed["token"]
    ledger.grant(user_id, 10**6, "bench", f"bench:{user_id}")
    auth = {"Authorization": f"Bearer {token}"}
    upload = http.post(
        f"{prefix}/uploads", headers=auth, files={"image": ("a.png", _avatar(), "image/png")}
    ).json()["imageUrl"]
    project = http.post(
        f"{prefix}/projects",
        headers=auth,
        json={"projectName": "bench", "avatarSource": "UPLOAD", "avatarImageUrl": upload},
    ).json()["id"]
    return {"id": user_id, "token": token, "auth": auth, "project": project}


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


queued_ms = first_ms = 0.0
breakdown: dict[str, float] = {}
cpu_ms: dict[str, float] = {}


def _pure_render_ms(size: tuple[int, int], rounds: int = 10) -> tuple[float, float]:
    """Return the median wall time and the mean CPU time (ms) of the provider alone
    rendering one pose of ``size``."""
    render = _renderer(size, thumb=False)
    render()
    times = []
    cpu = time.process_time()
    for _ in range(rounds):
        began = time.perf_counter()
        render()
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times), (time.process_time() - cpu) * 1000 / rounds


def main() -> None:
    import httpx
    import sqlalchemy as sa

    from lumiku.db import create_engine
    from lumiku.ledger import Ledger
    from lumiku.testing import serve_in_thread
    from lumiku.testing.app import test_environment
    from lumiku.testing.databases import temporary_postgres_database
    from lumiku_pose_generator.models import pose_library

    global queued_ms, first_ms
    workdir = Path(tempfile.mkdtemp(prefix="bench-jobs-"))
    with temporary_postgres_database("lumiku_bench") as database_url, redis_server() as redis_url:
        env = test_environment(
            database_url, workdir, REDIS_ENABLED="true", REDIS_URL=redis_url,
            LUMIKU_PLUGINS="pose_generator", LOG_LEVEL="WARNING",
        )  # fmt: skip
        full_env = {**os.environ, **env}
        subprocess.run([LUMIKU, "migrate"], env=full_env, check=True,
                       stdout=subprocess.DEVNULL)  # fmt: skip
        os.environ.update(env)
        from lumiku.app import create_app
        from lumiku.settings import load_settings

        app = create_app(load_settings())
        ledger_engine = create_engine(database_url)
        ledger = Ledger(ledger_engine)
        with (
            serve_in_thread(app.state.realtime.wrap(app)) as url,
            httpx.Client(base_url=url, timeout=60) as http,
        ):
            prefix = "/api/apps/pose-generator"
            users = [
                _user(http, ledger, prefix, n) for n in range(USERS)
            ]  # /generate allows 30 a minute per user
            with ledger_engine.connect() as connection:
                pose_ids = list(
                    connection.execute(sa.select(pose_library.c.id).limit(10)).scalars()
                )
            listeners = {u["id"]: Listener(url, u["token"]) for u in users}
            turn = {"n": 0}

            def generate(count: int = 1) -> tuple[str, Listener]:
                user = users[turn["n"] % len(users)]
                turn["n"] += 1
                response = http.post(
                    f"{prefix}/generate", headers=user["auth"],
                    json={"projectId": user["project"], "generationType": "GALLERY_REFERENCE",
                          "selectedPoseIds": pose_ids[:1], "batchSize": count},
                )  # fmt: skip
                assert response.status_code == 202, response.text
                return str(response.json()["generationId"]), listeners[user["id"]]

            # 1. Latency, small poses, one worker each.
            small = {**full_env, "POSE_GENERATOR_IMAGE_WIDTH": SMALL[0],
                     "POSE_GENERATOR_IMAGE_HEIGHT": SMALL[1]}  # fmt: skip
            plugin_latency: list[float] = []
            clocks: dict[str, tuple[float, float, float]] = {}  # id: wall start, response, event
            wall = time.time() - time.perf_counter()
            with processes(lumiku_worker(1), env=small):
                for round_ in range(LATENCY_ROUNDS + 3):
                    started = time.perf_counter()
                    generation_id, listener = generate()
                    answered = time.perf_counter()
                    at, _ = listener.wait(
                        "generation:progress", lambda d, g=generation_id: d["generationId"] == g
                    )
                    listener.wait(
                        "generation:completed", lambda d, g=generation_id: d["generationId"] == g
                    )
                    if round_ >= 3:  # warm-up
                        plugin_latency.append((at - started) * 1000)
                        clocks[generation_id] = (started + wall, answered + wall, at + wall)
            with ledger_engine.connect() as connection:
                stages = connection.execute(
                    sa.text(
                        "SELECT g.id, g.created_at, g.started_at, min(i.started_at), "
                        "min(i.finished_at) "
                        "FROM pose_generations g JOIN job_items i ON i.job_id = g.id "
                        "GROUP BY g.id, g.created_at, g.started_at ORDER BY g.created_at"
                    )
                ).all()[3:]
            queued_ms = statistics.median(
                (claimed - created).total_seconds() * 1000 for _, created, claimed, _, _ in stages
            )
            first_ms = statistics.median(
                (first - claimed).total_seconds() * 1000 for _, _, claimed, _, first in stages
            )
            parts: dict[str, list[float]] = {}
            for gid, created, claimed, item_start, counted in stages:
                if gid not in clocks:
                    continue
                sent, answered, event = clocks[gid]
                marks = [
                    ("HTTP submit (client)", sent, answered),
                    ("queue wait (created to claimed)", created.timestamp(), claimed.timestamp()),
                    ("claim (claimed to item started)", claimed.timestamp(),
                     item_start.timestamp()),
                    ("render + store (item started to counted)", item_start.timestamp(),
                     counted.timestamp()),
                    ("record + publish (counted to client event)", counted.timestamp(), event),
                ]  # fmt: skip
                for name, begin, end in marks:
                    parts.setdefault(name, []).append((end - begin) * 1000)
            breakdown.update({name: statistics.median(v) for name, v in parts.items()})
            baseline_latency: list[float] = []
            listener = listeners[users[0]["id"]]
            from lumiku.jobs.broker import build_broker, declare_actor
            from lumiku.jobs.enqueue import JobQueue

            bench_broker = build_broker(redis_url, namespace="bench-baseline")

            def nothing(user_id: str, tag: str) -> None:
                del user_id, tag

            declare_actor(bench_broker, nothing, name="bench.publish", queue="bench")
            declare_actor(bench_broker, nothing, name="bench.render", queue="bench")
            bench_queue = JobQueue(bench_broker)
            baseline_cmd = [sys.executable, str(Path(__file__).resolve()), "baseline-worker"]
            with processes(baseline_cmd, env=full_env):
                for round_ in range(LATENCY_ROUNDS + 3):
                    tag = f"l{round_}"
                    started = time.perf_counter()
                    bench_queue.enqueue("bench.publish", user_id=users[0]["id"], tag=tag)
                    at, _ = listener.wait("bench:event", lambda d, t=tag: d["tag"] == t)
                    if round_ >= 3:
                        baseline_latency.append((at - started) * 1000)

            # 2. Throughput, default size, two workers each.
            with processes(lumiku_worker(2), env=full_env) as pids:
                for warm in [generate(), generate()]:
                    warm[1].wait(
                        "generation:completed", lambda d, g=warm[0]: d["generationId"] == g
                    )
                time.sleep(1)
                cpu = cpu_seconds(pids)
                started = time.perf_counter()
                submitted = [generate(POSES) for _ in range(GENERATIONS)]
                last = started
                for generation_id, listener in submitted:
                    at, _ = listener.wait(
                        "generation:completed",
                        lambda d, g=generation_id: d["generationId"] == g,
                        timeout=600,
                    )
                    last = max(last, at)
                plugin_rate = GENERATIONS * POSES / (last - started)
                cpu_ms["plugin"] = (cpu_seconds(pids) - cpu) * 1000 / (GENERATIONS * POSES)
            user_id, listener = users[0]["id"], listeners[users[0]["id"]]
            with processes(baseline_cmd, baseline_cmd, env=full_env) as pids:
                bench_queue.enqueue("bench.render", user_id=user_id, tag="warm-a")
                bench_queue.enqueue("bench.render", user_id=user_id, tag="warm-b")
                listener.wait("bench:event", lambda d: d["tag"] == "warm-a")
                listener.wait("bench:event", lambda d: d["tag"] == "warm-b")
                cpu = cpu_seconds(pids)
                started = time.perf_counter()
                for n in range(GENERATIONS * POSES):
                    bench_queue.enqueue("bench.render", user_id=user_id, tag=f"r{n}")
                for _ in range(GENERATIONS * POSES):
                    last, _ = listener.wait("bench:event", timeout=600)
                baseline_rate = GENERATIONS * POSES / (last - started)
                cpu_ms["baseline"] = (cpu_seconds(pids) - cpu) * 1000 / (GENERATIONS * POSES)
            for one in listeners.values():
                one.close()
            bench_broker.close()

        render_ms, render_cpu_ms = _pure_render_ms((768, 1024))
        small_render_ms, _ = _pure_render_ms((int(SMALL[0]), int(SMALL[1])))
        render = _renderer()
        render()
        fulls = []
        for _ in range(10):
            began = time.perf_counter()
            render()
            fulls.append((time.perf_counter() - began) * 1000)
        full_ms = statistics.median(fulls)
    shutil.rmtree(workdir, ignore_errors=True)

    p50, p99 = percentile(plugin_latency, 0.5), percentile(plugin_latency, 0.99)
    b50, b99 = percentile(baseline_latency, 0.5), percentile(baseline_latency, 0.99)
    plugin_ms, baseline_ms = 2000 / plugin_rate, 2000 / baseline_rate  # per pose per worker
    print(f"first progress (ms), {LATENCY_ROUNDS} rounds, {SMALL[0]}x{SMALL[1]} poses, 1 worker")
    print(f"  pose generator  p50 {p50:7.1f}  p99 {p99:7.1f}")
    print(f"  bare actor      p50 {b50:7.1f}  p99 {b99:7.1f}")
    print(f"  p50 above baseline: {p50 - b50:.1f} ms (target < 20)")
    print(
        f"  medians: submit to claimed {queued_ms:.1f} ms, claimed to first pose {first_ms:.1f} ms"
    )
    print(f"  breakdown (medians, ms; pure render at {SMALL[0]}x{SMALL[1]}: {small_render_ms:.1f})")
    for name, value in breakdown.items():
        print(f"    {name:45s} {value:7.1f}")
    store = breakdown.get("render + store (item started to counted)", 0.0) - small_render_ms
    print(f"    {'  of which store (less the pure render)':45s} {store:7.1f}")
    print(f"poses per second, 2 workers, {GENERATIONS}x{POSES} poses at 768x1024")
    print(f"  pose generator  {plugin_rate:6.2f}/s  ({plugin_ms:.0f} ms per pose per worker)")
    print(f"  bare actor      {baseline_rate:6.2f}/s  ({baseline_ms:.0f} ms per pose per worker)")
    print(f"  pure render     {render_ms:.0f} ms per pose (provider alone, median of 10)")
    print(f"  render + thumb  {full_ms:.0f} ms per pose (as the baseline actor, median of 10)")
    overhead = (plugin_ms - render_ms) / render_ms * 100
    print(
        f"  framework overhead per pose: {plugin_ms:.0f} - {render_ms:.0f} = "
        f"{plugin_ms - render_ms:.0f} ms = {overhead:.1f} % of the render (target < 10 %)"
    )
    base = (baseline_ms - render_ms) / render_ms * 100
    print(f"  (bare actor's own overhead: {baseline_ms - render_ms:.0f} ms = {base:.1f} %)")
    cpu, cpu_over = cpu_ms["plugin"], (cpu_ms["plugin"] - render_cpu_ms) / render_cpu_ms * 100
    bare = cpu_ms["baseline"]
    print(f"  CPU per pose (worker processes, every thread): pose generator {cpu:.1f} ms, "
          f"bare actor {bare:.1f} ms, pure render {render_cpu_ms:.1f} ms")  # fmt: skip
    print(f"  framework CPU per pose: {cpu - render_cpu_ms:.1f} ms = {cpu_over:.1f} % of the "
          "render's CPU (less sensitive to a loaded machine)")  # fmt: skip
    print(
        f"  ratio p50 plugin / baseline: {p50 / b50:.1f}x; "
        f"time per pose plugin / pure render: {plugin_ms / render_ms:.2f}x"
    )


if __name__ == "__main__":
    if sys.argv[1:] == ["baseline-worker"]:
        baseline_worker()
    else:
        main()
